"""Exceptions raised by `infrar.kv`, identical on every provider."""


class KVError(Exception):
    """Base class of every key-value error; also raised for a key or value the contract refuses."""


class KeyNotFoundError(KVError):
    """No value is stored under the key in the table."""


class TableNotFoundError(KVError):
    """The table does not exist."""

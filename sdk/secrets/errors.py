"""Exceptions raised by `infrar.secrets`, identical on every provider.

No message ever holds a secret's value: only the secret's name, a version and what went wrong.
"""


class SecretsError(Exception):
    """Base class of every secrets error."""


class SecretNotFoundError(SecretsError):
    """The secret does not exist, has no value yet, or has no such version."""

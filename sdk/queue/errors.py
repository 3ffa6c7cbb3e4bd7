"""Exceptions raised by `infrar.queue`, identical on every provider."""


class QueueError(Exception):
    """Base class of every queue error."""


class QueueNotFoundError(QueueError):
    """The queue does not exist."""

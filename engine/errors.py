"""Errors the engine raises on purpose. Each carries a one-line message meant for a user."""


class RestoraError(Exception):
    """Base class: anything the CLI/GUI shows as a one-line message instead of a traceback."""


class MediaError(RestoraError):
    """Input media cannot be read or is unsupported (zero bytes, not an image, no video stream...)."""


class OutputError(RestoraError):
    """Output cannot be written (over the input, disk full, bad extension...)."""


class Cancelled(RestoraError):
    """A long job was cancelled through its CancelToken."""

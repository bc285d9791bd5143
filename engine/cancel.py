"""Cooperative cancellation: long jobs call `check()` once per frame or tile."""
import threading

from .errors import Cancelled


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()

    def cancel(self) -> None:
        self._event.set()

    @property
    def cancelled(self) -> bool:
        return self._event.is_set()

    def check(self) -> None:
        if self._event.is_set():
            raise Cancelled("cancelled")


def check(token: "CancelToken | None") -> None:
    """Convenience for code paths where the token is optional."""
    if token is not None:
        token.check()

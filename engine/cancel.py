"""Cooperative cancellation: long jobs call `check()` once per frame or tile."""
import threading

from .errors import Cancelled


class CancelToken:
    def __init__(self) -> None:
        self._event = threading.Event()
        self.keep_partial = False

    def cancel(self, keep_partial: bool = False) -> None:
        """Stop the job. keep_partial: an interruption (the app quits), not an abandon: a video export then keeps
        its finished segments for a later resume. The first request decides."""
        if not self._event.is_set():
            self.keep_partial = keep_partial
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

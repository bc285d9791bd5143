"""Three concurrent stages -- produce (decode), transform (restore), consume (encode) -- joined by small bounded
queues, so throughput approaches the slowest stage and memory stays flat however long the clip.

The consumer runs in the calling thread (progress callbacks come from there). Any stage failing, or the
cancel token firing, stops all stages within one queue timeout; the first error is re-raised in the caller.
"""
from __future__ import annotations

import queue
import threading
import time
from typing import Callable, Iterable

from ..cancel import CancelToken
from ..errors import Cancelled

QUEUE_FRAMES = 4  # a few frames of slack between stages; larger only costs memory
POLL_SECONDS = 0.1  # how often a blocked stage looks at the stop flag (bounds cancel latency)
_END = object()


class _Stop(Exception):
    """Internal: another stage failed or the export was cancelled."""


class Pipeline:
    def __init__(self, cancel: CancelToken | None = None, maxsize: int = QUEUE_FRAMES) -> None:
        self.cancel = cancel
        self.maxsize = maxsize
        self.stop = threading.Event()
        self.error: BaseException | None = None
        self.seconds = {"decode": 0.0, "restore": 0.0, "encode": 0.0}
        self._lock = threading.Lock()

    # ---- queue helpers that give up when the pipeline stops -------------------------------------------
    def _halted(self) -> bool:
        return self.stop.is_set() or (self.cancel is not None and self.cancel.cancelled)

    def _put(self, q: queue.Queue, item) -> None:
        while True:
            if self._halted():
                raise _Stop
            try:
                q.put(item, timeout=POLL_SECONDS)
                return
            except queue.Full:
                continue

    def _get(self, q: queue.Queue):
        while True:
            if self._halted():
                raise _Stop
            try:
                return q.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue

    def _fail(self, exc: BaseException) -> None:
        with self._lock:
            if self.error is None:
                self.error = exc
        self.stop.set()

    # ---- stages -----------------------------------------------------------------------------------------
    def _produce(self, source: Iterable, out: queue.Queue) -> None:
        try:
            it = iter(source)
            while True:
                t0 = time.perf_counter()
                item = next(it, _END)
                self.seconds["decode"] += time.perf_counter() - t0
                self._put(out, item)
                if item is _END:
                    return
        except _Stop:
            pass
        except BaseException as exc:  # noqa: BLE001 - handed to the caller's thread
            self._fail(exc)
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()  # generators: release the demuxer in this thread

    def _transform(self, fn: Callable[[list], list], batch: int, group: Callable | None, inp: queue.Queue,
                   out: queue.Queue) -> None:
        """Batches are always `batch` items (fewer only at a group change or the end), never chosen by timing:
        the same frames are restored together in every run, so a resumed export matches on any device."""
        held = None
        try:
            while True:
                items = [held if held is not None else self._get(inp)]
                held = None
                while items[-1] is not _END and len(items) < batch:
                    item = self._get(inp)
                    if item is not _END and group is not None and group(item) != group(items[0]):
                        held = item
                        break
                    items.append(item)
                ended = items[-1] is _END
                work = items[:-1] if ended else items
                if work:
                    t0 = time.perf_counter()
                    results = fn(work)
                    self.seconds["restore"] += time.perf_counter() - t0
                    for result in results:
                        self._put(out, result)
                if ended:
                    self._put(out, _END)
                    return
        except _Stop:
            pass
        except BaseException as exc:  # noqa: BLE001
            self._fail(exc)

    def run(self, source: Iterable, transform: Callable[[list], list], consume: Callable[[object], None],
            batch: int = 1, group: Callable | None = None) -> None:
        """`group(item)`: items with different keys never share a batch (export: one segment per batch)."""
        q1: queue.Queue = queue.Queue(self.maxsize)
        q2: queue.Queue = queue.Queue(self.maxsize)
        threads = [threading.Thread(target=self._produce, args=(source, q1), name="export-decode", daemon=True),
                   threading.Thread(target=self._transform, args=(transform, max(1, batch), group, q1, q2),
                                    name="export-restore", daemon=True)]
        for t in threads:
            t.start()
        try:
            while True:
                item = self._get(q2)
                if item is _END:
                    break
                t0 = time.perf_counter()
                consume(item)
                self.seconds["encode"] += time.perf_counter() - t0
        except _Stop:
            pass
        except BaseException as exc:  # noqa: BLE001
            self._fail(exc)
        finally:
            self.stop.set()
            for t in threads:
                t.join()
        if self.error is not None:
            raise self.error
        if self.cancel is not None and self.cancel.cancelled:
            raise Cancelled("export cancelled")


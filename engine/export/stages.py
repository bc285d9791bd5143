"""The restore and encode stages of a video export (the decode stage is source.decode_frames)."""
from __future__ import annotations

import inspect
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable

import numpy as np

from ..auto.strength import AutoStrength, StrengthDecision
from ..cancel import CancelToken
from ..media.types import VideoFrame
from .encode import EncodePlan, SegmentWriter
from .layout import compose
from .segments import SegmentStore
from .settings import ExportProgress
from .source import SourceFrame

ProgressFn = Callable[[ExportProgress], None]


@dataclass
class RestoredFrame:
    index: int
    pts: int
    pixels: np.ndarray
    quality: float
    source: str
    corrupt: bool


class FrameRestorer:
    """The restore stage: each frame's strength (fixed or auto), then the restorer, batched when it can be."""

    def __init__(self, restorer, quality, segment_frames: int, cancel: CancelToken | None, layout: str = "restored",
                 rotation: int = 0) -> None:
        self.restorer, self.segment_frames, self.cancel = restorer, segment_frames, cancel
        self.layout, self.rotation = layout, rotation
        self.fixed = None if quality == "auto" else float(quality)
        self.auto = AutoStrength(restorer) if self.fixed is None else None
        batch = getattr(restorer, "restore_batch", None)
        self.batch_takes_cancel = batch is not None and "cancel" in inspect.signature(batch).parameters

    def decide(self, frame: SourceFrame) -> StrengthDecision:
        if self.fixed is not None:
            return StrengthDecision(self.fixed, self.fixed, "manual")
        if frame.index % self.segment_frames == 0:
            # Auto strength smooths over time; restarting it per segment makes a resumed segment identical.
            self.auto.reset()
        return self.auto.for_frame(VideoFrame(index=frame.index, pts=frame.pts, time=frame.time, pixels=frame.pixels,
                                              pict_type=frame.pict_type, qp_map=frame.qp_map,
                                              qp_codec=frame.qp_codec, corrupt=frame.corrupt))

    def __call__(self, frames: list[SourceFrame]) -> list[RestoredFrame]:
        decisions = [self.decide(f) for f in frames]
        batch = getattr(self.restorer, "restore_batch", None)
        if batch is not None and len(frames) > 1:
            extra = {"cancel": self.cancel} if self.batch_takes_cancel else {}
            outputs = batch([f.pixels for f in frames], [d.quality for d in decisions], **extra)
        else:
            outputs = [self.restorer.restore(f.pixels, d.quality, self.cancel) for f, d in zip(frames, decisions)]
        return [RestoredFrame(f.index, f.pts, compose(f.pixels, out, self.layout, self.rotation), d.mean_quality,
                              d.source, f.corrupt) for f, d, out in zip(frames, decisions, outputs)]


class SegmentSink:
    """The encode stage: routes frames into per-segment writers and commits each finished segment.

    Closing a segment flushes the encoder's lookahead (for x264 "medium", 40 frames of work). That runs on a
    closer thread while the next segment is already encoding, so the restore stage never stalls on it. At most
    one segment is closing at a time (bounded memory), and commits happen in segment order.
    """

    def __init__(self, store: SegmentStore, plan: EncodePlan, progress: ProgressFn | None, total_estimate: int,
                 resumed: int) -> None:
        self.store, self.plan, self.progress = store, plan, progress
        self.total_estimate, self.resumed = total_estimate, resumed
        self.writer: SegmentWriter | None = None
        self.segment = self.first = self.count = self.corrupt = 0
        self.quality_sum = 0.0
        self.done = 0
        self.sources: dict[str, int] = {}
        self.started = time.perf_counter()
        self._closer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="export-close")
        self._closing: Future | None = None
        self.flush_seconds = 0.0  # encoder flushes on the closer thread (concurrent with the encode stage)
        self._abandoned = False
        self._commit_lock = threading.Lock()  # once abandoned, no commit may touch the work folder again

    def __call__(self, frame: RestoredFrame) -> None:
        segment = self.store.segment_of(frame.index)
        if self.writer is not None and segment != self.segment:
            self._close_current()
        if self.writer is None:
            self.segment, self.first, self.count, self.corrupt, self.quality_sum = segment, frame.index, 0, 0, 0.0
            self.writer = SegmentWriter(self.store.part_path(segment), self.plan)
        self.writer.write(frame.pixels, frame.pts)
        self.count += 1
        self.corrupt += frame.corrupt
        self.quality_sum += frame.quality
        self.sources[frame.source] = self.sources.get(frame.source, 0) + 1
        self.done += 1
        if self.progress is not None:
            elapsed = time.perf_counter() - self.started
            fps = self.done / elapsed if elapsed > 0 else 0.0
            done = self.done + self.resumed
            total = max(self.total_estimate, done)
            self.progress(ExportProgress(done, total, fps, (total - done) / fps if fps > 0 else None,
                                         frame.quality, frame.source, segment, self.resumed))

    def _close_current(self) -> None:
        writer, self.writer = self.writer, None
        record = (self.segment, self.first, self.count, self.quality_sum, self.corrupt)
        self._wait_closing()
        self._closing = self._closer.submit(self._close_and_commit, writer, record)

    def _close_and_commit(self, writer: SegmentWriter, record: tuple) -> None:
        if self._abandoned:
            writer.abort()
            return
        t0 = time.perf_counter()
        writer.close()
        self.flush_seconds += time.perf_counter() - t0
        with self._commit_lock:
            if not self._abandoned:
                self.store.commit(*record)

    def _wait_closing(self) -> None:
        if self._closing is not None:
            closing, self._closing = self._closing, None
            closing.result()  # re-raises a failed flush or commit (e.g. disk full) in the encode stage

    def finish(self) -> None:
        """After the last frame: close the open segment and wait until every segment is committed."""
        if self.writer is not None:
            self._close_current()
        self._wait_closing()
        self._closer.shutdown()

    def abort(self, keep_finished: bool) -> None:
        """Drop the open segment. keep_finished: let a segment that is closing commit (useful for resume);
        otherwise (cancel) abandon it without waiting for its flush."""
        if self.writer is not None:
            self.writer.abort()
            self.writer = None
        if keep_finished:
            try:
                self._wait_closing()
            except Exception:  # noqa: BLE001 - the export is failing already; its own error is reported
                pass
        else:
            with self._commit_lock:
                self._abandoned = True
        self._closer.shutdown(wait=keep_finished)

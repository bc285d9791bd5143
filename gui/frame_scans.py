"""Background work for the quality plot, on plain Python threads (never the GUI thread, never the preview's
engine thread): a scan of the clip's per-frame QP and picture types, and PSNR against a reference file.

Results leave through Qt signals of a QObject living on the GUI thread, so they arrive queued. `stop()` joins:
the owner keeps the QObject until the thread has ended (new media: stop without waiting, join at closing).
"""
from __future__ import annotations

import os
import sys
import threading
import time
import traceback
from collections import deque
from pathlib import Path

import numpy as np
from PySide6.QtCore import QObject, Signal

import engine
from engine import RestoraError

from .frame_stats import psnr

BATCH_INTERVAL_S = 0.2  # group results: one queued signal per batch keeps the GUI thread's share small
MAX_PENDING_RESTORED = 8  # frames shown faster than PSNR keeps up: keep the newest, drop the rest


def lower_thread_priority(niceness: int) -> None:
    """Make the calling thread yield the CPU to the preview. Linux only: there nice is per thread and FFmpeg's
    decoder threads, made when this thread opens the codec, inherit it; elsewhere setpriority(pid) would slow
    the whole app, so do nothing."""
    if niceness <= 0 or not sys.platform.startswith("linux"):
        return
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + niceness))
    except OSError:  # a sandbox without the syscall: run at normal priority
        pass


class _BackgroundJob(QObject):
    failed = Signal(str)
    finished = Signal()
    niceness = 0  # added to the thread's nice value: > 0 for work nobody waits for

    def __init__(self, name: str) -> None:
        super().__init__()
        self._stop = threading.Event()
        self._wake = threading.Condition()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self, wait: bool = True, timeout: float = 5.0) -> None:
        """Ask the thread to end (it checks between frames); with `wait`, join it."""
        self._stop.set()
        with self._wake:
            self._wake.notify_all()
        if wait and self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def started(self) -> bool:
        return self._thread.ident is not None

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def _main(self) -> None:
        lower_thread_priority(self.niceness)
        try:
            self._work()
            if not self.stopped:
                self.finished.emit()
        except (RestoraError, ValueError) as exc:  # unreadable file, reference of another size
            if not self.stopped:
                self.failed.emit(str(exc))
        except Exception as exc:  # a bug in a side panel must not take the app down
            traceback.print_exc()
            if not self.stopped:
                self.failed.emit(f"{type(exc).__name__}: {exc}")

    def _work(self) -> None:
        raise NotImplementedError


class ClipScan(_BackgroundJob):
    """Picture type and mean QP of every frame; decodes the clip once in its own reader."""
    batch = Signal(object)  # list of (frame index, pict type, mean QP or None, JPEG-scale quality or None)
    # At normal priority a scan of a long clip took a third of the 2-core CPU from the preview for minutes
    # (720p restore 162 -> 232 ms while a scan ran, 155 ms with the scan at nice 19). The PSNR job keeps
    # normal priority: it answers for the frames being shown.
    niceness = 19

    def __init__(self, path: Path) -> None:
        super().__init__("restora-qp-scan")
        self.path = Path(path)

    def _work(self) -> None:
        reader = engine.open_video(self.path, with_qp=True)
        try:
            pending, last = [], time.perf_counter()
            for frame in reader.coding():
                if self.stopped:
                    return
                qp = quality = None
                if frame.qp_map is not None and frame.qp_map.size:
                    qp = float(np.mean(frame.qp_map))
                    quality = engine.frame_quality(frame.qp_map, frame.qp_codec or "h264", frame.pict_type)
                pending.append((frame.index, frame.pict_type, qp, quality))
                if time.perf_counter() - last >= BATCH_INTERVAL_S:
                    self.batch.emit(pending)
                    pending, last = [], time.perf_counter()
            if pending:
                self.batch.emit(pending)
        finally:
            reader.close()


class ReferenceCompare(_BackgroundJob):
    """PSNR of the input (every frame, in one sequential pass) and of restored frames (as they are shown)
    against a clean reference: a video with the same frame count, or an image of the same size."""
    ready = Signal(str)  # a description of the reference once it checked out
    inputPsnr = Signal(object)  # list of (frame index, dB)
    restoredPsnr = Signal(int, float)  # frame index, dB

    def __init__(self, reference: Path, source: Path, source_kind: str) -> None:
        super().__init__("restora-reference")
        self.reference, self.source, self.source_kind = Path(reference), Path(source), source_kind
        self._requests: deque = deque(maxlen=MAX_PENDING_RESTORED)

    def submit(self, index: int, restored: np.ndarray) -> None:
        """Any thread: compare a restored (upright) frame with the reference's frame `index`."""
        with self._wake:
            self._requests.append((int(index), restored))
            self._wake.notify()

    def _work(self) -> None:
        if self.source_kind == "image":
            self._compare_images()
        else:
            self._compare_videos()

    def _next_request(self):
        with self._wake:
            return self._requests.popleft() if self._requests else None

    def _wait_for_request(self) -> None:
        with self._wake:
            if not self._requests and not self.stopped:
                self._wake.wait(0.5)

    def _compare_images(self) -> None:
        if engine.media_kind(self.reference) != "image":
            raise RestoraError(f"{self.reference.name} is a video; the input is an image: load an image")
        ref = engine.load_image(self.reference).pixels
        src = engine.load_image(self.source).pixels
        self.inputPsnr.emit([(0, psnr(ref, src))])
        self.ready.emit(f"{self.reference.name} ({ref.shape[1]}×{ref.shape[0]})")
        self._serve_restored(lambda index: ref, None)

    def _compare_videos(self) -> None:
        if engine.media_kind(self.reference) != "video":
            raise RestoraError(f"{self.reference.name} is an image; the input is a video: load a video")
        readers = []
        try:
            for path in (self.source, self.reference, self.reference):
                readers.append(engine.open_video(path))
            src, ref_seq, ref_random = readers
            s_info, r_info = src.info, ref_seq.info
            if s_info.frame_count != r_info.frame_count:
                raise RestoraError(f"{self.reference.name} has {r_info.frame_count} frames, the input "
                                   f"{s_info.frame_count}: load the clean version of the same clip")
            self.ready.emit(f"{self.reference.name} ({r_info.frame_count} frames)")
            fps = float(r_info.fps)

            def reference_frame(index: int) -> np.ndarray:
                frame = ref_random.frame_at((index + 0.25) / fps)
                return engine.apply_rotation(frame.pixels, r_info.rotation)

            pairs = zip(src.frames(), ref_seq.frames())
            self._serve_restored(reference_frame, (pairs, s_info.rotation, r_info.rotation))
        finally:
            for reader in readers:
                reader.close()

    def _serve_restored(self, reference_frame, sequential) -> None:
        """Restored-frame requests first (the user is looking at them), the input pass in between."""
        pending, last = [], time.perf_counter()
        while not self.stopped:
            request = self._next_request()
            if request is not None:
                index, restored = request
                self.restoredPsnr.emit(index, psnr(reference_frame(index), restored))
                continue
            if sequential is not None:
                pairs, src_rot, ref_rot = sequential
                pair = next(pairs, None)
                if pair is None:
                    sequential = None
                else:
                    s, r = pair
                    pending.append((s.index, psnr(engine.apply_rotation(r.pixels, ref_rot),
                                                  engine.apply_rotation(s.pixels, src_rot))))
                if pending and (sequential is None or time.perf_counter() - last >= BATCH_INTERVAL_S):
                    self.inputPsnr.emit(pending)
                    pending, last = [], time.perf_counter()
                continue
            self._wait_for_request()

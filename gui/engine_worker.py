"""The engine's thread: opens media, decodes frames, builds restorers and restores, never on the GUI thread.

Requests come in through `submit()` (any thread). Control requests (open, configure) queue in order; frame
requests share one "latest wins" slot, so when restoration is slower than playback or slider drags, the requests
it could not serve are overwritten instead of piling up. Results go back as queued Qt signals.
"""
from __future__ import annotations

import threading
import time
import traceback
from collections import deque
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal

import engine
from engine import (CancelToken, Cancelled, ConfigureRestorerRequest, MediaOpened, OpenMediaRequest, RestoraError,
                    RestoreFrameRequest, RestoreResult, RestorerReady, SaveFrameRequest)

from .image_convert import to_qimage


class RequestSlots:
    """Ordered control requests + one latest-wins frame slot, guarded by a condition variable."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._control: deque = deque()
        self._frame: RestoreFrameRequest | None = None
        self._stopped = False
        self.replaced = 0  # frame requests overwritten before the worker got to them (dropped frames)

    def put(self, request) -> None:
        with self._cond:
            if isinstance(request, RestoreFrameRequest):
                if self._frame is not None:
                    self.replaced += 1
                self._frame = request
            else:
                self._control.append(request)
            self._cond.notify()

    def take(self):
        """Block until there is work; None once stopped. Control requests go first: a frame request may need
        the media or restorer they set up."""
        with self._cond:
            while not self._stopped and not self._control and self._frame is None:
                self._cond.wait()
            if self._stopped:
                return None
            if self._control:
                return self._control.popleft()
            request, self._frame = self._frame, None
            return request

    def stop(self) -> None:
        with self._cond:
            self._stopped = True
            self._cond.notify_all()


class _Media:
    """What the worker has open: a still image or a video reader, plus the last decoded frame."""

    def __init__(self, media_id: int, kind: str, image=None, reader=None) -> None:
        self.id, self.kind, self.image, self.reader = media_id, kind, image, reader
        self.rotation = reader.info.rotation if reader is not None else 0
        self.cached_key = None  # frame index of `cached`
        self.cached = None  # (upright pixels, item handed to Auto, frame time, frame index)
        self.cached_display = None  # (frame index, QImage of the original)
        self.skipped_reported = 0

    def close(self) -> None:
        if self.reader is not None:
            self.reader.close()


def _block_grid(item, rotation: int) -> tuple[int, int]:
    """Where the shown frame's 8x8 blocks start: a still's as found in its pixels (a cropped JPEG's are off its
    corner), a video frame's where the codec's corner grid lands once the frame is turned upright."""
    if isinstance(item, engine.ImageData):
        return item.block_grid
    height, width = item.pixels.shape[:2]
    return engine.turned_block_grid(height, width, rotation)


class EngineWorker(QObject):
    catalogReady = Signal(list, list, str)  # devices, restorer names, default restorer
    mediaOpened = Signal(object)  # MediaOpened
    frameReady = Signal(object, object, object)  # RestoreResult, original QImage, restored QImage
    originalReady = Signal(int, int, int, object)  # request id, media id, frame index, original QImage
    restorerReady = Signal(object)  # RestorerReady
    failed = Signal(int, str)  # request id, one-line message
    notice = Signal(str)  # non-fatal news: OOM fallback, skipped frames...
    frameSaved = Signal(int, str)  # SaveFrameRequest id, the file written
    frameCopied = Signal(int, object)  # SaveFrameRequest id (no path), the whole restored frame as a QImage

    def __init__(self, restorer: str | None = None, device: str = "auto") -> None:
        super().__init__()
        self.slots = RequestSlots()
        self._token = CancelToken()
        self._token_lock = threading.Lock()
        self._media: _Media | None = None
        self._restorer = None
        self._restorer_key = None
        # What to build when the first frame needs a restorer: the saved choice, so startup builds it only once.
        self._wanted_restorer = (restorer, device)
        self._auto = None

    # --- any thread ----------------------------------------------------------------------------------------
    def submit(self, request) -> None:
        """Hand a request over. Opening media and superseding frame requests also cancel the job in flight (it
        checks the token between tiles), since its result would be thrown away anyway. Switching models does not:
        the frame in flight may be the only one a paused view will get."""
        if isinstance(request, OpenMediaRequest) or (isinstance(request, RestoreFrameRequest) and request.supersedes):
            with self._token_lock:
                self._token.cancel()
        self.slots.put(request)

    def stop(self) -> None:
        with self._token_lock:
            self._token.cancel()
        self.slots.stop()

    # --- worker thread ---------------------------------------------------------------------------------------
    def run(self) -> None:
        """The thread's whole life: announce what exists, then serve requests until stopped."""
        # The catalog imports torch (~1 s here): on a thread of its own, so the file given at start-up opens and
        # its first picture shows meanwhile (PyAV and Pillow need no torch).
        catalog = threading.Thread(target=self._announce_catalog, name="restora-catalog", daemon=True)
        catalog.start()
        try:
            while (request := self.slots.take()) is not None:
                with self._token_lock:
                    self._token = CancelToken()
                    token = self._token
                try:
                    self._handle(request, token)
                except Cancelled:
                    pass
                except RestoraError as exc:
                    self.failed.emit(request.id, str(exc))
                except Exception as exc:  # a bug must not take the app down: report it, keep serving
                    traceback.print_exc()
                    self.failed.emit(request.id, f"internal error: {type(exc).__name__}: {exc}")
        finally:
            catalog.join()
            self._release()

    def _announce_catalog(self) -> None:
        try:
            devices = engine.available_devices()
            names = engine.restorer_names()
            self.catalogReady.emit(devices, names, engine.default_restorer_name(devices[0]))
        except Exception as exc:  # e.g. a broken torch install: say so, still serve what can be served
            traceback.print_exc()
            self.failed.emit(0, f"engine start-up failed: {type(exc).__name__}: {exc}")

    def _release(self) -> None:
        if self._media is not None:
            self._media.close()
            self._media = None
        if self._restorer is not None:
            self._restorer.close()
            self._restorer = None

    def _handle(self, request, token: CancelToken) -> None:
        if isinstance(request, OpenMediaRequest):
            self._open(request)
        elif isinstance(request, ConfigureRestorerRequest):
            self._wanted_restorer = (request.restorer, request.device)
            before = self._restorer
            if self._ensure_restorer(request.id) is before:
                self._announce_restorer(request.id)  # unchanged, but the GUI is waiting to hear which it is
        elif isinstance(request, RestoreFrameRequest):
            self._restore_frame(request, token)
        elif isinstance(request, SaveFrameRequest):
            self._save_frame(request)

    def _open(self, request: OpenMediaRequest) -> None:
        path = request.path
        kind = engine.media_kind(path)
        if kind == "image":
            image = engine.load_image(path)
            media = _Media(request.id, "image", image=image)
            h, w = image.pixels.shape[:2]
            fmt = image.format or "image"
            bits = 16 if image.pixels.dtype.itemsize == 2 else 8
            desc = f"{fmt} {w}×{h}, {bits}-bit"
            if image.jpeg_quality is not None:
                desc += f", JPEG quality ≈ {image.jpeg_quality}"
            if image.block_grid != (0, 0):  # a cropped or screenshotted JPEG: restored shifted onto its blocks
                desc += ", 8×8 blocks off the corner (row {}, column {})".format(*image.block_grid)
            if image.frame_count > 1:
                desc += f", {image.frame_count} frames (first shown)"
            opened = MediaOpened(request.id, path, "image", w, h, description=desc)
            if image.frame_count > 1:
                self.notice.emit(f"{Path(path).name} is animated ({image.frame_count} frames): Restora restores "
                                 f"its first frame")
        else:
            reader = engine.open_video(path, with_qp=True)
            info = reader.info
            media = _Media(request.id, "video", reader=reader)
            w, h = (info.height, info.width) if info.rotation % 180 == 90 else (info.width, info.height)
            desc = f"{info.codec} {w}×{h}, {float(info.fps):.3g} fps, {info.bit_depth}-bit"
            opened = MediaOpened(request.id, path, "video", w, h, fps=float(info.fps),
                                 frame_count=max(1, int(info.frame_count)), duration=float(info.duration),
                                 start_time=float(info.start_time), description=desc)
        # Swap only once the new media opened: a bad file leaves the current one on screen and usable.
        if self._media is not None:
            self._media.close()
        self._media = media
        self._auto = None
        self.mediaOpened.emit(opened)

    def _ensure_restorer(self, request_id: int):
        name, device = self._wanted_restorer
        if name is None:  # "the default" is a concrete model: compare like with like, build once
            name = engine.default_restorer_name(engine.resolve_device(device).type)
        if self._restorer is not None and self._restorer_key == (name, device):
            return self._restorer
        if self._restorer is not None:
            self._restorer.close()
            self._restorer = None
        try:
            restorer = engine.create_restorer(name, device, on_notice=self.notice.emit)
        except ValueError as exc:  # unknown model name (e.g. a stale setting): say so, fall back to the default
            self.notice.emit(f"{exc}; using the default")
            self._wanted_restorer = (None, device)
            restorer = engine.create_restorer(None, device, on_notice=self.notice.emit)
        self._restorer, self._restorer_key = restorer, (restorer.name, device)
        self._auto = None
        self._announce_restorer(request_id)
        return restorer

    def _announce_restorer(self, request_id: int) -> None:
        r = self._restorer
        precision = getattr(r, "precision", "fp32")
        self.restorerReady.emit(RestorerReady(request_id, r.name, r.title or r.name, r.device, precision))

    def _frame(self, media: _Media, t: float):
        """(upright pixels, item for Auto, time, index), decoding only when the frame changes."""
        if media.kind == "image":
            if media.cached is None:
                media.cached = (media.image.pixels, media.image, 0.0, 0)
            return media.cached
        frame = media.reader.frame_at(t)
        if media.cached is not None and media.cached_key == frame.index:
            return media.cached
        skipped = media.reader.skipped_frames
        if skipped > media.skipped_reported:
            self.notice.emit(f"skipped {skipped - media.skipped_reported} damaged frame(s) in "
                             f"{media.reader.info.path.name}")
            media.skipped_reported = skipped
        pixels = engine.apply_rotation(frame.pixels, media.rotation)
        media.cached_key, media.cached = frame.index, (pixels, frame, frame.time, frame.index)
        return media.cached

    def _restore_frame(self, request: RestoreFrameRequest, token: CancelToken) -> None:
        media = self._media
        if media is None or media.id != request.media_id:
            return  # the frame of media that has since been replaced
        t0 = time.perf_counter()
        pixels, item, t, index = self._frame(media, request.time)
        decoded = time.perf_counter()
        # Display conversion here, not on the GUI thread; the original's is reused while only strength changes.
        new_frame = media.cached_display is None or media.cached_display[0] != index
        if new_frame:
            first = media.cached_display is None
            media.cached_display = (index, to_qimage(pixels))
            if first or request.supersedes:
                # A jump or a new file: show the decoded original at once, the restored side follows. Playback
                # frames skip this, their restored frame is due right after anyway.
                self.originalReady.emit(request.id, media.id, index, media.cached_display[1])
        # After the original is on its way: at start-up the first restorer waits for torch's import (~1 s).
        restorer = self._ensure_restorer(request.id)
        token.check()
        t1 = time.perf_counter()
        decision = self._decide_strength(request, item)
        restored, region = engine.restore_visible_region(restorer, pixels, decision[0], request.region, token,
                                                         grid=_block_grid(item, media.rotation))
        t2 = time.perf_counter()
        quality, mean_quality, source, auto_quality = decision
        result = RestoreResult(
            id=request.id, media_id=media.id, frame_index=index, time=t, original=pixels, restored=restored,
            quality_used=float(mean_quality), quality_source=source, auto_quality=auto_quality,
            restore_seconds=t2 - t1, decode_seconds=decoded - t0, restorer=restorer.name, device=restorer.device,
            region=region)
        self.frameReady.emit(result, media.cached_display[1], to_qimage(restored))

    def _save_frame(self, request: SaveFrameRequest) -> None:
        """The whole frame (never the zoomed preview's crop) with the controls as they were, saved upright. No
        cancel token: a slider move right after asking must not cancel the save."""
        media = self._media
        if media is None or media.id != request.media_id:
            raise RestoraError("another file was opened before the frame could be saved")
        pixels, item, _time, _index = self._frame(media, request.time)
        restorer = self._ensure_restorer(request.id)
        if self._auto is None:
            self._auto = engine.AutoStrength(restorer)
        decision = engine.resolve_strength(request.mode, request.slider, self._auto, item)
        restored = engine.restore_on_grid(restorer, pixels, decision.quality, _block_grid(item, media.rotation))
        if request.path is None:
            self.frameCopied.emit(request.id, to_qimage(restored))
            return
        source = media.image.path if media.kind == "image" else media.reader.info.path
        written = engine.save_restored_frame(request.path, restored, source,
                                             media.image if media.kind == "image" else None)
        self.frameSaved.emit(request.id, str(written))

    def _decide_strength(self, request: RestoreFrameRequest, item):
        """(quality or per-block map for the restorer, its mean, where it came from, Auto's own number or None)."""
        if self._auto is None:  # one per clip and restorer: it keeps a running mean of the blind estimate
            self._auto = engine.AutoStrength(self._restorer)
        elif request.supersedes:
            self._auto.reset()  # a jump: the running mean belongs to other frames
        decision = engine.resolve_strength(request.mode, request.slider, self._auto, item)
        mean = float(decision.mean_quality)
        auto_quality = {"auto": mean, "relative": mean - (float(request.slider) - 50.0)}.get(request.mode)
        return decision.quality, mean, decision.source, auto_quality


class EngineThread:
    """Owns the QThread and the worker living on it; `shutdown()` is the one clean way out."""

    def __init__(self, restorer: str | None = None, device: str = "auto") -> None:
        self.thread = QThread()
        self.thread.setObjectName("restora-engine")
        self.worker = EngineWorker(restorer, device)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)

    def start(self) -> None:
        self.thread.start()

    def submit(self, request) -> None:
        self.worker.submit(request)

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Cancel, stop the loop, join. Returns False if the thread did not finish in time."""
        self.worker.stop()
        self.thread.quit()
        return self.thread.wait(timeout_ms)

"""Video decoding through PyAV: stream facts (VideoInfo), sequential frames, exact random access for scrubbing.

Frames come out as RGB uint8 (uint16 rgb48 for >8-bit sources), display rotation NOT applied: the GUI rotates
for display with `apply_rotation`, export keeps pixels as coded and copies the rotation metadata.
"""
from __future__ import annotations

import math
from collections import OrderedDict
from fractions import Fraction
from pathlib import Path
from typing import Iterator, NamedTuple

import av
import numpy as np

from ..errors import MediaError
from .types import VideoFrame, VideoInfo

try:  # a side-data view that the frame does not keep (see frame_qp_map)
    from av.sidedata.sidedata import SideDataContainer as _SideDataView
except ImportError:  # pragma: no cover - older/newer PyAV layouts: fall back to frame.side_data
    _SideDataView = None

QP_CODECS = {"h264": "h264", "mpeg2video": "mpeg2", "mpeg1video": "mpeg2"}  # decoders exporting venc_params
PICT_TYPES = {1: "I", 2: "P", 3: "B"}
# FFmpeg's frame-threaded H.264 decoder sometimes exports a QP table still being filled (QP 0 or a partial map in
# 10-40% of short test clips): decode with slice threads when QP is wanted (tests/engine/test_auto_proof.py).
QP_THREAD_TYPE = "SLICE"
# frame_at decodes forward instead of seeking when the target is at most this far ahead of the last frame.
FORWARD_DECODE_LIMIT_S = 2.0
FRAME_CACHE_BYTES = 256 * 1024 * 1024  # recently shown frames kept for stepping back (about 90 frames of 720p)

# FFmpeg's names for the colour enums (AVColorPrimaries / AVColorTransferCharacteristic / AVColorSpace / range).
PRIMARIES = {1: "bt709", 4: "bt470m", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "film", 9: "bt2020",
             10: "smpte428", 11: "smpte431", 12: "smpte432", 22: "ebu3213"}
TRANSFERS = {1: "bt709", 4: "gamma22", 5: "gamma28", 6: "smpte170m", 7: "smpte240m", 8: "linear",
             13: "iec61966-2-1", 14: "bt2020-10", 15: "bt2020-12", 16: "smpte2084", 18: "arib-std-b67"}
MATRICES = {0: "gbr", 1: "bt709", 4: "fcc", 5: "bt470bg", 6: "smpte170m", 7: "smpte240m", 8: "ycgco",
            9: "bt2020nc", 10: "bt2020c"}
RANGES = {1: "tv", 2: "pc"}
HD_HEIGHT = 720  # untagged sources at least this tall are BT.709, as players assume


def apply_rotation(pixels: np.ndarray, rotation: int) -> np.ndarray:
    """Turn coded pixels upright for display. `rotation` is FFmpeg's counter-clockwise display rotation."""
    k = (int(round(rotation / 90.0)) % 4)
    return np.ascontiguousarray(np.rot90(pixels, k)) if k else pixels


def _colour_info(frame: av.VideoFrame) -> dict:
    names = {"primaries": (frame.color_primaries, PRIMARIES), "transfer": (frame.color_trc, TRANSFERS),
             "matrix": (frame.colorspace, MATRICES), "range": (frame.color_range, RANGES)}
    info = {}
    for key, (value, table) in names.items():
        info[key] = table.get(int(value), "unknown")
        info[key + "_id"] = int(value)
    return info


def frame_qp_map(frame: av.VideoFrame, dtype=np.int32) -> np.ndarray | None:
    """The per-macroblock QP of a decoded frame (decoders asked to export venc_params), or None.

    Not through `frame.side_data`: PyAV caches that container on the frame and the container points back at the
    frame, so every frame read that way becomes cyclic garbage that only the cyclic GC frees. In the GUI that
    collection is rare (a large, long-lived heap), so hundreds of decoded frames piled up between collections,
    each holding its decoder buffers, and FFmpeg's frame pool kept every buffer it had to add: resident memory
    ratcheted up during looped playback (tens of MiB a minute). A container the frame does not hold makes no
    cycle, so the frame (and its buffers) is freed by reference counting as soon as we drop it."""
    try:
        container = _SideDataView(frame) if _SideDataView is not None else frame.side_data
        params = container["VIDEO_ENC_PARAMS"]
    except (KeyError, TypeError):
        return None
    return np.asarray(params.qp_map(), dtype=dtype)


def _rotation(stream, frame: av.VideoFrame) -> int:
    rotation = 0
    try:
        rotation = int(round(frame.rotation))  # display matrix, propagated by the decoder from the stream
    except (AttributeError, TypeError, ValueError):
        pass
    if not rotation:
        try:  # old muxers / files tag it as metadata instead
            rotation = -int(float(stream.metadata.get("rotate", 0)))
        except ValueError:
            rotation = 0
    return rotation % 360


class _RecentFrames:
    """Frames frame_at decoded lately, each with the time the next frame starts, so a lookup is exact."""

    def __init__(self, budget_bytes: int) -> None:
        self.budget = budget_bytes
        self._frames: OrderedDict[float, tuple[VideoFrame, float]] = OrderedDict()  # LRU order
        self._bytes = 0

    def add(self, frame: VideoFrame, next_time: float) -> None:
        if frame.time in self._frames:
            self._frames.move_to_end(frame.time)
            return
        self._frames[frame.time] = (frame, next_time)
        self._bytes += frame.pixels.nbytes
        while self._bytes > self.budget and len(self._frames) > 1:
            _, (old, _) = self._frames.popitem(last=False)
            self._bytes -= old.pixels.nbytes

    def lookup(self, time: float) -> VideoFrame | None:
        for start, (frame, end) in self._frames.items():  # a few dozen entries: a scan is cheap
            if start <= time < end:
                self._frames.move_to_end(start)
                return frame
        return None

    def clear(self) -> None:
        self._frames.clear()
        self._bytes = 0


class FrameCoding(NamedTuple):
    """How one frame was coded, without its pixels (the quality plot's scan)."""
    index: int
    pict_type: str  # "I", "P", "B" or "?"
    qp_map: np.ndarray | None  # as VideoFrame.qp_map
    qp_codec: str  # as VideoFrame.qp_codec


class VideoReader:
    """An open video file. Not thread-safe: one consumer at a time (the engine worker)."""

    def __init__(self, path, with_qp: bool = False) -> None:
        self.path = Path(path)
        self.with_qp = with_qp
        self.skipped_frames = 0
        if not self.path.exists():
            raise MediaError(f"file not found: {self.path}")
        if self.path.stat().st_size == 0:
            raise MediaError(f"{self.path.name} is empty (0 bytes)")
        self._container = None
        self._open()
        self._cursor: Iterator[VideoFrame] | None = None  # frame_at's decoder position
        self._current: VideoFrame | None = None  # last frame frame_at handed out
        self._lookahead: VideoFrame | None = None  # next frame after it, already decoded
        self._cache = _RecentFrames(FRAME_CACHE_BYTES)
        first = self._first_frame()
        self.info = self._make_info(first)
        self._first = self._convert(first, 0)

    # --- opening -------------------------------------------------------------------------------------------
    def _open(self) -> None:
        if self._container is not None:
            self._container.close()
        try:
            self._container = av.open(str(self.path), metadata_errors="ignore")
        except av.FFmpegError as exc:
            reason = exc.strerror or type(exc).__name__  # str(exc) would repeat the full path
            raise MediaError(f"{self.path.name} is not a video Restora can read ({reason})") from None
        if not self._container.streams.video:
            self._container.close()
            raise MediaError(f"{self.path.name} has no video stream")
        self.container_format = self._container.format.name  # e.g. "mov,mp4,m4a,3gp,3g2,mj2", "matroska,webm"
        self._stream = self._container.streams.video[0]
        self._stream.thread_type = "AUTO"
        if self.with_qp and self._stream.codec_context.name in QP_CODECS:
            self._stream.codec_context.options = {"export_side_data": "venc_params"}
            self._stream.thread_type = QP_THREAD_TYPE
        start = self._stream.start_time
        self._start_pts = int(start) if start is not None else 0
        self._time_base = self._stream.time_base or Fraction(1, 90000)

    def _first_frame(self) -> av.VideoFrame:
        for frame in self._decode_raw():
            return frame
        self.close()
        raise MediaError(f"{self.path.name} has no decodable video frame (truncated or damaged)")

    def _make_info(self, frame: av.VideoFrame) -> VideoInfo:
        s, c = self._stream, self._container
        fps = s.average_rate or s.guessed_rate or s.base_rate or Fraction(25)
        if s.duration is not None:
            duration = float(s.duration * self._time_base)
        elif c.duration is not None:
            duration = c.duration / av.time_base
        else:
            duration = 0.0
        frame_count = int(s.frames) if s.frames else max(1, int(round(duration * float(fps))))
        bits = max((comp.bits for comp in frame.format.components), default=8)
        codec = s.codec_context.name
        qp_available = codec in QP_CODECS
        if self.with_qp and qp_available:
            qp_available = self._raw_qp(frame) is not None
        return VideoInfo(
            path=self.path, width=frame.width, height=frame.height, codec=codec, pix_fmt=frame.format.name,
            bit_depth=int(bits), fps=Fraction(fps), time_base=Fraction(self._time_base), frame_count=frame_count,
            duration=duration, rotation=_rotation(s, frame), start_time=float(self._start_pts * self._time_base),
            color=_colour_info(frame), has_audio=bool(c.streams.audio), has_subtitles=bool(c.streams.subtitles),
            qp_available=qp_available)

    # --- decoding ------------------------------------------------------------------------------------------
    def _decode_raw(self) -> Iterator[av.VideoFrame]:
        """Decoded frames in presentation order; packets that fail to decode are skipped and counted."""
        packets = self._container.demux(self._stream)
        while True:
            try:
                packet = next(packets)
            except StopIteration:
                break
            except av.FFmpegError:
                # the container is damaged from here on: flush what the decoder still holds and stop
                try:
                    yield from self._stream.decode(None)
                except av.FFmpegError:
                    pass
                break
            try:
                frames = packet.decode()  # the final empty packet flushes the decoder
            except av.FFmpegError:
                self.skipped_frames += 1
                continue
            yield from frames

    def _raw_qp(self, frame: av.VideoFrame) -> np.ndarray | None:
        return frame_qp_map(frame)

    def _time_of(self, frame: av.VideoFrame) -> tuple[int | None, float]:
        pts = frame.pts if frame.pts is not None else frame.dts
        if pts is None:
            return None, 0.0
        return int(pts), float((pts - self._start_pts) * self._time_base)

    def _convert(self, frame: av.VideoFrame, index: int) -> VideoFrame:
        pts, time = self._time_of(frame)
        if pts is None:  # raw elementary streams carry no timestamps: frames are evenly spaced
            time = index / float(self.info.fps)
        rgb_format = "rgb48le" if self.info.bit_depth > 8 else "rgb24"
        src_colorspace = None
        if int(frame.colorspace) == 2 and frame.height >= HD_HEIGHT:  # untagged HD: BT.709, not swscale's BT.601
            src_colorspace = av.video.reformatter.Colorspace.ITU709
        range_kw = {"src_color_range": int(frame.color_range)} if int(frame.color_range) else {}
        try:
            pixels = frame.to_ndarray(format=rgb_format, src_colorspace=src_colorspace, **range_kw)
        except (av.FFmpegError, ValueError) as exc:
            raise MediaError(f"{self.path.name}: cannot convert {frame.format.name} frames to RGB ({exc})") from None
        qp = self._raw_qp(frame) if self.with_qp else None
        return VideoFrame(index=index, pts=pts, time=time, pixels=pixels, pict_type=PICT_TYPES.get(
            int(frame.pict_type), "?"), qp_map=qp, corrupt=bool(getattr(frame, "is_corrupt", False)),
            qp_codec=QP_CODECS.get(self.info.codec, "") if qp is not None else "")

    def frames(self, start_time: float = 0.0) -> Iterator[VideoFrame]:
        """Frames in presentation order from `start_time` (seconds from the stream start) to the end.

        Indexes count from the first frame of the file when starting at 0, and are estimated from time x fps
        after a seek. Packets that fail to decode are skipped and counted in `skipped_frames` (reset per pass).
        """
        self._invalidate_cursor()
        self.skipped_frames = 0  # counts this pass only
        if start_time <= 0:
            self._open()
            index = 0
            for frame in self._decode_raw():
                yield self._convert(frame, index)
                index += 1
            return
        for frame in self._frames_from(start_time):
            yield frame

    def coding(self) -> Iterator[FrameCoding]:
        """Picture type and QP map of every frame from the start, skipping the RGB conversion (a third of the
        cost of a pass over 720p H.264 here)."""
        self._invalidate_cursor()
        self.skipped_frames = 0
        self._open()
        for index, frame in enumerate(self._decode_raw()):
            qp = self._raw_qp(frame) if self.with_qp else None
            yield FrameCoding(index, PICT_TYPES.get(int(frame.pict_type), "?"), qp,
                              QP_CODECS.get(self.info.codec, "") if qp is not None else "")

    def _frames_from(self, start_time: float) -> Iterator[VideoFrame]:
        """Seek to the keyframe before `start_time`, decode forward, yield from the frame displayed then."""
        fps = float(self.info.fps)
        margin = 0.0
        while True:
            self._seek(max(0.0, start_time - margin))
            pending = None
            emitted = False
            for raw in self._decode_raw():
                _, t = self._time_of(raw)
                if not emitted and t <= start_time + 1e-6:
                    pending = raw  # still before the target: remember, the displayed frame is the last of these
                    continue
                if not emitted:
                    if pending is None and margin < start_time:
                        break  # the seek landed after the target: retry from further back
                    emitted = True
                    if pending is not None:
                        yield self._convert(pending, self._index_of(pending, fps))
                yield self._convert(raw, self._index_of(raw, fps))
            else:
                if not emitted and pending is not None:
                    yield self._convert(pending, self._index_of(pending, fps))
                return
            margin = max(1.0, margin * 4)

    def _index_of(self, frame: av.VideoFrame, fps: float) -> int:
        return max(0, int(round(self._time_of(frame)[1] * fps)))

    def _seek(self, time: float) -> None:
        target = self._start_pts + int(math.floor(time / self._time_base))
        try:
            self._container.seek(target, backward=True, any_frame=False, stream=self._stream)
        except av.FFmpegError:
            self._open()  # unseekable (some AVI/MPEG-TS): decode from the start instead
            return
        self._stream.codec_context.flush_buffers()

    # --- random access -------------------------------------------------------------------------------------
    def _invalidate_cursor(self) -> None:
        self._cursor = self._current = self._lookahead = None

    def frame_at(self, time: float) -> VideoFrame:
        """The frame displayed at `time` seconds (the last frame whose timestamp is <= time), exactly.

        Stepping forward reuses the open decoder; recently shown frames come from a cache (stepping back);
        anything else seeks to the previous keyframe and decodes forward.
        """
        time = max(0.0, float(time))
        if time <= self._first.time:
            return self._first
        cur = self._current
        if cur is not None and cur.time <= time:
            if self._lookahead is None or time < self._lookahead.time:
                return cur
            if time - cur.time <= FORWARD_DECODE_LIMIT_S:
                return self._advance_to(time)
        cached = self._cache.lookup(time)
        if cached is not None:
            return cached
        self._cursor = self._frames_from(time)
        self._current = next(self._cursor, None) or self._first
        self._lookahead = next(self._cursor, None)
        self._remember_current()
        return self._advance_to(time)

    def _advance_to(self, time: float) -> VideoFrame:
        while self._lookahead is not None and self._lookahead.time <= time + 1e-9:
            self._current = self._lookahead
            self._lookahead = next(self._cursor, None)
            self._remember_current()
        return self._current

    def _remember_current(self) -> None:
        end = self._lookahead.time if self._lookahead is not None else math.inf
        self._cache.add(self._current, end)

    # --- lifetime ------------------------------------------------------------------------------------------
    def close(self) -> None:
        self._invalidate_cursor()
        self._cache.clear()
        if self._container is not None:
            self._container.close()
            self._container = None

    def __enter__(self) -> "VideoReader":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def open_video(path, with_qp: bool = False) -> VideoReader:
    """Open a video file; MediaError (one line) when it is missing, empty, damaged or has no video stream."""
    return VideoReader(path, with_qp=with_qp)

"""The export's side of decoding: probe what must be carried over (time base, rotation, colour, bit depth) and
decode frames with their exact source timestamps.

Damaged input: a packet the decoder rejects yields no frame; that frame is *skipped* (absent from the output,
counted in the report) and every other frame keeps its own timestamp, so audio stays in sync. Frames the decoder
conceals (flagged corrupt) are restored and kept, and counted separately.
"""
from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Callable, Iterator

import av
import numpy as np

from ..errors import MediaError
# decoders exporting per-macroblock QP (and their scale), and the threading that exports it intact
from ..media.video_reader import PICT_TYPES, QP_CODECS, QP_THREAD_TYPE, frame_qp_map


@dataclass
class SourceInfo:
    width: int
    height: int
    codec: str
    time_base: Fraction
    rate: Fraction  # nominal frame rate; a hint for encoders only, never used to make timestamps
    bit_depth: int
    chroma: str  # "420", "422" or "444"
    rotation: int
    sample_aspect_ratio: Fraction | None  # anamorphic sources (DVD, HDV) keep their display shape
    colour: dict  # colorspace / color_primaries / color_trc / color_range as FFmpeg's integer codes
    start_pts: int
    frame_estimate: int
    duration: float
    audio_streams: int = 0
    subtitle_streams: int = 0


@dataclass
class DecodeStats:
    skipped: int = 0
    corrupt: int = 0
    repaired_pts: int = 0  # frames whose timestamp was missing or went backwards
    frames: int = 0  # frames in the exported range, including those skipped for resume
    offset_pts: int = 0  # subtracted from source pts (non-zero only with an in point)


@dataclass
class SourceFrame:
    index: int  # position among exported frames
    pts: int  # output pts in the source time base (in point subtracted)
    time: float  # seconds, output timeline
    pixels: np.ndarray
    pict_type: str = "?"
    qp_map: np.ndarray | None = None
    qp_codec: str = ""
    corrupt: bool = False


def _open(path: Path):
    try:
        container = av.open(str(path))
    except (av.FFmpegError, UnicodeDecodeError) as exc:
        raise MediaError(f"{path.name}: not a readable video ({_short(exc)})") from None
    if not container.streams.video:
        container.close()
        raise MediaError(f"{path.name}: has no video stream")
    return container


def _short(exc: Exception) -> str:
    text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return text[:120]


def _chroma(pix_fmt: str) -> str:
    for family in ("444", "422"):
        if family in pix_fmt:
            return family
    return "420"


def probe_source(path: Path) -> SourceInfo:
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        first = None
        try:
            for frame in container.decode(stream):
                first = frame
                break
        except av.FFmpegError as exc:
            raise MediaError(f"{path.name}: cannot decode video ({_short(exc)})") from None
        if first is None:
            raise MediaError(f"{path.name}: video stream has no frames")
        tb = stream.time_base or Fraction(1, 90000)
        rate = stream.average_rate or stream.guessed_rate or (1 / tb)
        duration = float(stream.duration * tb) if stream.duration else (
            container.duration / av.time_base if container.duration else 0.0)
        estimate = stream.frames or max(1, int(round(duration * float(rate))))
        depth = max(c.bits for c in first.format.components)
        return SourceInfo(
            width=first.width, height=first.height, codec=stream.codec_context.name, time_base=Fraction(tb),
            rate=Fraction(rate), bit_depth=depth, chroma=_chroma(first.format.name),
            rotation=int(round(first.rotation or 0)) % 360,
            sample_aspect_ratio=stream.sample_aspect_ratio or None,
            colour={"colorspace": int(first.colorspace), "color_primaries": int(first.color_primaries),
                    "color_trc": int(first.color_trc), "color_range": int(first.color_range)},
            start_pts=int(stream.start_time or 0), frame_estimate=int(estimate), duration=duration,
            audio_streams=len(container.streams.audio), subtitle_streams=len(container.streams.subtitles))
    finally:
        container.close()


def rgb_format(bit_depth: int) -> str:
    return "rgb48le" if bit_depth > 8 else "rgb24"


def to_rgb(frame: av.VideoFrame, info: SourceInfo) -> np.ndarray:
    """Convert with the source's own matrix and range (the encoder converts back with the same ones)."""
    return frame.to_ndarray(format=rgb_format(info.bit_depth), src_colorspace=info.colour["colorspace"],
                            src_color_range=info.colour["color_range"])


def decode_frames(path: Path, info: SourceInfo, stats: DecodeStats, *, start: float | None = None,
                  end: float | None = None, skip: Callable[[int], bool] = lambda i: False,
                  want_qp: bool = False) -> Iterator[SourceFrame]:
    """Every frame in [start, end) in presentation order, with exact source pts shifted by the in point.
    Frames for which `skip(index)` is true (segments finished by an earlier run) are counted, not converted."""
    tb = info.time_base
    container = _open(path)
    try:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        if want_qp and info.codec in QP_CODECS:
            stream.codec_context.options = {"export_side_data": "venc_params"}
            stream.thread_type = QP_THREAD_TYPE  # frame threads export half-filled QP tables
        start_pts = info.start_pts + (int(math.floor(start / tb)) if start else 0)
        # The epsilon keeps float noise (1.12 s / (1/12800) = 14336.000000000002) from adding a frame at the out point.
        end_pts = info.start_pts + int(math.ceil(end / tb - 1e-6)) if end is not None else None
        if start:
            container.seek(start_pts, stream=stream, backward=True, any_frame=False)
        offset, index, last_pts = None, 0, None
        for frame, pts in _best_effort_timestamps(_decode_tolerant(container, stream, stats)):
            if pts is None or (last_pts is not None and pts <= last_pts):
                stats.repaired_pts += 1  # keep pts strictly increasing: encoders and muxers require it
                pts = (last_pts + 1) if last_pts is not None else info.start_pts
            if start and pts < start_pts:
                continue
            if end_pts is not None and pts >= end_pts:
                break
            last_pts = pts
            if offset is None:
                # Untrimmed exports keep the source timeline as is; trimmed ones start where the source started.
                offset = stats.offset_pts = (pts - info.start_pts) if start else 0
            index, stats.frames = index + 1, index + 1
            if skip(index - 1):
                continue
            corrupt = bool(frame.is_corrupt)
            stats.corrupt += corrupt
            out_pts = pts - offset
            qp = _qp_map(frame) if want_qp else None
            yield SourceFrame(index - 1, out_pts, float((out_pts - info.start_pts) * tb), to_rgb(frame, info),
                              PICT_TYPES.get(int(frame.pict_type), "?"), qp,
                              QP_CODECS.get(info.codec, "") if qp is not None else "", corrupt)
    finally:
        container.close()


class _TimestampGuess:
    """libavcodec's guess_correct_pts ("best effort timestamp", which PyAV does not expose): trust frame pts
    unless they go backwards more often than dts do -- AVI with packed B-frames labels frames with dts-order
    pts, and there the dts are the presentation times."""

    def __init__(self) -> None:
        self.faulty_pts = self.faulty_dts = 0
        self.last_pts = self.last_dts = None

    def observe(self, pts, dts) -> None:
        if dts is not None:
            self.faulty_dts += self.last_dts is not None and dts <= self.last_dts
            self.last_dts = dts
        if pts is not None:
            self.faulty_pts += self.last_pts is not None and pts <= self.last_pts
            self.last_pts = pts

    def choose(self, pts, dts):
        if pts is not None and (self.faulty_pts <= self.faulty_dts or dts is None):
            return pts
        return dts


TIMESTAMP_LOOKAHEAD = 8  # frames observed before the first choice, so the guess is settled from frame one


def _best_effort_timestamps(frames: Iterator[av.VideoFrame]) -> Iterator[tuple[av.VideoFrame, int | None]]:
    guess, pending = _TimestampGuess(), deque()
    for frame in frames:
        guess.observe(frame.pts, frame.dts)
        pending.append(frame)
        if len(pending) > TIMESTAMP_LOOKAHEAD:
            first = pending.popleft()
            yield first, guess.choose(first.pts, first.dts)
    while pending:
        first = pending.popleft()
        yield first, guess.choose(first.pts, first.dts)


def _decode_tolerant(container, stream, stats: DecodeStats) -> Iterator[av.VideoFrame]:
    try:
        for packet in container.demux(stream):
            try:
                frames = stream.decode(packet)  # the final empty packet flushes the decoder
            except (av.InvalidDataError, av.error.UndefinedError):
                stats.skipped += 1
                continue
            yield from frames
    except av.FFmpegError as exc:
        raise MediaError(f"{Path(container.name).name}: cannot read the video ({_short(exc)})") from None


def _qp_map(frame: av.VideoFrame) -> np.ndarray | None:
    try:  # not frame.side_data: that makes each frame cyclic garbage holding its decoder buffers (frame_qp_map)
        return frame_qp_map(frame, dtype=np.float32)
    except Exception:  # noqa: BLE001 - side data present but not block-based: no map, not an error
        return None

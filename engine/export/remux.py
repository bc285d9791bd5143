"""Final assembly: the segments' video packets, in order and with their source-exact timestamps, plus the
source's audio and subtitle packets copied unchanged, interleaved by time into the output container.

Audio is transcoded only when the output container cannot hold its codec (e.g. PCM in .mp4 -> AAC); a subtitle
stream the container cannot hold is dropped. Either case is written to the report.
"""
from __future__ import annotations

import heapq
import itertools
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import av

from ..cancel import CancelToken, check
from .encode import EncodePlan

# Codec used when an audio stream must be re-encoded to fit the container.
AUDIO_FALLBACK = {"mp4": "aac", "mov": "aac", "matroska": "flac"}  # flac: lossless, any sample rate


@dataclass(frozen=True)
class TimeWindow:
    """The exported part of the source timeline, in absolute source seconds, and the shift applied to it."""
    start: float | None
    end: float | None
    shift: float  # seconds subtracted from every copied timestamp

    def keeps(self, t0: float, t1: float) -> bool:
        return (self.start is None or t1 > self.start) and (self.end is None or t0 < self.end)


def _time(packet: av.Packet) -> float:
    stamp = packet.dts if packet.dts is not None else packet.pts
    return float(stamp * packet.time_base) if stamp is not None else float("-inf")


def _video_packets(segments: list[Path], out_stream) -> Iterator[av.Packet]:
    """Packets of all segments in order; DTS kept strictly increasing across the joins."""
    last_dts: Fraction | None = None
    for path in segments:
        with av.open(str(path)) as seg:
            stream = seg.streams.video[0]
            for packet in seg.demux(stream):
                if packet.size == 0:
                    continue
                tb = packet.time_base
                if packet.dts is not None and last_dts is not None and packet.dts * tb <= last_dts:
                    # Each segment's encoder starts its DTS a reorder-delay before its first PTS; nudge it.
                    packet.dts = min(int(last_dts / tb) + 1, packet.pts)
                if packet.dts is not None:
                    last_dts = packet.dts * tb
                packet.stream = out_stream
                yield packet


def _copied_packets(src, in_stream, out_stream, window: TimeWindow) -> Iterator[av.Packet]:
    tb = in_stream.time_base
    shift = int(round(window.shift / tb)) if window.shift else 0
    for packet in src.demux(in_stream):
        if packet.size == 0 or packet.pts is None:
            continue
        t0 = float(packet.pts * tb)
        if not window.keeps(t0, t0 + float((packet.duration or 0) * tb)):
            continue
        packet.pts -= shift
        if packet.dts is not None:
            packet.dts -= shift
        packet.stream = out_stream
        yield packet


def _transcoded_packets(src, in_stream, out_stream, window: TimeWindow) -> Iterator[av.Packet]:
    rate = out_stream.codec_context.sample_rate
    in_stream.thread_type = "AUTO"
    for packet in src.demux(in_stream):
        try:
            frames = in_stream.decode(packet)
        except av.InvalidDataError:
            continue
        for frame in frames:
            if frame.pts is None:
                continue
            t0 = float(frame.pts * frame.time_base)
            if not window.keeps(t0, t0 + frame.samples / frame.sample_rate):
                continue
            frame.pts = int(round((t0 - window.shift) * rate))
            frame.time_base = Fraction(1, rate)
            yield from out_stream.encode(frame)
    yield from out_stream.encode(None)


def _add_side_streams(src, out, container: str, keep_audio: bool, keep_subtitles: bool, report_lines: list):
    """Map each audio/subtitle stream of the source to a copy, a transcode or nothing."""
    plans = []
    for stream in src.streams:
        if stream.type == "video" and stream.index != src.streams.video[0].index:
            report_lines.append(f"video #{stream.index}: left out (only the first video stream is restored)")
        if stream.type not in ("audio", "subtitle"):
            continue
        name = stream.codec_context.name if stream.codec_context else "?"
        label = f"{stream.type} #{stream.index} ({name})"
        if (stream.type == "audio" and not keep_audio) or (stream.type == "subtitle" and not keep_subtitles):
            report_lines.append(f"{label}: left out (by settings)")
            continue
        try:
            out_stream = out.add_stream_from_template(stream)
            _copy_stream_info(stream, out_stream)
            plans.append(("copy", stream, out_stream))
            report_lines.append(f"{label}: copied")
            continue
        except ValueError:
            pass
        if stream.type == "subtitle":
            report_lines.append(f"{label}: dropped, the {container} container cannot hold {name} subtitles")
            continue
        codec = AUDIO_FALLBACK[container]
        cc = stream.codec_context
        out_stream = out.add_stream(codec, rate=cc.sample_rate, layout=cc.layout.name)
        _copy_stream_info(stream, out_stream)
        plans.append(("transcode", stream, out_stream))
        report_lines.append(f"{label}: transcoded to {codec}, the {container} container cannot hold {name}")
    return plans


def _copy_stream_info(src_stream, out_stream) -> None:
    try:
        out_stream.metadata = dict(src_stream.metadata)  # language, title
        out_stream.disposition = src_stream.disposition
    except (AttributeError, TypeError, ValueError):
        pass  # cosmetic; never worth failing an export over


def assemble(segments: list[Path], src_path: Path, tmp: Path, *, container: str, plan: EncodePlan, rotation: int,
             window: TimeWindow, keep_audio: bool, keep_subtitles: bool, tag: str | None,
             cancel: CancelToken | None = None) -> list[str]:
    """Write the final file at `tmp`. Returns one report line per audio/subtitle stream."""
    lines: list[str] = []
    options = {"movflags": "+faststart"} if container in ("mp4", "mov") else {"avoid_negative_ts": "disabled"}
    with av.open(str(tmp), "w", format=container, options=options) as out, av.open(str(src_path)) as src:
        with av.open(str(segments[0])) as first:
            # opaque: reuse the decoder-side codec; only packets are copied (libdav1d has no encoder twin)
            video = out.add_stream_from_template(first.streams.video[0], opaque=True)
        video.time_base = plan.time_base
        for key, value in plan.colour.items():
            setattr(video.codec_context, key, value)
        if tag:
            video.codec_context.codec_tag = tag
        if rotation:
            video.set_display_rotation(rotation)
        side = _add_side_streams(src, out, container, keep_audio, keep_subtitles, lines)
        try:
            out.metadata.update({k: v for k, v in src.metadata.items() if k not in ("encoder", "major_brand")})
        except (AttributeError, TypeError):
            pass
        sources = [_video_packets(segments, video)]
        for mode, in_stream, out_stream in side:
            # Each side stream demuxes from its own handle, so every iterator reads its stream in file order.
            handle = av.open(str(src_path))
            in_s = handle.streams[in_stream.index]
            maker = _copied_packets if mode == "copy" else _transcoded_packets
            sources.append(_closing(handle, maker(handle, in_s, out_stream, window)))
        counter = itertools.count()
        keyed = [((_time(p), next(counter), p) for p in it) for it in sources]
        for n, (_, _, packet) in enumerate(heapq.merge(*keyed, key=lambda x: (x[0], x[1]))):
            if n % 64 == 0:
                check(cancel)
            out.mux(packet)
    return lines


def _closing(handle, packets: Iterator) -> Iterator:
    try:
        yield from packets
    finally:
        handle.close()

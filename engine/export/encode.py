"""Encoding one closed-GOP segment: a fresh encoder per segment, so every segment starts with a keyframe and
its bytes depend only on its own frames and the settings. That is what makes resume equal to an uninterrupted
run. Segments keep the source time base exactly: MP4/MOV (they store real DTS, which NUT and Matroska do not),
NUT for FFV1, which the ISO formats cannot hold and which, being intra-only, needs no DTS."""
from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..errors import OutputError
from .determinism import zeroed_allocations
from .settings import PRORES_PROFILES, CodecSpec, ExportSettings
from .source import SourceInfo, rgb_format

SEGMENT_FORMATS = {"ffv1": "nut", "prores_ks": "mov"}


def segment_format(codec: str) -> str:
    return SEGMENT_FORMATS.get(codec, "mp4")


def default_encoder_threads() -> int:
    # Fixed per export and recorded in the resume manifest: x264/x265 output depends on the thread count.
    return max(1, min(os.cpu_count() or 1, 16))


@dataclass(frozen=True)
class EncodePlan:
    codec: str
    pix_fmt: str
    options: dict
    bit_rate: int | None
    width: int
    height: int
    time_base: Fraction
    rate: Fraction
    colour: dict
    rgb_format: str  # what the restored pixels arrive as
    gop: int
    sample_aspect_ratio: Fraction | None = None


def _pix_fmt(spec: CodecSpec, depth: int, chroma: str) -> str:
    """Keep the source's chroma subsampling where the codec allows, else 4:2:0 (4:2:2 for ProRes)."""
    supported = {f.name for f in av.codec.Codec(spec.name, "w").video_formats or []}
    suffix = "10le" if depth == 10 else ""
    for family in (chroma, "422" if spec.name == "prores_ks" else "420"):
        name = f"yuv{family}p{suffix}"
        if name in supported:
            return name
    raise OutputError(f"{spec.name} cannot encode {depth}-bit video in this build")


def plan_encoder(settings: ExportSettings, spec: CodecSpec, info: SourceInfo, threads: int,
                 segment_frames: int) -> EncodePlan:
    depth = settings.bit_depth()
    options: dict[str, str] = {}
    bit_rate = None
    if spec.default_crf is not None:
        if settings.bitrate is not None:
            bit_rate = int(settings.bitrate)
        else:
            options["crf"] = str(settings.crf if settings.crf is not None else spec.default_crf)
    if spec.default_preset is not None:
        preset = settings.preset or spec.default_preset
        options[spec.preset_option] = PRORES_PROFILES.get(preset, preset) if spec.name == "prores_ks" else preset
    if spec.name in ("libx264", "libx265", "ffv1", "prores_ks"):
        options["threads"] = str(threads)
    if spec.name == "libx265":
        options["x265-params"] = "log-level=error"
    if spec.name == "ffv1":
        options.update({"level": "3", "slicecrc": "1"})  # level 3: sliced (threaded) with per-slice CRCs
    if spec.name == "libsvtav1":
        options["svtav1-params"] = f"lp={threads}"
    width, height = info.width, info.height
    if spec.name in ("libx264", "libx265", "libsvtav1") and (width % 2 or height % 2):
        raise OutputError(f"{spec.name} needs an even frame size; {width}x{height} is odd (use ffv1 or prores_ks)")
    return EncodePlan(spec.name, _pix_fmt(spec, depth, info.chroma), options, bit_rate, width, height,
                      info.time_base, info.rate, dict(info.colour), rgb_format(info.bit_depth), segment_frames,
                      info.sample_aspect_ratio)


class SegmentWriter:
    """Encodes frames (RGB arrays + source pts) into one segment file."""

    def __init__(self, path: Path, plan: EncodePlan) -> None:
        self.path, self.plan = path, plan
        if plan.codec == "libsvtav1":
            os.environ.setdefault("SVT_LOG", "1")  # SVT-AV1 prints its banner to stderr otherwise
        self.container = av.open(str(path), "w", format=segment_format(plan.codec))
        try:
            stream = self.container.add_stream(plan.codec, rate=plan.rate)
            stream.width, stream.height, stream.pix_fmt = plan.width, plan.height, plan.pix_fmt
            stream.time_base = plan.time_base
            cc = stream.codec_context
            cc.time_base = plan.time_base
            cc.gop_size = plan.gop
            for key, value in plan.colour.items():
                setattr(cc, key, value)
            if plan.sample_aspect_ratio:
                cc.sample_aspect_ratio = plan.sample_aspect_ratio
            if plan.bit_rate is not None:
                cc.bit_rate = plan.bit_rate
            cc.options = dict(plan.options)
            self.stream = stream
        except Exception:
            self.container.close()
            raise

    def write(self, pixels: np.ndarray, pts: int) -> None:
        frame = av.VideoFrame.from_ndarray(pixels, format=self.plan.rgb_format)
        colour = self.plan.colour
        frame = frame.reformat(format=self.plan.pix_fmt, dst_colorspace=colour["colorspace"],
                               dst_color_range=colour["color_range"])
        frame.pts, frame.time_base = pts, self.plan.time_base
        frame.color_range = colour["color_range"]
        with zeroed_allocations():  # the encoder opens and allocates inside encode(): see determinism.py
            packets = self.stream.encode(frame)
        self.container.mux(packets)

    def close(self) -> None:
        try:
            with zeroed_allocations():
                packets = self.stream.encode(None)
            self.container.mux(packets)
        finally:
            self.container.close()

    def abort(self) -> None:
        try:
            self.container.close()
        except Exception:  # noqa: BLE001 - the part file is deleted anyway
            pass
        self.path.unlink(missing_ok=True)

"""Plain data passed between media I/O, restoration, export and the GUI."""
from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np


@dataclass
class ImageData:
    """A decoded still image, already upright (EXIF orientation applied)."""
    pixels: np.ndarray  # uint8 or uint16; HxWx3 RGB or HxW grey
    alpha: np.ndarray | None = None  # HxW, same dtype as pixels, or None
    path: Path | None = None
    format: str = ""  # "JPEG", "PNG", ...
    jpeg_quality: int | None = None  # IJG quality estimated from the quantization tables (JPEG only)
    jpeg_quality_confidence: float | None = None  # 1.0 exact standard tables; lower for custom tables
    icc_profile: bytes | None = None
    exif: bytes | None = None  # orientation tag reset to 1 (pixels are upright)
    frame_count: int = 1  # animated GIF/WebP/PNG, multi-page TIFF: more than 1, and `pixels` is the first
    # (row, column) where its 8x8 compression blocks start: (0, 0) for a JPEG as decoded, else from the pixels
    # (a cropped or screenshotted JPEG); restore_on_grid shifts the image onto it (engine/auto/block_grid.py)
    block_grid: tuple[int, int] = (0, 0)

    @property
    def width(self) -> int:
        return int(self.pixels.shape[1])

    @property
    def height(self) -> int:
        return int(self.pixels.shape[0])


@dataclass
class VideoInfo:
    path: Path
    width: int  # coded size, before display rotation
    height: int
    codec: str
    pix_fmt: str
    bit_depth: int
    fps: Fraction  # average frame rate (VFR clips: nominal)
    time_base: Fraction
    frame_count: int  # exact when the container says so, else estimated from duration
    duration: float  # seconds
    rotation: int = 0  # display rotation in degrees (0/90/180/270), counter-clockwise as FFmpeg reports it
    start_time: float = 0.0
    color: dict = field(default_factory=dict)  # primaries/transfer/matrix/range as FFmpeg names them
    has_audio: bool = False
    has_subtitles: bool = False
    qp_available: bool = False  # H.264 / MPEG-2 expose per-macroblock QP


@dataclass
class VideoFrame:
    index: int  # decode-order position among frames of the stream (0-based)
    pts: int | None  # in the stream time base
    time: float  # seconds, relative to the stream start
    pixels: np.ndarray  # HxWx3 uint8 RGB (uint16 for >8-bit sources), display rotation NOT applied
    pict_type: str = "?"  # "I", "P", "B" or "?"
    qp_map: np.ndarray | None = None  # per-macroblock QP (rows x cols of 16x16 blocks), when the codec exports it
    corrupt: bool = False  # decoder flagged the frame as damaged
    qp_codec: str = ""  # scale of qp_map: "h264" (QP 0..51) or "mpeg2" (quantiser_scale 1..112); "" when none

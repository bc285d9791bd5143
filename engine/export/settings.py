"""What an export produces: codec choices (with the containers and bit depths each allows), the frozen settings,
progress and the final report. Pure data plus validation; no encoding happens here."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..errors import OutputError
from .layout import check_layout

# Output extension -> FFmpeg muxer name. The container always follows the extension the user typed.
CONTAINERS = {".mp4": "mp4", ".mkv": "matroska", ".mov": "mov"}
IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".webp")


@dataclass(frozen=True)
class CodecSpec:
    name: str  # FFmpeg encoder name
    title: str
    containers: tuple[str, ...]  # allowed output extensions
    bit_depths: tuple[int, ...]
    default_crf: int | None  # None: the codec has no CRF (intra profiles, lossless)
    crf_range: tuple[int, int] | None
    default_preset: str | None
    presets: tuple[str, ...]
    lossless: bool = False
    preset_option: str = "preset"  # the private option the preset goes to
    tag_for_mp4: str | None = None  # codec tag Apple players need in .mp4/.mov


_X26X_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow")

CODECS: dict[str, CodecSpec] = {
    "libx264": CodecSpec("libx264", "H.264 (x264)", (".mp4", ".mkv", ".mov"), (8, 10), 18, (0, 51), "medium",
                         _X26X_PRESETS),
    "libx265": CodecSpec("libx265", "H.265 / HEVC (x265)", (".mp4", ".mkv", ".mov"), (8, 10), 20, (0, 51), "medium",
                         _X26X_PRESETS, tag_for_mp4="hvc1"),
    "libsvtav1": CodecSpec("libsvtav1", "AV1 (SVT-AV1)", (".mp4", ".mkv"), (8, 10), 30, (1, 63), "8",
                           tuple(str(p) for p in range(14))),
    # ProRes is a 10-bit intra codec: quality comes from the profile, not a CRF.
    "prores_ks": CodecSpec("prores_ks", "Apple ProRes (prores_ks)", (".mov", ".mkv"), (10,), None, None, "hq",
                           ("proxy", "lt", "standard", "hq"), preset_option="profile"),
    "ffv1": CodecSpec("ffv1", "FFV1 (lossless)", (".mkv",), (8, 10), None, None, None, (), lossless=True),
}
PRORES_PROFILES = {"proxy": "0", "lt": "1", "standard": "2", "hq": "3"}


@dataclass(frozen=True)
class ExportSettings:
    codec: str = "libx264"
    crf: int | None = None  # None: the codec's default
    bitrate: int | None = None  # bits/s; an alternative to crf for the lossy codecs
    preset: str | None = None  # None: the codec's default
    ten_bit: bool = False  # ProRes is always 10-bit
    start: float | None = None  # in point, seconds from the start of the clip
    end: float | None = None  # out point (exclusive), seconds
    quality: float | str = "auto"  # JPEG-scale 1..100 for every frame, or "auto" per frame
    model: str | None = None  # restorer name; None = the default for the device
    device: str = "auto"
    keep_audio: bool = True
    keep_subtitles: bool = True
    segment_seconds: float = 2.0  # length of each closed-GOP segment (the unit of resume)
    batch_size: int = 1  # frames per restore call (restorers with restore_batch)
    image_quality: int | None = None  # JPEG/WebP still-image quality; None = image_io's default
    ensemble: int = 1  # forward passes per frame in turned orientations, averaged (1, 2, 4 or 8; learned models)
    layout: str = "restored"  # or "side-by-side" / "split": original and restored, captioned (engine/export/layout)

    def codec_spec(self) -> CodecSpec:
        spec = CODECS.get(self.codec)
        if spec is None:
            raise OutputError(f"unknown codec {self.codec!r}; choose one of {', '.join(CODECS)}")
        return spec

    def bit_depth(self) -> int:
        depths = self.codec_spec().bit_depths
        wanted = 10 if self.ten_bit else 8
        return wanted if wanted in depths else depths[0]

    def fingerprint(self, **extra) -> str:
        """Hash of everything that changes the encoded pixels: a resume only reuses segments with the same one."""
        payload = json.dumps({"settings": asdict(self), **extra}, sort_keys=True, default=str)
        return hashlib.sha256(payload.encode()).hexdigest()


def container_for(dst: Path) -> str:
    ext = dst.suffix.lower()
    if ext not in CONTAINERS:
        raise OutputError(f"unsupported video extension {ext or '(none)'!r}: use .mp4, .mkv or .mov")
    return CONTAINERS[ext]


def validate_video_settings(settings: ExportSettings, dst: Path) -> CodecSpec:
    """Refuse combinations that cannot work, before any file is touched."""
    spec = settings.codec_spec()
    container_for(dst)
    ext = dst.suffix.lower()
    if ext not in spec.containers:
        raise OutputError(f"{spec.name} cannot be stored in {ext}: use {' or '.join(spec.containers)}")
    if settings.crf is not None and spec.crf_range is not None:
        lo, hi = spec.crf_range
        if not lo <= settings.crf <= hi:
            raise OutputError(f"crf {settings.crf} is out of range for {spec.name} ({lo}..{hi})")
    if settings.preset is not None and spec.presets and settings.preset not in spec.presets:
        raise OutputError(f"unknown preset {settings.preset!r} for {spec.name}; "
                          f"choose one of {', '.join(spec.presets)}")
    if settings.bitrate is not None and settings.bitrate <= 0:
        raise OutputError("bitrate must be a positive number of bits per second")
    if settings.start is not None and settings.end is not None and settings.end <= settings.start:
        raise OutputError("the out point must come after the in point")
    if settings.segment_seconds <= 0 or settings.batch_size < 1:
        raise OutputError("segment length and batch size must be positive")
    check_quality(settings.quality)
    check_layout(settings.layout)
    return spec


def check_quality(quality) -> None:
    if quality == "auto":
        return
    if isinstance(quality, str) or not 1 <= float(quality) <= 100:
        raise OutputError(f"quality must be 'auto' or a number from 1 to 100, not {quality!r}")


@dataclass
class ExportProgress:
    frames_done: int
    frames_total: int  # estimate for video until decoding ends
    fps: float  # output frames per second so far
    eta_seconds: float | None
    last_quality: float | None = None
    quality_source: str = ""
    segment: int = 0
    frames_resumed: int = 0  # frames taken from segments of an earlier, interrupted run


@dataclass
class ExportReport:
    input: Path
    output: Path
    frames: int = 0
    skipped_frames: int = 0  # packets the decoder rejected: those frames are missing from the output
    corrupt_frames: int = 0  # frames the decoder concealed: restored and kept
    resumed_frames: int = 0
    segments: int = 0
    seconds: dict = field(default_factory=dict)  # per stage: decode, restore, encode, mux, total
    fps: float = 0.0
    quality_used: float | None = None  # mean JPEG-scale quality over the frames
    quality_source: str = ""  # fixed / auto source (qp, jpeg, blind...)
    audio: list = field(default_factory=list)  # one line per audio/subtitle stream: copied / transcoded / dropped
    notes: list = field(default_factory=list)
    restorer: str = ""

    @property
    def restore_seconds(self) -> float:
        return float(self.seconds.get("restore", 0.0))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["input"], d["output"] = str(self.input), str(self.output)
        d["restore_seconds"] = self.restore_seconds
        return d

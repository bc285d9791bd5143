"""Auto strength: which JPEG-scale quality to restore an image or frame at, and what that guess is based on.

Evidence, best first:
  1. JPEG quantization tables (exact for IJG-scaled tables) -- stills only;
  2. the codec's per-macroblock QP (H.264, MPEG-1/2), as a per-block map or one value per frame;
  3. the restorer's blind head, `restorer.estimate_quality(pixels)`, smoothed over time for video so the
     strength does not flicker from frame to frame;
  4. a default quality when the restorer cannot estimate.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..media.types import ImageData, VideoFrame
from .qp import frame_quality, frame_type_factor, quality_map_from_qp

MIN_QUALITY, MAX_QUALITY = 1.0, 100.0
DEFAULT_QUALITY = 40.0
# Tables this unlike any IJG scaling (confidence below this) say little about the quality: ask the model instead.
MIN_TABLE_CONFIDENCE = 0.3
SOURCES = ("jpeg-tables", "qp", "estimate", "manual", "default")


@dataclass(frozen=True)
class StrengthDecision:
    quality: float | np.ndarray  # scalar, or HxW float32 map (per-block)
    mean_quality: float  # for display and plots
    source: str  # "jpeg-tables" | "qp" | "estimate" | "manual" | "default"


def _decision(quality, source: str) -> StrengthDecision:
    if np.ndim(quality) == 0:
        q = float(np.clip(quality, MIN_QUALITY, MAX_QUALITY))
        return StrengthDecision(q, q, source)
    q = np.clip(np.asarray(quality, dtype=np.float32), MIN_QUALITY, MAX_QUALITY)
    return StrengthDecision(q, float(q.mean()), source)


class AutoStrength:
    """Picks the quality per image/frame. One instance per clip: it remembers the blind estimate's running mean."""

    def __init__(self, restorer, *, per_block: bool = True, smoothing: float = 0.8,
                 default_quality: float = DEFAULT_QUALITY, refine: bool = True, frame_types: bool = True) -> None:
        if not 0.0 <= smoothing < 1.0:
            raise ValueError("smoothing must be in [0, 1)")
        self.restorer = restorer
        self.per_block = per_block
        self.refine = refine  # let the restorer's strength refiner correct per-block QP maps (if it has one)
        self.frame_types = frame_types  # scale by the fitted I/P/B correction (engine/auto/qp.py frame_type_factor)
        self.smoothing = smoothing  # weight of the past in the EMA; 0 = no smoothing
        self.default_quality = float(default_quality)
        self._ema: float | None = None

    def reset(self) -> None:
        """Forget the running estimate (after a seek or a scene the user jumped to)."""
        self._ema = None

    def _blind(self, pixels: np.ndarray) -> float | None:
        if self.restorer is None or not getattr(self.restorer, "has_blind_head", False):
            return None
        estimate = self.restorer.estimate_quality(pixels)
        return None if estimate is None else float(np.clip(estimate, MIN_QUALITY, MAX_QUALITY))

    def _fallback(self) -> StrengthDecision:
        return _decision(self.default_quality, "default")

    def for_image(self, image: ImageData) -> StrengthDecision:
        confidence = image.jpeg_quality_confidence if image.jpeg_quality_confidence is not None else 1.0
        if image.jpeg_quality is not None and confidence >= MIN_TABLE_CONFIDENCE:
            return _decision(float(image.jpeg_quality), "jpeg-tables")
        estimate = self._blind(image.pixels)
        return _decision(estimate, "estimate") if estimate is not None else self._fallback()

    def for_frame(self, frame: VideoFrame) -> StrengthDecision:
        if frame.qp_map is not None and frame.qp_map.size and frame.qp_codec:
            if self.per_block:
                h, w = frame.pixels.shape[:2]
                qmap = quality_map_from_qp(frame.qp_map, h, w, frame.qp_codec)
                # The QP says how coarsely each block was quantised; a restorer with a strength refiner corrects
                # that map with what the decoded pixels show (engine/models/strength_refiner.py).
                refined = self.refine and getattr(self.restorer, "has_strength_refiner", False)
                if refined:
                    level = frame_quality(frame.qp_map, frame.qp_codec, frame.pict_type, self.frame_types)
                    qmap = self.restorer.refine_quality_map(frame.pixels, qmap, level)
                # A B frame restores best weaker than its QP says, an I frame a little stronger (fitted per type).
                # A refiner trained around per-frame Auto's level already carries this correction.
                elif self.frame_types:
                    qmap = qmap * frame_type_factor(frame.pict_type, frame.qp_map, frame.qp_codec)
                return _decision(qmap, "qp")
            return _decision(frame_quality(frame.qp_map, frame.qp_codec, frame.pict_type, self.frame_types), "qp")
        estimate = self._blind(frame.pixels)
        if estimate is None:
            return self._fallback()
        # The blind head looks at one frame; an exponential moving average keeps the strength steady in time.
        self._ema = estimate if self._ema is None else self.smoothing * self._ema + (1 - self.smoothing) * estimate
        return _decision(self._ema, "estimate")

    def decide(self, item) -> StrengthDecision:
        if isinstance(item, ImageData):
            return self.for_image(item)
        if isinstance(item, VideoFrame):
            return self.for_frame(item)
        raise TypeError(f"expected ImageData or VideoFrame, got {type(item).__name__}")


def resolve_strength(mode: str, slider: float, auto: AutoStrength | None, item) -> StrengthDecision:
    """The GUI's strength control -> the quality to restore at.

    "absolute": the slider is the quality itself; "relative": the auto decision shifted by (slider - 50),
    so 50 means "as detected"; "auto": the auto decision alone. Without an AutoStrength the auto part is
    DEFAULT_QUALITY.
    """
    if mode == "absolute":
        return _decision(float(slider), "manual")
    if mode not in ("relative", "auto"):
        raise ValueError(f"unknown strength mode {mode!r} (absolute, relative or auto)")
    base = auto.decide(item) if auto is not None else _decision(DEFAULT_QUALITY, "default")
    if mode == "auto":
        return base
    offset = float(slider) - 50.0
    shifted = base.quality + offset if np.ndim(base.quality) else float(base.quality) + offset
    return _decision(shifted, base.source)

"""Evidence for the restoration strength: JPEG tables, codec QP, the model's blind estimate."""
from .jpeg_quality import estimate_jpeg_quality
from .qp import frame_quality, qp_to_quality, quality_map_from_qp
from .strength import AutoStrength, StrengthDecision, resolve_strength

__all__ = ["AutoStrength", "StrengthDecision", "estimate_jpeg_quality", "frame_quality", "qp_to_quality",
           "quality_map_from_qp", "resolve_strength"]

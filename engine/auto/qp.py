"""Codec quantiser -> the model's JPEG-scale quality, per frame or per macroblock.

H.264 QP (0..51) maps through a calibration table measured by `python -m training.calibrate_qp` and stored in
resources/calibration/qp_to_quality.json: method "sweep" (the quality at which the model restores best) when it
exists, else "psnr" (the JPEG quality giving the same PSNR as the codec). Without the file an analytic fallback
matches quantiser step sizes (see `analytic_h264_quality`).

MPEG-1/2 (FFmpeg exports quantiser_scale, 2..62 linear or up to 112 non-linear) is first converted to the
H.264-equivalent QP with x264's own relation between MPEG qscale and QP: qscale = 0.85 * 2^((QP - 12) / 6).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

import numpy as np

from .jpeg_quality import ANNEX_K_LUMA, ijg_scale

CALIBRATION_PATH = Path(__file__).resolve().parents[2] / "resources" / "calibration" / "qp_to_quality.json"
METHOD_PREFERENCE = ("sweep", "psnr")
MACROBLOCK = 16  # H.264 and MPEG-2 macroblocks are 16x16 luma pixels
MIN_QUALITY, MAX_QUALITY = 1.0, 100.0

# Analytic fallback: an H.264 QP step is Qstep = 2^((QP - 4) / 6); the 8x8 DCT JPEG step of equal coarseness is
# about EQUAL_STEP_RATIO times that (the 4x4 integer transform's gain vs the orthonormal 8x8 DCT, folded together
# with the deblocking filter's smoothing). The ratio is the one the "psnr" calibration fits best (printed by
# training/calibrate_qp.py and stored as `fitted_equal_step_ratio`); used only when the calibration file is missing.
EQUAL_STEP_RATIO = 2.7


def analytic_h264_quality(qp) -> np.ndarray:
    """JPEG quality whose mean luma quantiser step equals EQUAL_STEP_RATIO x the H.264 step for `qp`."""
    qp = np.asarray(qp, dtype=np.float64)
    target_step = EQUAL_STEP_RATIO * 2.0 ** ((qp - 4.0) / 6.0)
    qualities = np.arange(1, 101)
    mean_steps = np.array([np.clip(np.floor((ANNEX_K_LUMA * ijg_scale(q) + 50) / 100), 1, 255).mean()
                           for q in qualities])
    # mean step falls as quality rises: interpolate on the reversed (increasing) sequence in log space
    order = np.argsort(mean_steps)
    quality = np.interp(np.log(target_step), np.log(mean_steps[order]), qualities[order].astype(np.float64))
    return np.clip(quality, MIN_QUALITY, MAX_QUALITY)


@lru_cache(maxsize=4)
def load_calibration(path: Path = CALIBRATION_PATH, method: str | None = None
                     ) -> tuple[np.ndarray, np.ndarray, str] | None:
    """(qp, quality, method) from the calibration JSON (`method`, or the preferred one), or None if unusable."""
    try:
        data = json.loads(Path(path).read_text())
        methods = data["methods"]
        for name in (method,) if method else METHOD_PREFERENCE:
            if name in methods:
                qp = np.asarray(methods[name]["qp"], dtype=np.float64)
                quality = np.asarray(methods[name]["quality"], dtype=np.float64)
                if qp.size >= 2 and qp.shape == quality.shape and np.all(np.diff(qp) > 0):
                    return qp, quality, name
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return None


def read_calibration_file(path: Path = CALIBRATION_PATH) -> dict:
    """The calibration JSON as a dict ({} when missing or unreadable): for the tools that add to it."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def write_calibration_file(path: Path, data: dict) -> None:
    """Write the calibration JSON through a temporary file, so a crash never leaves half a file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.part")
    tmp.write_text(json.dumps(data, indent=1) + "\n")
    tmp.replace(path)


@lru_cache(maxsize=4)
def load_frame_type_offsets(path: Path = CALIBRATION_PATH) -> dict | None:
    """{("flat"|"varying", "I"|"P"|"B"): (qp array, log-quality offset array)} for H.264, from
    training/fit_frame_types.py, or None without a usable fit."""
    try:
        tables = read_calibration_file(path)["frame_types"]["h264"]
        out = {}
        for rate_control, per_type in tables.items():
            for kind, table in per_type.items():
                qp, offset = np.asarray(table["qp"], np.float64), np.asarray(table["offset"], np.float64)
                if qp.size and qp.shape == offset.shape and np.all(np.diff(qp) >= 0):
                    out[(rate_control, kind)] = (qp, offset)
        return out or None
    except (KeyError, TypeError, ValueError, AttributeError):
        return None


def frame_type_factor(pict_type: str, qp_map, codec: str = "h264", calibration: Path | None = None) -> float:
    """How much to scale the quality a frame's QP maps to, for its picture type (I/P/B) and rate control.

    The QP curve is measured with every frame at one QP. In real encodes a B frame (a higher QP, but averaged
    predictions from better frames) restores best at a higher quality than its QP says, an I frame at a slightly
    lower one, and by how much depends on the rate control: a QP map with one value is constant-QP encoding, a
    varying one is CRF/ABR (adaptive quantisation, mb-tree). The factor is e^offset, the offset interpolated in the
    fitted table at the frame's mean QP; 1 without a fit or for codecs it was not fitted on."""
    if codec != "h264":
        return 1.0
    fit = load_frame_type_offsets(Path(calibration or CALIBRATION_PATH))
    qp_map = np.asarray(qp_map, dtype=np.float64)
    rate_control = "flat" if np.ptp(qp_map) == 0 else "varying"
    if fit is None or (rate_control, pict_type) not in fit:
        return 1.0
    qps, offsets = fit[(rate_control, pict_type)]
    return float(np.exp(np.interp(float(qp_map.mean()), qps, offsets)))


def frame_quality(qp_map: np.ndarray, codec: str = "h264", pict_type: str = "?", frame_types: bool = True) -> float:
    """One quality for a whole frame: that of its mean QP (QP is logarithmic in the quantiser step), scaled for
    its picture type. What Auto uses per frame, and what the quality plot draws."""
    factor = frame_type_factor(pict_type, qp_map, codec) if frame_types else 1.0
    quality = float(qp_to_quality(float(np.mean(qp_map)), codec)) * factor
    return float(np.clip(quality, MIN_QUALITY, MAX_QUALITY))


def mpeg2_qscale_to_h264_qp(qscale) -> np.ndarray:
    """FFmpeg's exported MPEG-1/2 quantiser_scale (= 2 x the 1..31 code for linear scale) -> H.264-equivalent QP."""
    code = np.maximum(np.asarray(qscale, dtype=np.float64) / 2.0, 0.5)
    return 12.0 + 6.0 * np.log2(code / 0.85)


def qp_to_quality(qp, codec: str = "h264", calibration: Path | None = None, method: str | None = None) -> np.ndarray:
    """QP (scalar or array) on the `codec` scale ("h264" or "mpeg2") -> JPEG-scale quality, float64, 1..100.

    `calibration` defaults to CALIBRATION_PATH (looked up at call time, so tests can point it elsewhere); `method`
    picks one curve of it (training labels codec frames with the model-free "psnr" curve)."""
    qp = np.asarray(qp, dtype=np.float64)
    if codec == "mpeg2":
        qp = mpeg2_qscale_to_h264_qp(qp)
    elif codec not in ("h264", ""):
        raise ValueError(f"no QP mapping for codec {codec!r}")
    table = load_calibration(Path(calibration or CALIBRATION_PATH), method)
    if table is None:
        return analytic_h264_quality(qp)
    qps, qualities, _ = table
    # Outside the measured range extend with the analytic curve's slope rather than clamping flat.
    quality = np.interp(qp, qps, qualities)
    low, high = qp < qps[0], qp > qps[-1]
    if low.any() or high.any():
        analytic = analytic_h264_quality(qp)
        quality = np.where(low, qualities[0] + analytic - analytic_h264_quality(qps[0]), quality)
        quality = np.where(high, qualities[-1] + analytic - analytic_h264_quality(qps[-1]), quality)
    return np.clip(quality, MIN_QUALITY, MAX_QUALITY)


def quality_map_from_qp(qp_map: np.ndarray, frame_h: int, frame_w: int, codec: str = "h264",
                        block: int = MACROBLOCK, calibration: Path | None = None) -> np.ndarray:
    """Per-macroblock QP (rows x cols) -> HxW float32 quality map, nearest-neighbour (one value per block).

    The macroblock grid covers the coded size rounded up to whole blocks; the map is cropped to the frame.
    """
    qp_map = np.asarray(qp_map)
    if qp_map.ndim != 2 or qp_map.size == 0:
        raise ValueError(f"qp_map must be a non-empty 2-D array, got shape {qp_map.shape}")
    rows_needed, cols_needed = -(-frame_h // block), -(-frame_w // block)
    if qp_map.shape[0] < rows_needed or qp_map.shape[1] < cols_needed:
        raise ValueError(f"qp_map {qp_map.shape} does not cover a {frame_w}x{frame_h} frame in {block}px blocks")
    per_block = qp_to_quality(qp_map[:rows_needed, :cols_needed], codec, calibration).astype(np.float32)
    full = np.repeat(np.repeat(per_block, block, axis=0), block, axis=1)
    return np.ascontiguousarray(full[:frame_h, :frame_w])

"""IJG quality (1..100) of a JPEG from its quantization tables.

Almost every encoder that has a "quality" setting (libjpeg, libjpeg-turbo, hence Pillow, OpenCV, GIMP, FFmpeg's
mjpeg) scales the ITU-T T.81 Annex K tables the IJG way, so comparing against all 100 scaled tables finds the
setting exactly. Cameras and phones use their own tables: for those we take the quality whose scaled tables are
nearest in log space (quantizer steps act multiplicatively on the error) and report a confidence below 1.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

# T.81 Annex K, natural (row-major) order, as Pillow's `Image.quantization` returns them.
ANNEX_K_LUMA = np.array([
    16, 11, 10, 16, 24, 40, 51, 61, 12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56, 14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77, 24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101, 72, 92, 95, 98, 112, 100, 103, 99], dtype=np.float64)
ANNEX_K_CHROMA = np.array([
    17, 18, 24, 47, 99, 99, 99, 99, 18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99, 47, 66, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99,
    99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99, 99], dtype=np.float64)

# A mean log-ratio of this size (about a factor e between tables) means "no resemblance": confidence 0.
LOG_ERROR_FOR_ZERO_CONFIDENCE = 1.0
# A custom table never gets full confidence, however close: 1.0 is reserved for an exact IJG match.
MAX_FIT_CONFIDENCE = 0.95


def ijg_scale(quality: int) -> int:
    quality = min(max(int(quality), 1), 100)
    return 5000 // quality if quality < 50 else 200 - 2 * quality


@lru_cache(maxsize=1)
def scaled_tables() -> tuple[np.ndarray, np.ndarray]:
    """(100, 64) luma and chroma tables for qualities 1..100, baseline-clamped to 1..255 as libjpeg writes them."""
    scales = np.array([ijg_scale(q) for q in range(1, 101)], dtype=np.int64)[:, None]

    def scale(base):
        return np.clip((base.astype(np.int64)[None] * scales + 50) // 100, 1, 255)

    return scale(ANNEX_K_LUMA), scale(ANNEX_K_CHROMA)


def estimate_jpeg_quality(quant_tables: dict) -> tuple[int, float]:
    """(quality 1..100, confidence 0..1) from {table_id: 64 values in natural order} (Pillow's `quantization`).

    Table 0 is taken as luma and table 1 (if any) as chroma, the layout every common encoder writes.
    """
    if not quant_tables:
        raise ValueError("no quantization tables")
    ids = sorted(quant_tables)
    tables = [np.asarray(quant_tables[i], dtype=np.float64).reshape(-1) for i in ids[:2]]
    if any(t.size != 64 for t in tables):
        raise ValueError("quantization tables must have 64 entries")
    luma_ref, chroma_ref = scaled_tables()
    refs = [luma_ref, chroma_ref][:len(tables)]

    exact = np.ones(100, dtype=bool)
    for table, ref in zip(tables, refs):
        exact &= np.all(ref == table[None], axis=1)
    if exact.any():
        # At the extremes the 1..255 clamp can make neighbouring qualities identical: report the highest.
        return int(np.flatnonzero(exact)[-1] + 1), 1.0

    log_error = np.zeros(100)
    for table, ref in zip(tables, refs):
        log_error += np.abs(np.log(np.maximum(table, 1.0))[None] - np.log(ref)).mean(axis=1)
    log_error /= len(tables)
    best = int(np.argmin(log_error))
    confidence = MAX_FIT_CONFIDENCE * max(0.0, 1.0 - log_error[best] / LOG_ERROR_FOR_ZERO_CONFIDENCE)
    return best + 1, float(round(confidence, 3))

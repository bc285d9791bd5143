"""JPEG quality from quantization tables: exact for libjpeg-scaled tables (Pillow, OpenCV), a fit for custom ones."""
import io

import cv2
import numpy as np
import pytest
from PIL import Image

from engine.auto.jpeg_quality import ANNEX_K_CHROMA, ANNEX_K_LUMA, estimate_jpeg_quality

QUALITIES = [1, 2, 5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 95, 98, 100]


def _photo_like():
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:32, 0:32]
    return np.clip(np.dstack([x * 8, y * 8, (x + y) * 4]) + rng.normal(0, 10, (32, 32, 3)), 0, 255).astype(np.uint8)


def _tables_of(data: bytes) -> dict:
    return Image.open(io.BytesIO(data)).quantization


@pytest.mark.parametrize("quality", QUALITIES)
def test_pillow_jpegs_exact(quality):
    buf = io.BytesIO()
    Image.fromarray(_photo_like()).save(buf, "JPEG", quality=quality)
    assert estimate_jpeg_quality(_tables_of(buf.getvalue())) == (quality, 1.0)


@pytest.mark.parametrize("quality", QUALITIES)
def test_opencv_jpegs_exact(quality):
    ok, data = cv2.imencode(".jpg", _photo_like(), [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    assert estimate_jpeg_quality(_tables_of(data.tobytes())) == (quality, 1.0)


def test_greyscale_jpeg_has_only_luma_table():
    buf = io.BytesIO()
    Image.fromarray(_photo_like()[..., 0]).save(buf, "JPEG", quality=63)
    tables = _tables_of(buf.getvalue())
    assert len(tables) == 1
    assert estimate_jpeg_quality(tables) == (63, 1.0)


def test_custom_tables_fit_with_lower_confidence():
    # A camera-style table: Annex K at IJG quality 80's strength, but with its own rounding and a flatter shape.
    scale = (200 - 2 * 80) / 100
    luma = np.clip(np.round(ANNEX_K_LUMA * scale * 1.07 + 0.4), 1, 255)
    chroma = np.clip(np.round(ANNEX_K_CHROMA * scale * 0.95), 1, 255)
    quality, confidence = estimate_jpeg_quality({0: luma.tolist(), 1: chroma.tolist()})
    assert abs(quality - 80) <= 3
    assert 0.5 < confidence < 1.0
    flat = {0: [2] * 64, 1: [2] * 64}  # nothing like Annex K: a weak guess
    _, weak = estimate_jpeg_quality(flat)
    assert weak < confidence


def test_pillow_custom_qtables_round_trip():
    # Pillow can write arbitrary tables; the estimator must read them through the same path as load_image.
    scale = 5000 / 30 / 100
    luma = np.clip(np.round(ANNEX_K_LUMA * scale * 1.13 + 0.3), 1, 255).astype(int).tolist()
    chroma = np.clip(np.round(ANNEX_K_CHROMA * scale * 1.13 + 0.3), 1, 255).astype(int).tolist()
    buf = io.BytesIO()
    Image.fromarray(_photo_like()).save(buf, "JPEG", qtables=[luma, chroma])
    quality, confidence = estimate_jpeg_quality(_tables_of(buf.getvalue()))
    assert 20 <= quality <= 30 and confidence < 1.0


def test_rejects_malformed_tables():
    with pytest.raises(ValueError):
        estimate_jpeg_quality({})
    with pytest.raises(ValueError):
        estimate_jpeg_quality({0: [1] * 10})

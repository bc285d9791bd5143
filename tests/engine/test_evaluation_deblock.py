"""The deblock baseline as the harness scores it: lossless colour handling, monotone strength, a real gain."""
import re

import numpy as np

from engine.evaluation.datasets import jpeg_roundtrip
from engine.evaluation.metrics import psnr
from engine.restore.deblock import _rgb_to_ycbcr16, _ycbcr16_to_rgb, deblock_options
from engine.restore.registry import create_restorer


def _params(quality):
    return {k: float(v) for k, v in re.findall(r"(alpha|beta|gamma|delta)=([0-9.]+)", deblock_options(quality))}


def test_colour_round_trip_is_lossless_for_8_bit():
    rgb = np.random.default_rng(0).integers(0, 256, size=(37, 41, 3), dtype=np.uint8)
    assert np.array_equal(_ycbcr16_to_rgb(_rgb_to_ycbcr16(rgb), np.uint8), rgb)


def test_strength_falls_as_quality_rises():
    qualities = [1, 5, 10, 20, 30, 40, 50, 60, 75, 90, 100]
    for key in ("alpha", "beta", "gamma", "delta"):
        values = [_params(q)[key] for q in qualities]
        assert all(a >= b for a, b in zip(values, values[1:])), key
        assert all(0.0 <= v <= 1.0 for v in values)
    assert _params(100)["alpha"] == 0.0


def _blocky_scene():
    yy, xx = np.mgrid[0:96, 0:128]
    base = 90 + 0.7 * xx + 0.5 * yy + 18 * np.sin(xx / 9.0) * np.cos(yy / 11.0)
    return np.clip(np.stack([base, 0.8 * base + 20, 230 - 0.6 * base], axis=2), 0, 255).astype(np.uint8)


def test_deblock_improves_low_quality_jpeg_and_is_deterministic():
    clean = _blocky_scene()
    degraded = jpeg_roundtrip(clean, 10)
    restorer = create_restorer("deblock")
    first = restorer.restore(degraded, 10)
    assert first.shape == clean.shape and first.dtype == np.uint8
    assert psnr(clean, first) > psnr(clean, degraded)
    assert np.array_equal(first, restorer.restore(degraded.copy(), 10))

"""Metrics against independent brute-force definitions (Wang et al. SSIM, Yim & Bovik BEF) on small images."""
import math

import numpy as np
import pytest

from engine.evaluation import metrics
from engine.evaluation.datasets import jpeg_roundtrip


def _rng_image(shape, seed=0):
    return np.random.default_rng(seed).integers(0, 256, size=shape, dtype=np.uint8)


def _smooth_image(h, w, seed=0):
    """Natural-ish content: a gradient plus mild texture, so JPEG at low quality blocks visibly."""
    yy, xx = np.mgrid[0:h, 0:w]
    noise = np.random.default_rng(seed).normal(0, 6, size=(h, w))
    return np.clip(60 + 0.5 * xx + 0.3 * yy + 20 * np.sin(xx / 7.0) + noise, 0, 255).astype(np.uint8)


def test_psnr_matches_definition():
    ref = np.full((16, 16), 100, np.uint8)
    test = ref.copy()
    test[:8] += 4  # half the pixels off by 4 -> MSE 8
    assert metrics.psnr(ref, test) == pytest.approx(10 * math.log10(255 ** 2 / 8.0))
    assert metrics.psnr(ref, ref) == math.inf


def test_psnr_pools_colour_channels():
    ref = np.zeros((8, 8, 3), np.uint8)
    test = ref.copy()
    test[..., 0] = 3  # only red differs: MSE over all samples is 9/3
    assert metrics.psnr(ref, test) == pytest.approx(10 * math.log10(255 ** 2 / 3.0))


def _brute_ssim(a, b):
    """Wang et al. 2004 written out: every 11x11 window fully inside the image, Gaussian weights sigma 1.5."""
    a, b = a.astype(np.float64), b.astype(np.float64)
    ax = np.arange(11) - 5
    g = np.exp(-(ax ** 2) / (2 * 1.5 ** 2))
    win = np.outer(g, g) / np.outer(g, g).sum()
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    vals = []
    for y in range(a.shape[0] - 10):
        for x in range(a.shape[1] - 10):
            pa, pb = a[y:y + 11, x:x + 11], b[y:y + 11, x:x + 11]
            ma, mb = (win * pa).sum(), (win * pb).sum()
            va, vb = (win * pa * pa).sum() - ma ** 2, (win * pb * pb).sum() - mb ** 2
            cov = (win * pa * pb).sum() - ma * mb
            vals.append(((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma ** 2 + mb ** 2 + c1) * (va + vb + c2)))
    return float(np.mean(vals))


def test_ssim_equals_brute_force_valid_window():
    a = _smooth_image(24, 29)
    b = jpeg_roundtrip(a, 10)
    assert metrics.ssim(a, b) == pytest.approx(_brute_ssim(a, b), abs=1e-9)
    assert metrics.ssim(a, a) == pytest.approx(1.0)


def test_ssim_colour_is_mean_of_channels():
    a, b = _rng_image((20, 21, 3), 1), _rng_image((20, 21, 3), 2)
    expected = np.mean([_brute_ssim(a[..., c], b[..., c]) for c in range(3)])
    assert metrics.ssim(a, b) == pytest.approx(expected, abs=1e-9)


def _brute_bef(img):
    """Yim & Bovik's BEF as FBCNN's compute_bef spells it out, loop by loop."""
    img = img.astype(np.float64)
    h, w = img.shape
    hb = set(range(7, w - 1, 8))
    vb = set(range(7, h - 1, 8))
    d_b = sum(((img[:, i] - img[:, i + 1]) ** 2).sum() for i in hb) + \
        sum(((img[j] - img[j + 1]) ** 2).sum() for j in vb)
    d_bc = sum(((img[:, i] - img[:, i + 1]) ** 2).sum() for i in set(range(w - 1)) - hb) + \
        sum(((img[j] - img[j + 1]) ** 2).sum() for j in set(range(h - 1)) - vb)
    n_hb, n_vb = h * (w / 8 - 1), w * (h / 8 - 1)
    d_b /= n_hb + n_vb
    d_bc /= (h * (w - 1) - n_hb) + (w * (h - 1) - n_vb)
    eta = math.log2(8) / math.log2(min(h, w)) if d_b > d_bc else 0
    return eta * (d_b - d_bc)


def test_blocking_effect_factor_matches_reference_formula_and_sees_blocks():
    clean = _smooth_image(43, 61)  # odd sizes exercise the non-floored boundary counts
    blocky = jpeg_roundtrip(clean, 5)
    for img in (clean, blocky):
        assert metrics.blocking_effect_factor(img) == pytest.approx(_brute_bef(img), rel=1e-12, abs=1e-12)
    assert metrics.blocking_effect_factor(blocky) > 0
    # PSNR-B penalises the blocky test image beyond its plain PSNR
    assert metrics.psnr_b(clean, blocky) < metrics.psnr(clean, blocky)


def test_psnr_b_on_colour_uses_luma_blockiness_and_pooled_mse():
    ref = np.repeat(_smooth_image(40, 48)[:, :, None], 3, axis=2)
    test = jpeg_roundtrip(ref, 8)
    mse = np.mean((ref.astype(float) - test.astype(float)) ** 2)
    bef = _brute_bef(metrics.rgb_to_luma(test))
    assert metrics.psnr_b(ref, test) == pytest.approx(10 * math.log10(255 ** 2 / (mse + bef)))


def test_luma_is_studio_range_bt601_rounded():
    rgb = np.array([[[0, 0, 0], [255, 255, 255], [255, 0, 0], [10, 200, 30]]], np.uint8)
    y = metrics.rgb_to_luma(rgb)
    expected = np.round(16 + (65.481 * rgb[..., 0] + 128.553 * rgb[..., 1] + 24.966 * rgb[..., 2]) / 255)
    assert y.dtype == np.uint8
    assert y.tolist() == expected.astype(np.uint8).tolist()
    assert y[0, 0] == 16 and y[0, 1] == 235


def test_all_metrics_keys_and_grey_luma_equal():
    a = _smooth_image(32, 32)
    b = jpeg_roundtrip(a, 20)
    m = metrics.all_metrics(a, b)
    assert m["psnr"] == m["psnr_y"] and m["ssim"] == m["ssim_y"] and m["psnrb"] == m["psnrb_y"]
    colour = metrics.all_metrics(np.dstack([a, a, a]), np.dstack([b, b, b]))
    assert set(colour) == set(m)


def test_mismatched_inputs_are_rejected():
    with pytest.raises(ValueError):
        metrics.psnr(np.zeros((8, 8), np.uint8), np.zeros((8, 9), np.uint8))
    with pytest.raises(ValueError):
        metrics.ssim(np.zeros((8, 8), np.float32), np.zeros((8, 8), np.float32))


def test_reference_metrics_equal_the_standalone_functions():
    grey = _smooth_image(40, 48, seed=3)
    ref = np.dstack([grey, np.flipud(grey), 255 - grey])
    scorer = metrics.ReferenceMetrics(ref)
    for quality in (10, 40):
        test = jpeg_roundtrip(ref, quality)
        got = scorer.scores(test)
        ry, ty = metrics.rgb_to_luma(ref), metrics.rgb_to_luma(test)
        expected = {"psnr": metrics.psnr(ref, test), "ssim": metrics.ssim(ref, test),
                    "psnrb": metrics.psnr_b(ref, test), "psnr_y": metrics.psnr(ry, ty),
                    "ssim_y": metrics.ssim(ry, ty), "psnrb_y": metrics.psnr_b(ry, ty)}
        assert got == pytest.approx(expected, abs=1e-12)

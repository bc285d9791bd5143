"""Training degradations: codec frames carry the label map Auto will feed the model at run time."""
import json

import numpy as np
import pytest

from engine.auto.qp import load_calibration, qp_to_quality
from training.degrade import Degrader, camera_clip, codec_roundtrip, h264_label_map


@pytest.fixture
def photo():
    rng = np.random.default_rng(3)
    # smooth gradients plus texture: x264's adaptive quantisation then varies QP across the frame
    y, x = np.mgrid[0:200, 0:240]
    base = np.stack([x, y, (x + y) // 2], axis=2).astype(np.float32)
    base[60:140, 80:180] += rng.normal(0, 40, size=(80, 100, 3))
    return np.clip(base, 0, 255).astype(np.uint8)


def test_h264_roundtrip_exports_a_qp_map_per_frame(photo):
    clip = camera_clip(photo, 96, 4, np.random.default_rng(0))
    decoded = codec_roundtrip(clip, "libx264", 30, intra_only=False, crf=True, with_qp=True)
    assert len(decoded) == 4
    for rgb, qp_map in decoded:
        assert rgb.shape == (96, 96, 3)
        assert qp_map.shape == (6, 6) and 10 <= qp_map.min() <= qp_map.max() <= 51


def test_label_map_is_the_psnr_curve_per_macroblock():
    qp_map = np.array([[20, 30], [40, 47]])
    labels = h264_label_map(qp_map, 24, 20)  # odd crop of a 2x2-macroblock grid
    assert labels.shape == (24, 20) and labels.dtype == np.float32
    expected = qp_to_quality(qp_map, "h264", method="psnr")
    assert labels[0, 0] == pytest.approx(expected[0, 0]) and labels[16, 16] == pytest.approx(expected[1, 1])
    assert labels[0, 0] > labels[0, 16] > labels[16, 0] > labels[16, 16]  # more QP, lower quality
    assert np.all(labels[:16, :16] == labels[0, 0])  # one value per macroblock


def test_method_picks_a_curve(tmp_path):
    path = tmp_path / "cal.json"
    path.write_text(json.dumps({"methods": {
        "sweep": {"qp": [20, 40], "quality": [90.0, 30.0]}, "psnr": {"qp": [20, 40], "quality": [80.0, 20.0]}}}))
    load_calibration.cache_clear()
    assert qp_to_quality(30, calibration=path) == pytest.approx(60.0)  # sweep preferred
    assert qp_to_quality(30, calibration=path, method="psnr") == pytest.approx(50.0)
    load_calibration.cache_clear()


def test_degrader_codec_samples_are_labelled(photo):
    degrade = Degrader(64, codec_fraction=1.0, seed=5)
    for _ in range(6):
        degraded, clean, labels = degrade(photo)
        assert degraded.shape == clean.shape == (64, 64, 3)
        assert labels.shape == (64, 64) and 1.0 <= labels.min() <= labels.max() <= 100.0


def test_one_encoded_clip_can_give_several_distinct_frames(photo):
    degrade = Degrader(64, codec_fraction=1.0, seed=5, frames_per_clip=3)
    first = degrade(photo)
    assert 1 <= len(degrade._pending) <= 2  # clips have 3-6 frames; the rest wait for the next codec draws
    waiting = len(degrade._pending)
    rest = [degrade(photo) for _ in range(waiting)]
    assert not degrade._pending
    cleans = [first[1]] + [r[1] for r in rest]
    assert all(not np.array_equal(a, b) for i, a in enumerate(cleans) for b in cleans[i + 1:])  # distinct frames
    for degraded, clean, labels in [first, *rest]:
        assert degraded.shape == clean.shape == (64, 64, 3)
        assert labels.shape == (64, 64) and 1.0 <= labels.min() <= labels.max() <= 100.0


def _grid_phase(degraded) -> int:
    """Column phase (mod 8) of the largest mean step: 7 when the JPEG block edges fall between columns 7 and 8."""
    luma = degraded.astype(float).mean(axis=2)
    steps = np.abs(np.diff(luma, axis=1)).mean(axis=0)
    return int(np.argmax([steps[k::8].mean() for k in range(8)]))


def test_aligned_patches_keep_the_jpeg_block_grid_at_the_corner(photo):
    from training.degrade import Degrader

    aligned = Degrader(64, codec_fraction=0.0, seed=3, aligned_fraction=1.0)
    anywhere = Degrader(64, codec_fraction=0.0, seed=3)
    phases_aligned = [_grid_phase(aligned._jpeg(photo)[0]) for _ in range(40)]
    phases_any = [_grid_phase(anywhere._jpeg(photo)[0]) for _ in range(40)]
    # High qualities and smooth crops hide the grid in some patches, so compare shares (seen: 27 of 40 against 6).
    assert phases_aligned.count(7) >= 22 and phases_any.count(7) <= 12, (phases_aligned, phases_any)
    assert len(set(phases_any)) >= 6

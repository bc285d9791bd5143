"""Training data and objective of the strength refiner: real H.264 frames with Auto's own QP map, PSNR per frame."""
import math

import numpy as np
import torch

from engine.models.restora_net import RestoraNet
from engine.models.strength_refiner import StrengthRefiner
from training.fit_strength_refiner import evaluate, frame_log_mse, make_clip, make_set


def _photo(seed=0, size=160):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (size // 8, size // 8, 3)).astype(np.uint8)
    return np.kron(base, np.ones((8, 8, 1), np.uint8))  # blocky but compressible, like a real photo's detail


def test_clip_frames_carry_autos_qp_map():
    samples = make_clip((_photo(), 3, 64, 4, 1.0))
    assert len(samples) == 4
    for deg, clean, qmap, level in samples:
        assert deg.shape == clean.shape == (64, 64, 3) and deg.dtype == np.uint8
        assert qmap.shape == (64, 64) and qmap.dtype == np.float32
        assert 1.0 <= qmap.min() <= qmap.max() <= 100.0
        blocks = qmap[::16, ::16]
        assert np.allclose(np.kron(blocks, np.ones((16, 16))), qmap)  # one value per macroblock
        assert 1.0 <= level <= 100.0  # per-frame Auto's quality, what a frame-level refiner starts from


def test_frame_log_mse_is_mean_psnr_per_frame():
    ref = torch.zeros(2, 3, 8, 8)
    out = torch.stack([torch.full((3, 8, 8), 0.1), torch.full((3, 8, 8), 0.01)])
    psnrs = [10 * math.log10(1 / 0.01), 10 * math.log10(1 / 1e-4)]
    assert abs(-10 / math.log(10) * float(frame_log_mse(out, ref)) - np.mean(psnrs)) < 1e-3


def test_untrained_refiner_changes_nothing_in_evaluation():
    torch.manual_seed(0)
    model = RestoraNet(c1=8, c2=16, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8).eval()
    data = make_set([_photo(1), _photo(2)], clips=2, size=64, frames=3, seed=0, workers=1)
    assert data[0].shape == (6, 3, 64, 64) and data[2].shape == (6, 1, 64, 64)
    result = evaluate(model, StrengthRefiner(width=8), data)
    assert result["gain"] == 0.0 and result["mean_abs_log_change"] == 0.0


def test_untrained_frame_level_refiner_is_per_frame_auto():
    torch.manual_seed(0)
    model = RestoraNet(c1=8, c2=16, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8).eval()
    data = make_set([_photo(1), _photo(2)], clips=2, size=64, frames=3, seed=0, workers=1)
    assert data[3].shape == (6,)
    result = evaluate(model, StrengthRefiner(width=8, centre=True, frame_level=True), data)
    assert result["gain_over_frame"] == 0.0 and result["refined"] == result["per_frame"]

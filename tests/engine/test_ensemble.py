"""Geometric self-ensemble (engine/restore/ensemble.py): exact inverses, maps turned with the image, and the
option wired through the restorer, the CLI and the evaluation keys."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from engine.cli import main as cli_main
from engine.evaluation.runner import build_method
from engine.models.registry import _spec_from_file, save_model
from engine.models.restora_net import RestoraNet
from engine.restore.ensemble import check_ensemble, ensembled, turn, unturn
from engine.restore.model_restorer import ModelRestorer


def _tiny_spec(tmp_path):
    torch.manual_seed(0)
    net = RestoraNet(c1=8, c2=16, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8)
    torch.nn.init.normal_(net.exit.weight, std=0.05)  # the exit starts at zero (identity): make it do something
    path = tmp_path / "tiny.safetensors"
    save_model(net, path, "tiny")
    return _spec_from_file(path)


def test_every_turn_has_its_inverse_on_non_square_frames():
    t = torch.arange(2 * 3 * 5 * 7, dtype=torch.float32).view(2, 3, 5, 7)
    for code in range(8):
        assert torch.equal(unturn(turn(t, code), code), t)
    assert len({tuple(turn(t, c).flatten().tolist()) for c in range(8)}) == 8


def test_one_pass_is_the_forward_itself_and_odd_sizes_are_refused():
    forward = lambda x, q: x  # noqa: E731
    assert ensembled(forward, 1) is forward
    for bad in (0, 3, 16):
        with pytest.raises(ValueError):
            check_ensemble(bad)


def test_the_result_is_the_mean_of_the_turned_passes():
    # A forward that is not symmetric: it blends each pixel with its right-hand neighbour.
    def forward(x, q):
        return 0.5 * (x + torch.roll(x, shifts=1, dims=-1)) * q
    x = torch.rand(1, 3, 6, 10)
    q = torch.ones(1, 1, 1, 1)
    for n in (2, 4, 8):
        expected = sum(unturn(forward(turn(x, c), q), c) for c in range(n)) / n
        assert torch.allclose(ensembled(forward, n)(x, q), expected, atol=1e-6)


def test_a_quality_map_turns_with_the_image():
    # x * map is symmetric under any turn, so the ensemble must give exactly x * map back (a map that stayed put
    # while the image turned would not, on a non-square frame it would not even fit).
    x, qmap = torch.rand(1, 3, 6, 10), torch.rand(1, 1, 6, 10)
    out = ensembled(lambda a, q: a * q, 8)(x, qmap)
    assert torch.allclose(out, x * qmap, atol=1e-6)


def test_the_restorer_averages_turns_on_any_frame_size(tmp_path):
    spec = _tiny_spec(tmp_path)
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    once = ModelRestorer(spec, device="cpu", precision="fp32")
    eight = ModelRestorer(spec, device="cpu", precision="fp32", ensemble=8)
    a, b = once.restore(image, 30.0), eight.restore(image, 30.0)
    assert b.shape == image.shape and b.dtype == np.uint8 and not np.array_equal(a, b)
    net = once.model
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255
    with torch.no_grad():
        mean = sum(unturn(net(turn(x, c), torch.tensor([30.0])), c) for c in range(8)) / 8
    expected = (mean[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round()
    assert np.abs(expected - b).max() <= 1  # the mean of the eight turned passes, up to rounding
    qmap = np.full(image.shape[:2], 30.0, dtype=np.float32)
    assert np.array_equal(eight.restore(image, qmap), b)  # a constant map is the scalar, turned or not
    grey = eight.restore(image[..., 0], 30.0)
    assert grey.shape == image.shape[:2]


def test_evaluation_keys_name_the_turns(tmp_path):
    spec = _tiny_spec(tmp_path)
    method = build_method(f"{spec.path}-x4")
    assert method.restorer.ensemble == 4 and "4 turns averaged" in method.title and not method.blind
    blind = build_method(f"{spec.path}-blind-x2")
    assert blind.blind and blind.restorer.ensemble == 2


def test_cli_restore_with_an_ensemble_and_a_refusal_for_the_filter(tmp_path, capsys):
    src = tmp_path / "still.jpg"
    rng = np.random.default_rng(1)
    Image.fromarray(rng.integers(0, 256, (40, 56, 3), dtype=np.uint8)).save(src, quality=20)
    dst = tmp_path / "out.png"
    assert cli_main(["restore", str(src), "-o", str(dst), "--ensemble", "2", "--quality", "20"]) == 0
    assert np.asarray(Image.open(dst)).shape == (40, 56, 3)
    capsys.readouterr()
    refused = tmp_path / "refused.png"
    assert cli_main(["restore", str(src), "-o", str(refused), "--ensemble", "4", "--model", "deblock"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "learned model" in err and not refused.exists()

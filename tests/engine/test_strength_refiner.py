"""The strength refiner: per-macroblock output, bounded change, identity at init, tied to its restorer's weights,
and used by Auto's per-block path only when it belongs to the restorer."""
import numpy as np
import pytest
import torch
from safetensors import safe_open

from engine.auto import AutoStrength
from engine.auto.qp import quality_map_from_qp
from engine.media import open_video
from engine.models import refiners
from engine.models.refiners import load_refiner, refiner_path, save_refiner, weights_digest
from engine.models.registry import _spec_from_file, save_model
from engine.models.restora_net import RestoraNet
from engine.models.strength_refiner import StrengthRefiner
from engine.restore.model_restorer import ModelRestorer

from .test_media_video import make_clip


def _trained_looking(seed: int = 0) -> StrengthRefiner:
    """A refiner whose last layer is not zero (as after training), so it really moves the map."""
    torch.manual_seed(seed)
    refiner = StrengthRefiner(width=8)
    torch.nn.init.normal_(refiner.context[-1].weight, std=0.5)
    return refiner.eval()


def _inputs(h: int, w: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = torch.from_numpy(rng.random((1, 3, h, w), dtype=np.float32))
    qp = rng.integers(25, 45, (-(-h // 16), -(-w // 16)))
    q = torch.from_numpy(quality_map_from_qp(qp, h, w))[None, None]
    return x, q


def test_untrained_refiner_is_the_identity():
    x, q = _inputs(48, 80)
    with torch.no_grad():
        out = StrengthRefiner(width=8)(x, q)
    assert torch.allclose(out, q, rtol=1e-5)


def test_untrained_centred_refiner_is_one_strength_per_frame():
    x, q = _inputs(48, 80)
    with torch.no_grad():
        out = StrengthRefiner(width=8, centre=True)(x, q)[0, 0].numpy()
    expected = np.exp(np.log(q[0, 0].numpy()[::16, ::16]).mean())  # the blocks' geometric mean
    assert np.allclose(out, expected, rtol=1e-5)


def test_untrained_frame_level_refiner_starts_from_the_frame_quality_given():
    x, q = _inputs(48, 80)
    with torch.no_grad():
        out = StrengthRefiner(width=8, centre=True, frame_level=True)(x, q, torch.tensor([23.5]))
    assert torch.allclose(out, torch.full_like(q, 23.5), rtol=1e-5)


@pytest.mark.parametrize("h,w", [(48, 80), (50, 70), (17, 33)])
def test_refined_map_is_constant_per_macroblock_and_bounded(h, w):
    x, q = _inputs(h, w, seed=h)
    with torch.no_grad():
        out = _trained_looking()(x, q)[0, 0].numpy()
    assert out.shape == (h, w)
    for by in range(0, h, 16):
        for bx in range(0, w, 16):
            block = out[by:by + 16, bx:bx + 16]
            assert np.ptp(block) < 1e-4
    ratio = out / q[0, 0].numpy()
    assert np.all(ratio <= np.exp(0.7) + 1e-4) and np.all(ratio >= np.exp(-0.7) - 1e-4)
    assert not np.allclose(ratio, 1.0)  # it does move the map


def _tiny_model(path):
    torch.manual_seed(0)
    save_model(RestoraNet(c1=8, c2=16, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8), path, "tiny")
    return _spec_from_file(path)


def test_refiner_loads_only_beside_the_weights_it_was_trained_through(tmp_path):
    spec = _tiny_model(tmp_path / "tiny.safetensors")
    refiner = _trained_looking()
    save_refiner(refiner, refiner_path("tiny", tmp_path / "ref"), "tiny", weights_digest(spec.path))
    loaded = load_refiner("tiny", spec.path, tmp_path / "ref")
    x, q = _inputs(32, 48)
    with torch.no_grad():
        assert torch.equal(loaded(x, q), refiner(x, q))
    assert load_refiner("other", spec.path, tmp_path / "ref") is None  # no file for that name
    _tiny_model(tmp_path / "tiny.safetensors")  # same name, weights rewritten
    spec.path.write_bytes(spec.path.read_bytes()[:-4] + b"\x00\x00\x00\x00")  # different bytes, new digest
    assert load_refiner("tiny", spec.path, tmp_path / "ref") is None
    refiner_path("tiny", tmp_path / "ref").write_bytes(b"not a safetensors file")
    assert load_refiner("tiny", spec.path, tmp_path / "ref") is None


def test_refitting_the_blind_head_keeps_the_refiner_but_trunk_changes_do_not(tmp_path):
    from safetensors.torch import load_file, save_file

    spec = _tiny_model(tmp_path / "tiny.safetensors")
    save_refiner(_trained_looking(), refiner_path("tiny", tmp_path / "ref"), "tiny", weights_digest(spec.path))
    with safe_open(str(spec.path), framework="pt") as f:
        meta = f.metadata()
    state = load_file(str(spec.path))
    head = {k: v + 0.5 if k.startswith("quality_head.") and v.is_floating_point() else v for k, v in state.items()}
    assert any(k.startswith("quality_head.") for k in state)
    save_file(head, str(spec.path), metadata=meta)
    assert load_refiner("tiny", spec.path, tmp_path / "ref") is not None  # the head is not what the refiner learned
    trunk = dict(head)
    name = next(k for k in state if not k.startswith("quality_head.") and state[k].is_floating_point())
    trunk[name] = trunk[name] * 1.01
    save_file(trunk, str(spec.path), metadata=meta)
    assert load_refiner("tiny", spec.path, tmp_path / "ref") is None


def test_auto_per_block_uses_the_restorers_refiner(tmp_path, monkeypatch):
    spec = _tiny_model(tmp_path / "tiny.safetensors")
    monkeypatch.setattr(refiners, "REFINERS_DIR", tmp_path / "ref")
    plain = ModelRestorer(spec, device="cpu")
    assert not plain.has_strength_refiner
    save_refiner(_trained_looking(), refiner_path("tiny"), "tiny", weights_digest(spec.path))
    refined = ModelRestorer(spec, device="cpu")
    assert refined.has_strength_refiner

    clip = make_clip(tmp_path / "crf.mp4", n=3, w=64, h=48, options={"crf": "30"})
    with open_video(clip, with_qp=True) as reader:
        frame = next(reader.frames())
    qp_map = quality_map_from_qp(frame.qp_map, 48, 64, frame.qp_codec)
    base = AutoStrength(plain, frame_types=False).for_frame(frame)  # the QP map as it is
    moved = AutoStrength(refined).for_frame(frame)
    assert np.allclose(base.quality, qp_map)
    assert moved.source == "qp" and moved.quality.shape == (48, 64) and not np.allclose(moved.quality, qp_map)
    assert np.allclose(moved.quality, refined.refine_quality_map(frame.pixels, qp_map))
    # one value per frame stays the frame's mean QP: the refiner is a per-block tool
    assert AutoStrength(refined, per_block=False).for_frame(frame) == AutoStrength(plain, per_block=False).for_frame(frame)
    restored = refined.restore(frame.pixels, moved.quality)
    assert restored.shape == frame.pixels.shape and restored.dtype == np.uint8


def test_auto_hands_a_frame_level_refiner_per_frame_autos_quality(tmp_path, monkeypatch):
    from engine.auto.qp import frame_quality

    spec = _tiny_model(tmp_path / "tiny.safetensors")
    monkeypatch.setattr(refiners, "REFINERS_DIR", tmp_path / "ref")
    untrained = StrengthRefiner(width=8, centre=True, frame_level=True)
    save_refiner(untrained, refiner_path("tiny"), "tiny", weights_digest(spec.path))
    restorer = ModelRestorer(spec, device="cpu")
    clip = make_clip(tmp_path / "crf.mp4", n=4, w=64, h=48, options={"crf": "30"})
    with open_video(clip, with_qp=True) as reader:
        for frame in reader.frames():
            per_block = AutoStrength(restorer).for_frame(frame)
            level = frame_quality(frame.qp_map, frame.qp_codec, frame.pict_type)  # with its I/P/B correction
            assert np.allclose(per_block.quality, level, rtol=1e-5)  # untrained: exactly per-frame Auto
            assert np.isclose(AutoStrength(restorer, per_block=False).for_frame(frame).quality, level)


def test_a_damaged_model_file_is_skipped_not_fatal(tmp_path):
    from engine.models.registry import list_models

    _tiny_model(tmp_path / "good.safetensors")
    (tmp_path / "broken.safetensors").write_bytes(b"\xff" * 64)
    assert [s.name for s in list_models(tmp_path)] == ["good"]

"""Auto strength: evidence order (JPEG tables, QP, blind head with EMA, default) and the GUI's strength modes."""
import numpy as np
import pytest
from PIL import Image

from engine.auto import AutoStrength, StrengthDecision, resolve_strength
from engine.media import load_image, open_video
from engine.media.types import ImageData, VideoFrame
from engine.models.registry import _spec_from_file, save_model
from engine.models.restora_net import RestoraNet
from engine.restore import create_restorer
from engine.restore.model_restorer import ModelRestorer

from .test_media_video import make_clip


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "tiny.safetensors"
    save_model(RestoraNet(c1=8, c2=16, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8), path, "tiny")
    return ModelRestorer(_spec_from_file(path), device="cpu")


def _noise(seed, h=48, w=64):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


def test_jpeg_tables_come_first(tmp_path, tiny):
    Image.fromarray(_noise(0)).save(tmp_path / "a.jpg", quality=23)
    decision = AutoStrength(tiny).for_image(load_image(tmp_path / "a.jpg"))
    assert decision == StrengthDecision(23.0, 23.0, "jpeg-tables")


def test_blind_estimate_for_png_and_custom_tables(tiny):
    pixels = _noise(1)
    expected = float(np.clip(tiny.estimate_quality(pixels), 1, 100))
    decision = AutoStrength(tiny).for_image(ImageData(pixels=pixels, format="PNG"))
    assert decision.source == "estimate" and decision.quality == pytest.approx(expected)
    doubtful = ImageData(pixels=pixels, format="JPEG", jpeg_quality=70, jpeg_quality_confidence=0.1)
    assert AutoStrength(tiny).for_image(doubtful).source == "estimate"


def test_default_without_blind_head():
    deblock = create_restorer("deblock")
    decision = AutoStrength(deblock, default_quality=33).for_image(ImageData(pixels=_noise(2)))
    assert decision == StrengthDecision(33.0, 33.0, "default")


def test_qp_per_block_map_and_per_frame(tmp_path, tiny):
    path = make_clip(tmp_path / "qp.mp4", n=3, w=64, h=40, options={"qp": "30"})
    with open_video(path, with_qp=True) as reader:
        frame = next(reader.frames())
    decision = AutoStrength(tiny).for_frame(frame)
    assert decision.source == "qp" and decision.quality.shape == (40, 64) and decision.quality.dtype == np.float32
    assert decision.mean_quality == pytest.approx(float(decision.quality.mean()))
    scalar = AutoStrength(tiny, per_block=False).for_frame(frame)
    assert scalar.source == "qp" and np.ndim(scalar.quality) == 0
    assert scalar.quality == pytest.approx(decision.mean_quality, abs=1.0)  # flat QP: both views agree


def test_blind_estimate_smoothed_over_frames_and_reset(tiny):
    frames = [VideoFrame(index=i, pts=i, time=i / 25, pixels=_noise(10 + i)) for i in range(4)]
    raw = [float(np.clip(tiny.estimate_quality(f.pixels), 1, 100)) for f in frames]
    auto = AutoStrength(tiny, smoothing=0.5)
    ema = raw[0]
    assert auto.for_frame(frames[0]).quality == pytest.approx(ema)
    for f, r in zip(frames[1:], raw[1:]):
        ema = 0.5 * ema + 0.5 * r
        got = auto.for_frame(f)
        assert got.source == "estimate" and got.quality == pytest.approx(ema, rel=1e-5)
    auto.reset()
    assert auto.for_frame(frames[3]).quality == pytest.approx(raw[3])
    with pytest.raises(ValueError):
        AutoStrength(tiny, smoothing=1.0)


def test_resolve_strength_modes(tmp_path, tiny):
    Image.fromarray(_noise(3)).save(tmp_path / "b.jpg", quality=40)
    image = load_image(tmp_path / "b.jpg")
    auto = AutoStrength(tiny)
    assert resolve_strength("absolute", 72, auto, image) == StrengthDecision(72.0, 72.0, "manual")
    assert resolve_strength("auto", 10, auto, image) == StrengthDecision(40.0, 40.0, "jpeg-tables")
    assert resolve_strength("relative", 65, auto, image) == StrengthDecision(55.0, 55.0, "jpeg-tables")
    assert resolve_strength("relative", 0, auto, image).quality == 1.0  # clamped to the JPEG scale
    assert resolve_strength("auto", 50, None, image).source == "default"
    with pytest.raises(ValueError):
        resolve_strength("loud", 50, auto, image)


def test_relative_offset_applies_to_maps(tmp_path, tiny):
    path = make_clip(tmp_path / "qp.mp4", n=2, w=32, h=32, options={"qp": "20"})
    with open_video(path, with_qp=True) as reader:
        frame = next(reader.frames())
    auto = AutoStrength(tiny)
    base = resolve_strength("auto", 50, auto, frame)
    up = resolve_strength("relative", 60, auto, frame)
    assert up.quality.shape == (32, 32)
    np.testing.assert_allclose(up.quality, np.minimum(base.quality + 10, 100), rtol=1e-6)


def test_mpeg2_quantiser_scale_goes_through_its_own_mapping(tmp_path, tiny):
    from engine.auto.qp import qp_to_quality

    path = make_clip(tmp_path / "m2.mpg", "mpeg2video", n=3, w=64, h=48)
    with open_video(path, with_qp=True) as reader:
        assert reader.info.codec == "mpeg2video" and reader.info.qp_available
        frame = next(reader.frames())
    assert frame.qp_codec == "mpeg2" and frame.qp_map.shape == (3, 4)
    decision = AutoStrength(tiny).for_frame(frame)
    assert decision.source == "qp"
    expected = qp_to_quality(frame.qp_map, "mpeg2")
    np.testing.assert_allclose(decision.quality[::16, ::16], expected, rtol=1e-5)
    assert not np.allclose(expected, qp_to_quality(frame.qp_map, "h264"))  # not read as H.264 QP


def test_picture_type_factor_scales_both_auto_modes(tmp_path, tiny, monkeypatch):
    import json

    from engine.auto import qp as qp_module

    table = tmp_path / "typed.json"
    table.write_text(json.dumps({"methods": {"psnr": {"qp": [20, 40], "quality": [80.0, 20.0]}},
                                 "frame_types": {"h264": {"flat": {"I": {"qp": [10, 50], "offset": [-0.2, -0.2]}}}}}))
    monkeypatch.setattr(qp_module, "CALIBRATION_PATH", table)
    qp_module.load_calibration.cache_clear()
    qp_module.load_frame_type_offsets.cache_clear()
    try:
        path = make_clip(tmp_path / "qp.mp4", n=3, w=64, h=48, options={"qp": "30"})
        with open_video(path, with_qp=True) as reader:
            frame = next(reader.frames())
        assert frame.pict_type == "I"
        for per_block in (False, True):
            typed = AutoStrength(tiny, per_block=per_block).for_frame(frame)
            plain = AutoStrength(tiny, per_block=per_block, frame_types=False).for_frame(frame)
            assert typed.mean_quality == pytest.approx(plain.mean_quality * np.exp(-0.2), rel=1e-5)
            assert plain.mean_quality == pytest.approx(80 - 3 * (frame.qp_map.mean() - 20), abs=0.5)  # the table
    finally:
        qp_module.load_calibration.cache_clear()
        qp_module.load_frame_type_offsets.cache_clear()

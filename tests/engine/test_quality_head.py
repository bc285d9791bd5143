"""The blind quality head's features: what makes them usable on any tile, grid offset and size."""
from __future__ import annotations

import io

import numpy as np
import pytest
import torch
from PIL import Image

from engine.models.quality_head import N_FEATURES, DctQualityHead
from engine.models.registry import _spec_from_file, build_model, save_model
from engine.models.restora_net import RestoraNet


def _texture(h=128, w=128, seed=0):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = 128 + 60 * np.sin(x / 5.0) * np.cos(y / 7.0) + rng.normal(0, 12, (h, w))
    return np.repeat(np.clip(base, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)


def _jpeg(rgb, q):
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=q)
    return np.asarray(Image.open(buf).convert("RGB"))


def _t(rgb):
    return torch.from_numpy(np.array(rgb)).permute(2, 0, 1)[None].float() / 255.0


def test_features_have_the_documented_size_for_any_input_size():
    head = DctQualityHead()
    for h, w in ((16, 16), (37, 91), (128, 128)):
        assert head.features(torch.rand(2, 3, h, w)).shape == (2, N_FEATURES)
    assert head(torch.rand(1, 3, 9, 9)).shape == (1, 1)  # tiny inputs are padded, not refused


def test_compression_empties_high_frequencies_on_the_block_grid():
    head = DctQualityHead()
    clean = _texture()
    f_clean, f_low = head.features(_t(clean)), head.features(_t(_jpeg(clean, 10)))
    on_grid_hf = slice(4, 7)  # near-zero share on the best grid, highest bands, first threshold
    assert (f_low[0, on_grid_hf] > f_clean[0, on_grid_hf] + 0.2).all()


def test_features_do_not_depend_on_where_the_crop_starts_on_the_grid():
    head = DctQualityHead()
    low = _jpeg(_texture(136, 136), 15)
    a = head.features(_t(low[:128, :128]))[0, :14]
    b = head.features(_t(low[3:131, 5:133]))[0, :14]  # same image, grid shifted by (3, 5)
    assert torch.allclose(a, b, atol=0.05)


def test_a_dct_head_model_saves_and_loads_with_its_head(tmp_path):
    net = RestoraNet(c1=8, c2=16, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8, head="dct")
    with torch.no_grad():
        net.quality_head.feature_mean.fill_(0.5)
    path = tmp_path / "tiny.safetensors"
    save_model(net, path, "tiny")
    loaded = build_model(_spec_from_file(path))
    assert loaded.config["head"] == "dct"
    assert torch.equal(loaded.quality_head.feature_mean, net.quality_head.feature_mean)
    x = torch.rand(1, 3, 40, 48)
    assert torch.allclose(loaded.predict_quality(x), net.predict_quality(x))


def test_unknown_head_is_refused():
    with pytest.raises(ValueError):
        RestoraNet(head="nope")


def test_half_precision_model_gives_the_same_estimate():
    torch.manual_seed(0)
    head = DctQualityHead()
    x = _t(_jpeg(_texture(), 20))
    full = head(x)
    assert torch.allclose(head.half()(x.half()), full, rtol=0.02)

"""The weight average that training validates and exports (training/ema.py, training/train.py)."""
import pytest
import torch
from safetensors.torch import load_file

import training.train as train_module
from engine.models.restora_net import RestoraNet
from training.ema import WeightAverage


def _tiny(seed=0):
    torch.manual_seed(seed)
    return RestoraNet(c1=8, c2=8, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8)


def test_one_update_moves_each_weight_by_one_minus_decay_of_the_gap():
    model = _tiny()
    average = WeightAverage(model, 0.9)
    before = {k: v.clone() for k, v in average.state_dict().items()}
    with torch.no_grad():
        for p in model.parameters():
            p.add_(1.0)
    average.update(model)
    for name, value in average.state_dict().items():
        assert torch.allclose(value, before[name] + 0.1, atol=1e-6), name
    # the average is a copy: changing it leaves the live model alone and vice versa
    assert not any(p.requires_grad for p in average.model.parameters())
    assert all(p.requires_grad for p in model.parameters())


def test_the_average_smooths_noisy_steps():
    model = _tiny()
    start = {k: v.clone() for k, v in model.state_dict().items()}
    average = WeightAverage(model, 0.99)
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for _ in range(200):  # a random walk around the start, as noisy small-batch steps make
            for p in model.parameters():
                p.add_(torch.randn(p.shape, generator=gen) * 0.01)
            average.update(model)
    live = sum(float((model.state_dict()[k] - start[k]).pow(2).sum()) for k in start)
    averaged = sum(float((average.state_dict()[k] - start[k]).pow(2).sum()) for k in start)
    assert averaged < 0.5 * live


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.5, 1.5])
def test_a_decay_outside_zero_one_is_refused(decay):
    with pytest.raises(ValueError):
        WeightAverage(_tiny(), decay)


def test_export_ships_the_average_and_a_run_without_one_clears_a_stale_one(tmp_path, monkeypatch):
    monkeypatch.setattr(train_module, "CKPT_DIR", tmp_path / "ckpt")
    monkeypatch.setattr(train_module, "SHIPPED", tmp_path / "shipped.safetensors")
    model = _tiny()
    opt = torch.optim.AdamW(model.parameters())
    average = WeightAverage(model, 0.5)
    with torch.no_grad():
        for p in average.model.parameters():
            p.add_(0.25)
    train_module.save_checkpoint(model, opt, 7, [], average)
    train_module.export(None)
    shipped = load_file(str(tmp_path / "shipped.safetensors"))
    assert all(torch.equal(shipped[k], v) for k, v in average.state_dict().items())

    train_module.save_checkpoint(model, opt, 8, [])  # a later run that keeps no average
    assert not (tmp_path / "ckpt" / "ema.safetensors").exists()
    train_module.export(None)
    shipped = load_file(str(tmp_path / "shipped.safetensors"))
    assert all(torch.equal(shipped[k], v) for k, v in model.state_dict().items())

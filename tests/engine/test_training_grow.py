"""Growing a trained RestoraNet keeps its function at step 0 and leaves the new capacity trainable."""
import pytest
import torch

from engine.models.restora_net import RestoraNet
from training.grow import grow


def _trained_like(**config) -> RestoraNet:
    torch.manual_seed(0)
    net = RestoraNet(head="dct", **config)
    with torch.no_grad():  # the constructor zero-inits exit/modulations; a trained net has them non-zero
        for p in net.parameters():
            p.add_(torch.randn_like(p) * 0.05)
    return net.eval()


def test_grown_network_computes_the_same_function():
    old = _trained_like(c1=8, c2=16, blocks1=1, blocks2=2, blocks3=1, embed=8, head_width=8)
    new = grow(old, c1=16, c2=24, blocks1=2, blocks2=3, blocks3=2).eval()
    x = torch.rand(2, 3, 40, 56)
    q_map = torch.rand(2, 1, 40, 56) * 90 + 5
    with torch.no_grad():
        for q in (torch.tensor([12.0, 60.0]), q_map):
            assert torch.allclose(new(x, q), old(x, q), atol=1e-5)
        assert torch.equal(new.predict_quality(x), old.predict_quality(x))
    assert new.config["c1"] == 16 and new.config["blocks2"] == 3


def test_new_capacity_receives_gradients():
    old = _trained_like(c1=8, c2=16, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8)
    new = grow(old, c1=12, blocks2=2).train()
    x = torch.rand(1, 3, 32, 32)
    opt = torch.optim.SGD(new.parameters(), lr=0.1)
    new(x, torch.tensor([20.0])).square().mean().backward()
    assert new.level2[1].conv2.weight.grad.abs().sum() > 0  # appended identity block
    assert new.exit.weight.grad[:, 8:].abs().sum() > 0  # new channels -> old outputs
    opt.step()
    opt.zero_grad()
    new(x, torch.tensor([20.0])).square().mean().backward()
    assert new.entry.weight.grad[8:].abs().sum() > 0  # reached once the zero links have moved


def test_grow_refuses_to_shrink():
    with pytest.raises(ValueError):
        grow(_trained_like(c1=8, c2=16, embed=8, head_width=8), c1=4)

"""The training penalties that keep the quality input in charge (training/train.py)."""
import contextlib

import torch

from engine.models.restora_net import RestoraNet
from training.train import _forward_with_control_terms


def _tiny_and_batch(seed=0):
    torch.manual_seed(seed)
    model = RestoraNet(c1=8, c2=8, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8)
    for p in model.parameters():  # random, non-zero output everywhere
        torch.nn.init.normal_(p, 0, 0.05)
    x = torch.rand(4, 3, 32, 32)
    q = torch.full((4, 1, 32, 32), 20.0)
    return model, x, q


def test_without_terms_it_is_a_plain_forward():
    model, x, q = _tiny_and_batch()
    out, mono, ident = _forward_with_control_terms(model, x, q, contextlib.nullcontext(), False, False)
    assert torch.allclose(out, model(x, q)) and float(mono) == 0 and float(ident) == 0


def test_identity_term_is_the_change_made_when_told_pristine():
    model, x, q = _tiny_and_batch()
    out, _, ident = _forward_with_control_terms(model, x, q, contextlib.nullcontext(), False, True)
    assert torch.allclose(out, model(x, q), atol=1e-6)
    told_pristine = model(x[3:], torch.full((1, 1, 32, 32), 100.0))  # the last quarter of a batch of 4
    assert torch.isclose(ident, (told_pristine - x[3:]).abs().mean(), atol=1e-6) and float(ident.detach()) > 0


class _StrongerWhenToldBetter(torch.nn.Module):
    """A deliberately wrong control: the change grows with the quality it is told (x + s * q / 100)."""

    def __init__(self):
        super().__init__()
        self.s = torch.nn.Parameter(torch.tensor(0.1))

    def forward(self, x, q):
        return x + self.s * q / 100.0


def test_monotone_term_penalises_a_backwards_control_through_the_lifted_pass_only():
    model = _StrongerWhenToldBetter()
    x, q = torch.rand(4, 3, 8, 8), torch.full((4, 1, 8, 8), 20.0)
    torch.manual_seed(5)
    _, mono, _ = _forward_with_control_terms(model, x, q, contextlib.nullcontext(), True, False)
    torch.manual_seed(5)
    lift = torch.rand(2, 1, 1, 1) * 0.9 + 0.1  # the same draw the function made (k = half the batch)
    q_high = 20.0 + lift * 80.0
    assert torch.isclose(mono, (0.1 * (q_high - 20.0) / 100.0).mean(), atol=1e-6)
    mono.backward()
    # Only the lifted pass carries gradient (d/ds of s*q_high/100), not the true-quality pass (-s*20/100).
    assert torch.isclose(model.s.grad, (q_high / 100.0).mean(), atol=1e-6)

"""The log-MSE loss ranks batches by mean PSNR and keeps Charbonnier's gradient scale."""
from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from training.train import LOSSES, charbonnier, log_mse  # noqa: E402


def _mean_psnr(a: torch.Tensor, b: torch.Tensor) -> float:
    mse = ((a - b) ** 2).flatten(1).mean(dim=1)
    return float((-10 * torch.log10(mse)).mean())


def test_lower_log_mse_means_higher_mean_psnr_even_when_plain_mse_disagrees():
    g = torch.Generator().manual_seed(0)
    target = torch.rand(2, 3, 16, 16, generator=g)
    noise = torch.randn(2, 3, 16, 16, generator=g)
    # A: both patches fairly poor. B: one patch near perfect, one worse than A's: higher total MSE, higher mean PSNR.
    a = target + 0.05 * noise
    b = target + torch.stack([0.005 * noise[0], 0.075 * noise[1]])
    assert float(((b - target) ** 2).mean()) > float(((a - target) ** 2).mean())  # plain MSE prefers A
    assert _mean_psnr(b, target) > _mean_psnr(a, target)
    assert float(log_mse(b, target)) < float(log_mse(a, target))


def test_gradient_matches_charbonnier_at_an_rms_error_of_two_percent():
    g = torch.Generator().manual_seed(1)
    target = torch.rand(4, 3, 24, 24, generator=g)
    sign = torch.where(torch.rand(target.shape, generator=g) < 0.5, -1.0, 1.0)
    out = (target + 0.02 * sign).requires_grad_(True)  # every pixel off by exactly 0.02
    log_mse(out, target).backward()
    ours = out.grad.abs().mean()
    out.grad = None
    charbonnier(out, target).backward()
    theirs = out.grad.abs().mean()
    assert float(ours / theirs) == pytest.approx(1.0, rel=0.05)


def test_the_training_script_offers_both_losses():
    assert set(LOSSES) == {"charbonnier", "log-mse"}

"""Blind quality head: estimates the JPEG-scale quality of an image from how its 8x8 DCT coefficients look.

Why not a plain conv branch: trained jointly with the restorer it collapsed to a constant (≈ 40) -- pooled conv
features mostly describe content. Compression leaves a content-independent trace instead: quantisation pushes
high-frequency DCT coefficients to (near) zero, most sharply on the codec's own block grid. So this head
measures, per frequency band, the share of near-zero coefficients on the best-aligned 8x8 grid and averaged over
all grid offsets, plus the band energies (spectral slope), and a small MLP maps those to a quality. The
features are fixed (not learned), so the MLP is fitted in seconds on degraded photos (training/fit_quality_head.py)
and generalises to tiles at any grid offset and to codec frames (H.264/HEVC), labelled with the JPEG quality
of equal PSNR.
"""
from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

QUALITY_MIN, QUALITY_MAX = 1.0, 100.0
BANDS = 7  # diagonal bands of u+v: (1,2), (3,4), ..., (13,14)
THRESHOLDS = (0.75, 2.0)  # |coefficient| below these counts as quantised away (luma on the 0..255 scale)
N_FEATURES = BANDS * (2 * len(THRESHOLDS) + 1) + 1
HF_FROM_BAND = 3  # bands used to find the grid: the ones quantisation empties first


def _dct_filters() -> torch.Tensor:
    n = 8
    k = torch.arange(n, dtype=torch.float64)
    d = torch.cos(math.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * n)) * math.sqrt(2 / n)
    d[0] /= math.sqrt(2)
    basis = torch.einsum("ui,vj->uvij", d, d).reshape(64, 1, n, n)
    return basis[1:].float()  # AC only: the DC term carries brightness, not compression


def _band_matrix() -> torch.Tensor:
    u, v = torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij")
    diag = (u + v).reshape(-1)[1:]  # 1..14 for the 63 AC coefficients
    band = (diag - 1) // 2
    m = F.one_hot(band, BANDS).float().T  # (BANDS, 63)
    return m / m.sum(1, keepdim=True)


class DctQualityHead(nn.Module):
    def __init__(self, hidden: int = 32) -> None:
        super().__init__()
        self.register_buffer("filters", _dct_filters(), persistent=False)
        self.register_buffer("bands", _band_matrix(), persistent=False)
        # Feature standardisation, fitted with the MLP and saved with it.
        self.register_buffer("feature_mean", torch.zeros(N_FEATURES))
        self.register_buffer("feature_std", torch.ones(N_FEATURES))
        self.mlp = nn.Sequential(nn.Linear(N_FEATURES, hidden), nn.SiLU(), nn.Linear(hidden, hidden), nn.SiLU(),
                                 nn.Linear(hidden, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B,3,H,W) RGB in [0,1] (H,W >= 16) -> (B, N_FEATURES), unnormalised."""
        x = x.float()  # statistics in fp32 even when the model runs in half precision
        filters, bands = self.filters.float(), self.bands.float()
        luma = (0.299 * x[:, 0:1] + 0.587 * x[:, 1:2] + 0.114 * x[:, 2:3]) * 255.0
        c = F.conv2d(luma, filters)  # every 8x8 window: (B, 63, H-7, W-7)
        b, _, h, w = c.shape
        h8, w8 = h // 8 * 8, w // 8 * 8
        c = c[..., :h8, :w8].reshape(b, 63, h8 // 8, 8, w8 // 8, 8)  # (..., block row, row offset, ...)
        a = c.abs()
        feats = []
        hf = bands[HF_FROM_BAND:].sum(0) > 0  # AC coefficients in the high bands
        best = None
        for t in THRESHOLDS:
            near = (a < t).float().mean(dim=(2, 4))  # (B, 63, 8, 8): share per coefficient and grid offset
            if best is None:
                best = near[:, hf].mean(1).flatten(1).argmax(1)  # the grid the codec used: most emptied
            on_grid = near.flatten(2)[torch.arange(b), :, best]  # (B, 63)
            feats += [on_grid @ bands.T, near.mean(dim=(2, 3)) @ bands.T]
        energy = torch.log(c.pow(2).mean(dim=(2, 3, 4, 5)) + 1e-2) @ bands.T  # (B, BANDS)
        feats.append(energy - energy[:, :1])  # spectral slope, independent of overall contrast
        feats.append(energy[:, :1])
        return torch.cat(feats, dim=1)

    def from_features(self, f: torch.Tensor) -> torch.Tensor:
        z = (f.float() - self.feature_mean.float()) / self.feature_std.float()
        # Predict log-quality: errors at low quality (where strength matters most) weigh as much as at high.
        logq = self.mlp(z.to(self.mlp[0].weight.dtype)).float()
        return torch.exp(logq).clamp(QUALITY_MIN, QUALITY_MAX)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] < 16 or x.shape[-2] < 16:
            x = F.pad(x, (0, max(0, 16 - x.shape[-1]), 0, max(0, 16 - x.shape[-2])), mode="replicate")
        return self.from_features(self.features(x))

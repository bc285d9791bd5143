"""RestoraNet: a quality-steered compression-artifact remover that works at quarter resolution.

Why this shape: on a 2-core CPU full-resolution convolutions dominate cost, so the image is pixel-unshuffled
by 4 right away (JPEG/H.264 blocks are 4/8/16 px, so 4x4 cells stay block-aligned) and nearly all work happens
at 1/4 and 1/8 resolution. The quality input (JPEG scale, 1..100) is a per-pixel map so codec frames can be
steered per macroblock; a scalar quality is just a 1x1 map that broadcasts (no extra cost). Each residual
block is modulated by a spatial scale/shift computed from that map (SFT / CResMD-style modulation), which is
what makes the slider change the network rather than blend images. A small unmodulated branch predicts the
quality from pixels alone (blind mode): see quality_head.py.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .quality_head import DctQualityHead

QUALITY_MIN, QUALITY_MAX = 1.0, 100.0
UNSHUFFLE = 4
MULTIPLE = UNSHUFFLE * 2  # input sides are padded to this multiple (two stride-2 levels below full res)


def normalise_quality(q: torch.Tensor) -> torch.Tensor:
    """JPEG quality 1..100 -> roughly [-1, 1]; log-ish spacing since low qualities differ more."""
    q = q.clamp(QUALITY_MIN, QUALITY_MAX)
    return torch.log(q) / torch.log(torch.tensor(QUALITY_MAX)) * 2.0 - 1.0


class ModulatedBlock(nn.Module):
    """conv -> per-pixel scale/shift from the quality embedding -> ReLU -> conv, residual."""

    def __init__(self, channels: int, embed: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels, channels, 3, padding=1)
        self.conv2 = nn.Conv2d(channels, channels, 3, padding=1)
        self.modulation = nn.Conv2d(embed, channels * 2, 1)
        nn.init.zeros_(self.modulation.weight)
        nn.init.zeros_(self.modulation.bias)

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        scale, shift = self.modulation(emb).chunk(2, dim=1)
        h = self.conv1(x)
        h = F.relu(h * (1.0 + scale) + shift)
        return x + self.conv2(h)


class QualityHead(nn.Module):
    """Blind branch: predicts the JPEG-scale quality from pixels (global, one value per image)."""

    def __init__(self, in_ch: int, width: int) -> None:
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(in_ch, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, stride=2, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, stride=2, padding=1), nn.ReLU(inplace=True),
        )
        self.fc = nn.Linear(width, 1)

    def forward(self, x_unshuffled: torch.Tensor) -> torch.Tensor:
        # Pool log-energy, not the mean: a global mean of near-linear features only sees the image's mean colour,
        # while artifact strength lives in how much high-frequency energy the features pick up.
        h = self.features(x_unshuffled)
        energy = torch.log(h.float().pow(2).mean(dim=(2, 3)) + 1e-4).to(h.dtype)
        return QUALITY_MIN + (QUALITY_MAX - QUALITY_MIN) * torch.sigmoid(self.fc(energy))


class RestoraNet(nn.Module):
    def __init__(self, c1: int = 32, c2: int = 96, blocks1: int = 1, blocks2: int = 4, blocks3: int = 1,
                 embed: int = 32, head_width: int = 32, head: str = "conv") -> None:
        super().__init__()
        cin = 3 * UNSHUFFLE * UNSHUFFLE
        self.config = dict(c1=c1, c2=c2, blocks1=blocks1, blocks2=blocks2, blocks3=blocks3, embed=embed,
                           head_width=head_width, head=head)
        self.quality_embed = nn.Sequential(nn.Conv2d(1, embed, 1), nn.SiLU(), nn.Conv2d(embed, embed, 1), nn.SiLU())
        self.entry = nn.Conv2d(cin, c1, 3, padding=1)
        self.level1 = nn.ModuleList(ModulatedBlock(c1, embed) for _ in range(blocks1))
        self.down = nn.Conv2d(c1, c2, 3, stride=2, padding=1)
        self.level2 = nn.ModuleList(ModulatedBlock(c2, embed) for _ in range(blocks2))
        self.up = nn.Conv2d(c2, c1 * 4, 1)
        self.level3 = nn.ModuleList(ModulatedBlock(c1, embed) for _ in range(blocks3))
        self.exit = nn.Conv2d(c1, cin, 3, padding=1)
        nn.init.zeros_(self.exit.weight)  # start as identity: the net learns a correction
        nn.init.zeros_(self.exit.bias)
        if head not in ("conv", "dct"):
            raise ValueError(f"unknown quality head {head!r}")
        # "dct" (engine/models/quality_head.py) is what ships; "conv" reads older weight files.
        self.quality_head = DctQualityHead(head_width) if head == "dct" else QualityHead(cin, head_width)

    # -- quality -------------------------------------------------------------------------------------------
    def predict_quality(self, x: torch.Tensor) -> torch.Tensor:
        """(B,3,H,W) in [0,1] -> (B,) predicted JPEG-scale quality."""
        if self.config["head"] == "dct":
            return self.quality_head(x).squeeze(1)
        x, _ = self._pad(x)
        return self.quality_head(F.pixel_unshuffle(x, UNSHUFFLE)).squeeze(1)

    def _embeddings(self, quality: torch.Tensor, size1: tuple[int, int], batch: int):
        """quality: (B,) / (B,1,1,1) scalar, or (B,1,H,W) full-res map -> embeddings at 1/4 and 1/8."""
        if quality.dim() == 1:
            quality = quality.view(-1, 1, 1, 1)
        if quality.shape[-1] > 1 or quality.shape[-2] > 1:
            q1 = F.adaptive_avg_pool2d(quality, size1)
            q2 = F.avg_pool2d(q1, 2)
        else:
            q1 = q2 = quality
        e1 = self.quality_embed(normalise_quality(q1))
        e2 = e1 if q2 is q1 else self.quality_embed(normalise_quality(q2))
        if e1.shape[0] != batch:
            e1, e2 = e1.expand(batch, -1, -1, -1), e2.expand(batch, -1, -1, -1)
        return e1, e2

    @staticmethod
    def _pad(x: torch.Tensor):
        h, w = x.shape[-2:]
        ph, pw = (-h) % MULTIPLE, (-w) % MULTIPLE
        if ph or pw:
            mode = "reflect" if h > ph and w > pw else "replicate"
            x = F.pad(x, (0, pw, 0, ph), mode=mode)
        return x, (h, w)

    def forward(self, x: torch.Tensor, quality: torch.Tensor | None = None) -> torch.Tensor:
        """x: (B,3,H,W) in [0,1]; quality: JPEG-scale (B,), (B,1,1,1) or (B,1,H,W); None = blind."""
        if quality is None:
            quality = self.predict_quality(x).detach()
        xp, (h, w) = self._pad(x)
        if quality.dim() == 4 and quality.shape[-2:] == (h, w) and xp.shape[-2:] != (h, w):
            quality = F.pad(quality, (0, xp.shape[-1] - w, 0, xp.shape[-2] - h), mode="replicate")
        u = F.pixel_unshuffle(xp, UNSHUFFLE)
        e1, e2 = self._embeddings(quality.to(u.dtype), u.shape[-2:], u.shape[0])
        f1 = self.entry(u)
        h1 = f1
        for block in self.level1:
            h1 = block(h1, e1)
        h2 = self.down(h1)
        for block in self.level2:
            h2 = block(h2, e2)
        h3 = F.pixel_shuffle(self.up(h2), 2) + h1
        for block in self.level3:
            h3 = block(h3, e1)
        out = xp + F.pixel_shuffle(self.exit(h3), UNSHUFFLE)
        return out[..., :h, :w]

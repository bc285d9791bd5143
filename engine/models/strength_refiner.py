"""StrengthRefiner: turns a codec frame's per-macroblock quality map (from its QPs) into the map the restorer
should actually be steered by, one value per 16x16 macroblock.

Why: the QP says how coarsely a block was quantised, but not how much the restorer can get back from it. On the
strength-map study (docs/strength_map_study.md) no rule built from QPs alone, nor a linear rule on cheap luma
statistics, beat one strength per frame, while each block's best strength (picked on half of its pixels, scored on
the other half) is worth about +0.1 dB. This tiny net sees the decoded pixels and the QP map at macroblock
resolution and predicts a bounded multiplicative correction of the QP map. It is trained end-to-end through the
frozen restorer it ships with (training/fit_strength_refiner.py), so it learns what that restorer responds to.
A refiner trained with `frame_level` moves each block from per-frame Auto's quality (I/P/B-corrected, handed in by
Auto) rather than from the QP map's mean, so untrained it is exactly per-frame Auto and what it learns only adds.

Cost: it works at 1/8 and 1/16 resolution, 29 k parameters; about 25 ms per 720p frame on the 2-core development
CPU (RestoraNet itself takes ~165 ms), and it runs only for frames that carry a QP map.
"""
from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .restora_net import QUALITY_MAX, QUALITY_MIN, normalise_quality

MACROBLOCK = 16


class StrengthRefiner(nn.Module):
    def __init__(self, width: int = 32, max_log_change: float = 0.7, centre: bool = False,
                 frame_level: bool = False) -> None:
        super().__init__()
        self.config = dict(width=width, max_log_change=max_log_change, centre=centre, frame_level=frame_level)
        self.max_log_change = max_log_change  # the map can move by at most x/÷ e^0.7 ~ 2x per block
        # centre: start from the frame's mean (log) quality and let the QP deviations in only as an input, so the
        # spatial pattern is all learned (adaptive quantisation's QP pattern, taken literally, costs PSNR).
        self.centre = centre
        # frame_level (with centre): trained around per-frame Auto's own quality (its I/P/B correction included),
        # passed in as `frame_quality`, so an untrained refiner is exactly per-frame Auto and training can only add.
        self.frame_level = frame_level
        self.pixels = nn.Sequential(
            nn.Conv2d(3 * 64, width, 1), nn.ReLU(inplace=True),  # 8x8 cells at 1/8 resolution
            nn.Conv2d(width, width, 2, stride=2), nn.ReLU(inplace=True),  # exactly one vector per macroblock
        )
        # + 2 channels: the block's quality and its deviation from the frame's mean (adaptive quantisation)
        self.context = nn.Sequential(
            nn.Conv2d(width + 2, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, width, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(width, 1, 1),
        )
        last = self.context[-1]
        nn.init.zeros_(last.weight)  # starts as the identity: the QP map unchanged
        nn.init.zeros_(last.bias)

    def forward(self, x: torch.Tensor, quality: torch.Tensor, frame_quality: torch.Tensor | None = None
                ) -> torch.Tensor:
        """x: (B,3,H,W) in [0,1]; quality: (B,1,H,W) map constant on macroblocks -> refined (B,1,H,W) map.
        frame_quality: (B,) per-frame Auto's quality, the level a centred refiner moves from (else the map's
        geometric mean)."""
        h, w = x.shape[-2:]
        ph, pw = (-h) % MACROBLOCK, (-w) % MACROBLOCK
        if ph or pw:  # pad at the bottom/right: the macroblock grid starts at the top-left corner
            x = F.pad(x, (0, pw, 0, ph), mode="replicate")
            quality = F.pad(quality, (0, pw, 0, ph), mode="replicate")
        q_mb = F.avg_pool2d(quality, MACROBLOCK)
        n_mb = normalise_quality(q_mb)
        deviation = n_mb - n_mb.mean(dim=(2, 3), keepdim=True)
        features = self.pixels(F.pixel_unshuffle(x - 0.5, 8))
        change = self.max_log_change * torch.tanh(self.context(torch.cat([features, n_mb, deviation], 1)))
        base = torch.log(q_mb.clamp(QUALITY_MIN, QUALITY_MAX))
        if self.centre and frame_quality is not None:
            base = torch.log(frame_quality.float().clamp(QUALITY_MIN, QUALITY_MAX)).view(-1, 1, 1, 1)
        elif self.centre:
            base = base.mean(dim=(2, 3), keepdim=True)
        refined = (base + change).exp().clamp(QUALITY_MIN, QUALITY_MAX)
        full = F.interpolate(refined, scale_factor=MACROBLOCK, mode="nearest")
        return full[..., :h, :w]

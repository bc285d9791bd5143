"""Overlapping-tile inference (after Real-ESRGAN's tiler, with tile/overlap/padding made explicit).

Each tile is processed with `overlap` pixels of real context on every side; outputs are blended with a linear
ramp across the overlap so no seam can appear even where the network's receptive field exceeds the context.
"""
from __future__ import annotations

from typing import Callable

import torch

from ..cancel import CancelToken, check


def _starts(size: int, tile: int, overlap: int) -> list[int]:
    if size <= tile:
        return [0]
    step = tile - 2 * overlap
    starts = list(range(0, size - tile, step))
    starts.append(size - tile)
    return starts


def _ramp(length: int, left: int, right: int, device, dtype) -> torch.Tensor:
    w = torch.ones(length, device=device, dtype=dtype)
    if left:
        w[:left] = torch.linspace(0.0, 1.0, left + 2, device=device, dtype=dtype)[1:-1]
    if right:
        w[length - right:] = torch.linspace(1.0, 0.0, right + 2, device=device, dtype=dtype)[1:-1]
    return w


def run_tiled(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor, quality: torch.Tensor,
              tile: int, overlap: int = 32, cancel: CancelToken | None = None) -> torch.Tensor:
    """Apply fn(x_tile, quality_tile) over (1,C,H,W) x. quality is (1,1,1,1) (scalar) or (1,1,H,W) (map).
    tile <= 0 or an image smaller than one tile runs in one piece."""
    _, _, h, w = x.shape
    if tile <= 0 or (h <= tile and w <= tile):
        check(cancel)
        return fn(x, quality)
    per_pixel = quality.shape[-2:] == (h, w)
    out = torch.zeros_like(x)
    weight = torch.zeros((1, 1, h, w), device=x.device, dtype=x.dtype)
    th, tw = min(tile, h), min(tile, w)
    ys, xs = _starts(h, th, overlap), _starts(w, tw, overlap)
    for y in ys:
        for x0 in xs:
            check(cancel)
            q = quality[..., y:y + th, x0:x0 + tw] if per_pixel else quality
            result = fn(x[..., y:y + th, x0:x0 + tw], q)
            wy = _ramp(th, overlap if y > 0 else 0, overlap if y + th < h else 0, x.device, x.dtype)
            wx = _ramp(tw, overlap if x0 > 0 else 0, overlap if x0 + tw < w else 0, x.device, x.dtype)
            wt = (wy[:, None] * wx[None, :])[None, None]
            out[..., y:y + th, x0:x0 + tw] += result * wt
            weight[..., y:y + th, x0:x0 + tw] += wt
    return out / weight

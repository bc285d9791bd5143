"""Overlapping-tile inference (after Real-ESRGAN's tiler, with tile/overlap/padding made explicit).

Neighbouring tiles share 2*overlap pixels. Inside that band each tile ignores the outer overlap/2 pixels (where it
lacks context) and cross-fades linearly with its neighbour over the next `overlap` pixels, so every output pixel
has at least overlap/2 of real context and no seam can appear even where the receptive field exceeds it.
"""
from __future__ import annotations

from typing import Callable

import torch

from ..cancel import CancelToken, check


def _spans(size: int, tile: int, overlap: int, align: int) -> list[tuple[int, int]]:
    """(start, length) of each tile along one axis. Starts are multiples of `align` because the network is only
    shift-equivariant for shifts of its total stride; the last tile stretches to the edge instead of moving."""
    if size <= tile:
        return [(0, size)]
    step = max(align, (tile - 2 * overlap) // align * align)
    starts = list(range(0, size - tile + 1, step))
    last = starts[-1]
    if last + tile < size:
        last = (size - tile) // align * align
        if last > starts[-1]:
            starts.append(last)
    spans = [(s, tile) for s in starts]
    spans[-1] = (spans[-1][0], size - spans[-1][0])
    return spans


def _ramp(length: int, left: int, right: int, device, dtype) -> torch.Tensor:
    """Per-pixel weight along one axis: 0 in the outer half-overlap, a linear ramp, then 1."""
    w = torch.ones(length, device=device, dtype=dtype)
    for side, band in (("left", left), ("right", right)):
        if not band:
            continue
        margin = band // 2
        ramp = torch.linspace(0.0, 1.0, band + 2, device=device, dtype=dtype)[1:-1]
        edge = torch.cat([torch.full((margin,), 1e-6, device=device, dtype=dtype), ramp])[:length]
        if side == "left":
            w[:edge.numel()] = torch.minimum(w[:edge.numel()], edge)
        else:
            w[length - edge.numel():] = torch.minimum(w[length - edge.numel():], edge.flip(0))
    return w


def run_tiled(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], x: torch.Tensor, quality: torch.Tensor,
              tile: int, overlap: int = 32, cancel: CancelToken | None = None, align: int = 8) -> torch.Tensor:
    """Apply fn(x_tile, quality_tile) over (1,C,H,W) x. quality is (1,1,1,1) (scalar) or (1,1,H,W) (map).
    tile <= 0 or an image smaller than one tile runs in one piece."""
    _, _, h, w = x.shape
    if tile <= 0 or (h <= tile and w <= tile):
        check(cancel)
        return fn(x, quality)
    per_pixel = quality.shape[-2:] == (h, w)
    out = torch.zeros_like(x)
    weight = torch.zeros((1, 1, h, w), device=x.device, dtype=x.dtype)
    for y, th in _spans(h, tile, overlap, align):
        for x0, tw in _spans(w, tile, overlap, align):
            check(cancel)
            q = quality[..., y:y + th, x0:x0 + tw] if per_pixel else quality
            result = fn(x[..., y:y + th, x0:x0 + tw], q)
            wy = _ramp(th, overlap if y > 0 else 0, overlap if y + th < h else 0, x.device, x.dtype)
            wx = _ramp(tw, overlap if x0 > 0 else 0, overlap if x0 + tw < w else 0, x.device, x.dtype)
            wt = (wy[:, None] * wx[None, :])[None, None]
            out[..., y:y + th, x0:x0 + tw] += result * wt
            weight[..., y:y + th, x0:x0 + tw] += wt
    return out / weight

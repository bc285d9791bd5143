"""Restore a still whose 8x8 blocks do not start at its corner (found by engine/auto/block_grid.py): pad the top and
left edges so the blocks land where the network expects them, restore, cut the padding off again.

Edge replication is the padding: the padded rows and columns only complete the first partial block and are thrown
away. Measured with the run-16 weights on LIVE1 JPEGs cut 3 rows and 5 columns in, told the quality (bf16, 2 CPU
cores), gain over the JPEG at QF10 / 20 / 30 / 40: +1.256 / +1.065 / +0.986 / +0.936 dB restored as they are,
+1.335 / +1.155 / +1.084 / +1.036 shifted onto their grid (uncut: +1.323 / +1.145 / +1.075 / +1.029).
"""
from __future__ import annotations

import numpy as np

from ..cancel import CancelToken
from .base import Quality, Restorer

BLOCK = 8


def grid_padding(grid: tuple[int, int]) -> tuple[int, int]:
    """Rows and columns to add above and to the left so blocks starting at `grid` = (dy, dx) start at multiples
    of 8."""
    dy, dx = (int(v) % BLOCK for v in grid)
    return (BLOCK - dy) % BLOCK, (BLOCK - dx) % BLOCK


def turned_block_grid(height: int, width: int, rotation: int) -> tuple[int, int]:
    """Where the blocks of a height x width frame coded on the corner grid start once turned upright by
    apply_rotation (np.rot90, counter-clockwise): an axis that the turn reverses ends on the grid instead, so its
    blocks start at its length modulo 8 (a 854-px-wide clip turned 90°: row 6)."""
    k = int(round(rotation / 90.0)) % 4
    return {0: (0, 0), 1: (width % BLOCK, 0), 2: (height % BLOCK, width % BLOCK), 3: (0, height % BLOCK)}[k]


def _pad(a: np.ndarray, top: int, left: int) -> np.ndarray:
    widths = [(top, 0), (left, 0)] + [(0, 0)] * (a.ndim - 2)
    return np.pad(a, widths, mode="edge")


def restore_on_grid(restorer: Restorer, pixels: np.ndarray, quality: Quality, grid: tuple[int, int] = (0, 0),
                    cancel: CancelToken | None = None) -> np.ndarray:
    """restorer.restore(pixels, quality, cancel), with the image shifted onto its block grid when it is off it.
    A per-pixel quality map is padded with the pixels; the result has the input's shape and dtype."""
    top, left = grid_padding(grid)
    if top == 0 and left == 0:
        return restorer.restore(pixels, quality, cancel)
    q = quality if np.ndim(quality) == 0 else _pad(np.asarray(quality), top, left)
    restored = restorer.restore(_pad(pixels, top, left), q, cancel)
    return np.ascontiguousarray(restored[top:, left:])

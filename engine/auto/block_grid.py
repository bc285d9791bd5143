"""Where a still's 8x8 compression blocks start, read from its pixels.

A JPEG decodes with its block grid at the image corner, and the network is trained mostly on that phase (its 8-px
stride meets the blocks the same way every time). A JPEG that was cropped, rotated by EXIF with a width that is not
a multiple of 8, or screenshotted and saved as PNG keeps its blocks at another phase, and the network then restores
it less well (LIVE1 cut 3 rows and 5 columns in: +1.256 instead of +1.323 dB at QF10, +0.936 instead of +1.029 at
QF40). This finds the phase so the restorer can be fed the image shifted onto the grid (engine/restore/grid_align.py).

How: quantisation empties high-frequency DCT coefficients, but only on the grid the encoder used, so the 8x8 DCT at
that phase has by far the most near-zero coefficients. On LIVE1 cut at (3, 5) this picked the right phase in every
photo from QF10 to QF98 (excess over the median phase ≥ 0.08), while the uncompressed LIVE1 references showed no
phase standing out by more than 0.016.
"""
from __future__ import annotations

import numpy as np

BLOCK = 8
CROP = 512  # the centred area read (a phase-keeping crop): enough blocks to be sure, bounded cost
MIN_EXCESS = 0.05  # share of near-zero coefficients above the median phase that counts as a grid
NEAR_ZERO = 0.75  # |coefficient| below this (luma on the 0..255 scale) counts as quantised away


def _dct_matrix() -> np.ndarray:
    k = np.arange(BLOCK)
    d = np.cos(np.pi * (2 * k[None, :] + 1) * k[:, None] / (2 * BLOCK)) * np.sqrt(2 / BLOCK)
    d[0] /= np.sqrt(2)
    return d.astype(np.float32)


_DCT = _dct_matrix()
_U, _V = np.meshgrid(np.arange(BLOCK), np.arange(BLOCK), indexing="ij")
HIGH_FREQUENCY = (_U + _V) >= 7  # the coefficients quantisation empties first


def _luma(pixels: np.ndarray) -> np.ndarray:
    x = pixels.astype(np.float32)
    if pixels.dtype == np.uint16:
        x /= 257.0
    if x.ndim == 3 and x.shape[2] == 3:
        return x @ np.array([0.299, 0.587, 0.114], np.float32)
    return x.reshape(x.shape[0], x.shape[1])


def near_zero_shares(pixels: np.ndarray) -> np.ndarray:
    """8x8 array: for blocks starting at row offset dy and column offset dx, the share of high-frequency DCT
    coefficients that are near zero, over a centred crop (cut on the 8-px grid, so offsets are the image's)."""
    h, w = pixels.shape[:2]
    ch, cw = min(h, CROP), min(w, CROP)
    y0, x0 = (h - ch) // 2 // BLOCK * BLOCK, (w - cw) // 2 // BLOCK * BLOCK
    y = _luma(pixels[y0:y0 + ch, x0:x0 + cw])  # crop first: a 24 MP photo need not be converted whole
    rows, cols = (ch - BLOCK + 1) // BLOCK, (cw - BLOCK + 1) // BLOCK  # whole blocks at every offset
    shares = np.zeros((BLOCK, BLOCK), np.float32)
    for dy in range(BLOCK):
        for dx in range(BLOCK):
            blocks = y[dy:dy + rows * BLOCK, dx:dx + cols * BLOCK].reshape(rows, BLOCK, cols, BLOCK)
            coefficients = np.einsum("ui,aibj,vj->abuv", _DCT, blocks, _DCT, optimize=True)
            shares[dy, dx] = (np.abs(coefficients[..., HIGH_FREQUENCY]) < NEAR_ZERO).mean()
    return shares


def detect_block_grid(pixels: np.ndarray) -> tuple[int, int]:
    """(dy, dx): the row and column where the image's 8x8 blocks start, 0-7 each; (0, 0) when no grid stands out
    (never compressed, too small, or flat)."""
    if min(pixels.shape[:2]) < 2 * BLOCK:
        return 0, 0
    shares = near_zero_shares(pixels).ravel()
    best = int(shares.argmax())
    if shares[best] - float(np.median(shares)) < MIN_EXCESS:
        return 0, 0
    dy, dx = divmod(best, BLOCK)
    return dy, dx

"""numpy frames -> QImage for display, done on the worker thread (QImage, unlike QPixmap, is thread-safe).

Images are handed to Qt as Format_RGB32: that is the raster engine's native format, so scaled drawing needs no
per-paint conversion (an RGB888 image would be converted on every paint of every pane, on the GUI thread).
16-bit sources are shown at 8 bits (the screen has no more).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def to_display_array(pixels: np.ndarray) -> np.ndarray:
    """uint8 HxWx3 or HxW; alpha/extra channels dropped, uint16 reduced to its high byte."""
    if pixels.dtype == np.uint16:
        pixels = (pixels >> 8).astype(np.uint8)
    elif pixels.dtype != np.uint8:
        pixels = np.clip(pixels, 0, 255).astype(np.uint8)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[:, :, 0]
    elif pixels.ndim == 3 and pixels.shape[2] > 3:
        pixels = pixels[:, :, :3]
    return pixels


def to_qimage(pixels: np.ndarray) -> QImage:
    """A QImage that owns its pixels (the numpy buffer may be freed while Qt still paints)."""
    arr = to_display_array(pixels)
    h, w = arr.shape[:2]
    bgrx = np.empty((h, w, 4), np.uint8)  # Format_RGB32 is 0xffRRGGBB: B, G, R, X in memory (little endian)
    if arr.ndim == 2:
        bgrx[..., 0] = bgrx[..., 1] = bgrx[..., 2] = arr
    else:
        bgrx[..., 0], bgrx[..., 1], bgrx[..., 2] = arr[..., 2], arr[..., 1], arr[..., 0]
    bgrx[..., 3] = 255
    return QImage(bgrx.data, w, h, 4 * w, QImage.Format.Format_RGB32).copy()


def _rgb32_view(image: QImage) -> np.ndarray:
    h, w = image.height(), image.width()
    rows = np.frombuffer(image.constBits(), np.uint8, count=image.bytesPerLine() * h).reshape(h, -1)
    return rows[:, :4 * w].reshape(h, w, 4)


def difference_qimage(original: QImage, restored: QImage, gain: float) -> QImage:
    """|restored − original| per channel, times `gain`, as an RGB32 image (black = untouched)."""
    a, b = (_rgb32_view(img.convertToFormat(QImage.Format.Format_RGB32)) for img in (original, restored))
    if a.shape != b.shape:
        return restored
    diff = np.abs(a.astype(np.int16) - b.astype(np.int16)) * int(gain)
    out = np.minimum(diff, 255).astype(np.uint8)
    out[..., 3] = 255
    h, w = out.shape[:2]
    return QImage(out.data, w, h, 4 * w, QImage.Format.Format_RGB32).copy()

"""Comparison exports: the restored frame alone, or original and restored side by side / split at the middle,
captioned, for sharing a before/after. Composed upright (as the viewer shows it) and turned back to the coded
orientation, so a rotated phone clip keeps its rotation metadata and still reads left = original."""
from __future__ import annotations

import cv2
import numpy as np

from ..errors import OutputError

LAYOUTS = ("restored", "side-by-side", "split")
DIVIDER_PX = 2  # the split's line, in upright pixels


def check_layout(layout: str) -> None:
    if layout not in LAYOUTS:
        raise OutputError(f"unknown layout {layout!r}; choose one of {', '.join(LAYOUTS)}")


def output_shape(height: int, width: int, layout: str, rotation: int = 0) -> tuple[int, int]:
    """Coded (height, width) of the exported frames for a coded source frame of height x width."""
    if layout != "side-by-side":
        return height, width
    turned = (int(round(rotation / 90.0)) % 4) % 2 == 1  # upright width is the coded height
    return (2 * height, width) if turned else (height, 2 * width)


def compose(original: np.ndarray, restored: np.ndarray, layout: str, rotation: int = 0,
            captions: bool = True) -> np.ndarray:
    """The exported frame. `rotation`: FFmpeg's counter-clockwise display rotation of the coded pixels."""
    if layout == "restored":
        return restored
    k = int(round(rotation / 90.0)) % 4
    left, right = np.rot90(original, k), np.rot90(restored, k)
    if layout == "side-by-side":
        out = np.ascontiguousarray(np.concatenate([left, right], axis=1))
        if captions:
            _caption(out, "Original", 0)
            _caption(out, "Restored", left.shape[1])
    else:
        mid = left.shape[1] // 2
        out = np.ascontiguousarray(np.concatenate([left[:, :mid], right[:, mid:]], axis=1))
        if captions:
            full = np.iinfo(out.dtype).max if out.dtype.kind in "ui" else 1.0
            out[:, max(0, mid - DIVIDER_PX // 2):mid + DIVIDER_PX - DIVIDER_PX // 2] = full
            _caption(out, "Original", 0)
            _caption(out, "Restored", mid + DIVIDER_PX)
    return np.ascontiguousarray(np.rot90(out, -k) if k else out)


def _caption(frame: np.ndarray, text: str, x0: int) -> None:
    """White text with a dark outline in the top-left corner of the pane starting at column x0, in place. Drawn as
    coverage masks on 8 bits and blended, since OpenCV only draws text into 8-bit images (10-bit sources are 16)."""
    scale = max(0.4, frame.shape[0] / 720.0)
    thick = max(1, int(round(2 * scale)))
    margin = int(round(16 * scale))
    (tw, th), base = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, thick + 2)
    box = frame[:min(frame.shape[0], 2 * margin + th + base), x0:min(frame.shape[1], x0 + 2 * margin + tw)]
    if box.size == 0:
        return
    full = float(np.iinfo(frame.dtype).max) if frame.dtype.kind in "ui" else 1.0
    pixels = box.astype(np.float32)
    for colour, width in ((0.0, thick + 2), (full, thick)):
        mask = np.zeros(box.shape[:2], np.uint8)
        cv2.putText(mask, text, (margin, margin + th), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, width, cv2.LINE_AA)
        alpha = (mask.astype(np.float32) / 255.0).reshape(mask.shape + (1,) * (box.ndim - 2))
        pixels = pixels * (1.0 - alpha) + colour * alpha
    box[...] = np.clip(np.rint(pixels), 0, full).astype(frame.dtype)

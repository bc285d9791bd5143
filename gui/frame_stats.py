"""Per-frame numbers of the clip on screen, for the quality plot: one NaN-filled array per series, indexed by
frame. Pure numpy, no Qt, so it is cheap to fill from signals and easy to test."""
from __future__ import annotations

import math

import numpy as np

SERIES = (
    "qp",  # mean codec QP of the frame (background scan of the side data)
    "qp_quality",  # that QP on the JPEG-quality scale, what Auto would feed the model
    "estimate",  # Auto's own number for frames shown (blind estimate / QP / JPEG tables)
    "strength",  # quality actually fed to the model for frames shown
    "export_strength",  # the same, for frames written by a running export of this clip
    "restore_ms",  # restore time per frame shown
    "psnr_input",  # decoded input vs the reference (dB)
    "psnr_restored",  # restored frame vs the reference (dB)
)
FRAME_TYPES = ("I", "P", "B")


class FrameStats:
    def __init__(self, frame_count: int = 1) -> None:
        self.reset(frame_count)

    def reset(self, frame_count: int) -> None:
        self.frame_count = max(1, int(frame_count))
        self.values = {name: np.full(self.frame_count, np.nan) for name in SERIES}
        self.frame_types = np.full(self.frame_count, "?", dtype="<U1")
        self.revision = 0  # bumped on every change: the plot redraws only when it moved

    def _grow(self, index: int) -> None:
        """Container frame counts can be estimates: a frame past the end extends every series."""
        if index < self.frame_count:
            return
        extra = index + 1 - self.frame_count
        for name, arr in self.values.items():
            self.values[name] = np.concatenate([arr, np.full(extra, np.nan)])
        self.frame_types = np.concatenate([self.frame_types, np.full(extra, "?", dtype="<U1")])
        self.frame_count = index + 1

    def set(self, name: str, index: int, value) -> None:
        if index < 0 or value is None:
            return
        self._grow(index)
        self.values[name][index] = float(value)
        self.revision += 1

    def set_frame_type(self, index: int, pict_type: str) -> None:
        if index < 0:
            return
        self._grow(index)
        self.frame_types[index] = pict_type if pict_type in FRAME_TYPES else "?"
        self.revision += 1

    def clear(self, *names: str) -> None:
        for name in names:
            self.values[name][:] = np.nan
        self.revision += 1

    def has(self, name: str) -> bool:
        return bool(np.isfinite(self.values[name]).any())

    def mean(self, name: str) -> float | None:
        arr = self.values[name]
        finite = arr[np.isfinite(arr)]
        return float(finite.mean()) if finite.size else None

    def typed_points(self, name: str, pict_type: str) -> tuple[np.ndarray, np.ndarray]:
        """Frames of one picture type that have a value in `name` (the frame-type markers sit on that curve)."""
        arr = self.values[name]
        idx = np.flatnonzero((self.frame_types == pict_type) & np.isfinite(arr))
        return idx.astype(np.float64), arr[idx]


def psnr(reference: np.ndarray, test: np.ndarray) -> float:
    """PSNR in dB on the full range of each array's dtype (8- and 16-bit frames compare on one scale)."""
    if reference.shape != test.shape:
        raise ValueError(f"size differs from the reference: {test.shape[1]}x{test.shape[0]} vs "
                         f"{reference.shape[1]}x{reference.shape[0]}")
    a = reference.astype(np.float64) / _peak(reference)
    b = test.astype(np.float64) / _peak(test)
    mse = float(np.mean((a - b) ** 2))
    return 100.0 if mse == 0 else min(100.0, 10.0 * math.log10(1.0 / mse))


def _peak(arr: np.ndarray) -> float:
    return float(np.iinfo(arr.dtype).max) if np.issubdtype(arr.dtype, np.integer) else 1.0

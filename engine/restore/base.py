"""The restorer contract shared by the GUI, the CLI, export and evaluation.

Images are numpy arrays: uint8 or uint16, shape HxWx3 (RGB) or HxW / HxWx1 (grey); a restorer returns the same
shape and dtype. Alpha is split off by the caller (media layer) and re-attached afterwards.
Quality is on the JPEG scale (1 = worst, 100 = pristine): a float, or an HxW float32 map for per-block strength.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Callable, Union

import numpy as np

from ..cancel import CancelToken

Quality = Union[float, np.ndarray]
NoticeFn = Callable[[str], None]


def to_float_rgb(image: np.ndarray) -> tuple[np.ndarray, dict]:
    """uint8/uint16 HxW[xC] -> float32 HxWx3 in [0,1], plus what is needed to undo it."""
    if image.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"unsupported image dtype {image.dtype}")
    info = {"dtype": image.dtype, "shape": image.shape}
    scale = 255.0 if image.dtype == np.uint8 else 65535.0
    x = image.astype(np.float32) / scale
    if x.ndim == 2:
        x = x[:, :, None]
    if x.shape[2] == 1:
        x = np.repeat(x, 3, axis=2)
    elif x.shape[2] != 3:
        raise ValueError(f"expected 1 or 3 channels, got {x.shape[2]}")
    return x, info


def from_float_rgb(x: np.ndarray, info: dict) -> np.ndarray:
    """Inverse of to_float_rgb: grey inputs get the channel mean back."""
    shape, dtype = info["shape"], info["dtype"]
    if len(shape) == 2 or shape[2] == 1:
        x = x.mean(axis=2)
        if len(shape) == 3:
            x = x[:, :, None]
    scale = 255.0 if dtype == np.uint8 else 65535.0
    return np.clip(np.rint(x * scale), 0, scale).astype(dtype)


class Restorer(ABC):
    """One restoration method. Instances are not thread-safe: the engine worker owns one at a time."""

    name: str = ""
    title: str = ""
    supports_quality_map: bool = False  # accepts an HxW quality map, not only a scalar
    has_blind_head: bool = False  # can estimate quality from pixels
    has_strength_refiner: bool = False  # can refine a codec frame's per-macroblock quality map from its pixels

    @property
    def device(self) -> str:
        return "cpu"

    @abstractmethod
    def restore(self, image: np.ndarray, quality: Quality, cancel: CancelToken | None = None) -> np.ndarray:
        """Restore one image/frame assuming the given JPEG-scale quality."""

    def estimate_quality(self, image: np.ndarray) -> float | None:
        """Blind quality estimate (JPEG scale) or None when this restorer cannot tell."""
        return None

    def refine_quality_map(self, image: np.ndarray, quality_map: np.ndarray,
                           frame_quality: float | None = None) -> np.ndarray:
        """The per-macroblock quality map (from the codec's QPs) this restorer should be steered by for `image`
        (`frame_quality`: per-frame Auto's value, the level a refiner may start from); default: the map unchanged."""
        return quality_map

    def close(self) -> None:
        """Release device memory; default does nothing."""

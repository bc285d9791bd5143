"""Device choice: CUDA -> MPS -> CPU, and whether half precision is worth using there."""
from __future__ import annotations

import os
from functools import lru_cache

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


PRECISIONS = ("auto", "fp32", "bf16", "fp16")


@lru_cache(maxsize=1)
def cpu_has_bf16_units() -> bool:
    """True where oneDNN runs bfloat16 convolutions natively (Intel AMX / AVX512-BF16, AMD Zen 4+).

    Elsewhere torch emulates bf16 and it is slower than float32, so Auto must not pick it there."""
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:  # not Linux: no cheap way to ask, stay with float32
        return False
    return torch.backends.mkldnn.is_available() and ("amx_bf16" in flags or "avx512_bf16" in flags)


def describe_host(device_type: str = "cpu") -> str:
    """One line naming what a speed figure was measured on: hosts of one machine type differ 2-5x (AMX or not)."""
    import platform  # noqa: PLC0415

    name = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="ignore") as f:
            name = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), name)
    except OSError:
        pass
    cpu = (f"{name}, {os.cpu_count()} cores, {torch.backends.cpu.get_cpu_capability()}"
           f"{', bf16 units' if cpu_has_bf16_units() else ', no bf16 units'}")
    if device_type == "cuda" and torch.cuda.is_available():
        return f"{torch.cuda.get_device_name()} (host: {cpu})"
    return cpu


def choose_precision(device: torch.device, model_allows: bool, wanted: str = "auto") -> str:
    """fp16 on CUDA, bf16 on CPUs with bf16 units, fp32 otherwise. RESTORA_PRECISION=fp32 forces full precision."""
    wanted = (os.environ.get("RESTORA_PRECISION") or wanted or "auto").lower()
    if wanted not in PRECISIONS:
        raise ValueError(f"unknown precision {wanted!r}; choose from {', '.join(PRECISIONS)}")
    if not model_allows or wanted == "fp32":
        return "fp32"
    if device.type == "cuda":
        return "bf16" if wanted == "bf16" else "fp16"
    if device.type == "cpu" and (wanted == "bf16" or (wanted == "auto" and cpu_has_bf16_units())):
        return "bf16"
    return "fp32"


def set_precision_for_process(value: str) -> None:
    """The CLIs' --precision: one setting for every restorer this process builds (export and evaluation too)."""
    if value not in PRECISIONS:
        raise ValueError(f"unknown precision {value!r}; choose from {', '.join(PRECISIONS)}")
    if value == "auto":
        os.environ.pop("RESTORA_PRECISION", None)
    else:
        os.environ["RESTORA_PRECISION"] = value

"""Restora's version (pyproject.toml reads it from here) and the versions of what it runs on, for bug reports."""
from __future__ import annotations

import platform
from importlib import metadata

VERSION = "0.1.0"

# distribution name -> how people call it; read from package metadata, so nothing heavy (torch, Qt) is imported
_RUNTIME = {"torch": "PyTorch", "av": "PyAV", "PySide6-Essentials": "PySide6", "numpy": "NumPy",
            "opencv-python-headless": "OpenCV", "pillow": "Pillow"}


def runtime_versions() -> dict[str, str]:
    found = {"Python": platform.python_version()}
    for dist, name in _RUNTIME.items():
        try:
            found[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    return found


def version_line() -> str:
    """One line: `restora 0.1.0 (Python 3.11.7, PyTorch 2.13.0+cpu, PyAV 18.1.1, ...)`."""
    parts = ", ".join(f"{name} {v}" for name, v in runtime_versions().items())
    return f"restora {VERSION} ({parts})"

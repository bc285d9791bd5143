"""Where strength refiners live and when one may be used.

A refiner is trained through one exact set of restoration weights (it learns what *they* respond to), so its file
records their SHA-256 and is only loaded next to those weights: after the restorer is retrained, Auto falls back to
the plain QP map until the refiner is retrained too (training/fit_strength_refiner.py).
Files: resources/models/refiners/<model name>.safetensors (a sub-folder, so the model list never sees them).
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from pathlib import Path

from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .strength_refiner import StrengthRefiner

REFINERS_DIR = Path(__file__).resolve().parents[2] / "resources" / "models" / "refiners"
ARCH = "strength-refiner"


@lru_cache(maxsize=8)
def _digest_cached(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def weights_digest(path: Path) -> str:
    stat = Path(path).stat()
    return _digest_cached(str(path), stat.st_size, stat.st_mtime_ns)


def refiner_path(model_name: str, refiners_dir: Path | None = None) -> Path:
    return (REFINERS_DIR if refiners_dir is None else refiners_dir) / f"{model_name}.safetensors"


def save_refiner(refiner: StrengthRefiner, path: Path, for_model: str, digest: str, extra: dict | None = None) -> None:
    meta = {"arch": ARCH, "config": json.dumps(refiner.config), "for_model": for_model, "weights_sha256": digest}
    meta.update({k: str(v) for k, v in (extra or {}).items()})
    path.parent.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().float().contiguous().cpu() for k, v in refiner.state_dict().items()}
    tmp = path.with_suffix(".tmp")
    save_file(state, str(tmp), metadata=meta)
    tmp.replace(path)


def load_refiner(model_name: str, weights_path: Path | None, refiners_dir: Path | None = None
                 ) -> StrengthRefiner | None:
    """The refiner trained for exactly these weights, or None (no file, other weights, unreadable file)."""
    path = refiner_path(model_name, refiners_dir)
    if weights_path is None or not path.is_file():
        return None
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        if meta.get("arch") != ARCH or meta.get("weights_sha256") != weights_digest(weights_path):
            return None
        refiner = load_refiner_file(path)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, SafetensorError):
        return None  # a stale or damaged refiner must never stop restoring: Auto uses the plain QP map
    return refiner.eval()


def load_refiner_file(path: Path) -> StrengthRefiner:
    """A refiner file, whatever weights it was trained for (training continues from it); raises if unreadable."""
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
    refiner = StrengthRefiner(**json.loads(meta.get("config", "{}")))
    refiner.load_state_dict(load_file(str(path)), strict=True)
    return refiner.eval()

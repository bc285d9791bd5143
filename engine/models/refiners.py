"""Where strength refiners live and when one may be used.

A refiner is trained through one exact set of restoration weights (it learns what *they* respond to), so its file
records a SHA-256 of their restoration tensors (not the blind head's, which may be refitted) and is only loaded next
to those weights: after the restorer is retrained, Auto falls back to the plain QP map until the refiner is retrained
too (training/fit_strength_refiner.py).
Files: resources/models/refiners/<model name>.safetensors (a sub-folder, so the model list never sees them).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .strength_refiner import StrengthRefiner

REFINERS_DIR = Path(__file__).resolve().parents[2] / "resources" / "models" / "refiners"
ARCH = "strength-refiner"


# The blind quality head shares the model file but not the restoration path the refiner learned, so refitting the
# head (training/fit_quality_head.py) leaves the digest, and the refiner, valid.
NOT_RESTORATION = ("quality_head.",)


def weights_digest(path: Path) -> str:
    """SHA-256 of the architecture config and every restoration tensor (name, dtype, shape, bytes): not the head."""
    h = hashlib.sha256()
    with safe_open(str(path), framework="pt") as f:
        meta = f.metadata() or {}
        config = {k: v for k, v in json.loads(meta.get("config") or "{}").items() if not k.startswith("head")}
        h.update(json.dumps([meta.get("arch"), config], sort_keys=True).encode())
        for name in sorted(k for k in f.keys() if not k.startswith(NOT_RESTORATION)):
            tensor = f.get_tensor(name).contiguous()
            h.update(f"{name}|{tensor.dtype}|{tuple(tensor.shape)}|".encode())
            h.update(tensor.view(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()


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

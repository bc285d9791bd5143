"""Which models exist and what each can do. Architecture detection as data: every
`resources/models/*.safetensors` names its architecture and constructor config in its metadata, so adding a
model is dropping a file, and loading never unpickles anything."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import load_file, save_file

from .restora_net import RestoraNet

MODELS_DIR = Path(__file__).resolve().parents[2] / "resources" / "models"
ARCHITECTURES = {"restoranet": RestoraNet}


@dataclass(frozen=True)
class ModelSpec:
    name: str
    title: str
    arch: str
    config: dict = field(hash=False, default_factory=dict)
    path: Path | None = None
    quality_input: bool = True  # takes the JPEG-scale quality (scalar or per-pixel map)
    blind_head: bool = True  # predicts quality from pixels
    fp16: bool = True  # safe in half precision on CUDA
    tiling: bool = True  # outputs do not depend on tile borders beyond the overlap
    default_for: tuple[str, ...] = ()  # device types this model is the default on


def _spec_from_file(path: Path) -> ModelSpec:
    try:
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
    except SafetensorError as exc:  # a truncated or foreign file: callers report ValueError as one line
        raise ValueError(f"{path.name}: not a safetensors file ({exc})") from None
    arch = meta.get("arch", "")
    if arch not in ARCHITECTURES:
        raise ValueError(f"{path.name}: unknown architecture {arch!r}")
    return ModelSpec(
        name=path.stem, title=meta.get("title", path.stem), arch=arch, config=json.loads(meta.get("config", "{}")),
        path=path, quality_input=meta.get("quality_input", "1") == "1", blind_head=meta.get("blind_head", "1") == "1",
        fp16=meta.get("fp16", "1") == "1", tiling=meta.get("tiling", "1") == "1",
        default_for=tuple(x for x in meta.get("default_for", "").split(",") if x),
    )


def list_models(models_dir: Path | None = None) -> list[ModelSpec]:
    # Looked up at call time (not as a default argument) so tests can point MODELS_DIR elsewhere.
    models_dir = MODELS_DIR if models_dir is None else models_dir
    specs = []
    for path in sorted(models_dir.glob("*.safetensors")):
        try:
            specs.append(_spec_from_file(path))
        except (ValueError, OSError, SafetensorError):
            continue  # a foreign or damaged file must not break the app
    return specs


def default_model(device_type: str = "cpu", models_dir: Path | None = None) -> ModelSpec | None:
    specs = list_models(models_dir)
    for spec in specs:
        if device_type in spec.default_for:
            return spec
    return specs[0] if specs else None


def build_model(spec: ModelSpec) -> torch.nn.Module:
    model = ARCHITECTURES[spec.arch](**spec.config)
    if spec.path is not None:
        model.load_state_dict(load_file(str(spec.path)), strict=True)
    return model.eval()


def save_model(model: RestoraNet, path: Path, title: str, default_for: tuple[str, ...] = ("cpu",),
               extra: dict | None = None) -> None:
    """Write weights + the metadata `list_models` reads back."""
    meta = {"arch": "restoranet", "title": title, "config": json.dumps(model.config),
            "quality_input": "1", "blind_head": "1", "fp16": "1", "tiling": "1", "default_for": ",".join(default_for)}
    meta.update({k: str(v) for k, v in (extra or {}).items()})
    state = {k: v.detach().float().contiguous().cpu() for k, v in model.state_dict().items()}
    save_file(state, str(path), metadata=meta)

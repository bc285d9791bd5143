"""All restorers the app offers: the learned models found in resources/models plus the classical baseline."""
from __future__ import annotations

from pathlib import Path

from ..models.registry import _spec_from_file, default_model, list_models
from .base import NoticeFn, Restorer
from .deblock import DeblockRestorer

BASELINES = {"deblock": DeblockRestorer}


def restorer_names() -> list[str]:
    return [spec.name for spec in list_models()] + list(BASELINES)


def default_restorer_name(device_type: str = "cpu") -> str:
    spec = default_model(device_type)
    return spec.name if spec is not None else "deblock"


def create_restorer(name: str | None = None, device: str = "auto", on_notice: NoticeFn | None = None,
                    ensemble: int = 1) -> Restorer:
    """Build a restorer by name (None = the default for the device) or from a .safetensors file (a training
    candidate). Unknown names and unusable files raise ValueError.
    ensemble: forward passes in turned orientations, averaged (learned models only; see ensemble.py)."""
    from ..device import resolve_device
    from .model_restorer import ModelRestorer

    if name is not None and name.endswith(".safetensors"):
        return ModelRestorer(_spec_from_path(name), device=device, on_notice=on_notice, ensemble=ensemble)
    if name is None or name == "auto":
        name = default_restorer_name(resolve_device(device).type)
    if name in BASELINES:
        if ensemble != 1:
            raise ValueError(f"{name} is a fixed filter: --ensemble needs a learned model")
        return BASELINES[name]()
    for spec in list_models():
        if spec.name == name:
            return ModelRestorer(spec, device=device, on_notice=on_notice, ensemble=ensemble)
    raise ValueError(f"unknown model {name!r}; available: {', '.join(restorer_names())}")


def _spec_from_path(name: str):
    path = Path(name)
    if not path.is_file():
        raise ValueError(f"model file not found: {name}")
    try:
        return _spec_from_file(path)
    except (ValueError, OSError) as exc:  # not safetensors, or no architecture we know in its metadata
        raise ValueError(f"cannot use {path.name} as a model: {exc}") from None

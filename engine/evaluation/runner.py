"""Scores restoration methods on JPEG-degraded test folders: the numbers behind `python main.py evaluate`.

A method key names what restores the degraded image:
  jpeg            the degraded input itself (the baseline row every paper prints)
  deblock         FFmpeg deblock told the true quality
  dncnn3, mit     peer networks (peers.py)
  restora         the default registered Restora model, told the true quality; NAME for any registered model,
                  or a path to a .safetensors file (training checkpoints)
  ...-blind       the same model with the quality estimated by its own head
  ...-x2/-x4/-x8  the same model averaged over 2/4/8 turned orientations (self-ensemble, engine/restore/ensemble.py);
                  e.g. restora-x8, restora-blind-x8
"""
from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from ..cancel import CancelToken, check
from ..errors import RestoraError
from ..restore.base import Restorer
from .datasets import DatasetSpec, ReferenceImage, jpeg_roundtrip, load_folder, to_720p
from .metrics import ReferenceMetrics, luma
from .peers import PEERS

BLIND_SUFFIX = "-blind"
DEFAULT_MODEL_KEY = "restora"
SLOW_FRAME_S = 5.0  # a method slower than this per 720p frame is timed once
METRIC_KEYS = ("psnr", "ssim", "psnrb", "psnr_y", "ssim_y", "psnrb_y")
ProgressFn = Callable[[str], None]


@dataclass
class Method:
    key: str
    title: str
    restorer: Restorer | None  # None: score the degraded input as it is
    blind: bool = False
    handles_colour: bool = True
    handles_grey: bool = True

    def handles(self, grey: bool) -> bool:
        return self.handles_grey if grey else self.handles_colour

    def run(self, degraded: np.ndarray, quality: float, cancel: CancelToken | None = None
            ) -> tuple[np.ndarray, float | None]:
        """Restored image and, for blind methods, the quality the model believed."""
        if self.restorer is None:
            return degraded, None
        told = quality
        if self.blind:
            told = self.restorer.estimate_quality(degraded)
            if told is None:
                raise RestoraError(f"{self.key}: this model cannot estimate quality")
        return self.restorer.restore(degraded, told, cancel), (told if self.blind else None)

    def close(self) -> None:
        if self.restorer is not None:
            self.restorer.close()


def _split_ensemble(key: str) -> tuple[str, int]:
    """'restora-x8' -> ('restora', 8); keys without the suffix run once."""
    head, _, tail = key.rpartition("-x")
    if head and tail in ("2", "4", "8"):
        return head, int(tail)
    return key, 1


def _model_restorer(key: str, device: str, models_dir: Path | None, ensemble: int = 1) -> Restorer:
    from ..models.registry import MODELS_DIR, _spec_from_file, default_model, list_models
    from ..restore.model_restorer import ModelRestorer

    path = Path(key)
    if key.endswith(".safetensors"):
        if not path.is_file():
            raise RestoraError(f"model file not found: {key}")
        try:
            spec = _spec_from_file(path)
        except (ValueError, OSError) as exc:
            raise RestoraError(f"cannot use {path.name} as a model: {exc}") from exc
        return ModelRestorer(spec, device=device, ensemble=ensemble)
    folder = models_dir or MODELS_DIR
    specs = list_models(folder)
    if key == DEFAULT_MODEL_KEY:
        spec = default_model("cpu", folder)
        if spec is None:
            raise RestoraError(f"no Restora model in {folder} (train one, or name a .safetensors file)")
        return ModelRestorer(spec, device=device, ensemble=ensemble)
    for spec in specs:
        if spec.name == key:
            return ModelRestorer(spec, device=device, ensemble=ensemble)
    known = ", ".join(["jpeg", "deblock", *PEERS, DEFAULT_MODEL_KEY, *(s.name for s in specs)])
    raise RestoraError(f"unknown method {key!r}; known: {known} (add {BLIND_SUFFIX} to a model for blind mode)")


def build_method(key: str, device: str = "cpu", models_dir: Path | None = None,
                 weights_dir: Path | None = None) -> Method:
    if key == "jpeg":
        return Method(key, "JPEG input", None)
    if key == "deblock":
        from ..restore.registry import create_restorer

        restorer = create_restorer("deblock")
        return Method(key, restorer.title, restorer)
    if key in PEERS:
        restorer = PEERS[key](weights_dir)
        return Method(key, restorer.title, restorer, handles_colour=restorer.handles_colour,
                      handles_grey=restorer.handles_grey)
    unturned, ensemble = _split_ensemble(key)
    blind = unturned.endswith(BLIND_SUFFIX)
    base = unturned[: -len(BLIND_SUFFIX)] if blind else unturned
    restorer = _model_restorer(base, device, models_dir, ensemble)
    if blind and not restorer.has_blind_head:
        raise RestoraError(f"{base} has no quality head, so it cannot run blind")
    turns = f", {ensemble} turns averaged" if ensemble > 1 else ""
    title = f"{restorer.title} ({'blind' if blind else 'told the quality'}{turns})"
    return Method(key, title, restorer, blind=blind)


def _mean_row(rows: list[dict]) -> dict:
    out = {k: float(np.mean([r[k] for r in rows])) for k in METRIC_KEYS}
    estimates = [r["quality_estimate"] for r in rows if r.get("quality_estimate") is not None]
    if estimates:
        out["quality_estimate"] = float(np.mean(estimates))
    out["images"] = len(rows)
    return out


def evaluate_dataset(dataset: DatasetSpec, qualities: list[int], methods: list[Method],
                     images: list[ReferenceImage] | None = None, per_image: bool = False,
                     on_progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> dict:
    """{method key: {str(quality): mean metrics (+ 'per_image' rows)}} for one folder. Each JPEG is made once."""
    images = images if images is not None else load_folder(dataset.folder, dataset.grey, dataset.limit)
    active = [m for m in methods if m.handles(dataset.grey)]
    rows: dict[str, dict[int, list[dict]]] = {m.key: {q: [] for q in qualities} for m in active}
    for index, image in enumerate(images):
        scorer = ReferenceMetrics(image.pixels)
        for quality in qualities:
            degraded = jpeg_roundtrip(image.pixels, quality)
            for method in active:
                if index >= dataset.method_limits.get(method.key, len(images)):
                    continue
                check(cancel)
                restored, estimate = method.run(degraded, quality, cancel)
                row = {"image": image.name, **scorer.scores(restored)}
                if estimate is not None:
                    row["quality_estimate"] = float(estimate)
                rows[method.key][quality].append(row)
        if on_progress:
            on_progress(f"{dataset.name}: {index + 1}/{len(images)} {image.name}")
    result = {}
    for key, by_quality in rows.items():
        result[key] = {}
        for quality, quality_rows in by_quality.items():
            if quality_rows:
                # string keys: the dict is written to JSON as it is and read back the same way
                result[key][str(quality)] = _mean_row(quality_rows)
                if per_image:
                    result[key][str(quality)]["per_image"] = quality_rows
    return result


def time_per_frame(method: Method, frame: np.ndarray, quality: int, repeats: int = 3) -> float | None:
    """Median wall time (s) to restore one 1280x720 JPEG frame (after one warm-up run); None for 'jpeg'.
    Grey-only methods get the frame's luma."""
    if method.restorer is None:
        return None
    if not method.handles_colour:
        frame = luma(frame)
    degraded = jpeg_roundtrip(frame, quality)
    start = time.perf_counter()
    method.run(degraded, quality)
    warm_up = time.perf_counter() - start
    if warm_up > SLOW_FRAME_S:
        return float(warm_up)  # first-call overheads are noise at this scale; repeats would cost minutes
    times = []
    for _ in range(max(1, repeats)):
        start = time.perf_counter()
        method.run(degraded, quality)
        times.append(time.perf_counter() - start)
    return float(statistics.median(times))


def run_evaluation(datasets: list[DatasetSpec], qualities: list[int], method_keys: list[str], device: str = "cpu",
                   models_dir: Path | None = None, weights_dir: Path | None = None, timing: bool = False,
                   timing_repeats: int = 3, timing_quality: int = 20, per_image: bool = False,
                   on_progress: ProgressFn | None = None, cancel: CancelToken | None = None) -> dict:
    """Everything `evaluate` reports, as a JSON-ready dict (see report.py for the tables)."""
    started = time.perf_counter()
    methods = [build_method(k, device, models_dir, weights_dir) for k in dict.fromkeys(method_keys)]
    try:
        loaded = {d.name: load_folder(d.folder, d.grey, d.limit) for d in datasets}
        results = {d.name: evaluate_dataset(d, qualities, methods, loaded[d.name], per_image, on_progress, cancel)
                   for d in datasets}
        timings = {}
        if timing:
            first = loaded[datasets[0].name][0].pixels
            frame = to_720p(first if first.ndim == 3 else np.repeat(first[:, :, None], 3, axis=2))
            for method in methods:
                if on_progress:
                    on_progress(f"timing {method.key} on a 1280x720 frame")
                timings[method.key] = time_per_frame(method, frame, timing_quality, timing_repeats)
    finally:
        for method in methods:
            method.close()
    return {
        "qualities": list(qualities),
        "datasets": [{"name": d.name, "folder": str(d.folder), "grey": d.grey, "images": len(loaded[d.name]),
                      "method_limits": dict(d.method_limits)} for d in datasets],
        "methods": [{"key": m.key, "title": m.title} for m in methods],
        "results": results,
        "time_720p_s": timings,
        "elapsed_s": round(time.perf_counter() - started, 1),
        "environment": _environment(timing_quality if timing else None),
    }


def _environment(timing_quality: int | None) -> dict:
    import os
    import platform

    import torch

    return {"torch": torch.__version__, "threads": torch.get_num_threads(), "cpus": os.cpu_count(),
            "machine": platform.processor() or platform.machine(), "timing_quality": timing_quality}

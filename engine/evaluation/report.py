"""Turns `run_evaluation`'s dict into a screen table, a Markdown table for the README, and a JSON file."""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

from ..errors import OutputError
from ..tempfiles import temp_beside
from .runner import SLOW_FRAME_S

MISSING = "–"


def _cell(row: dict | None, suffix: str = "") -> str:
    if row is None:
        return MISSING
    return f"{row['psnr' + suffix]:.2f} / {row['ssim' + suffix]:.4f} / {row['psnrb' + suffix]:.2f}"


def _dataset_caption(dataset: dict) -> str:
    kind = "grey" if dataset["grey"] else "colour"
    return f"{dataset['name']} ({dataset['images']} images, {kind})"


def _limit_note(dataset: dict, method_key: str) -> str:
    limit = dataset.get("method_limits", {}).get(method_key)
    return f" (first {limit})" if limit is not None and limit < dataset["images"] else ""


def _seconds(value: float | None) -> str:
    return MISSING if value is None else f"{value:.3f}"


def format_screen(report: dict) -> str:
    """Plain-text tables: one block per dataset (RGB and, for colour, luma), PSNR / SSIM / PSNR-B per quality."""
    qualities = [str(q) for q in report["qualities"]]
    titles = {m["key"]: m["key"] for m in report["methods"]}
    width = max([len(k) for k in titles] + [12]) + 12
    lines = []
    for dataset in report["datasets"]:
        results = report["results"][dataset["name"]]
        passes = [("", "")] if dataset["grey"] else [("", "RGB"), ("_y", "Y")]
        for suffix, label in passes:
            lines.append("")
            lines.append(f"{_dataset_caption(dataset)}{'  [' + label + ']' if label else ''}"
                         "   PSNR dB / SSIM / PSNR-B dB")
            lines.append(f"{'method':<{width}}" + "".join(f"{'QF' + q:<26}" for q in qualities))
            for key in titles:
                if key not in results:
                    continue
                name = key + _limit_note(dataset, key)
                lines.append(f"{name:<{width}}" + "".join(f"{_cell(results[key].get(q), suffix):<26}"
                                                          for q in qualities))
    estimates = _blind_estimates(report)
    if estimates:
        lines.append("")
        lines.append("blind quality estimates (mean): " + "; ".join(estimates))
    timed = {k: v for k, v in (report.get("time_720p_s") or {}).items() if v is not None}
    if timed:
        lines.append("")
        lines.append("seconds per 1280x720 frame: " + ", ".join(f"{k} {_seconds(v)}" for k, v in timed.items()))
    if report.get("elapsed_s") is not None:
        lines.append(f"elapsed: {report['elapsed_s']:.0f} s")
    return "\n".join(lines).lstrip("\n")


def _blind_estimates(report: dict) -> list[str]:
    out = []
    for dataset in report["datasets"]:
        for key, by_quality in report["results"][dataset["name"]].items():
            pairs = [f"QF{q}->{row['quality_estimate']:.1f}" for q, row in by_quality.items()
                     if "quality_estimate" in row]
            if pairs:
                out.append(f"{key} on {dataset['name']}: {' '.join(pairs)}")
    return out


def format_markdown(report: dict) -> str:
    """README tables: one per dataset, rows = methods, cells 'PSNR / SSIM / PSNR-B' (RGB for colour sets)."""
    qualities = [str(q) for q in report["qualities"]]
    titles = {m["key"]: m["title"] for m in report["methods"]}
    timings = report.get("time_720p_s") or {}
    parts = []
    for dataset in report["datasets"]:
        results = report["results"][dataset["name"]]
        header = ["Method"] + [f"QF {q}" for q in qualities] + (["s / 720p frame"] if timings else [])
        parts.append(f"**{_dataset_caption(dataset)}** — PSNR (dB) / SSIM / PSNR-B (dB)"
                     f"{', RGB' if not dataset['grey'] else ''}\n")
        parts.append("| " + " | ".join(header) + " |")
        parts.append("|" + "|".join(["---"] + ["---:"] * (len(header) - 1)) + "|")
        for key, title in titles.items():
            if key not in results:
                continue
            cells = [title + _limit_note(dataset, key)] + [_cell(results[key].get(q)) for q in qualities]
            if timings:
                cells.append(_seconds(timings.get(key)))
            parts.append("| " + " | ".join(cells) + " |")
        parts.append("")
    env = report.get("environment", {})
    if timings:
        parts.append(f"Times: seconds per 1280x720 JPEG frame (QF {env.get('timing_quality')}; median of the runs "
                     f"after a warm-up, a single run for methods slower than {SLOW_FRAME_S:.0f} s) on "
                     f"{env.get('cpus')} CPU cores, {env.get('threads')} torch threads; grey-only methods timed on "
                     "the luma frame.")
    parts.append("JPEG made with Pillow/libjpeg (4:2:0 for colour); grey sets are BT.601 luma. SSIM: Gaussian 11x11, "
                 "sigma 1.5, valid region; PSNR-B: Yim & Bovik (as FBCNN). No border crop.")
    return "\n".join(parts) + "\n"


def write_text_atomic(path: Path, text: str) -> None:
    """Write via a temporary file in the same folder and rename: a failed run never leaves a partial file."""
    path = Path(path)
    if not path.parent.is_dir():
        raise OutputError(f"folder does not exist: {path.parent}")
    try:
        fd, tmp = temp_beside(path, prefix=f".{path.name}.")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {exc.strerror or exc}") from exc


def write_json(path: Path, report: dict) -> None:
    write_text_atomic(path, json.dumps(_json_safe(report), indent=1, allow_nan=False) + "\n")


def _json_safe(value):
    """JSON has no infinity (PSNR of an identical image): write null instead."""
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value

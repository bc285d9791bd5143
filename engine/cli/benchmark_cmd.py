"""Measure speed: `model` (restore time per frame), `export` (pipeline vs stage fps and memory)."""
from __future__ import annotations

import json
import statistics
import time

import numpy as np

from ..errors import RestoraError


def add_arguments(parser) -> None:
    parser.add_argument("what", choices=["model", "export"], help="what to measure")
    parser.add_argument("--model", default=None,
                        help="restorer name or a .safetensors file (default: the device's default model)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
                        help="model arithmetic: auto = fp16 on CUDA, bf16 on CPUs with bf16 units, else fp32")
    parser.add_argument("--size", nargs="+", type=_size, default=[(1280, 720), (1920, 1080)],
                        help="WxH frame sizes (model; export uses the first for its synthetic clip)")
    parser.add_argument("--runs", type=_positive, default=10)
    parser.add_argument("--batch", type=_positive, default=1, help="frames per forward pass (model)")
    parser.add_argument("--accelerate", default="auto", choices=["auto", "eager", "graphs", "compile"])
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = torch default)")
    parser.add_argument("--source", default=None, help="video to export (export; default: synthetic clip)")
    parser.add_argument("--frames", type=_positive, default=200, help="frames to export (export)")
    parser.add_argument("--json", action="store_true")


def _size(text: str) -> tuple[int, int]:
    import argparse

    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not WxH, e.g. 1920x1080") from None
    if not (16 <= w <= 16384 and 16 <= h <= 16384):
        raise argparse.ArgumentTypeError(f"{text!r}: each side must be 16..16384 pixels")
    return w, h


def _positive(text: str) -> int:
    import argparse

    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of at least 1")
    return int(text)


def _frame(w: int, h: int) -> np.ndarray:
    """A JPEG-damaged synthetic frame: timing does not depend on content, but keep it realistic anyway."""
    import io

    from PIL import Image

    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([128 + 90 * np.sin(xx / 13) * np.cos(yy / 17), 255 * xx / w, 255 * yy / h], -1)
    buf = io.BytesIO()
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=20)
    return np.asarray(Image.open(buf).convert("RGB"))


def bench_model(args) -> dict:
    import torch

    from ..device import describe_host
    from ..restore.model_restorer import ModelRestorer
    from ..restore.registry import create_restorer

    if args.threads:
        torch.set_num_threads(args.threads)
    try:
        restorer = create_restorer(args.model, args.device)
    except ValueError as exc:
        raise RestoraError(str(exc)) from None
    if isinstance(restorer, ModelRestorer) and args.accelerate != "auto":
        restorer = ModelRestorer(restorer.spec, device=args.device, accelerate=args.accelerate)
    precision = getattr(restorer, "precision", "n/a")
    cuda = restorer.device == "cuda"
    results = {"model": restorer.name, "device": restorer.device, "host": describe_host(restorer.device),
               "threads": torch.get_num_threads(),
               "acceleration": getattr(restorer, "acceleration", "n/a"), "precision": precision, "sizes": {}}
    for w, h in args.size:
        size = f"{w}x{h}"
        frames = [_frame(w, h)] * args.batch
        qualities = [30.0] * args.batch
        run = (lambda: restorer.restore_batch(frames, qualities)) if args.batch > 1 else \
            (lambda: restorer.restore(frames[0], 30.0))
        for _ in range(2):  # warm-up: allocator, oneDNN kernels, graph capture
            run()
        if cuda:
            torch.cuda.synchronize()
            torch.cuda.reset_peak_memory_stats()
        times = []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            run()
            if cuda:
                torch.cuda.synchronize()
            times.append((time.perf_counter() - t0) / args.batch)
        entry = {"ms_per_frame_median": round(1000 * statistics.median(times), 1),
                 "ms_per_frame_min": round(1000 * min(times), 1), "fps": round(1 / statistics.median(times), 1)}
        if cuda:
            entry["peak_gpu_mib"] = round(torch.cuda.max_memory_allocated() / 2 ** 20)
        results["sizes"][size] = entry
    return results


def bench_export(args) -> dict:
    try:
        from ..export import benchmark_export
    except ImportError as exc:
        raise RestoraError(f"export benchmark unavailable: {exc}") from exc
    return benchmark_export(args.source, args.frames, args.model, size=args.size[0])


def run(args) -> int:
    from ..device import set_precision_for_process

    set_precision_for_process(args.precision)
    result = bench_model(args) if args.what == "model" else bench_export(args)
    if args.json:
        print(json.dumps(result, indent=1))
    else:
        for key, value in result.items():
            print(f"{key:>14}: {value}")
    return 0

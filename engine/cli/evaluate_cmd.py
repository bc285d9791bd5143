"""Score restoration methods on JPEG-compressed test images (PSNR, SSIM, PSNR-B on RGB and luma).

Examples:
  python main.py evaluate ../shared/data/test/LIVE1 --quality 10 20 30 40 --method jpeg deblock restora
  python main.py evaluate ../shared/data/test/classic5 --grey --quality 10 --method jpeg dncnn3
  python main.py evaluate --preset readme --json eval.json --markdown eval.md   (the README table)
"""
from __future__ import annotations

import sys
from pathlib import Path

from ..errors import OutputError, RestoraError

DEFAULT_QUALITIES = [10, 20, 30, 40]


def add_arguments(parser) -> None:
    parser.description = __doc__.strip().splitlines()[0]
    parser.add_argument("folders", nargs="*", type=Path, help="folders of clean reference images")
    parser.add_argument("--preset", choices=["readme"],
                        help="readme: LIVE1 + BSDS500 test (colour) and Classic5 (grey) from --data-root, all "
                             "methods, with timing")
    parser.add_argument("--quality", "-q", type=int, nargs="+", default=None,
                        help="JPEG quality factors to test (default 10 20 30 40)")
    parser.add_argument("--method", "-m", nargs="+", default=None,
                        help="jpeg, deblock, dncnn3, mit, restora, restora-blind, a registered model name or a "
                             ".safetensors file (add -blind for blind mode); default: jpeg deblock + restora "
                             "(told and blind) when a model is installed")
    parser.add_argument("--grey", action="store_true", help="evaluate on BT.601 luma with greyscale JPEGs")
    parser.add_argument("--limit", type=int, default=None, help="only the first N images of each folder")
    parser.add_argument("--sets", nargs="+", default=None,
                        help="readme preset: only these of its sets (LIVE1, BSDS500_test, Classic5)")
    parser.add_argument("--peer-limit", type=int, default=None,
                        help="readme preset: how many BSDS500 images the slow peers (dncnn3, mit) see "
                             "(default 20; 0 = all)")
    parser.add_argument("--json", type=Path, help="write all numbers (means, settings, timings) to this JSON file")
    parser.add_argument("--markdown", type=Path, help="write the README-style Markdown tables to this file")
    parser.add_argument("--per-image", action="store_true", help="include every image's scores in the JSON")
    parser.add_argument("--time", action="store_true", help="also time each method on a 1280x720 frame")
    parser.add_argument("--time-repeats", type=int, default=3, help="timed runs per method (median reported)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's choice)")
    parser.add_argument("--device", default="cpu", help="device for Restora models (cpu, cuda, auto)")
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
                        help="model arithmetic: auto = fp16 on CUDA, bf16 on CPUs with bf16 units, else fp32")
    parser.add_argument("--data-root", type=Path, default=None, help="shared data folder for --preset")
    parser.add_argument("--weights-dir", type=Path, default=None, help="folder with the peers' weight files")
    parser.add_argument("--quiet", action="store_true", help="no progress lines on stderr")


def _check_output(path: Path | None, inputs: list[Path]) -> None:
    """Fail before a long run rather than after it."""
    if path is None:
        return
    if path.is_dir():
        raise OutputError(f"output is a folder: {path}")
    if not path.resolve().parent.is_dir():
        raise OutputError(f"folder does not exist: {path.parent}")
    if any(path.resolve() == p.resolve() for p in inputs):
        raise OutputError(f"output would overwrite an input: {path}")


def _default_methods() -> list[str]:
    from ..models.registry import list_models

    return ["jpeg", "deblock"] + (["restora", "restora-blind"] if list_models() else [])


def _plan(args):
    from ..evaluation.datasets import (PEER_LIMIT_BSDS, README_METHODS, SHARED_DATA, DatasetSpec,
                                       readme_datasets)
    from ..models.registry import list_models

    if args.limit is not None and args.limit < 1:
        raise RestoraError("--limit must be at least 1")
    if args.preset == "readme":
        if args.folders:
            raise RestoraError("give either folders or --preset, not both")
        peer_limit = PEER_LIMIT_BSDS if args.peer_limit is None else (args.peer_limit or None)
        datasets = readme_datasets(args.data_root or SHARED_DATA, args.limit, peer_limit, args.sets)
        methods = args.method or [m for m in README_METHODS if list_models() or not m.startswith("restora")]
        if not args.method and len(methods) < len(README_METHODS):
            print("evaluate: no Restora model installed; the table has the classical and peer methods only",
                  file=sys.stderr)
        return datasets, methods, True
    if not args.folders:
        raise RestoraError("give one or more image folders, or --preset readme")
    names = [f.name or str(f) for f in args.folders]
    datasets = [DatasetSpec(name if names.count(name) == 1 else str(f), f, args.grey, args.limit)
                for name, f in zip(names, args.folders)]
    return datasets, args.method or _default_methods(), args.time


def run(args) -> int:
    from ..device import set_precision_for_process

    set_precision_for_process(args.precision)

    from ..evaluation.report import format_markdown, format_screen, write_json, write_text_atomic
    from ..evaluation.runner import run_evaluation

    qualities = args.quality or DEFAULT_QUALITIES
    if any(not 1 <= q <= 100 for q in qualities):
        raise RestoraError("--quality values must be between 1 and 100")
    datasets, methods, timing = _plan(args)
    for path in (args.json, args.markdown):
        _check_output(path, [d.folder for d in datasets])
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    progress = None if args.quiet else (lambda text: print(f"\r\033[K{text}", end="", file=sys.stderr, flush=True))
    report = run_evaluation(datasets, qualities, methods, device=args.device, weights_dir=args.weights_dir,
                            timing=timing, timing_repeats=args.time_repeats, per_image=args.per_image,
                            on_progress=progress)
    if progress:
        print("\r\033[K", end="", file=sys.stderr, flush=True)
    print(format_screen(report))
    if args.json:
        write_json(args.json, report)
    if args.markdown:
        write_text_atomic(args.markdown, format_markdown(report))
    return 0

"""Restore images and videos headlessly: files or folders in, restored files out.

One input with `-o FILE` writes that file; otherwise `-o` is a folder and each output keeps its input's stem
(stills as lossless PNG, videos in their own container when it is one we write, else .mkv).
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from ..errors import MediaError, OutputError, RestoraError

VIDEO_OUT_EXTENSIONS = (".mp4", ".mkv", ".mov")
BAR_WIDTH = 30


def add_arguments(parser) -> None:
    from ..export.layout import LAYOUTS
    from ..export.settings import CODECS

    parser.add_argument("inputs", nargs="+", type=Path, metavar="INPUT", help="image/video files or folders")
    parser.add_argument("-o", "--output", type=Path, required=True, help="output file (one input) or folder")
    parser.add_argument("--quality", default="auto", help="'auto' or a JPEG-scale quality 1-100 (default auto)")
    parser.add_argument("--model", default=None, help="restorer name, e.g. deblock (default: the device's default)")
    parser.add_argument("--device", default="auto", choices=["auto", "cpu", "cuda", "mps"])
    parser.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16", "fp16"],
                        help="model arithmetic: auto = fp16 on CUDA, bf16 on CPUs with bf16 units, else fp32")
    parser.add_argument("--ensemble", type=int, default=1, choices=[1, 2, 4, 8],
                        help="average N turned passes per frame: slower, better (8: ~+0.1 dB, 8x the time)")
    parser.add_argument("--codec", default="libx264", choices=list(CODECS), help="video codec (default libx264)")
    parser.add_argument("--crf", type=int, default=None, help="constant rate factor (codec default when omitted)")
    parser.add_argument("--preset", default=None, help="encoder speed preset / ProRes profile")
    parser.add_argument("--ten-bit", action="store_true", help="10-bit video where the codec allows")
    parser.add_argument("--start", type=float, default=None, help="video in point, seconds")
    parser.add_argument("--end", type=float, default=None, help="video out point, seconds")
    parser.add_argument("--layout", default="restored", choices=list(LAYOUTS),
                        help="restored only (default), or original and restored side by side / split, captioned")
    parser.add_argument("--resume", action="store_true", help="continue an interrupted video export")
    parser.add_argument("--json", action="store_true", help="print one JSON object describing the results")


def _quality(text: str):
    if text == "auto":
        return "auto"
    try:
        value = float(text)
    except ValueError:
        raise RestoraError(f"--quality must be 'auto' or a number from 1 to 100, not {text!r}") from None
    if not 1 <= value <= 100:
        raise RestoraError(f"--quality must be between 1 and 100, not {text}")
    return value


def _expand(inputs: list[Path]) -> list[tuple[Path, str]]:
    """(file, kind) for every input; folders contribute the media files directly inside them, sorted."""
    from ..media import media_kind

    items = []
    for path in inputs:
        if path.is_dir():
            found = []
            for child in sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")):
                try:
                    found.append((child, media_kind(child)))
                except MediaError:
                    continue  # a folder may hold other files; only explicit inputs must be media
            if not found:
                raise MediaError(f"{path}: no images or videos in this folder")
            items.extend(found)
        else:
            items.append((path, media_kind(path)))
    return items


def _plan_outputs(items: list[tuple[Path, str]], output: Path) -> list[tuple[Path, str, Path]]:
    if len(items) == 1 and not output.is_dir() and output.suffix:
        return [(items[0][0], items[0][1], output)]
    if output.exists() and not output.is_dir():
        raise OutputError(f"{output}: several inputs need -o to be a folder")
    plans, taken = [], set()
    for src, kind in items:
        ext = ".png" if kind == "image" else (src.suffix.lower() if src.suffix.lower() in VIDEO_OUT_EXTENSIONS
                                               else ".mkv")
        dst = output / f"{src.stem}{ext}"
        if dst in taken:
            raise OutputError(f"{src.name}: another input also writes {dst.name}")
        taken.add(dst)
        plans.append((src, kind, dst))
    return plans


class _ProgressBar:
    """One line per file, redrawn in place; only when stderr is a terminal."""

    def __init__(self, name: str) -> None:
        self.name, self.enabled, self.last = name, sys.stderr.isatty(), 0.0

    def __call__(self, p) -> None:
        now = time.monotonic()
        if not self.enabled or (now - self.last < 0.1 and p.frames_done < p.frames_total):
            return
        self.last = now
        filled = int(BAR_WIDTH * p.frames_done / max(1, p.frames_total))
        eta = f" eta {p.eta_seconds:4.0f}s" if p.eta_seconds is not None else ""
        sys.stderr.write(f"\r{self.name[:28]:28} [{'#' * filled}{'.' * (BAR_WIDTH - filled)}] "
                         f"{p.frames_done}/{p.frames_total} {p.fps:5.1f} fps{eta}")
        sys.stderr.flush()

    def close(self) -> None:
        if self.enabled:
            sys.stderr.write("\n")


def _resume_hint(kind: str, dst: Path) -> None:
    """Ctrl+C in a video keeps its finished segments: say how to continue rather than leave them a mystery."""
    from ..export import work_dir_for

    if kind == "video" and work_dir_for(dst).exists():
        print(f"restora restore: {dst.name}: the finished part is kept; run the same command with --resume to "
              f"continue", file=sys.stderr)


def _item(report, kind: str) -> dict:
    item = {"input": str(report.input), "output": str(report.output), "kind": kind,
            "restore_seconds": round(report.restore_seconds, 4), "quality_used": report.quality_used,
            "quality_source": report.quality_source, "restorer": report.restorer, "notes": report.notes}
    if kind == "video":
        item.update(frames=report.frames, skipped_frames=report.skipped_frames, corrupt_frames=report.corrupt_frames,
                    resumed_frames=report.resumed_frames, fps=report.fps, seconds=report.seconds,
                    streams=report.audio)
    return item


def run(args) -> int:
    from ..device import set_precision_for_process

    set_precision_for_process(args.precision)

    from ..export import ExportSettings, export_image, export_video
    from ..export.atomic import check_not_input, check_output_folder
    from ..export.video_export import _make_restorer

    settings = ExportSettings(codec=args.codec, crf=args.crf, preset=args.preset, ten_bit=args.ten_bit,
                              start=args.start, end=args.end, quality=_quality(args.quality), model=args.model,
                              device=args.device, ensemble=args.ensemble, layout=args.layout)
    plans = _plan_outputs(_expand(args.inputs), args.output)
    for src, _, dst in plans:  # refuse before anything is written, not halfway through a batch
        check_not_input(src, dst)
        if dst.parent.exists():
            check_output_folder(dst)
    if len(plans) > 1 or args.output.is_dir():
        if not args.output.exists():
            try:
                args.output.mkdir(parents=True)
            except OSError as exc:
                raise OutputError(f"{args.output}: cannot create the output folder ({exc.strerror})") from None
    restorer = _make_restorer(settings)  # one restorer (one model load) for every file
    items = []
    try:
        for src, kind, dst in plans:
            bar = _ProgressBar(src.name)
            try:
                if kind == "image":
                    report = export_image(src, dst, settings, progress=bar, restorer=restorer)
                else:
                    report = export_video(src, dst, settings, progress=bar, restorer=restorer, resume=args.resume)
            except KeyboardInterrupt:
                _resume_hint(kind, dst)
                raise
            finally:
                bar.close()
            items.append(_item(report, kind))
            if not args.json:
                print(f"{src} -> {dst}")
                for note in report.notes:  # missing frames, animated inputs: worth a line even without --json
                    print(f"restora restore: {src.name}: {note}", file=sys.stderr)
    finally:
        restorer.close()
    if args.json:
        print(json.dumps({"items": items}, indent=1))
    return 0

"""Describe an image or video and the evidence Auto strength would use (JPEG tables, codec QP, blind estimate)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

DEFAULT_QP_FRAMES = 60  # enough frames to span a few GOPs without decoding a whole film
BLIND_SAMPLES = 8  # frames the blind head looks at for a video without QP


def add_arguments(parser) -> None:
    parser.add_argument("file", type=Path, help="image or video to describe")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    parser.add_argument("--frames", type=int, default=DEFAULT_QP_FRAMES,
                        help=f"video frames to sample for QP / estimates (default {DEFAULT_QP_FRAMES})")


def _default_quality() -> float:
    from ..auto.strength import DEFAULT_QUALITY  # imported late: the CLI loads every command to build --help

    return DEFAULT_QUALITY


def _restorer():
    from ..restore import create_restorer

    return create_restorer(None, "cpu")


def _blind_estimate(pixels_list: list[np.ndarray]) -> tuple[float | None, str]:
    restorer = _restorer()
    try:
        if not restorer.has_blind_head:
            return None, restorer.name
        values = [restorer.estimate_quality(p) for p in pixels_list]
        values = [v for v in values if v is not None]
        return (round(float(np.mean(values)), 1) if values else None), restorer.name
    finally:
        restorer.close()


def probe_image(path: Path) -> dict:
    from ..media import load_image

    image = load_image(path)
    report = {
        "path": str(path), "kind": "image", "format": image.format, "width": image.width, "height": image.height,
        "channels": 1 if image.pixels.ndim == 2 else int(image.pixels.shape[2]),
        "bit_depth": 16 if image.pixels.dtype == np.uint16 else 8, "has_alpha": image.alpha is not None,
        "jpeg_quality": image.jpeg_quality, "jpeg_quality_confidence": image.jpeg_quality_confidence,
        "blind_estimate": None, "restorer": None, "frames": image.frame_count,  # > 1: animated, first restored
        "block_grid": list(image.block_grid),  # [row, column] where its 8x8 blocks start; restore shifts onto it
    }
    if image.jpeg_quality is not None:
        report.update(strength_source="jpeg-tables", auto_quality=float(image.jpeg_quality))
        return report
    estimate, name = _blind_estimate([image.pixels])
    report.update(blind_estimate=estimate, restorer=name, strength_source="estimate" if estimate else "default",
                  auto_quality=estimate if estimate is not None else _default_quality())
    return report


def probe_video(path: Path, max_frames: int) -> dict:
    from ..auto.qp import qp_to_quality
    from ..media import open_video

    with open_video(path, with_qp=True) as reader:
        info = reader.info
        frames = []
        for frame in reader.frames():
            frames.append(frame)
            if len(frames) >= max_frames:
                break
        skipped = reader.skipped_frames
        container = reader.container_format
    frame_qps = [float(np.mean(f.qp_map)) for f in frames if f.qp_map is not None and f.qp_codec]
    report = {
        "path": str(path), "kind": "video", "container": container, "codec": info.codec, "pix_fmt": info.pix_fmt,
        "bit_depth": info.bit_depth, "width": info.width, "height": info.height, "rotation": info.rotation,
        "fps": round(float(info.fps), 3), "frame_count": info.frame_count, "duration": round(info.duration, 3),
        "has_audio": info.has_audio, "color": {k: v for k, v in info.color.items() if not k.endswith("_id")},
        "jpeg_quality": None, "qp_available": bool(frame_qps), "qp_frames_sampled": len(frame_qps),
        "qp_mean": round(float(np.mean(frame_qps)), 2) if frame_qps else None,
        "qp_codec": frames[0].qp_codec if frame_qps else None,
        "frame_types": {t: sum(f.pict_type == t for f in frames) for t in "IPB"},
        "skipped_frames": skipped, "blind_estimate": None, "restorer": None,
    }
    if frame_qps:
        # mean of the per-frame qualities, as Auto strength applies them frame by frame
        qualities = qp_to_quality(np.array(frame_qps), report["qp_codec"])
        report.update(strength_source="qp", auto_quality=round(float(np.mean(qualities)), 1))
        return report
    picks = np.linspace(0, len(frames) - 1, min(BLIND_SAMPLES, len(frames))).round().astype(int)
    estimate, name = _blind_estimate([frames[i].pixels for i in sorted(set(picks))])
    report.update(blind_estimate=estimate, restorer=name, strength_source="estimate" if estimate else "default",
                  auto_quality=estimate if estimate is not None else _default_quality())
    return report


def _text(report: dict) -> str:
    def show(value):
        return "-" if value is None else ("yes" if value is True else "no" if value is False else str(value))

    lines = [("file", report["path"]), ("kind", report["kind"])]
    if report["kind"] == "image":
        lines += [("format", report["format"]),
                  ("size", f"{report['width']}x{report['height']}, {report['channels']} channel(s), "
                           f"{report['bit_depth']}-bit{', alpha' if report['has_alpha'] else ''}"
                           + (f", animated: {report['frames']} frames (the first is restored)"
                              if report["frames"] > 1 else "")),
                  ("jpeg quality", show(report["jpeg_quality"]) + (
                      f" (confidence {report['jpeg_quality_confidence']})" if report["jpeg_quality"] else "")),
                  ("block grid", "at the corner" if report["block_grid"] == [0, 0] else
                   "starts at row {}, column {} (restored on it)".format(*report["block_grid"]))]
    else:
        colour = ", ".join(f"{k} {v}" for k, v in report["color"].items())
        lines += [("container", report["container"]),
                  ("codec", f"{report['codec']} ({report['pix_fmt']}, {report['bit_depth']}-bit)"),
                  ("size", f"{report['width']}x{report['height']}, rotation {report['rotation']}"),
                  ("frames", f"{report['frame_count']} at {report['fps']} fps ({report['duration']} s)"),
                  ("audio", show(report["has_audio"])), ("colour", colour),
                  ("jpeg quality", "-"),
                  ("qp", f"mean {report['qp_mean']} ({report['qp_codec']} scale) over {report['qp_frames_sampled']}"
                         f" frames" if report["qp_available"] else "not available"),
                  ("skipped frames", str(report["skipped_frames"]))]
    if report.get("restorer"):
        lines.append(("blind estimate", f"{show(report['blind_estimate'])} ({report['restorer']})"))
    lines.append(("auto strength", f"{show(report['auto_quality'])} ({report['strength_source']})"))
    width = max(len(k) for k, _ in lines)
    return "\n".join(f"{k.ljust(width)}  {v}" for k, v in lines)


def probe(path: Path, max_frames: int = DEFAULT_QP_FRAMES) -> dict:
    from ..media import media_kind

    path = Path(path)
    if media_kind(path) == "image":
        return probe_image(path)
    return probe_video(path, max(1, max_frames))


def run(args) -> int:
    report = probe(args.file, args.frames)
    print(json.dumps(report) if args.json else _text(report))
    return 0

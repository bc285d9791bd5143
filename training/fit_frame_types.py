"""Fit Auto's I/P/B correction: how much weaker or stronger than its QP says each picture type should be restored.

    python -m training.fit_frame_types [--clips 8] [--threads 2]

Why: the QP -> quality calibration (training/calibrate_qp.py) is measured with every frame at the same QP. Real
encodes give B frames a higher QP than the P frames they are predicted from (x264's pbratio, mb-tree) and
average two predictions, so a B frame looks better than its QP says; I frames sit a little below theirs. On the
auto-strength proof clips the quality that restored B frames best was about 1.5x the one their QP mapped to.

Method: camera-like clips from the calibration photos (BSDS500 val, not the proof's test photos), encoded by
libx264 with its defaults (B-frames, adaptive quantisation, mb-tree; presets medium and veryfast alternate) at
CRF 22..42 and constant QP 24..44, decoded the way the app decodes them. For every frame the model restores at
the calibrated quality times e^o for a grid of offsets o; for each setting and picture type the offset that
maximises the mean PSNR is refined with a parabola. The optima form one table per rate control and picture type,
offset against the frames' mean QP: "flat" (constant QP: every macroblock of a frame at one QP) and "varying"
(CRF/ABR: adaptive quantisation and mb-tree move the QP per block); the two differ (at QP ~36 a B frame wants
e^0.6 under constant QP, e^0.2 under CRF). The tables go into resources/calibration/qp_to_quality.json
("frame_types"), which engine/auto/qp.py interpolates for H.264 frames. `--from-rows` rebuilds the tables from
the measurements already stored there.
"""
from __future__ import annotations

import argparse
import io
import time
from collections import defaultdict
from datetime import datetime, timezone
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import torch

from engine.auto.qp import CALIBRATION_PATH, qp_to_quality, read_calibration_file, write_calibration_file
from engine.evaluation.metrics import psnr
from engine.media.video_reader import frame_qp_map
from training.calibrate_qp import DEFAULT_DATA, FPS, build_clips

SETTINGS = [("crf", v) for v in (22, 26, 30, 34, 38, 42)] + [("qp", v) for v in (24, 28, 32, 36, 40, 44)]
OFFSETS = np.round(np.arange(-0.6, 1.2001, 0.15), 3)
PICT_TYPES = {1: "I", 2: "P", 3: "B"}


def encode_decode(frames: list, mode: str, value: int, preset: str) -> list[tuple[np.ndarray, float, str]]:
    """libx264 defaults at `mode`=value -> [(decoded RGB, mean QP, picture type)] in display order."""
    h, w = frames[0].shape[:2]
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {mode: str(value), "preset": preset, "threads": "1", "x264-params": "log-level=none"}
        stream.time_base = Fraction(1, FPS)
        for i, rgb in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            vf.pts = i
            out.mux(stream.encode(vf))
        out.mux(stream.encode(None))
    buf.seek(0)
    decoded = []
    with av.open(buf) as inp:
        inp.streams.video[0].codec_context.options = {"export_side_data": "venc_params"}
        for fr in inp.decode(video=0):
            qp = frame_qp_map(fr)
            if qp is not None:
                decoded.append((fr.to_ndarray(format="rgb24"), float(qp.mean()), PICT_TYPES.get(int(fr.pict_type), "?")))
    return decoded


def parabola_peak(offsets: np.ndarray, scores: np.ndarray) -> float:
    """The grid's best offset, moved to the vertex of the parabola through it and its neighbours."""
    j = int(np.argmax(scores))
    if 0 < j < len(scores) - 1:
        y0, y1, y2 = scores[j - 1:j + 2]
        curvature = y0 - 2 * y1 + y2
        if curvature < 0:
            step = offsets[1] - offsets[0]
            return float(offsets[j] + 0.5 * step * (y0 - y2) / curvature)
    return float(offsets[j])


RATE_CONTROLS = {"qp": "flat", "crf": "varying"}  # encoder mode -> what its QP maps look like


def offset_tables(rows: list[dict]) -> dict:
    """{"flat"|"varying": {"I"|"P"|"B": {"qp": [...], "offset": [...]}}}: each setting's optimum, sorted by QP."""
    tables: dict = {}
    for row in rows:
        kind = RATE_CONTROLS[row["setting"].rstrip("0123456789")]
        table = tables.setdefault(kind, {}).setdefault(row["type"], {"qp": [], "offset": []})
        table["qp"].append(row["qp"])
        table["offset"].append(row["best_offset"])
    for per_type in tables.values():
        for kind, table in per_type.items():
            order = np.argsort(table["qp"])
            per_type[kind] = {key: [round(float(table[key][i]), 3) for i in order] for key in ("qp", "offset")}
    return tables


def measure(restorer, clips: list, settings: list) -> list[dict]:
    """For each setting and picture type: frames, mean QP, mean PSNR per offset and the best offset."""
    rows = []
    for mode, value in settings:
        scores, qps = defaultdict(list), defaultdict(list)
        for i, clip in enumerate(clips):
            preset = "medium" if i % 2 == 0 else "veryfast"
            for clean, (rgb, qp, kind) in zip(clip, encode_decode(clip, mode, value, preset)):
                base = float(qp_to_quality(qp, "h264"))
                scores[kind].append([psnr(clean, restorer.restore(rgb, float(np.clip(base * np.exp(o), 1, 100))))
                                     for o in OFFSETS])
                qps[kind].append(qp)
        for kind in sorted(scores):
            curve = np.mean(scores[kind], axis=0)
            best = parabola_peak(OFFSETS, curve)
            rows.append({"setting": f"{mode}{value}", "type": kind, "frames": len(scores[kind]),
                         "qp": round(float(np.mean(qps[kind])), 2), "best_offset": round(best, 3),
                         "gain_db": round(float(curve.max() - curve[np.argmin(np.abs(OFFSETS))]), 4),
                         "curve": [round(float(s), 3) for s in curve]})
            print(f"{mode}{value:<3d} {kind}: {len(scores[kind]):3d} frames  QP {rows[-1]['qp']:5.2f}  best offset "
                  f"{best:+.2f}  gain {rows[-1]['gain_db']:+.3f} dB", flush=True)
    return rows


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.fit_frame_types", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, help="safetensors model (default: the app's default model)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--clips", type=int, default=8)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--out", type=Path, default=CALIBRATION_PATH)
    parser.add_argument("--from-rows", action="store_true", help="rebuild the tables from the stored measurements")
    args = parser.parse_args(argv)
    from training.auto_proof import load_restorer  # the proof's loader: the same model the app defaults to

    torch.set_num_threads(args.threads)
    started = time.time()
    restorer = load_restorer(args.model, "cpu")
    width, height = (int(x) for x in args.size.lower().split("x"))
    clips = build_clips(args.data, args.clips, args.frames, width, height, args.seed)
    data = read_calibration_file(args.out)
    if args.from_rows:
        previous = data["frame_types"]
        rows, settings = previous["rows"], previous["settings"]
    else:
        rows = measure(restorer, clips, SETTINGS)
        settings = {"data": args.data.name, "clips": len(clips), "frames": args.frames, "size": args.size,
                    "seed": args.seed, "offsets": OFFSETS.tolist(),
                    "x264": "defaults, presets medium/veryfast, CRF 22-42 and QP 24-44",
                    "seconds": round(time.time() - started, 1)}
    tables = offset_tables(rows)
    for rate_control, per_type in tables.items():
        for kind, table in per_type.items():
            print(f"{rate_control:7s} {kind}: " + "  ".join(f"QP {q:.1f} {o:+.2f}" for q, o in
                                                           zip(table["qp"], table["offset"])))
    data["frame_types"] = {"h264": tables, "model": restorer.name, "rows": rows, "settings": settings,
                           "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    write_calibration_file(args.out, data)
    print(f"wrote {args.out} in {time.time() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

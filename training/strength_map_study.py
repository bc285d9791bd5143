"""How much can a spatial (per-macroblock) strength map gain over one strength per frame, for the shipped model?

    python -m training.strength_map_study [--threads N] [--markdown out.md]

Each decoded H.264 frame is restored at every quality of a grid with a *uniform* quality; the squared error is
summed per 16x16 macroblock. A per-macroblock rule is then scored by composing, in each macroblock, the error of
the quality it picks (linear interpolation between grid qualities). Composition ignores the model's receptive
field across block edges, so it estimates rather than measures a real map; the proof (training/auto_proof.py)
measures the real one. Rows:
  per-frame    the calibrated quality of the frame's mean QP (what Auto does with per_block=False)
  QP map       the calibrated quality of each macroblock's QP (Auto's per-block map)
  QP dev a     per-frame quality + a x (block QP - frame mean QP): a < 0 follows the quantiser, a > 0 opposes it
  frame oracle the best uniform quality for each frame (needs the clean frame: an upper bound)
  block oracle the best quality for each macroblock (an upper bound; on fixed-QP clips it measures how much a
               *content*-driven map could gain, since the QP is constant there)
  block oracle, cross-fitted
               the same, but each macroblock's quality is picked on one half of its pixels (a checkerboard) and
               scored on the other half, both ways round. Picking the best of 19 noisy block errors gains even
               where no strength is truly better; cross-fitting removes most of that selection bias, so this row
               is the part of the oracle a rule could ever hope to reach (frame oracle cross-fitted likewise)
Clips are built from BSDS500 test photos like the proof's (same seed), so the two agree on what is measured.
"""
from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from engine.auto.qp import qp_to_quality
from training.auto_proof import (DEFAULT_CLIP_DATA, decode_clip, encode_clip, load_restorer, parse_setting,
                                 write_report)
from training.calibrate_qp import build_clips

MB = 16
DEVIATION_GAINS = (-6, -3, -1, 1, 3)
GRID = np.arange(5, 100, 5, dtype=np.float64)  # uniform qualities every frame is restored at


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Options this study shares with training/strength_map_fit.py."""
    parser.add_argument("--model", type=Path)
    parser.add_argument("--settings", default="crf30,crf36,qp32,qp37")
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--markdown", type=Path)


def block_errors(clean: np.ndarray, test: np.ndarray, parity: int | None = None) -> np.ndarray:
    """Sum of squared RGB error per whole 16x16 block (rows x cols); partial edge blocks are left out.
    parity 0 or 1 counts only the pixels where (y + x) % 2 == parity (one half of a checkerboard)."""
    h, w = (clean.shape[0] // MB) * MB, (clean.shape[1] // MB) * MB
    err = ((test[:h, :w].astype(np.float32) - clean[:h, :w].astype(np.float32)) ** 2).sum(-1)
    if parity is not None:
        err = err * ((np.add.outer(np.arange(h), np.arange(w)) % 2) == parity)
    return err.reshape(h // MB, MB, w // MB, MB).sum((1, 3))


def cross_fitted_mse(halves: np.ndarray, pixels: int, per_block: bool) -> float:
    """MSE when the quality (per block, or one per frame) is chosen on one checkerboard half of the pixels and
    scored on the other, both ways round (halves: 2 x len(grid) x rows x cols)."""
    total = 0.0
    for pick, score in ((0, 1), (1, 0)):
        if per_block:
            best = halves[pick].argmin(0)
            total += float(np.take_along_axis(halves[score], best[None], 0).sum())
        else:
            total += float(halves[score][halves[pick].sum((1, 2)).argmin()].sum())
    return total / pixels


def composed_mse(errors: np.ndarray, grid: np.ndarray, quality, pixels: int) -> float:
    """MSE of a frame whose macroblocks take the error of `quality` (scalar or per-block map), interpolated
    linearly between the qualities of `grid` (errors: len(grid) x rows x cols)."""
    q = np.clip(np.broadcast_to(np.asarray(quality, np.float64), errors.shape[1:]), grid[0], grid[-1])
    hi = np.clip(np.searchsorted(grid, q, side="right"), 1, len(grid) - 1)
    lo = hi - 1
    t = (q - grid[lo]) / (grid[hi] - grid[lo])
    e_lo = np.take_along_axis(errors, lo[None], 0)[0]
    e_hi = np.take_along_axis(errors, hi[None], 0)[0]
    return float(((1 - t) * e_lo + t * e_hi).sum() / pixels)


def mean_psnr_of(mses) -> float:
    return float(np.mean([10 * np.log10(255.0 ** 2 / max(m, 1e-12)) for m in mses]))


def frame_records(restorer, clips, setting: str, grid: np.ndarray, workdir: Path, threads: int,
                  keep_pixels: bool = False) -> list[dict]:
    """Per decoded frame: block errors at every grid quality, block QP, input error (and the decoded pixels)."""
    mode, value = parse_setting(setting)
    records = []
    for i, clip in enumerate(clips):
        decoded = decode_clip(encode_clip(clip, workdir / f"{setting}_{i}.mkv", "h264", mode, value, threads),
                              len(clip))
        for clean, frame in zip(clip, decoded):
            # one batched forward pass per frame: every grid quality at once
            outputs = restorer.restore_batch([frame.pixels] * len(grid), [float(q) for q in grid])
            errors = np.stack([block_errors(clean, out) for out in outputs])
            halves = np.stack([np.stack([block_errors(clean, out, parity) for out in outputs]) for parity in (0, 1)])
            rows, cols = errors.shape[1:]
            records.append({"errors": errors, "halves": halves, "qp": frame.qp_map[:rows, :cols].astype(np.float64),
                            "input": block_errors(clean, frame.pixels), "pixels": rows * cols * MB * MB * 3})
            if keep_pixels:
                records[-1]["decoded"] = frame.pixels
    return records


def score_rules(records: list[dict], grid: np.ndarray) -> dict:
    def rule(pick) -> float:
        return mean_psnr_of(composed_mse(r["errors"], grid, pick(r), r["pixels"]) for r in records)

    frame_q = {id(r): float(qp_to_quality(r["qp"].mean())) for r in records}
    result = {"input": mean_psnr_of(r["input"].sum() / r["pixels"] for r in records),
              "per-frame": rule(lambda r: frame_q[id(r)]),
              "QP map": rule(lambda r: qp_to_quality(r["qp"]))}
    for a in DEVIATION_GAINS:
        result[f"QP dev a={a:+d}"] = rule(lambda r, a=a: frame_q[id(r)] + a * (r["qp"] - r["qp"].mean()))
    result["frame oracle"] = mean_psnr_of(r["errors"].sum((1, 2)).min() / r["pixels"] for r in records)
    result["block oracle"] = mean_psnr_of(r["errors"].min(0).sum() / r["pixels"] for r in records)
    result["frame oracle, cross-fitted"] = mean_psnr_of(cross_fitted_mse(r["halves"], r["pixels"], False)
                                                        for r in records)
    result["block oracle, cross-fitted"] = mean_psnr_of(cross_fitted_mse(r["halves"], r["pixels"], True)
                                                        for r in records)
    return result


def to_markdown(results: dict, settings: dict) -> str:
    names = list(next(iter(results.values())).keys())
    lines = [f"Estimated by composition, mean RGB PSNR in dB relative to per-frame ({settings}).", "",
             "| rule | " + " | ".join(results) + " |", "|---|" + "---:|" * len(results)]
    for name in names:
        cells = [f"{r[name]:.2f}" if name in ("input", "per-frame") else f"{r[name] - r['per-frame']:+.3f}"
                 for r in results.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m training.strength_map_study", description=__doc__.splitlines()[0])
    add_common_args(parser)
    parser.add_argument("--data", type=Path, default=DEFAULT_CLIP_DATA)
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--frames", type=int, default=12)
    args = parser.parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    started = time.time()
    restorer = load_restorer(args.model, "cpu")
    width, height = (int(x) for x in args.size.lower().split("x"))
    clips = build_clips(args.data, args.clips, args.frames, width, height, 0)
    grid = GRID
    results = {}
    with tempfile.TemporaryDirectory(prefix="strength_map_") as tmp:
        for setting in (s.strip() for s in args.settings.split(",") if s.strip()):
            results[setting.upper()] = score_rules(frame_records(restorer, clips, setting, grid, Path(tmp),
                                                                 args.threads), grid)
            print(setting, {k: round(v, 3) for k, v in results[setting.upper()].items()}, flush=True)
    markdown = to_markdown(results, f"{restorer.name}, {args.clips} clips x {args.frames} frames at {args.size} "
                                    f"from {args.data.name}, quality grid 5..95 step 5, {time.time() - started:.0f} s")
    print("\n" + markdown)
    write_report(args.markdown, markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

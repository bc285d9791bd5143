"""Measured proof for Auto strength: does the automatic quality restore as well as the best hand-picked one?

    python -m training.auto_proof [--quick] [--threads N] [--json out.json] [--markdown out.md]

1. JPEG: LIVE1 centre crops saved by Pillow at QF 10/20/30/40 and read back with `load_image` (the tables give
   the quality). PSNR of the JPEG, of the model told the true QF, of Auto and of the blind head alone.
2. H.264: camera-like clips (training/calibrate_qp.py) encoded by libx264 at fixed QP (x264's default I/P/B QP
   offsets) and at CRF (default aq-mode: QP varies per macroblock), read with `open_video(with_qp=True)`.
   PSNR of the decoded clip, of the best single fixed quality (coarse grid, then refined around the best), of Auto
   with one quality per frame and of Auto with the per-macroblock map.
3. HEVC: the same clips through libx265; FFmpeg exports no QP for HEVC, so Auto uses the blind head smoothed
   over time. Reported: Auto's gain over the input as a fraction of the best fixed quality's gain.
Goals: JPEG Auto - told >= -0.2 dB; H.264 per-block - best fixed >= -0.2 dB; per-block - per-frame > 0 on CRF,
judged on 36 clips (a few thousandths of a dB: on 12 clips the standard error is as large); HEVC gain ratio >= 0.8.
"""
from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections import Counter
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image

from engine.auto import AutoStrength
from engine.auto.qp import load_calibration
from engine.evaluation.metrics import psnr
from engine.media import load_image, open_video
from engine.media.types import ImageData
from training.auto_proof_report import GOAL_H264_DB, GOAL_HEVC_RATIO, GOAL_JPEG_DB, to_markdown
from training.calibrate_qp import FPS, _int_range, build_clips, find_photos

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LIVE1 = ROOT.parent / "shared" / "data" / "test" / "LIVE1"
# Clips from test photos: neither the model, the blind head nor the QP calibration (BSDS500 val) has seen them.
DEFAULT_CLIP_DATA = ROOT.parent / "shared" / "data" / "test" / "BSDS500_test"
ENCODERS = {"h264": "libx264", "hevc": "libx265"}

# name: (jpeg images, crop, QFs, clips, frames, size, H.264 settings, HEVC settings, quality grid, CRF-goal clips)
PRESETS = {
    "default": (10, 256, "10,20,30,40", 12, 12, "320x240", "qp27,qp32,qp37,qp42,crf30,crf36", "qp32,qp37,crf30",
                "5:95:10", 36),
    "quick": (4, 192, "10,20,30,40", 3, 8, "256x192", "qp32,qp42,crf30,crf36", "qp37,crf30", "10:90:20", 0),
}


# --- helpers ---------------------------------------------------------------------------------------------------
def mean_psnr(pairs) -> float:
    return float(np.mean([psnr(clean, test) for clean, test in pairs]))


def centre_crop(rgb: np.ndarray, size: int) -> np.ndarray:
    h, w = rgb.shape[:2]
    ch, cw = min(size, h), min(size, w)
    y, x = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(rgb[y:y + ch, x:x + cw])


def refine_steps(grid: list[int]) -> list[int]:
    """Steps of the local search after the grid: half the grid spacing, halved again, down to 2."""
    step = min(np.diff(sorted(grid))) if len(grid) > 1 else 10
    steps = []
    while step // 2 >= 2:
        step //= 2
        steps.append(int(step))
    return steps


def best_fixed(restorer, pairs, grid: list[int]) -> tuple[int, float, dict]:
    """The single quality that maximises the mean PSNR of `pairs` (clean, decoded): grid, then local refinement.

    PSNR against the quality input is unimodal in practice, so refining around the grid's best finds the optimum
    of a fine grid at a fraction of its cost. Returns (quality, PSNR, {quality: PSNR} for every quality tried)."""
    scores: dict[int, float] = {}

    def score(q: int) -> None:
        q = int(np.clip(q, 1, 100))
        if q not in scores:
            scores[q] = mean_psnr((clean, restorer.restore(dec, float(q))) for clean, dec in pairs)

    for q in grid:
        score(q)
    for step in refine_steps(grid):
        best = max(scores, key=scores.get)
        score(best - step)
        score(best + step)
    best = max(scores, key=scores.get)
    return best, scores[best], dict(sorted(scores.items()))


# --- 1. JPEG -----------------------------------------------------------------------------------------------------
def jpeg_rows(restorer, photos: list[Path], qfs: list[int], crop: int, workdir: Path) -> list[dict]:
    crops = [centre_crop(np.asarray(Image.open(p).convert("RGB")), crop) for p in photos]
    auto = AutoStrength(restorer)
    rows = []
    for qf in qfs:
        sums: dict[str, list] = {k: [] for k in ("input", "told", "auto", "blind", "q_auto", "q_blind")}
        sources = Counter()
        for i, clean in enumerate(crops):
            path = workdir / f"live1_{i}_q{qf}.jpg"
            Image.fromarray(clean).save(path, "JPEG", quality=qf)  # Pillow's default: IJG tables, 4:2:0
            image = load_image(path)
            decision = auto.for_image(image)  # reads the quantization tables
            blind = auto.for_image(ImageData(pixels=image.pixels, format="PNG"))  # no tables: the estimate path
            sources[decision.source] += 1
            restored = {}  # the same quality restores to the same pixels: compute each once
            for key, q in (("told", float(qf)), ("auto", decision.quality), ("blind", blind.quality)):
                if q not in restored:
                    restored[q] = restorer.restore(image.pixels, q)
                sums[key].append(psnr(clean, restored[q]))
            sums["input"].append(psnr(clean, image.pixels))
            sums["q_auto"].append(decision.mean_quality)
            sums["q_blind"].append(blind.mean_quality)
        row = {"qf": qf, "images": len(crops), **{k: float(np.mean(v)) for k, v in sums.items()},
               "auto_source": dict(sources)}
        row["auto_minus_told"] = row["auto"] - row["told"]
        row["blind_minus_told"] = row["blind"] - row["told"]
        row["goal_met"] = row["auto_minus_told"] >= GOAL_JPEG_DB
        rows.append(row)
        print(f"JPEG QF {qf}: input {row['input']:.2f}  told {row['told']:.2f}  auto {row['auto']:.2f} "
              f"(q {row['q_auto']:.1f})  blind {row['blind']:.2f} (q {row['q_blind']:.1f})", flush=True)
    return rows


# --- 2./3. video -------------------------------------------------------------------------------------------------
def parse_setting(text: str) -> tuple[str, int]:
    """"qp32" -> ("qp", 32); "crf30" -> ("crf", 30)."""
    mode = text.rstrip("0123456789").lower()
    if mode not in ("qp", "crf") or mode == text:
        raise argparse.ArgumentTypeError(f"encoder setting {text!r}: expected qpN or crfN")
    return mode, int(text[len(mode):])


def encode_clip(frames: list, path: Path, codec: str, mode: str, value: int, threads: int = 1) -> Path:
    """Encode RGB frames with libx264/libx265 at a fixed QP or a CRF, encoder defaults otherwise (B-frames, aq)."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w", format="matroska") as out:
        stream = out.add_stream(ENCODERS[codec], rate=FPS)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        # x264 gave a different CRF encode on every run, even single-threaded (its SIMD mb-tree code) and with frame
        # threads even without SIMD, which moved the CRF rows by ~0.003 dB between runs: one thread, C path only.
        if codec == "h264":
            params, threads = "log-level=none:asm=0", 1
        else:
            params = f"log-level=none:frame-threads=1:pools={threads}"
        stream.options = {mode: str(value), f"{ENCODERS[codec][3:]}-params": params, "threads": str(threads)}
        for rgb in frames:
            out.mux(stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")))
        out.mux(stream.encode())
    return path


def decode_clip(path: Path, expected: int) -> list:
    with open_video(path, with_qp=True) as reader:
        frames = list(reader.frames())
    if len(frames) != expected:
        raise RuntimeError(f"{path.name}: decoded {len(frames)} frames, encoded {expected}")
    return frames


def run_auto(restorer, clips: list, decoded: list, per_block: bool, refine: bool = True, flatten: bool = False,
             frame_types: bool = True) -> dict:
    """Auto over every clip (one AutoStrength, reset between clips as after a seek): PSNR, qualities, sources.
    `flatten`: restore at the mean of Auto's map instead of the map (its level without its spatial pattern);
    `frame_types`: with the fitted I/P/B correction (False: the QP curve alone)."""
    auto = AutoStrength(restorer, per_block=per_block, refine=refine, frame_types=frame_types)
    scores, per_clip, qualities, sources = [], [], [], Counter()
    for clean_clip, dec_clip in zip(clips, decoded):
        auto.reset()
        start = len(scores)
        for clean, frame in zip(clean_clip, dec_clip):
            decision = auto.for_frame(frame)
            quality = decision.mean_quality if flatten else decision.quality
            scores.append(psnr(clean, restorer.restore(frame.pixels, quality)))
            qualities.append(decision.mean_quality)
            sources[decision.source] += 1
        per_clip.append(float(np.mean(scores[start:])))
    return {"psnr": float(np.mean(scores)), "per_clip": per_clip, "quality": float(np.mean(qualities)),
            "sources": dict(sources)}


def paired_spread(a: dict, b: dict) -> tuple[float, int]:
    """Standard error over clips of a - b (clips are the independent units: frames of one clip correlate) and the
    number of clips where a wins."""
    diffs = np.subtract(a["per_clip"], b["per_clip"])
    se = float(diffs.std(ddof=1) / np.sqrt(len(diffs))) if len(diffs) > 1 else float("nan")
    return se, int((diffs > 0).sum())


def qp_by_type(decoded: list) -> dict:
    """Mean decoded QP per picture type, e.g. {"I": 24.0, "P": 27.0, "B": 29.1} (empty without QP side data)."""
    per_type: dict[str, list] = {}
    for frame in (f for clip in decoded for f in clip):
        if frame.qp_map is not None and frame.qp_map.size:
            per_type.setdefault(frame.pict_type, []).append(float(frame.qp_map.mean()))
    return {t: round(float(np.mean(v)), 2) for t, v in sorted(per_type.items())}


def video_rows(restorer, clips: list, codec: str, settings: list[tuple[str, int]], grid: list[int],
               workdir: Path, threads: int = 1, crf_goal: bool = True) -> list[dict]:
    """One row per setting; crf_goal=False leaves the CRF rows' per-block − per-frame goal to a larger sample."""
    rows = []
    for mode, value in settings:
        decoded = [decode_clip(encode_clip(clip, workdir / f"{codec}_{mode}{value}_{i}.mkv", codec, mode, value,
                                           threads), len(clip)) for i, clip in enumerate(clips)]
        pairs = [(c, f.pixels) for clip, dec in zip(clips, decoded) for c, f in zip(clip, dec)]
        best_q, best_psnr, curve = best_fixed(restorer, pairs, grid)
        row = {"codec": codec, "setting": f"{mode.upper()} {value}", "frames": len(pairs),
               "pict_types": dict(Counter(f.pict_type for dec in decoded for f in dec)),
               "qp_by_type": qp_by_type(decoded), "input": mean_psnr(pairs), "best_quality": best_q,
               "best_fixed": best_psnr, "sweep": {str(q): round(s, 3) for q, s in curve.items()}}
        if codec == "h264":
            frame, block = run_auto(restorer, clips, decoded, False), run_auto(restorer, clips, decoded, True)
            # What the QP map alone does, next to Auto's map (the QP map corrected by the strength refiner).
            plain = run_auto(restorer, clips, decoded, True, refine=False) if restorer.has_strength_refiner else block
            level = run_auto(restorer, clips, decoded, True, flatten=True)  # how much is the map's spatial pattern
            untyped = run_auto(restorer, clips, decoded, False, frame_types=False)  # without the I/P/B correction
            row.update({"per_frame": frame["psnr"], "per_frame_quality": frame["quality"], "per_block": block["psnr"],
                        "per_block_quality": block["quality"], "auto_sources": block["sources"],
                        "refined": restorer.has_strength_refiner, "qp_map_only": plain["psnr"],
                        "qp_map_minus_frame": plain["psnr"] - frame["psnr"],
                        "map_mean_minus_frame": level["psnr"] - frame["psnr"],
                        "frame_types_gain": frame["psnr"] - untyped["psnr"]})
            row["block_minus_best"] = row["per_block"] - best_psnr
            row["block_minus_frame"] = row["per_block"] - row["per_frame"]
            row["block_minus_frame_se"], row["block_wins"] = paired_spread(block, frame)
            row["clips"] = len(clips)
            crf_ok = mode != "crf" or not crf_goal or row["block_minus_frame"] > 0
            row["goal_met"] = row["block_minus_best"] >= GOAL_H264_DB and crf_ok
            print(f"H.264 {row['setting']}: input {row['input']:.2f}  best fixed {best_psnr:.2f} (q {best_q})  "
                  f"per-frame {row['per_frame']:.2f} (q {row['per_frame_quality']:.1f})  per-block "
                  f"{row['per_block']:.2f} (q {row['per_block_quality']:.1f})  QP {row['qp_by_type']}", flush=True)
        else:
            auto = run_auto(restorer, clips, decoded, True)
            row.update({"auto": auto["psnr"], "auto_quality": auto["quality"], "auto_sources": auto["sources"]})
            best_gain = best_psnr - row["input"]
            row["gain_ratio"] = (auto["psnr"] - row["input"]) / best_gain if best_gain > 1e-6 else None
            row["goal_met"] = row["gain_ratio"] is not None and row["gain_ratio"] >= GOAL_HEVC_RATIO
            print(f"HEVC {row['setting']}: input {row['input']:.2f}  best fixed {best_psnr:.2f} (q {best_q})  "
                  f"auto {auto['psnr']:.2f} (q {auto['quality']:.1f}, {auto['sources']})", flush=True)
        rows.append(row)
    return rows


# --- command line ------------------------------------------------------------------------------------------------
def _settings(text: str) -> list[tuple[str, int]]:
    return [parse_setting(t) for t in text.split(",") if t.strip()]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m training.auto_proof", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="about a minute on one core: fewer images/clips")
    parser.add_argument("--model", type=Path, help="safetensors model (default: the app's default model)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1, help="torch and encoder threads")
    parser.add_argument("--live1", type=Path, default=DEFAULT_LIVE1, help="photos for the JPEG part")
    parser.add_argument("--data", type=Path, default=DEFAULT_CLIP_DATA, help="photos the clips are built from")
    parser.add_argument("--limit", type=int, help="JPEG images (0 skips the JPEG part)")
    parser.add_argument("--crop", type=int)
    parser.add_argument("--qfs", type=_int_range)
    parser.add_argument("--clips", type=int, help="clips (0 skips the video parts)")
    parser.add_argument("--frames", type=int)
    parser.add_argument("--size")
    parser.add_argument("--h264", type=_settings, help='libx264 settings, e.g. "qp27,qp37,crf30" ("" skips)')
    parser.add_argument("--hevc", type=_settings, help='libx265 settings, e.g. "qp32,crf30" ("" skips)')
    parser.add_argument("--grid", type=_int_range, help="qualities of the best-fixed sweep before refinement")
    parser.add_argument("--crf-clips", type=int, help="clips of the H.264 CRF rows that judge the CRF goal "
                                                      "(not more than --clips: judged on those)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--markdown", type=Path)
    args = parser.parse_args(argv)
    preset = PRESETS["quick" if args.quick else "default"]
    names = ("limit", "crop", "qfs", "clips", "frames", "size", "h264", "hevc", "grid", "crf_clips")
    converters = (int, int, _int_range, int, int, str, _settings, _settings, _int_range, int)
    for name, convert, value in zip(names, converters, preset):
        if getattr(args, name) is None:
            setattr(args, name, convert(value))
    return args


def write_report(path: Path | None, text: str) -> None:
    """Write a report file (creating its folder); no-op without a path."""
    if path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def load_restorer(model: Path | None, device: str):
    if model is None:
        from engine.restore.registry import create_restorer
        return create_restorer(None, device)
    from engine.models.registry import _spec_from_file
    from engine.restore.model_restorer import ModelRestorer
    return ModelRestorer(_spec_from_file(Path(model)), device=device)


def main(argv=None) -> int:
    args = parse_args(argv)
    torch.set_num_threads(max(1, args.threads))
    started = time.time()
    restorer = load_restorer(args.model, args.device)
    calibration = load_calibration()
    width, height = (int(x) for x in args.size.lower().split("x"))
    settings = {"model": restorer.name, "calibration": calibration[2] if calibration else "analytic fallback",
                "jpeg_images": args.limit, "crop": args.crop, "qfs": args.qfs, "clips": args.clips,
                "frames": args.frames, "size": args.size, "clip_data": args.data.name, "grid": args.grid,
                "threads": args.threads, "seed": args.seed, "quick": args.quick, "crf_clips": args.crf_clips}
    result = {"settings": settings, "jpeg": [], "h264": [], "hevc": [], "h264_crf_check": []}
    crf_settings = [s for s in args.h264 if s[0] == "crf"]
    crf_check = 0 < args.clips < args.crf_clips and bool(crf_settings)
    with tempfile.TemporaryDirectory(prefix="auto_proof_") as tmp:
        workdir = Path(tmp)
        if args.limit > 0 and args.qfs:
            result["jpeg"] = jpeg_rows(restorer, find_photos(args.live1, args.limit), args.qfs, args.crop, workdir)
        if args.clips > 0 and (args.h264 or args.hevc):
            clips = build_clips(args.data, args.clips, args.frames, width, height, args.seed)
            result["h264"] = video_rows(restorer, clips, "h264", args.h264, args.grid, workdir, args.threads,
                                        crf_goal=not crf_check)
            result["hevc"] = video_rows(restorer, clips, "hevc", args.hevc, args.grid, workdir, args.threads)
        if crf_check:
            clips = build_clips(args.data, args.crf_clips, args.frames, width, height, args.seed)
            result["h264_crf_check"] = video_rows(restorer, clips, "h264", crf_settings, args.grid, workdir,
                                                  args.threads)
    rows = result["jpeg"] + result["h264"] + result["hevc"] + result["h264_crf_check"]
    result["all_goals_met"] = bool(rows) and all(r["goal_met"] for r in rows)
    result["seconds"] = round(time.time() - started, 1)
    markdown = to_markdown(result)
    print("\n" + markdown)
    write_report(args.json, json.dumps(result, indent=1) + "\n")
    write_report(args.markdown, markdown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Calibrate H.264 QP -> JPEG-scale quality, the table engine/auto/qp.py reads.

    python -m training.calibrate_qp psnr                      # no model: equal-PSNR matching (minutes of CPU)
    python -m training.calibrate_qp sweep --model PATH        # the quality at which the model restores best

Both build short camera-like clips (pan + slow zoom over a photo, 320x240 by default), encode them with libx264
at fixed QPs (I, P and B frames at the same QP so every decoded frame carries the nominal QP), and decode them.
  psnr:  for each QP, the JPEG quality (Pillow, 4:2:0) giving the same mean PSNR on the same frames.
  sweep: for each QP, the fixed model quality that maximises the mean PSNR of the restored frames.
Results merge into resources/calibration/qp_to_quality.json (one entry per method) and the curves are drawn to
docs/qp_calibration.png (Pillow only).
"""
from __future__ import annotations

import argparse
import io
import json
import time
from datetime import datetime, timezone
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

from engine.auto.qp import CALIBRATION_PATH, analytic_h264_quality, read_calibration_file, write_calibration_file

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "train" / "BSDS500_val"
DEFAULT_PLOT = ROOT / "docs" / "qp_calibration.png"
FPS = 25
ZOOM_END = 1.15  # the clip ends 15% zoomed in: enough motion for P/B frames to matter, like a handheld camera


# --- clips ---------------------------------------------------------------------------------------------------
def find_photos(data_dir: Path, count: int) -> list[Path]:
    photos = sorted(p for p in Path(data_dir).rglob("*") if p.suffix.lower() in (".jpg", ".jpeg", ".png"))
    if not photos:
        raise SystemExit(f"no photos found under {data_dir}")
    picks = np.linspace(0, len(photos) - 1, min(count, len(photos))).round().astype(int)
    return [photos[i] for i in picks]


def camera_clip(photo: np.ndarray, n_frames: int, width: int, height: int, rng: np.random.Generator) -> list:
    """Frames of a slow pan across `photo` with a gentle zoom-in; output width x height RGB uint8."""
    ph, pw = photo.shape[:2]
    fit = max(width / pw, height / ph) * 1.05  # the photo must cover the frame even at the pan's extremes
    if fit > 1:
        photo = cv2.resize(photo, (int(np.ceil(pw * fit)), int(np.ceil(ph * fit))), interpolation=cv2.INTER_CUBIC)
        ph, pw = photo.shape[:2]
    direction = rng.uniform(-1, 1, size=2)
    frames = []
    for t in np.linspace(0, 1, n_frames):
        zoom = 1 + (ZOOM_END - 1) * t
        win_w, win_h = width / zoom, height / zoom
        # the window centre travels along `direction` within the margin the photo leaves
        cx = pw / 2 + direction[0] * (pw - win_w) / 2 * (t - 0.5)
        cy = ph / 2 + direction[1] * (ph - win_h) / 2 * (t - 0.5)
        matrix = np.array([[zoom, 0, width / 2 - zoom * cx], [0, zoom, height / 2 - zoom * cy]], np.float64)
        frames.append(cv2.warpAffine(photo, matrix, (width, height), flags=cv2.INTER_CUBIC,
                                     borderMode=cv2.BORDER_REFLECT))
    return frames


def build_clips(data_dir: Path, clips: int, frames: int, width: int, height: int, seed: int) -> list[list]:
    rng = np.random.default_rng(seed)
    out = []
    for path in find_photos(data_dir, clips):
        photo = np.asarray(Image.open(path).convert("RGB"))
        out.append(camera_clip(photo, frames, width, height, rng))
    return out


def h264_round_trip(frames: list, qp: int) -> tuple[list, float]:
    """Encode at a fixed QP with libx264, decode; returns decoded RGB frames and their mean decoded QP."""
    h, w = frames[0].shape[:2]
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as out:
        stream = out.add_stream("libx264", rate=FPS)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {"qp": str(qp), "x264-params": "ipratio=1.0:pbratio=1.0:log-level=none"}
        for rgb in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(rgb, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    buf.seek(0)
    decoded, qps = [], []
    with av.open(buf, "r") as src:
        stream = src.streams.video[0]
        stream.codec_context.options = {"export_side_data": "venc_params"}
        for frame in src.decode(stream):
            decoded.append(frame.to_ndarray(format="rgb24"))
            qps.append(float(np.mean(frame.side_data["VIDEO_ENC_PARAMS"].qp_map())))
    return decoded, float(np.mean(qps))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float(10 * np.log10(255.0 ** 2 / max(mse, 1e-10)))


def jpeg_round_trip(rgb: np.ndarray, quality: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=int(quality), subsampling=2)  # 2 = 4:2:0
    return np.asarray(Image.open(buf).convert("RGB"))


# --- methods -------------------------------------------------------------------------------------------------
def method_psnr(clips: list, qps: list[int]) -> dict:
    frames = [f for clip in clips for f in clip]
    qualities = np.arange(1, 101)
    jpeg_curve = np.array([np.mean([psnr(f, jpeg_round_trip(f, q)) for f in frames]) for q in qualities])
    # PSNR rises with quality except for tiny wiggles at the top: force monotone so the inverse is unique
    jpeg_curve = np.maximum.accumulate(jpeg_curve)
    rows = []
    for qp in qps:
        decoded = [h264_round_trip(clip, qp) for clip in clips]
        codec_psnr = float(np.mean([psnr(a, b) for clip, (dec, _) in zip(clips, decoded) for a, b in zip(clip, dec)]))
        quality = float(np.interp(codec_psnr, jpeg_curve, qualities))
        rows.append({"qp": qp, "decoded_qp": float(np.mean([q for _, q in decoded])), "h264_psnr": codec_psnr,
                     "quality": round(quality, 2)})
        print(f"QP {qp:2d}: H.264 {codec_psnr:6.2f} dB  ->  JPEG quality {quality:5.1f}", flush=True)
    return {"qp": [r["qp"] for r in rows], "quality": [r["quality"] for r in rows], "rows": rows,
            "jpeg_psnr_by_quality": [round(float(x), 3) for x in jpeg_curve]}


def method_sweep(clips: list, qps: list[int], model: Path, qualities: list[int], device: str) -> dict:
    from engine.models.registry import _spec_from_file
    from engine.restore.model_restorer import ModelRestorer

    restorer = ModelRestorer(_spec_from_file(Path(model)), device=device)
    rows = []
    for qp in qps:
        pairs = [(a, b) for clip in clips for a, b in zip(clip, h264_round_trip(clip, qp)[0])]
        scores = [float(np.mean([psnr(clean, restorer.restore(dec, float(q))) for clean, dec in pairs]))
                  for q in qualities]
        best = int(np.argmax(scores))
        rows.append({"qp": qp, "quality": float(qualities[best]), "restored_psnr": [round(s, 3) for s in scores],
                     "decoded_psnr": float(np.mean([psnr(a, b) for a, b in pairs]))})
        print(f"QP {qp:2d}: best model quality {qualities[best]:3d} ({scores[best]:.2f} dB)", flush=True)
    return {"qp": [r["qp"] for r in rows], "quality": [r["quality"] for r in rows], "qualities_tried": qualities,
            "rows": rows, "model": Path(model).name}


def fit_equal_step_ratio(qp: list, quality: list) -> float:
    """The EQUAL_STEP_RATIO for engine/auto/qp.py's analytic fallback that best fits a measured table."""
    import engine.auto.qp as qp_module

    saved = qp_module.EQUAL_STEP_RATIO
    best = (np.inf, saved)
    try:
        for ratio in np.arange(0.5, 4.01, 0.05):
            qp_module.EQUAL_STEP_RATIO = float(ratio)
            err = float(np.mean((analytic_h264_quality(qp) - np.asarray(quality)) ** 2))
            best = min(best, (err, round(float(ratio), 2)))
    finally:
        qp_module.EQUAL_STEP_RATIO = saved
    return best[1]


# --- output --------------------------------------------------------------------------------------------------
def write_calibration(path: Path, method: str, result: dict, settings: dict) -> None:
    data = read_calibration_file(path)
    data.update({"format": 1, "codec": "h264", "x": "H.264 QP (0..51)", "y": "JPEG-scale quality (IJG 1..100)"})
    data.setdefault("methods", {})[method] = {**result, "settings": settings,
                                              "created": datetime.now(timezone.utc).isoformat(timespec="seconds")}
    write_calibration_file(path, data)


def _font(size: int):
    try:
        return ImageFont.load_default(size=size)
    except TypeError:  # Pillow < 10.1 has one fixed-size default font
        return ImageFont.load_default()


def draw_plot(path: Path, methods: dict, size=(900, 560)) -> None:
    """QP on x, quality on y: one polyline with markers per method, plus the analytic fallback dashed."""
    w, h = size
    left, right, top, bottom = 80, 30, 80, 70
    x0, x1, y0, y1 = 10, 52, 0, 100
    img = Image.new("RGB", size, "white")
    d = ImageDraw.Draw(img)
    font, small = _font(18), _font(14)

    def px(qp, q):
        return (left + (qp - x0) / (x1 - x0) * (w - left - right), h - bottom - (q - y0) / (y1 - y0) * (h - top - bottom))

    for q in range(0, 101, 10):  # horizontal grid + y ticks
        _, y = px(x0, q)
        d.line([(left, y), (w - right, y)], fill=(230, 230, 230))
        d.text((left - 8, y), str(q), fill="black", font=small, anchor="rm")
    for qp in range(x0, x1 + 1, 5 if x1 - x0 > 20 else 2):
        x, _ = px(qp, y0)
        d.line([(x, h - bottom), (x, h - bottom + 6)], fill="black")
        d.text((x, h - bottom + 10), str(qp), fill="black", font=small, anchor="mt")
    d.line([(left, top), (left, h - bottom), (w - right, h - bottom)], fill="black", width=2)
    d.text((w / 2, h - 20), "H.264 QP", fill="black", font=font, anchor="ms")
    d.text((18, top - 16), "JPEG-scale quality", fill="black", font=font, anchor="ls")
    d.text((w / 2, 30), "Codec QP -> model quality (resources/calibration/qp_to_quality.json)", fill="black",
           font=font, anchor="ms")

    qs = np.arange(x0, x1 + 0.01, 0.5)
    analytic = [px(a, b) for a, b in zip(qs, analytic_h264_quality(qs))]
    for i in range(0, len(analytic) - 1, 2):  # dashed
        d.line([analytic[i], analytic[i + 1]], fill=(150, 150, 150), width=2)
    colours = {"psnr": (31, 119, 180), "sweep": (214, 39, 40)}
    legend = [("analytic fallback", (150, 150, 150))]
    for name, result in methods.items():
        colour = colours.get(name, (44, 160, 44))
        points = [px(a, b) for a, b in zip(result["qp"], result["quality"])]
        d.line(points, fill=colour, width=3)
        for x, y in points:
            d.ellipse([x - 4, y - 4, x + 4, y + 4], fill=colour)
        legend.append((f"{name}: {'equal PSNR' if name == 'psnr' else 'best restored PSNR'}", colour))
    for i, (label, colour) in enumerate(legend):
        y = top + 15 + 24 * i
        d.line([(w - right - 260, y), (w - right - 230, y)], fill=colour, width=3)
        d.text((w - right - 222, y), label, fill="black", font=small, anchor="lm")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


# --- command line --------------------------------------------------------------------------------------------
def _int_range(text: str) -> list[int]:
    """"17:47:3" -> 17, 20, ..., 47 (inclusive), or a comma list "20,30"."""
    if ":" in text:
        start, stop, step = (int(x) for x in text.split(":"))
        return list(range(start, stop + 1, step))
    return [int(x) for x in text.split(",")]


def parse_args(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m training.calibrate_qp", description=__doc__.splitlines()[0])
    parser.add_argument("method", choices=["psnr", "sweep"])
    parser.add_argument("--model", type=Path, help="safetensors model (sweep)")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="folder of clean-ish photos")
    parser.add_argument("--clips", type=int, default=6)
    parser.add_argument("--frames", type=int, default=12)
    parser.add_argument("--size", default="320x240")
    parser.add_argument("--qps", type=_int_range, default=_int_range("17:47:3"))
    parser.add_argument("--qualities", type=_int_range, default=_int_range("5:95:5"), help="sweep grid")
    parser.add_argument("--device", default="auto", help="sweep: cpu, cuda, mps or auto")
    parser.add_argument("--out", type=Path, default=CALIBRATION_PATH)
    parser.add_argument("--plot", type=Path, default=DEFAULT_PLOT)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.method == "sweep" and args.model is None:
        parser.error("sweep needs --model PATH")
    return args


def main(argv=None) -> int:
    args = parse_args(argv)
    width, height = (int(x) for x in args.size.lower().split("x"))
    started = time.time()
    clips = build_clips(args.data, args.clips, args.frames, width, height, args.seed)
    if args.method == "psnr":
        result = method_psnr(clips, args.qps)
    else:
        result = method_sweep(clips, args.qps, args.model, args.qualities, args.device)
    result["fitted_equal_step_ratio"] = fit_equal_step_ratio(result["qp"], result["quality"])
    settings = {"data": args.data.name, "clips": len(clips), "frames": args.frames, "size": args.size,
                "x264": "fixed qp, ipratio=pbratio=1", "jpeg": "Pillow 4:2:0", "seed": args.seed,
                "seconds": round(time.time() - started, 1)}
    write_calibration(args.out, args.method, result, settings)
    draw_plot(args.plot, json.loads(Path(args.out).read_text())["methods"])
    print(f"wrote {args.out} and {args.plot} in {settings['seconds']} s "
          f"(analytic fallback ratio that fits best: {result['fitted_equal_step_ratio']})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

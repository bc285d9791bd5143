"""Fit the blind quality head (engine/models/quality_head.py) and put it into a shipped model file.

    python -m training.fit_quality_head                       # into resources/models/restora-small.safetensors
    python -m training.fit_quality_head --samples 4000 --weights other.safetensors
    python -m training.fit_quality_head --copy-from fitted.safetensors   # reuse a fitted head after retraining

The head's features are fixed, so this computes them once for a few thousand degraded crops of the training
photos and fits the small MLP on them: minutes on a CPU. JPEG crops (every quality, 4:2:0/4:4:4, grey, double
compression, random grid offsets) teach it their true quality. H.264 and HEVC frames have no true JPEG quality:
for each, the trunk restores it under a grid of strengths, and the head is fitted to lose as little PSNR as
possible on that curve ("dB lost" below). Labelling each frame with its own best strength instead made the head
predict the median of noisy per-crop optima, which was too strong for HEVC at QP 32. The held-out BSDS500 images
report the error, also on clips encoded the way most HEVC is (x265 with its default settings: medium preset,
B-frames), which the app meets far more often than the training mix's ultrafast encodes. The restoration trunk is
left untouched.
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open

from engine.models.quality_head import DctQualityHead
from engine.models.registry import _spec_from_file, build_model, save_model
from training.degrade import camera_clip, codec_roundtrip, equivalent_jpeg_quality, jpeg
from training.graphics import screen_content
from training.train import DATA, SHIPPED, load_images


def _crop(rng, image, size):
    h, w = image.shape[:2]
    size = min(size, h, w)
    y, x = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    return np.ascontiguousarray(image[y:y + size, x:x + size])


def jpeg_sample(rng, image):
    q = int(rng.integers(1, 101)) if rng.random() < 0.5 else int(np.exp(rng.uniform(np.log(3), np.log(95))))
    big = _crop(rng, image, int(rng.integers(96, 264)))
    grey = rng.random() < 0.12
    if grey:
        big = np.repeat(np.asarray(Image.fromarray(big).convert("L"))[:, :, None], 3, axis=2)
    sub = 0 if rng.random() < 0.25 else 2
    if rng.random() < 0.1:
        big = jpeg(big, int(rng.integers(q, 101)), sub, grey)  # an earlier, lighter compression
    out = jpeg(big, q, sub, grey)
    oy, ox = int(rng.integers(0, 8)), int(rng.integers(0, 8))  # tiles and crops start anywhere on the grid
    return out[oy:, ox:], float(q)


PRESETS = {"libx264": ("veryfast", "medium"), "libx265": ("ultrafast", "fast", "medium")}


def codec_sample(rng, image, max_size: int = 128):
    codec = "libx265" if rng.random() < 0.5 else "libx264"
    # The app shows the head a 256px crop; features of small crops are noisy, which pulls a fit towards the middle.
    size = min(int(rng.integers(128, max_size + 1)), *image.shape[:2]) // 8 * 8
    clean = camera_clip(image, size, int(rng.integers(3, 6)), rng)
    # Presets and CRF vary: x265's medium preset (SAO, better prediction) at a QP looks cleaner than ultrafast at
    # that QP, and a head fitted on ultrafast alone restored medium-preset HEVC at QP 32 too strongly.
    preset = PRESETS[codec][int(rng.integers(0, len(PRESETS[codec])))]
    crf = rng.random() < 0.3
    decoded = codec_roundtrip(clean, codec, int(rng.integers(18, 50)), intra_only=rng.random() < 0.3, crf=crf,
                              preset=preset)
    i = int(rng.integers(0, min(len(decoded), len(clean))))
    return decoded[i], clean[i], float(equivalent_jpeg_quality(clean[i], decoded[i]))


STRENGTH_GRID = (3, 6, 10, 15, 20, 27, 35, 45, 55, 65, 75, 85, 95, 100)
CLEAN_FLOOR = float(np.log(10 ** -4.5))  # log MSE of 45 dB PSNR
CLEAN_SCREEN_SHARE = 0.5  # of the clean crops (0.7 with 8 % clean: x265 video read too weak, 0.096 dB lost)
DB = 10.0 / np.log(10.0)


@torch.no_grad()
def strength_curve(model, degraded: np.ndarray, clean: np.ndarray) -> torch.Tensor:
    """log MSE of the trunk's restoration of this frame under each STRENGTH_GRID quality (one batched pass)."""
    x = torch.from_numpy(np.array(degraded)).permute(2, 0, 1)[None].float().div(255).expand(len(STRENGTH_GRID), -1,
                                                                                            -1, -1)
    y = model(x.contiguous(), torch.tensor(STRENGTH_GRID, dtype=torch.float32)).clamp(0, 1)
    ref = torch.from_numpy(np.array(clean)).permute(2, 0, 1)[None].float().div(255)
    return torch.log((y - ref).pow(2).mean(dim=(1, 2, 3)).clamp_min(1e-10))


def db_lost(log_q: torch.Tensor, curves: torch.Tensor) -> torch.Tensor:
    """PSNR (dB) lost by restoring at quality exp(log_q) instead of the curve's best grid point; differentiable
    (linear interpolation of log MSE over log quality)."""
    grid = torch.log(torch.tensor(STRENGTH_GRID, dtype=torch.float32))
    t = log_q.clamp(float(grid[0]), float(grid[-1]))
    i = torch.searchsorted(grid, t.detach().contiguous(), right=True).clamp(1, len(grid) - 1)
    lo, hi = grid[i - 1], grid[i]
    w = (t - lo) / (hi - lo)
    at = torch.gather(curves, 1, i - 1) * (1 - w) + torch.gather(curves, 1, i) * w
    outside = (log_q - t).abs()  # off the grid: a slope back towards it (a clamp alone has no gradient there)
    return DB * (at - curves.min(dim=1, keepdim=True).values) + outside


@torch.no_grad()
def features(head: DctQualityHead, images: list[np.ndarray]) -> torch.Tensor:
    rows = [head.features(torch.from_numpy(np.array(im)).permute(2, 0, 1)[None].float() / 255.0) for im in images]
    return torch.cat(rows)


def make_set(rng, photos, n, codec_fraction, model, codec_size: int = 128, clean_fraction: float = 0.0,
             screen_fraction: float = 0.0):
    """Images, JPEG labels (NaN for frames fitted on a curve), the trunk's log-MSE strength curve (NaN for JPEG),
    and each sample's kind: "jpeg" and "screen-jpeg" (labelled), "codec", "clean-photo" and "clean-screen" (curves).
    Clean crops were never compressed: their curve is best near 100, which teaches the head to leave them alone."""
    images, labels, curves, kinds = [], [], [], []
    nan_curve = torch.full((len(STRENGTH_GRID),), float("nan"))
    for k in range(n):
        photo = photos[int(rng.integers(0, len(photos)))]
        r = rng.random()
        if r < codec_fraction:
            im, clean, _ = codec_sample(rng, photo, codec_size)
            q, curve, kind = float("nan"), strength_curve(model, im, clean), "codec"
        elif r < codec_fraction + clean_fraction:
            screen = rng.random() < CLEAN_SCREEN_SHARE
            source = screen_content(rng, 264, photos) if screen else photo
            im = _crop(rng, source, int(rng.integers(96, 264)))
            # floored at 45 dB: past that a restoration of a clean crop is invisible, and the near-identity MSE
            # (60 dB and more at quality 100) would otherwise make every point of the curve look like a loss of 10 dB
            curve = strength_curve(model, im, im).clamp_min(CLEAN_FLOOR)
            q, kind = float("nan"), "clean-screen" if screen else "clean-photo"
        elif r < codec_fraction + clean_fraction + screen_fraction:
            (im, q), curve, kind = jpeg_sample(rng, screen_content(rng, 264, photos)), nan_curve, "screen-jpeg"
        else:
            (im, q), curve, kind = jpeg_sample(rng, photo), nan_curve, "jpeg"
        images.append(im), labels.append(q), curves.append(curve), kinds.append(kind)
    return images, torch.tensor(labels), torch.stack(curves), kinds


X265_CHECK = (("qp", 27), ("qp", 32), ("qp", 37), ("crf", 30))


def x265_check_set(rng, photos, model, clips_per_photo: int = 2, frames: int = 8, size: int = 192) -> dict:
    """Held-out x265-default clips per setting: (decoded frames, the trunk's strength curves)."""
    out = {}
    for mode, value in X265_CHECK:
        images, curves = [], []
        for photo in photos:
            for _ in range(clips_per_photo):
                clean = camera_clip(photo, size, frames, rng)
                decoded = codec_roundtrip(clean, "libx265", value, intra_only=False, crf=mode == "crf", preset="medium")
                for c, d in zip(clean, decoded):
                    images.append(d), curves.append(strength_curve(model, d, c))
        out[f"{mode}{value}"] = (images, torch.stack(curves))
    return out


def fit(head: DctQualityHead, f: torch.Tensor, q: torch.Tensor, curves: torch.Tensor, steps: int, seed: int,
        codec_weight: float) -> None:
    """JPEG: smooth L1 on log quality. Codec frames: `codec_weight` x dB lost on their strength curve."""
    torch.manual_seed(seed)
    head.feature_mean.copy_(f.mean(0))
    head.feature_std.copy_(f.std(0).clamp_min(1e-3))
    opt = torch.optim.Adam(head.mlp.parameters(), lr=3e-3, weight_decay=1e-5)
    is_jpeg = ~torch.isnan(q)
    target = torch.log(q[is_jpeg].clamp(1, 100))[:, None]
    codec_curves = curves[~is_jpeg]
    z = (f - head.feature_mean) / head.feature_std
    for step in range(steps):
        lr = 3e-3 * 0.5 * (1 + np.cos(np.pi * step / steps))
        for g in opt.param_groups:
            g["lr"] = lr
        log_q = head.mlp(z)
        loss = torch.nn.functional.smooth_l1_loss(log_q[is_jpeg], target, beta=0.05)
        if len(codec_curves):
            loss = loss + codec_weight * db_lost(log_q[~is_jpeg], codec_curves).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()


@torch.no_grad()
def report(head: DctQualityHead, f: torch.Tensor, q: torch.Tensor, curves: torch.Tensor,
           kinds: list[str] | None = None) -> dict:
    """Photo JPEG errors (overall and by quality band); for curve-fitted kinds, dB lost against each frame's own
    best grid strength (an oracle no single estimate can beat); screen JPEG error and clean crops' estimates."""
    pred = head.from_features(f)[:, 0]
    kinds = np.array(kinds if kinds is not None else ["jpeg" if v == v else "codec" for v in q.tolist()])
    is_jpeg = torch.from_numpy(kinds == "jpeg")
    err = (pred[is_jpeg] - q[is_jpeg]).abs()
    out = {"jpeg_mae": round(float(err.mean()), 2), "jpeg_median_abs_error": round(float(err.median()), 2)}
    for lo, hi in ((1, 15), (15, 30), (30, 50), (50, 75), (75, 101)):
        m = (q[is_jpeg] >= lo) & (q[is_jpeg] < hi)
        if m.any():
            out[f"mae_q{lo}-{hi - 1}"] = round(float(err[m].mean()), 2)
    for kind in ("codec", "clean-photo", "clean-screen"):
        m = torch.from_numpy(kinds == kind)
        if m.any():
            out[f"{kind.replace('-', '_')}_db_lost"] = round(float(db_lost(torch.log(pred[m])[:, None],
                                                                           curves[m]).mean()), 4)
            if kind != "codec":
                out[f"{kind.replace('-', '_')}_median_estimate"] = round(float(pred[m].median()), 1)
    m = torch.from_numpy(kinds == "screen-jpeg")
    if m.any():
        out["screen_jpeg_mae"] = round(float((pred[m] - q[m]).abs().mean()), 2)
    return out


@torch.no_grad()
def x265_report(head: DctQualityHead, check: dict) -> dict:
    """Per setting: mean predicted quality, the best fixed grid strength, and dB lost against each frame's best."""
    out = {}
    for name, (f, curves) in check.items():
        pred = head.from_features(f)[:, 0]
        out[name] = {"predicted": round(float(pred.mean()), 1),
                     "best_fixed": STRENGTH_GRID[int(curves.mean(0).argmin())],
                     "db_lost": round(float(db_lost(torch.log(pred)[:, None], curves).mean()), 4)}
    out["mean_db_lost"] = round(float(np.mean([v["db_lost"] for v in out.values()])), 4)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default=str(SHIPPED))
    ap.add_argument("--samples", type=int, default=4000)
    ap.add_argument("--val-samples", type=int, default=600)
    ap.add_argument("--codec-fraction", type=float, default=0.3)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--codec-weight", type=float, default=20.0, help="loss weight of a dB lost on codec frames")
    ap.add_argument("--codec-size", type=int, default=256,
                    help="codec clips are 128 to this many pixels square (the app's head sees a 256px crop)")
    ap.add_argument("--clean-fraction", type=float, default=0.06,
                    help="never-compressed crops, half photos, half screen content (fitted to be left alone)")
    ap.add_argument("--screen-fraction", type=float, default=0.15, help="JPEGs of screen content (training/graphics.py)")
    ap.add_argument("--no-x265-check", action="store_true", help="skip the held-out x265-default report")
    ap.add_argument("--report-only", action="store_true", help="score the head already in --weights; fit nothing")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--copy-from", default="", help="take the head of this model file instead of fitting one")
    args = ap.parse_args()
    torch.set_num_threads(2)
    t0 = time.time()
    if args.copy_from:
        donor = build_model(_spec_from_file(Path(args.copy_from)))
        if donor.config.get("head") != "dct":
            raise SystemExit(f"{args.copy_from} has no fitted DCT quality head")
        with safe_open(args.copy_from, framework="pt") as fh:
            fit_report = json.loads((fh.metadata() or {}).get("quality_head_fit", "{}"))
        install(Path(args.weights), donor.quality_head, donor.config["head_width"], fit_report)
        return
    train_photos, val_photos = load_images(DATA, 160)
    rng = np.random.default_rng(args.seed)
    trunk = build_model(_spec_from_file(Path(args.weights))).eval()
    head = trunk.quality_head if args.report_only else DctQualityHead(args.hidden)
    mix = dict(clean_fraction=args.clean_fraction, screen_fraction=args.screen_fraction)
    tr_im, tr_q, tr_c, tr_k = ([], torch.zeros(0), torch.zeros(0), []) if args.report_only else \
        make_set(rng, train_photos, args.samples, args.codec_fraction, trunk, args.codec_size, **mix)
    va_im, va_q, va_c, va_k = make_set(np.random.default_rng(args.seed + 1), val_photos, args.val_samples,
                                       args.codec_fraction, trunk, args.codec_size, **mix)
    check = {} if args.no_x265_check else x265_check_set(np.random.default_rng(args.seed + 2), val_photos, trunk)
    check = {name: (features(head, images), curves) for name, (images, curves) in check.items()}
    va_f = features(head, va_im)
    print(f"{len(tr_im)} + {len(va_im)} samples in {time.time() - t0:.0f} s", flush=True)
    result = {}
    if not args.report_only:
        tr_f = features(head, tr_im)
        fit(head, tr_f, tr_q, tr_c, args.steps, args.seed, args.codec_weight)
        result["train"] = report(head, tr_f, tr_q, tr_c, tr_k)
    result["held_out"] = report(head, va_f, va_q, va_c, va_k)
    if check:
        result["held_out"]["x265_default"] = x265_report(head, check)
    print(json.dumps(result, indent=1))
    if not np.isfinite(result["held_out"]["jpeg_mae"]):  # a diverged fit must never replace a working head
        raise SystemExit("the fit diverged (non-finite errors): nothing written")
    if not args.report_only:
        install(Path(args.weights), head, args.hidden, result["held_out"])
    print(f"({time.time() - t0:.0f} s)")


def install(path: Path, head: DctQualityHead, hidden: int, fit_report: dict) -> None:
    """Put `head` into the model file at `path`, keeping its trunk and metadata."""
    with safe_open(str(path), framework="pt") as fh:
        meta = dict(fh.metadata() or {})
    model = build_model(_spec_from_file(path))
    model.quality_head = head
    model.config.update(head="dct", head_width=hidden)
    extra = {k: v for k, v in meta.items() if k not in ("arch", "title", "config", "quality_input", "blind_head",
                                                         "fp16", "tiling", "default_for")}
    extra["quality_head_fit"] = json.dumps(fit_report)
    save_model(model, path, meta.get("title", path.stem),
               default_for=tuple(x for x in meta.get("default_for", "").split(",") if x), extra=extra)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()

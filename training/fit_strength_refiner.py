"""Train the StrengthRefiner (engine/models/strength_refiner.py) end-to-end through the frozen shipped restorer.

    python -m training.fit_strength_refiner --minutes 35

Data: H.264 clips (libx264, encoder defaults: B-frames and adaptive quantisation; CRF and constant QP) made from
crops of the training photos that drift like a handheld pan, decoded with their per-macroblock QP. The input map is
exactly what Auto feeds at run time (QP -> quality through the shipped "sweep" calibration); the loss is the
restorer's MSE against the clean frame when steered by the refined map, so only the refiner learns. Clips from the
8 held-out BSDS500 val photos measure the gain over the plain QP map. The result goes to
resources/models/refiners/<model>.safetensors, tagged with the digest of the weights it was trained through
(a refiner is only used with exactly those weights).
"""
from __future__ import annotations

import argparse
import io
import json
import math
import time
from fractions import Fraction
import multiprocessing
from pathlib import Path

import av
import numpy as np
import torch
import torch.nn.functional as F

from engine.auto.qp import frame_quality, quality_map_from_qp
from engine.media.video_reader import PICT_TYPES, frame_qp_map
from engine.models.refiners import load_refiner_file, refiner_path, save_refiner, weights_digest
from engine.models.registry import build_model, list_models
from engine.models.strength_refiner import StrengthRefiner
from training.degrade import camera_clip, psnr
from training.train import DATA, load_images

SETTINGS_CRF = (20, 46)  # CRF range sampled (inclusive low, exclusive high)
SETTINGS_QP = (22, 47)


def encode_decode(frames: list[np.ndarray], mode: str, value: int, preset: str) -> list[tuple]:
    """libx264 with its defaults (B-frames, aq) at `mode`=value -> [(decoded RGB, per-macroblock QP, "I"|"P"|"B")]."""
    h, w = frames[0].shape[:2]
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        stream.options = {mode: str(value), "preset": preset, "threads": "1", "x264-params": "log-level=none"}
        stream.time_base = Fraction(1, 25)
        for i, rgb in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(rgb, format="rgb24")
            vf.pts = i
            out.mux(stream.encode(vf))
        out.mux(stream.encode(None))
    buf.seek(0)
    with av.open(buf) as inp:
        inp.streams.video[0].codec_context.options = {"export_side_data": "venc_params"}
        return [(fr.to_ndarray(format="rgb24"), frame_qp_map(fr), PICT_TYPES.get(int(fr.pict_type), "?"))
                for fr in inp.decode(video=0)]


CRF_SHARE = 0.7


def make_clip(job: tuple) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """(image, seed, size, frames) -> [(decoded, clean, Auto's quality map, per-frame Auto's quality)] per frame."""
    image, seed, size, n, crf_share = job
    rng = np.random.default_rng(seed)
    clean = camera_clip(image, size, n, rng)
    crf = rng.random() < crf_share
    mode, value = ("crf", int(rng.integers(*SETTINGS_CRF))) if crf else ("qp", int(rng.integers(*SETTINGS_QP)))
    preset = "medium" if rng.random() < 0.6 else "veryfast"
    out = []
    for (rgb, qp_map, kind), ref in zip(encode_decode(clean, mode, value, preset), clean):
        if qp_map is None:
            continue
        out.append((rgb, ref, quality_map_from_qp(qp_map, size, size, "h264"), frame_quality(qp_map, "h264", kind)))
    return out


def make_set(images: list[np.ndarray], clips: int, size: int, frames: int, seed: int, workers: int,
             crf_share: float = CRF_SHARE):
    rng = np.random.default_rng(seed)
    jobs = [(images[int(rng.integers(0, len(images)))], seed * 100003 + k, size, frames, crf_share)
            for k in range(clips)]
    if workers <= 1:
        clips_made = map(make_clip, jobs)
        samples = [s for clip in clips_made for s in clip]
    else:
        # spawn, not fork: a child forked while torch's or libx264's threads hold a lock hangs in its first encode
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            samples = [s for clip in pool.imap(make_clip, jobs, chunksize=4) for s in clip]
    deg = torch.from_numpy(np.stack([s[0] for s in samples])).permute(0, 3, 1, 2).contiguous()
    ref = torch.from_numpy(np.stack([s[1] for s in samples])).permute(0, 3, 1, 2).contiguous()
    qmap = torch.from_numpy(np.stack([s[2] for s in samples]))[:, None]
    level = torch.tensor([s[3] for s in samples], dtype=torch.float32)
    return deg, ref, qmap, level


def as_float(t: torch.Tensor) -> torch.Tensor:
    return t.float().div_(255.0)


def frame_log_mse(out: torch.Tensor, ref: torch.Tensor) -> torch.Tensor:
    return torch.log((out - ref).pow(2).mean(dim=(1, 2, 3)) + 1e-8).mean()


def trunk(model, amp: bool):
    """The frozen restorer, in bf16 autocast when asked (as the app runs it on CPUs with bf16 units)."""
    def run(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            return model(x, q).float()
    return run


@torch.no_grad()
def evaluate(model, refiner, data, batch: int = 16) -> dict:
    """Mean PSNR (dB, on 8-bit RGB) restored with the QP map, at per-frame Auto's quality and with the refined map."""
    deg, ref, qmap, level = data
    plain, per_frame, refined, moved = [], [], [], []
    for i in range(0, len(deg), batch):
        x, q, lv = as_float(deg[i:i + batch]), qmap[i:i + batch], level[i:i + batch]
        r = refiner(x, q, lv if refiner.frame_level else None)
        moved.append((torch.log(r) - torch.log(q)).abs().mean().item())
        flat = lv.view(-1, 1, 1, 1).expand_as(q)
        for out, dest in ((model(x, q), plain), (model(x, flat), per_frame), (model(x, r), refined)):
            rgb = (out.clamp(0, 1) * 255).round().byte().permute(0, 2, 3, 1).numpy()
            clean = ref[i:i + batch].permute(0, 2, 3, 1).numpy()
            dest.extend(psnr(c, o) for c, o in zip(clean, rgb))
    return {"qp_map": round(float(np.mean(plain)), 4), "per_frame": round(float(np.mean(per_frame)), 4),
            "refined": round(float(np.mean(refined)), 4), "gain": round(float(np.mean(refined) - np.mean(plain)), 4),
            "gain_over_frame": round(float(np.mean(refined) - np.mean(per_frame)), 4),
            "mean_abs_log_change": round(float(np.mean(moved)), 4)}


def train(args) -> None:
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    spec = next(s for s in list_models() if s.name == args.model)
    model = build_model(spec)
    for p in model.parameters():
        p.requires_grad_(False)
    model = trunk(model, args.amp)
    images, val_images = load_images(Path(args.data), args.size + 64)
    t0 = time.time()
    train_set = make_set(images, args.clips, args.size, args.frames, args.seed + 1, args.threads, args.crf_share)
    val_set = make_set(val_images, args.val_clips, args.size, args.frames, args.seed + 2, args.threads)
    print(f"data: {len(train_set[0])} training frames, {len(val_set[0])} validation frames "
          f"({time.time() - t0:.0f} s)", flush=True)
    if args.frame_level and not args.centre:
        raise SystemExit("--frame-level needs --centre")
    refiner = StrengthRefiner(width=args.width, centre=args.centre, frame_level=args.frame_level)
    if args.init:  # continue from a refiner's weights (its width), in the centring mode asked for now
        refiner = load_refiner_file(Path(args.init))
        refiner.centre = refiner.config["centre"] = args.centre
        refiner.frame_level = refiner.config["frame_level"] = args.frame_level
    print("start", json.dumps(evaluate(model, refiner, val_set)), flush=True)
    opt = torch.optim.AdamW(refiner.parameters(), lr=args.lr, weight_decay=1e-4)
    rng = np.random.default_rng(args.seed)
    start, step, losses, history = time.time(), 0, [], []
    deadline = start + args.minutes * 60
    while time.time() < deadline:
        frac = min(1.0, (time.time() - start) / (args.minutes * 60))
        for g in opt.param_groups:
            g["lr"] = 1e-5 + 0.5 * (args.lr - 1e-5) * (1 + math.cos(math.pi * frac))
        idx = torch.from_numpy(rng.integers(0, len(train_set[0]), args.batch))
        x, y, q = as_float(train_set[0][idx]), as_float(train_set[1][idx]), train_set[2][idx]
        lv = train_set[3][idx] if args.frame_level else None
        if rng.random() < 0.5:  # a horizontal flip keeps 16-px alignment when the size is a multiple of 16
            x, y, q = x.flip(-1), y.flip(-1), q.flip(-1)
        # Mean log-MSE per frame = mean PSNR per frame, the figure Auto is judged by: a plain MSE over the batch lets
        # heavily damaged frames dominate and trades their dB for the cleaner frames'.
        loss = frame_log_mse(model(x, refiner(x, q, lv)), y)
        with torch.no_grad():  # the gain is over what the refiner starts from: the QP map, or per-frame Auto
            start_q = q if lv is None else lv.view(-1, 1, 1, 1).expand_as(q)
            base = frame_log_mse(model(x, start_q), y) if step % 10 == 0 else None
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        if base is not None:
            losses.append(10 / math.log(10) * (base.item() - loss.item()))
        if step % 200 == 0:
            print(f"step {step} batch gain {np.mean(losses[-20:]):+.4f} dB  {(time.time() - start) / 60:.1f} min",
                  flush=True)
        if step % args.val_every == 0:
            history.append({"step": step, **evaluate(model, refiner, val_set)})
            print(json.dumps(history[-1]), flush=True)
    history.append({"step": step, "minutes": round((time.time() - start) / 60, 1),
                    **evaluate(model, refiner, val_set)})
    print(json.dumps(history[-1]), flush=True)
    out = Path(args.out) if args.out else refiner_path(spec.name)
    save_refiner(refiner, out, for_model=spec.name, digest=weights_digest(spec.path),
                 extra={"steps": step, "val_gain_db": history[-1]["gain"]})
    print(f"saved {out}")


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="restora-small")
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--minutes", type=float, default=35)
    ap.add_argument("--clips", type=int, default=1200)
    ap.add_argument("--val-clips", type=int, default=48)
    ap.add_argument("--frames", type=int, default=6)
    ap.add_argument("--size", type=int, default=128)
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--width", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--val-every", type=int, default=1000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--centre", action="store_true", help="refine around the frame's mean quality (see the model)")
    ap.add_argument("--frame-level", action="store_true",
                    help="with --centre: move from per-frame Auto's quality (I/P/B-corrected), not the map's mean")
    ap.add_argument("--crf-share", type=float, default=CRF_SHARE, help="share of CRF clips (the rest constant QP)")
    ap.add_argument("--init", default="", help="continue from this refiner file")
    ap.add_argument("--amp", action="store_true", help="run the frozen restorer in bf16 autocast (AMX CPUs: ~2x)")
    ap.add_argument("--out", default="", help="where to write the refiner (default: next to the model)")
    train(ap.parse_args(argv))


if __name__ == "__main__":
    main()

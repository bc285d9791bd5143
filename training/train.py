"""Train RestoraNet. Separate from the app: nothing under engine/ or gui/ imports this package.

    python -m training.train --minutes 90                     # fresh run (or resumes checkpoints/ if present)
    python -m training.train --init resources/models/restora-small.safetensors --minutes 60   # continue shipped
    python -m training.train --head-only --minutes 8          # then fit the blind quality head (trunk frozen)
    python -m training.train --export                         # write resources/models/restora-small.safetensors
    python -m training.train --init resources/models/restora-small.safetensors --grow c1=64,blocks2=6 --amp
                                                              # a bigger net that starts as the shipped one

Data: ../shared/data/train (BSDS500 train+val, wallpapers downscaled 3x); 8 BSDS500 val images are held out for the
running validation. Degradations are made on the fly (training/degrade.py).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from engine.models.registry import save_model
from engine.models.restora_net import UNSHUFFLE, QualityHead, RestoraNet
from training.grow import grow
from training.degrade import Degrader, camera_clip, codec_roundtrip, h264_label_map, jpeg, psnr

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "train"
CKPT_DIR = ROOT / "checkpoints"
SHIPPED = ROOT / "resources" / "models" / "restora-small.safetensors"
HELD_OUT = 8


def load_images(data: Path, min_side: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
    bsds = sorted((data / "BSDS500_train").glob("*.jpg")) + sorted((data / "BSDS500_val").glob("*.jpg"))
    val_paths = bsds[-HELD_OUT:]
    train = [np.asarray(Image.open(p).convert("RGB")) for p in bsds[:-HELD_OUT]]
    for p in sorted((data / "wallpaper_photos").glob("*")):
        img = Image.open(p).convert("RGB")
        # Wallpapers are JPEG q70-99: a 3x box downscale removes their own artifacts before we add ours.
        img = img.resize((img.width // 3, img.height // 3), Image.BOX)
        train.append(np.asarray(img))
    train = [im for im in train if min(im.shape[:2]) >= min_side]
    val = [np.asarray(Image.open(p).convert("RGB")) for p in val_paths]
    return train, val


def charbonnier(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-3) -> torch.Tensor:
    return torch.sqrt((a - b) ** 2 + eps * eps).mean()


def batch(degrader: Degrader, images: list[np.ndarray], size: int, rng: np.random.Generator):
    xs, ys, qs = [], [], []
    for _ in range(size):
        d, c, q = degrader(images[int(rng.integers(0, len(images)))])
        xs.append(d), ys.append(c), qs.append(q)
    to_t = lambda a: torch.from_numpy(np.stack(a)).permute(0, 3, 1, 2).float().div_(255.0)
    return to_t(xs), to_t(ys), torch.from_numpy(np.stack(qs))[:, None]


@torch.no_grad()
def validate(model: RestoraNet, val: list[np.ndarray]) -> dict:
    model.eval()
    out = {}
    for q in (10, 40):
        gains, head_err = [], []
        for im in val:
            h, w = (im.shape[0] // 8) * 8, (im.shape[1] // 8) * 8
            im = im[:h, :w]
            deg = jpeg(im, q)
            x = torch.from_numpy(deg.copy()).permute(2, 0, 1)[None].float() / 255
            y = model(x, torch.tensor([float(q)]))
            rest = (y[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            gains.append(psnr(im, rest) - psnr(im, deg))
            head_err.append(abs(float(model.predict_quality(x)) - q))
        out[f"gain_q{q}"] = round(float(np.mean(gains)), 3)
        out[f"head_err_q{q}"] = round(float(np.mean(head_err)), 2)
    out["gain_h264_crf32"] = round(_h264_gain(model, val, crf=32), 3)
    model.train()
    return out


def _h264_gain(model: RestoraNet, val: list[np.ndarray], crf: int) -> float:
    """Mean PSNR gain on H.264 (CRF, adaptive quantisation) frames steered by their per-macroblock label map."""
    gains = []
    for k, im in enumerate(val):
        clean = camera_clip(im, 160, 6, np.random.default_rng(k))
        for (deg, qp_map), ref in list(zip(codec_roundtrip(clean, "libx264", crf, False, crf=True, with_qp=True),
                                           clean))[3:]:
            x = torch.from_numpy(deg.copy()).permute(2, 0, 1)[None].float() / 255
            qmap = torch.from_numpy(h264_label_map(qp_map, *deg.shape[:2]))[None, None]
            rest = (model(x, qmap)[0].clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            gains.append(psnr(ref, rest) - psnr(ref, deg))
    return float(np.mean(gains))


def save_checkpoint(model, opt, step: int, log: list) -> None:
    CKPT_DIR.mkdir(exist_ok=True)
    tmp = CKPT_DIR / "model.tmp.safetensors"
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    os.replace(tmp, CKPT_DIR / "model.safetensors")
    torch.save({"opt": opt.state_dict(), "step": step, "config": model.config}, CKPT_DIR / "optim.tmp.pt")
    os.replace(CKPT_DIR / "optim.tmp.pt", CKPT_DIR / "optim.pt")
    (CKPT_DIR / "log.json").write_text(json.dumps(log, indent=1))


def export(args) -> None:
    state = load_file(str(CKPT_DIR / "model.safetensors"))
    meta = torch.load(CKPT_DIR / "optim.pt", map_location="cpu", weights_only=False)
    model = RestoraNet(**meta["config"])
    model.load_state_dict(state)
    log = json.loads((CKPT_DIR / "log.json").read_text()) if (CKPT_DIR / "log.json").exists() else []
    save_model(model, SHIPPED, "Restora small (CPU real-time)", default_for=("cpu", "cuda", "mps"),
               extra={"steps": meta["step"], "trained_minutes": round(sum(e.get("minutes", 0) for e in log[-1:]), 1)})
    print(f"exported step {meta['step']} -> {SHIPPED}")


def _config_of(path: Path) -> dict:
    with safe_open(str(path), framework="pt") as f:
        return json.loads((f.metadata() or {}).get("config", "{}"))


def _initial_model(args):
    """From checkpoints/ (resume), else --init weights, else fresh. Returns model, step, log, optimizer state."""
    if (CKPT_DIR / "model.safetensors").exists() and not args.fresh:
        meta = torch.load(CKPT_DIR / "optim.pt", map_location="cpu", weights_only=False)
        model = RestoraNet(**meta["config"])
        model.load_state_dict(load_file(str(CKPT_DIR / "model.safetensors")))
        print(f"resumed from checkpoint at step {meta['step']}")
        return model, meta["step"], json.loads((CKPT_DIR / "log.json").read_text()), meta["opt"]
    if args.init:
        model = RestoraNet(**_config_of(Path(args.init)))
        model.load_state_dict(load_file(args.init))
        print(f"initialised from {args.init}")
        if args.grow:
            model = grow(model, **_parse_grow(args.grow))
            print(f"grown to {model.config}")
        return model, 0, [], None
    return RestoraNet(), 0, [], None


def _parse_grow(text: str) -> dict:
    """'c1=64,blocks2=6' -> {'c1': 64, 'blocks2': 6}."""
    try:
        return {k.strip(): int(v) for k, v in (item.split("=") for item in text.split(",") if item.strip())}
    except ValueError:
        raise SystemExit(f"--grow takes key=value pairs such as c1=64,blocks2=6, not {text!r}")


def train(args) -> None:
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    images, val = load_images(Path(args.data), args.patch + 32)
    model, step, log, opt_state = _initial_model(args)
    # The shipped blind head ("dct") has fixed features and is fitted separately (training/fit_quality_head.py);
    # only the older conv head learns here, jointly (--head-weight) or alone (--head-only).
    learn_head = model.config.get("head", "conv") == "conv"
    if args.head_only and not learn_head:
        raise SystemExit("this model's quality head is fitted with: python -m training.fit_quality_head")
    for name, p in model.named_parameters():
        p.requires_grad_(learn_head or not name.startswith("quality_head."))
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.0)
    if opt_state is not None:
        try:
            opt.load_state_dict(opt_state)
        except ValueError:  # the last run trained a different parameter set (e.g. --head-only)
            print("optimizer state does not match this run; starting it fresh")
    model = model.to(memory_format=torch.channels_last).train()
    if args.head_only:
        if args.reset_head:
            model.quality_head = QualityHead(3 * UNSHUFFLE ** 2, model.config["head_width"])
        for name, p in model.named_parameters():
            p.requires_grad_(name.startswith("quality_head."))
        opt = torch.optim.AdamW(model.quality_head.parameters(), lr=args.lr, weight_decay=0.0)
    degrader = Degrader(args.patch, codec_fraction=args.codec_fraction, seed=args.seed + step)
    start, last_save = time.time(), time.time()
    deadline = start + args.minutes * 60
    total_steps = step + args.steps if args.steps else None
    losses = []
    first_step = step
    # bf16 autocast: AMX/AVX512-BF16 CPUs run these convs ~2x faster; weights, loss and optimiser stay float32.
    autocast = torch.autocast("cpu", dtype=torch.bfloat16, enabled=args.amp)
    while time.time() < deadline and (total_steps is None or step < total_steps):
        # Cosine decay over this run's time budget (time-based: the CPU is shared, step rates vary).
        frac = min(1.0, (time.time() - start) / (args.minutes * 60))
        lr = args.lr_min + 0.5 * (args.lr - args.lr_min) * (1 + math.cos(math.pi * frac))
        if args.warmup and step - first_step < args.warmup:  # a fresh optimiser's first steps are its largest
            lr *= (step - first_step + 1) / args.warmup
        for g in opt.param_groups:
            g["lr"] = lr
        x, y, q = batch(degrader, images, args.batch, rng)
        x, y = x.contiguous(memory_format=torch.channels_last), y.contiguous(memory_format=torch.channels_last)
        q_true = q.mean(dim=(1, 2, 3))
        head_loss = F.l1_loss(torch.log(model.predict_quality(x)), torch.log(q_true)) if learn_head else torch.zeros(())
        if args.head_only:
            loss = head_loss
        else:
            with autocast:
                out = model(x, q)
            loss = charbonnier(out.float(), y) + args.head_weight * head_loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        step += 1
        losses.append(loss.item())
        if step % 50 == 0:
            print(f"step {step} loss {np.mean(losses[-50:]):.5f} head {float(head_loss):.3f} lr {lr:.2e} "
                  f"{(time.time() - start) / 60:.1f} min", flush=True)
        if step % args.val_every == 0 or time.time() - last_save > 600:
            entry = {"step": step, "minutes": round((time.time() - start) / 60, 1), "loss": float(np.mean(losses[-200:]))}
            if step % args.val_every == 0:
                entry.update(validate(model, val))
            log.append(entry)
            print(json.dumps(entry), flush=True)
            save_checkpoint(model, opt, step, log)
            last_save = time.time()
    log.append({"step": step, "minutes": round((time.time() - start) / 60, 1), **validate(model, val)})
    print(json.dumps(log[-1]), flush=True)
    save_checkpoint(model, opt, step, log)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--minutes", type=float, default=90)
    ap.add_argument("--steps", type=int, default=0, help="stop after this many steps (0 = time only)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--patch", type=int, default=96)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-min", type=float, default=2e-5)
    ap.add_argument("--codec-fraction", type=float, default=0.2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--val-every", type=int, default=500)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--init", default="", help="start from these weights (e.g. the shipped model)")
    ap.add_argument("--fresh", action="store_true", help="ignore checkpoints/")
    ap.add_argument("--head-only", action="store_true", help="train only the blind quality head")
    ap.add_argument("--head-weight", type=float, default=0.02)
    ap.add_argument("--reset-head", action="store_true", help="with --head-only: start the head from scratch")
    ap.add_argument("--grow", default="", help="with --init: widen/deepen first, e.g. c1=64,blocks2=6")
    ap.add_argument("--amp", action="store_true", help="bfloat16 autocast (fast on AMX / AVX512-BF16 CPUs)")
    ap.add_argument("--warmup", type=int, default=0, help="linear learning-rate warm-up over this many steps")
    ap.add_argument("--export", action="store_true", help="write the shipped weights from checkpoints/")
    args = ap.parse_args()
    export(args) if args.export else train(args)


if __name__ == "__main__":
    main()

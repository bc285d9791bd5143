"""`restora restore`: the JSON contract, folder mode, and one-line failures that leave nothing behind."""
from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from engine.cli import main as cli_main
from engine.evaluation.report import write_json
from tests.engine.export_media import make_clip, moving_pattern, video_pts_seconds

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def media(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    Image.fromarray(moving_pattern(0, 64, 48)).save(folder / "still.jpg", quality=25)
    make_clip(folder / "clip.mp4", frames=12, size=(64, 48), audio=True)
    (folder / "notes.txt").write_text("not media")
    return folder


def _run(argv, capsys):
    code = cli_main(["restore", *map(str, argv)])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_contract_for_a_folder(media, tmp_path, capsys):
    out_dir = tmp_path / "out"
    code, out, err = _run([media, "-o", out_dir, "--model", "deblock", "--json", "--preset", "ultrafast"], capsys)
    assert code == 0, err
    items = {Path(i["input"]).name: i for i in json.loads(out)["items"]}
    assert set(items) == {"clip.mp4", "still.jpg"}
    still, clip = items["still.jpg"], items["clip.mp4"]
    assert still["output"] == str(out_dir / "still.png") and still["quality_source"] == "jpeg-tables"
    assert clip["output"] == str(out_dir / "clip.mp4") and clip["frames"] == 12 and clip["skipped_frames"] == 0
    for item in items.values():
        assert item["restore_seconds"] > 0 and 1 <= item["quality_used"] <= 100
    assert set(clip["seconds"]) >= {"decode", "restore", "encode", "mux"} and clip["fps"] > 0
    assert len(video_pts_seconds(out_dir / "clip.mp4")) == 12
    assert sorted(p.name for p in out_dir.iterdir()) == ["clip.mp4", "still.png"]


def test_single_file_with_fixed_quality_and_codec(media, tmp_path, capsys):
    dst = tmp_path / "restored.mkv"
    code, out, err = _run([media / "clip.mp4", "-o", dst, "--model", "deblock", "--quality", "30", "--codec", "ffv1",
                           "--json"], capsys)
    assert code == 0, err
    item = json.loads(out)["items"][0]
    assert item["quality_used"] == 30 and item["quality_source"] == "manual" and dst.exists()


@pytest.mark.parametrize("case", ["missing", "empty", "not-media", "over-input", "bad-quality", "bad-combo"])
def test_bad_requests_exit_2_with_one_line(media, tmp_path, capsys, case):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    argv = {
        "missing": [tmp_path / "nope.mp4", "-o", tmp_path / "x.mp4"],
        "empty": [empty, "-o", tmp_path / "x.mp4"],
        "not-media": [media / "notes.txt", "-o", tmp_path / "x.png"],
        "over-input": [media / "still.jpg", "-o", media / "still.jpg"],
        "bad-quality": [media / "still.jpg", "-o", tmp_path / "x.png", "--quality", "150"],
        "bad-combo": [media / "clip.mp4", "-o", tmp_path / "x.mp4", "--codec", "ffv1"],
    }[case]
    before = sorted(p.name for p in tmp_path.rglob("*"))
    code, out, err = _run([*argv, "--model", "deblock"], capsys)
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("restora restore: ") and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.rglob("*")) == before


def test_unwritable_output_folder(media, tmp_path, capsys):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if _can_write(locked):
            pytest.skip("running as a user who can write anywhere")
        code, out, err = _run([media / "still.jpg", "-o", locked / "x.png", "--model", "deblock"], capsys)
        assert code == 2 and "not writable" in err
    finally:
        locked.chmod(0o700)


def test_a_folder_that_refuses_new_files_despite_its_permission_bits(media, tmp_path, capsys, monkeypatch):
    """As root every folder looks writable, yet /proc or a read-only mount refuse the file: one line, exit 2."""
    import engine.media.image_io as image_io

    refusing = tmp_path / "refusing"
    refusing.mkdir()
    real_temp_beside = image_io.temp_beside

    def temp_beside(path, *args, **kwargs):
        if Path(path).parent == refusing:
            raise PermissionError(13, "Permission denied")
        return real_temp_beside(path, *args, **kwargs)

    monkeypatch.setattr(image_io, "temp_beside", temp_beside)
    code, out, err = _run([media / "still.jpg", "-o", refusing / "x.png", "--model", "deblock"], capsys)
    assert code == 2
    assert "refuses new files" in err and "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert not list(refusing.iterdir())


def test_output_inside_a_file_is_refused(media, tmp_path, capsys):
    code, out, err = _run([media / "still.jpg", "-o", media / "notes.txt" / "x.png", "--model", "deblock"], capsys)
    assert code == 2 and "does not exist" in err


def _can_write(folder: Path) -> bool:
    try:
        (folder / ".probe").write_text("x")
    except OSError:
        return False
    (folder / ".probe").unlink()
    return True


def test_entry_point_prints_no_traceback(tmp_path):
    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "restore", str(tmp_path / "missing.jpg"), "-o",
                           str(tmp_path / "out.png")], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "not found" in proc.stderr


def test_version_is_one_line_naming_what_it_runs_on(tmp_path):
    from importlib import metadata

    from engine.version import VERSION

    proc = subprocess.run([sys.executable, str(ROOT / "main.py"), "--version"], capture_output=True, text=True,
                          timeout=60, env={**os.environ, "COLUMNS": "40"})  # a narrow terminal must not wrap it
    assert proc.returncode == 0 and proc.stderr == ""
    line = proc.stdout.strip()
    assert "\n" not in line and line.startswith(f"restora {VERSION} (Python ")
    assert f"PyTorch {metadata.version('torch')}" in line and f"PyAV {metadata.version('av')}" in line
    assert metadata.version("restora") == VERSION  # pyproject.toml reads the same number


def test_an_animated_image_is_restored_as_its_first_frame_and_says_so(tmp_path, capsys):
    frames = [Image.fromarray(moving_pattern(i, 64, 48)) for i in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=80)
    code, out, err = _run([tmp_path / "anim.gif", "-o", tmp_path / "out.png", "--model", "deblock", "--json"], capsys)
    assert code == 0, err
    item = json.loads(out)["items"][0]
    assert item["notes"] == ["3 frames: restored the first (animated images are read as stills)"]
    assert Image.open(tmp_path / "out.png").size == (64, 48)
    code, out, err = _run([tmp_path / "anim.gif", "-o", tmp_path / "again.png", "--model", "deblock"], capsys)
    assert code == 0 and err.strip() == "restora restore: anim.gif: 3 frames: restored the first (animated " \
                                       "images are read as stills)"
    code, out, err = _run([tmp_path / "out.png", "-o", tmp_path / "still.png", "--model", "deblock", "--json"], capsys)
    assert json.loads(out)["items"][0]["notes"] == [] and err == ""


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def test_outputs_get_the_permissions_of_any_new_file(media, tmp_path, capsys):
    # a temp file renamed into place once left restored stills readable by their owner only (0600)
    old = os.umask(0o022)
    try:
        out_dir = tmp_path / "out"
        code, _, err = _run([media, "-o", out_dir, "--model", "deblock", "--preset", "ultrafast"], capsys)
        assert code == 0, err
        report = tmp_path / "report.json"
        write_json(report, {"a": 1})
        for path in [out_dir / "still.png", out_dir / "clip.mp4", report]:
            assert stat.S_IMODE(path.stat().st_mode) == 0o644 == 0o666 & ~_umask(), path
    finally:
        os.umask(old)

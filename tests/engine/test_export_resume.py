"""Resume: an export interrupted midway continues from its finished segments and ends frame-for-frame equal to
an uninterrupted run; a stale or foreign work folder is never reused."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from engine.export import ExportSettings, export_video
from engine.export.segments import work_dir_for
from engine.restore import create_restorer
from tests.engine.export_media import decoded_frames, make_clip, packet_payloads, video_pts_seconds

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = ExportSettings(segment_seconds=0.32, quality=40)  # 8-frame segments at 25 fps; x264 medium: B-frames


class Killed(Exception):
    """Stands in for the process dying: not a cancel, so the finished segments stay."""


@pytest.fixture(scope="module")
def clip(tmp_path_factory):
    folder = tmp_path_factory.mktemp("resume")
    src = folder / "clip.mp4"
    make_clip(src, frames=30, audio=True)
    reference = folder / "reference.mp4"
    export_video(src, reference, SETTINGS, restorer=create_restorer("deblock"))
    return src, reference


def _die_in_segment(segment):
    def progress(p):
        if p.segment >= segment:
            raise Killed

    return progress


def _assert_same_export(a: Path, b: Path):
    assert video_pts_seconds(a) == video_pts_seconds(b)
    frames_a, frames_b = decoded_frames(a), decoded_frames(b)
    assert len(frames_a) == len(frames_b)
    assert all((x == y).all() for x, y in zip(frames_a, frames_b))
    assert packet_payloads(a, "audio") == packet_payloads(b, "audio")


def test_interrupted_export_resumes_to_the_same_file(clip, tmp_path):
    src, reference = clip
    dst = tmp_path / "out.mp4"
    with pytest.raises(Killed):
        export_video(src, dst, SETTINGS, restorer=create_restorer("deblock"), progress=_die_in_segment(2))
    assert not dst.exists()
    manifest = json.loads((work_dir_for(dst) / "manifest.json").read_text())
    assert [s["index"] for s in manifest["segments"]] == [0, 1]
    report = export_video(src, dst, SETTINGS, restorer=create_restorer("deblock"), resume=True)
    assert report.resumed_frames == 16 and report.frames == 30
    _assert_same_export(dst, reference)
    assert not work_dir_for(dst).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_changed_settings_start_over(clip, tmp_path):
    src, _ = clip
    dst = tmp_path / "out.mp4"
    with pytest.raises(Killed):
        export_video(src, dst, SETTINGS, restorer=create_restorer("deblock"), progress=_die_in_segment(2))
    other = ExportSettings(segment_seconds=0.32, quality=60)
    report = export_video(src, dst, other, restorer=create_restorer("deblock"), resume=True)
    assert report.resumed_frames == 0 and report.frames == 30


def test_without_resume_an_old_work_folder_is_discarded(clip, tmp_path):
    src, reference = clip
    dst = tmp_path / "out.mp4"
    with pytest.raises(Killed):
        export_video(src, dst, SETTINGS, restorer=create_restorer("deblock"), progress=_die_in_segment(1))
    report = export_video(src, dst, SETTINGS, restorer=create_restorer("deblock"))
    assert report.resumed_frames == 0
    _assert_same_export(dst, reference)


KILLER = """
import os, signal, sys
sys.path.insert(0, {root!r})
from engine.export import ExportSettings, export_video
from engine.restore import create_restorer
settings = ExportSettings(segment_seconds=0.32, quality=40)
def progress(p):
    if p.segment >= 2 and p.frames_done >= 19:  # in the middle of segment 2 (frames 16-23)
        os.kill(os.getpid(), signal.SIGKILL)
export_video({src!r}, {dst!r}, settings, restorer=create_restorer("deblock"), progress=progress)
"""


def test_sigkill_midway_then_resume(clip, tmp_path):
    src, reference = clip
    dst = tmp_path / "out.mp4"
    script = KILLER.format(root=str(ROOT), src=str(src), dst=str(dst))
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-500:]
    assert not dst.exists()
    manifest = json.loads((work_dir_for(dst) / "manifest.json").read_text())
    kept = [s["index"] for s in manifest["segments"]]
    # Segment 1 may still have been flushing on the closer thread when the kill came.
    assert kept in ([0], [0, 1])
    report = export_video(src, dst, SETTINGS, restorer=create_restorer("deblock"), resume=True)
    assert report.resumed_frames == 8 * len(kept)
    _assert_same_export(dst, reference)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.mp4"]


def test_a_cancel_that_keeps_the_partial_export_resumes_to_the_same_file(clip, tmp_path):
    """The app quitting mid-export cancels with keep_partial: the finished segments stay for a resume."""
    from engine.cancel import CancelToken
    from engine.errors import Cancelled

    src, reference = clip
    dst = tmp_path / "quit.mp4"
    token = CancelToken()

    def progress(p):
        if p.segment >= 2:
            token.cancel(keep_partial=True)
            token.cancel()  # a later plain cancel does not turn the interruption into an abandon
    with pytest.raises(Cancelled):
        export_video(src, dst, SETTINGS, restorer=create_restorer("deblock"), progress=progress, cancel=token)
    assert not dst.exists() and token.keep_partial
    manifest = json.loads((work_dir_for(dst) / "manifest.json").read_text())
    assert [s["index"] for s in manifest["segments"]][:2] == [0, 1]
    report = export_video(src, dst, SETTINGS, restorer=create_restorer("deblock"), resume=True)
    assert report.resumed_frames >= 16 and not work_dir_for(dst).exists()
    _assert_same_export(dst, reference)


def test_ctrl_c_in_the_cli_keeps_the_part_and_says_how_to_resume(tmp_path):
    """KeyboardInterrupt (Ctrl+C) midway through `restore`: exit 130, a one-line hint, and --resume finishes."""
    src, dst = tmp_path / "long.mp4", tmp_path / "cli.mp4"
    make_clip(src, frames=110)  # the CLI's 2-second segments: 50 frames each
    script = f"""
import os, signal, sys
sys.path.insert(0, {str(ROOT)!r})
from engine.cli import main, restore_cmd
sent = []
def interrupt(self, p):  # a real Ctrl+C: SIGINT to the process, delivered to the main thread
    if p.segment >= 1 and not sent:
        sent.append(os.kill(os.getpid(), signal.SIGINT))
restore_cmd._ProgressBar.__call__ = interrupt
sys.exit(main(["restore", {str(src)!r}, "-o", {str(dst)!r}, "--model", "deblock", "--quality", "40"]))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert proc.returncode == 130, proc.stderr[-500:]
    assert proc.stderr.splitlines()[-2:] == [
        "restora restore: cli.mp4: the finished part is kept; run the same command with --resume to continue",
        "restora restore: interrupted"]
    assert not dst.exists() and work_dir_for(dst).exists() and "Traceback" not in proc.stderr
    resumed = subprocess.run([sys.executable, str(ROOT / "main.py"), "restore", str(src), "-o", str(dst), "--model",
                              "deblock", "--quality", "40", "--resume", "--json"], capture_output=True, text=True,
                             timeout=120, cwd=ROOT)
    assert resumed.returncode == 0, resumed.stderr[-500:]
    item = json.loads(resumed.stdout)["items"][0]
    assert item["resumed_frames"] >= 50 and item["frames"] == 110 and not work_dir_for(dst).exists()

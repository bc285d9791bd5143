"""File → Export Files…: many files restored into one folder through the export queue, with the window's strength;
what cannot be exported is named in the notice and the rest still goes."""
from __future__ import annotations

from pathlib import Path

from PIL import Image

from .conftest import FRAME_TIMEOUT_MS, make_clip, make_jpeg

EXPORT_TIMEOUT_MS = 60000


def test_files_are_queued_into_the_folder_and_written(qtbot, window, tmp_path, monkeypatch):
    from PySide6.QtWidgets import QFileDialog

    inputs = tmp_path / "in"
    inputs.mkdir()
    photo = make_jpeg(inputs / "photo.jpg", quality=15)
    clip = make_clip(inputs / "clip.mp4", width=96, height=64, frames=8)
    notes = inputs / "notes.txt"
    notes.write_text("not media")
    out = tmp_path / "out"
    out.mkdir()
    qtbot.waitUntil(lambda: window.model_combo.count() > 0, timeout=FRAME_TIMEOUT_MS)
    window.strength.set_mode("absolute")
    window.strength.set_value(37)
    monkeypatch.setattr(QFileDialog, "getOpenFileNames", lambda *a, **k: ([str(photo), str(clip), str(notes)], ""))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(out))
    assert window.actions["export_files"] in window.menuBar().actions()[0].menu().actions()
    with qtbot.waitSignal(window.noticeShown, timeout=FRAME_TIMEOUT_MS) as notice:
        window.actions["export_files"].trigger()
    text, level = notice.args
    assert text.startswith(f"Queued 2 exports to {out}") and "1 not queued: notes.txt" in text and level == "info"
    queue = window.export_queue
    assert [(Path(e.job.dst).name, e.job.settings.quality) for e in queue.entries] == \
        [("photo_restored.png", 37.0), ("clip_restored.mp4", 37.0)]
    assert window.export_queue_dock.isVisible()
    qtbot.waitUntil(lambda: [e.state for e in queue.entries] == ["done", "done"], timeout=EXPORT_TIMEOUT_MS)
    assert Image.open(out / "photo_restored.png").size == (128, 96)
    assert sorted(p.name for p in out.iterdir()) == ["clip_restored.mp4", "photo_restored.png"]
    qtbot.waitUntil(lambda: not window.export_runner.running)


def test_auto_strength_exports_as_auto_and_nothing_queued_is_an_error_notice(qtbot, window, tmp_path):
    from gui.batch_export import batch_settings

    window.strength.set_mode("relative")
    assert batch_settings(window).quality == "auto"
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\0" * 100)
    with qtbot.waitSignal(window.noticeShown, timeout=FRAME_TIMEOUT_MS) as notice:
        assert window.batch_export.export([junk], tmp_path) == 0
    assert notice.args[1] == "error" and "junk.bin" in notice.args[0] and window.export_queue.entries == []

"""Export queue: exports asked for while one runs wait their turn and run in order; waiting jobs can be dropped,
a destination cannot be queued twice, Cancel All stops everything, and closing the window leaves nothing running."""
from __future__ import annotations

from pathlib import Path

from .conftest import make_clip, make_jpeg, open_and_wait
from .test_export_dialog import EXPORT_TIMEOUT_MS, _decoded_frames, _open_dialog, _select, slow_export  # noqa: F401


def _queue_to(dialog, dst, codec="ffv1"):
    if not dialog.is_image:
        _select(dialog.codec_combo, codec)
    dialog.path_edit.setText(str(dst))
    dialog._on_path_edited()
    return dialog.start_export()


def test_exports_asked_for_while_one_runs_wait_and_run_in_order(qtbot, window, tmp_path, slow_export):
    slow_export(delay=0.05)
    clip = make_clip(tmp_path / "clip.mp4", width=96, height=64, frames=20)
    dialog = _open_dialog(qtbot, window, clip)
    queue, dock = window.export_queue, window.export_queue_dock
    first, second = tmp_path / "first.mkv", tmp_path / "second.mkv"
    with qtbot.waitSignal(window.export_runner.progress, timeout=EXPORT_TIMEOUT_MS):
        assert _queue_to(dialog, first)
    assert dialog.export_button.text() == "Add to Queue"
    assert _queue_to(dialog, second)
    assert "Queued second.mkv" in dialog.status_label.text()
    assert [e.state for e in queue.entries] == ["running", "waiting"]
    assert dock.isVisible() and dock.list.count() == 2 and "second.mkv · waiting" in dock.list.item(1).text()
    # the same destination twice: refused with a reason, nothing added
    assert not _queue_to(dialog, second) and "already being written" in dialog.status_label.text()
    assert len(queue.entries) == 2

    # another file on screen: the dialog loads it, its export joins the queue behind the others
    photo = make_jpeg(tmp_path / "photo.jpg")
    open_and_wait(qtbot, window, photo)
    window.open_export_dialog()  # File → Export (the dialog, not the window, has the keyboard here)
    assert dialog.is_image and dialog.path_edit.text() == str(tmp_path / "photo_restored.png")
    assert dialog.start_export()

    qtbot.waitUntil(lambda: [e.state for e in queue.entries] == ["done"] * 3, timeout=3 * EXPORT_TIMEOUT_MS)
    assert _decoded_frames(first) == _decoded_frames(second) == 20 and (tmp_path / "photo_restored.png").exists()
    assert "Exported first.mkv: 20 frames" in queue.entries[0].detail
    qtbot.waitUntil(lambda: not window.export_runner.running)
    dock.clear_button.click()
    assert queue.entries == [] and dock.list.count() == 0


def test_a_waiting_job_can_be_dropped_and_cancel_all_stops_everything(qtbot, window, tmp_path, slow_export):
    slow_export(delay=0.2)
    clip = make_clip(tmp_path / "clip.mp4", width=96, height=64, frames=20)
    dialog = _open_dialog(qtbot, window, clip)
    queue, dock = window.export_queue, window.export_queue_dock
    with qtbot.waitSignal(window.export_runner.progress, timeout=EXPORT_TIMEOUT_MS):
        _queue_to(dialog, tmp_path / "a.mkv")
    _queue_to(dialog, tmp_path / "b.mkv")
    _queue_to(dialog, tmp_path / "c.mkv")
    dock.list.setCurrentRow(1)
    dock.remove_button.click()
    assert [Path(e.job.dst).name for e in queue.entries] == ["a.mkv", "c.mkv"]
    with qtbot.waitSignal(window.export_runner.cancelled, timeout=EXPORT_TIMEOUT_MS):
        dock.cancel_button.click()
    qtbot.waitUntil(lambda: not window.export_runner.running)
    qtbot.wait(200)  # nothing else may start
    assert [e.state for e in queue.entries] == ["cancelled"] and not window.export_runner.running
    assert not any((tmp_path / n).exists() for n in ("a.mkv", "b.mkv", "c.mkv"))


def test_closing_the_window_with_a_queue_starts_nothing_more(qtbot, window, tmp_path, slow_export):
    slow_export(delay=0.1)
    clip = make_clip(tmp_path / "clip.mp4", width=96, height=64, frames=20)
    dialog = _open_dialog(qtbot, window, clip)
    with qtbot.waitSignal(window.export_runner.progress, timeout=EXPORT_TIMEOUT_MS):
        _queue_to(dialog, tmp_path / "a.mkv")
    _queue_to(dialog, tmp_path / "b.mkv")
    window.close()  # the conftest guard fails the test if an export thread is still running afterwards
    assert not window.export_runner.running
    assert not (tmp_path / "a.mkv").exists() and not (tmp_path / "b.mkv").exists()


def test_a_failed_export_does_not_stop_the_queue(qtbot, window, tmp_path, monkeypatch):
    from engine.export import video_export

    from .test_export_dialog import SlowRestorer

    made = []

    def factory(settings):  # the first job's restorer crashes at frame 4, the next one is healthy
        made.append(SlowRestorer(delay=0.0, fail_after=3 if not made else None))
        return made[-1]

    monkeypatch.setattr(video_export, "_make_restorer", factory)
    clip = make_clip(tmp_path / "clip.mp4", width=96, height=64, frames=20)
    dialog = _open_dialog(qtbot, window, clip)
    queue = window.export_queue
    with qtbot.waitSignal(window.export_runner.started, timeout=EXPORT_TIMEOUT_MS):
        _queue_to(dialog, tmp_path / "fails.mkv")
    _queue_to(dialog, tmp_path / "works.mkv")
    qtbot.waitUntil(lambda: [e.state for e in queue.entries] == ["failed", "done"], timeout=2 * EXPORT_TIMEOUT_MS)
    assert "simulated crash" in queue.entries[0].detail and _decoded_frames(tmp_path / "works.mkv") == 20
    assert len(made) == 2
    qtbot.waitUntil(lambda: not window.export_runner.running)

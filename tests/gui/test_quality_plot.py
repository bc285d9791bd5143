"""Quality plot dock: toggles from the View menu, plots frameShown data and the background QP scan, seeks the
player on click, and plots PSNR against a loaded reference (computed off the GUI thread)."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import QPointF, Qt
from PySide6.QtWidgets import QDockWidget

from .conftest import FRAME_TIMEOUT_MS, make_clip, open_and_wait

SCAN_TIMEOUT_MS = 20000


def _clip_pixels(width, height, frames):
    """The same pictures as conftest.make_clip draws, uncompressed: a clean reference for that clip."""
    yy, xx = np.mgrid[0:height, 0:width]
    for i in range(frames):
        yield np.stack([(xx * 7 + i * 9) % 256, (yy * 5 + i * 3) % 256, ((xx ^ yy) * 3) % 256], -1).astype(np.uint8)


def make_reference(path, width=160, height=96, frames=20, fps=25):
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("ffv1", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "bgr0"
        for img in _clip_pixels(width, height, frames):
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _plotted(curve):
    """(x, y) of the points a curve draws: frames without a value are NaN gaps in its arrays."""
    x, y = curve.getData()
    keep = np.isfinite(y)
    return x[keep], y[keep]


def _wait_scan(qtbot, dock, frames):
    qtbot.waitUntil(lambda: np.isfinite(dock.stats.values["qp"]).sum() == frames, timeout=SCAN_TIMEOUT_MS)


def _step_to(qtbot, window, index):
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS,
                          check_params_cb=lambda r: r.frame_index == index) as blocker:
        window.clock.seek_index(index)
    return blocker.args[0]


def test_dock_sits_under_the_player_and_the_view_menu_toggles_it(qtbot, window):
    dock = window.quality_plot
    assert isinstance(dock, QDockWidget)
    assert window.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea
    toggle = dock.toggleViewAction()
    assert toggle in window.view_menu.actions()
    assert dock.isVisible()
    toggle.trigger()
    assert not dock.isVisible()
    toggle.trigger()
    assert dock.isVisible()
    assert "Load &Reference…" in [a.text() for a in window.menuBar().actions()[0].menu().actions()]


def test_shown_frames_and_the_qp_scan_are_plotted(qtbot, window, clip):
    dock = window.quality_plot
    first = open_and_wait(qtbot, window, clip)
    _wait_scan(qtbot, dock, 20)
    results = [first] + [_step_to(qtbot, window, i) for i in (3, 7)]
    dock._redraw()

    x, y = _plotted(dock.curves["strength"])
    assert list(x) == [0, 3, 7]
    assert np.allclose(y, [r.quality_used for r in results])
    x, y = _plotted(dock.curves["restore_ms"])
    assert list(x) == [0, 3, 7] and np.allclose(y, [r.restore_seconds * 1000 for r in results])
    # the background scan: a QP and a picture type for every frame; the clip starts with an I frame
    x, qp = _plotted(dock.curves["source"])
    assert len(x) == 20 and np.all((qp > 0) & (qp <= 51))
    ix, _ = dock.type_markers["I"].getData()
    px, _ = dock.type_markers["P"].getData()
    assert 0 in ix and len(px) > 0
    assert dock.plots["source"].getAxis("left").labelText == "QP"
    assert "mean QP" in dock.status_label.text()
    assert dock.plots["source"].playhead.value() == 7


def test_clicking_the_plot_seeks_the_player(qtbot, window, clip):
    dock = window.quality_plot
    open_and_wait(qtbot, window, clip)
    assert window.clock.current_index == 0
    plot = dock.plots["strength"]
    scene_pos = plot.vb.mapViewToScene(QPointF(12, 50))
    viewport_pos = dock.graphics.mapFromScene(scene_pos)
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS,
                          check_params_cb=lambda r: r.frame_index == 12):
        qtbot.mouseClick(dock.graphics.viewport(), Qt.MouseButton.LeftButton, pos=viewport_pos)
    assert window.clock.current_index == 12
    assert window.transport.timeline.value() == 12


def test_reference_video_adds_psnr_of_input_and_restored(qtbot, window, clip, tmp_path):
    dock = window.quality_plot
    reference = make_reference(tmp_path / "clean.mkv")
    open_and_wait(qtbot, window, clip)
    assert not dock.plots["psnr"].isVisible()
    dock.load_reference(reference)
    assert dock.plots["psnr"].isVisible()
    qtbot.waitUntil(lambda: np.isfinite(dock.stats.values["psnr_input"]).sum() == 20, timeout=SCAN_TIMEOUT_MS)
    qtbot.waitUntil(lambda: np.isfinite(dock.stats.values["psnr_restored"][0]), timeout=SCAN_TIMEOUT_MS)
    _step_to(qtbot, window, 5)
    qtbot.waitUntil(lambda: np.isfinite(dock.stats.values["psnr_restored"][5]), timeout=SCAN_TIMEOUT_MS)
    dock._redraw()
    x, db = _plotted(dock.curves["psnr_input"])
    assert len(x) == 20 and np.all((db > 15) & (db < 60))  # crf 38 against the lossless original
    x, db = _plotted(dock.curves["psnr_restored"])
    assert {0, 5} <= set(x.astype(int)) and np.all((db > 15) & (db < 60))
    assert "clean.mkv" in dock.status_label.text() and "input" in dock.status_label.text()
    dock.clear_reference()
    assert not dock.plots["psnr"].isVisible() and not dock.stats.has("psnr_input")


def test_reference_with_another_frame_count_is_a_notice(qtbot, window, clip, tmp_path):
    dock = window.quality_plot
    reference = make_reference(tmp_path / "short.mkv", frames=12)
    open_and_wait(qtbot, window, clip)
    with qtbot.waitSignal(window.noticeShown, timeout=SCAN_TIMEOUT_MS) as notice:
        dock.load_reference(reference)
    assert notice.args[1] == "error" and "12 frames" in notice.args[0]
    assert dock.compare is None and not dock.plots["psnr"].isVisible()


def test_image_reference_and_export_strength(qtbot, window, tmp_path):
    from PIL import Image

    from .conftest import make_jpeg

    dock = window.quality_plot
    jpeg = make_jpeg(tmp_path / "photo.jpg", quality=15)
    Image.open(jpeg).convert("RGB").save(tmp_path / "other.png")  # same size: a valid (if odd) reference
    open_and_wait(qtbot, window, jpeg)
    dock.load_reference(tmp_path / "other.png")
    qtbot.waitUntil(lambda: np.isfinite(dock.stats.values["psnr_restored"][0]), timeout=SCAN_TIMEOUT_MS)
    assert dock.stats.values["psnr_input"][0] == pytest.approx(100.0)  # the decoded JPEG is the reference


def test_an_image_gets_its_numbers_as_text_and_a_video_gets_the_plot_back(qtbot, window, clip, tmp_path):
    """One frame plotted on a frame axis is a lone dot: an image shows quality, time and PSNR as text instead."""
    from PIL import Image

    from .conftest import make_jpeg

    dock = window.quality_plot
    open_and_wait(qtbot, window, clip)
    plot_height = dock.height()
    clean = tmp_path / "clean.png"
    jpeg = make_jpeg(tmp_path / "photo.jpg", quality=12)
    Image.fromarray(np.asarray(Image.open(jpeg)) // 2 * 2).save(clean)  # near the JPEG: a finite PSNR
    window.strength.set_mode("auto")
    open_and_wait(qtbot, window, jpeg)
    qtbot.waitUntil(lambda: "from JPEG tables" in dock.image_summary.text())
    assert dock.image_summary.isVisible() and not dock.graphics.isVisible() and not dock.legend_label.isVisible()
    assert dock.height() < plot_height
    text = dock.image_summary.text()
    assert "Q 12" in text and "from JPEG tables" in text and "Load Reference" in text
    assert f"{window.last_result.restore_seconds * 1000:.0f} ms" in text

    dock.load_reference(clean)
    qtbot.waitUntil(lambda: "restored" in dock.image_summary.text(), timeout=SCAN_TIMEOUT_MS)
    first = dock.stats.values
    gain = first["psnr_restored"][0] - first["psnr_input"][0]
    assert "clean.png" in dock.image_summary.text() and f"({gain:+.2f} dB)" in dock.image_summary.text()
    assert dock.status_label.text() == ""  # not said twice
    dock.clear_reference()
    assert "Load Reference" in dock.image_summary.text()

    open_and_wait(qtbot, window, clip)
    assert dock.graphics.isVisible() and not dock.image_summary.isVisible() and dock.legend_label.isVisible()
    qtbot.waitUntil(lambda: dock.height() == plot_height)


def test_export_progress_feeds_the_plot(qtbot, window, tmp_path):
    clip = make_clip(tmp_path / "clip.mp4", width=96, height=64, frames=12)
    dock = window.quality_plot
    open_and_wait(qtbot, window, clip)
    window.activateWindow()
    qtbot.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    dialog = window.export_dialog
    dialog.codec_combo.setCurrentIndex(dialog.codec_combo.findData("ffv1"))
    with qtbot.waitSignal(window.export_runner.finished, timeout=30000):
        dialog.start_export()
    qtbot.waitUntil(lambda: np.isfinite(dock.stats.values["export_strength"]).sum() == 12)
    assert np.all(dock.stats.values["export_strength"] > 0)


def test_opening_another_clip_restarts_the_scan_without_stale_data(qtbot, window, clip, tmp_path):
    dock = window.quality_plot
    other = make_clip(tmp_path / "other.mp4", width=64, height=48, frames=12)
    open_and_wait(qtbot, window, clip)
    open_and_wait(qtbot, window, other)  # the first scan may still be running: it is stopped, its results dropped
    _wait_scan(qtbot, dock, 12)
    qtbot.wait(300)  # anything the old scan still had queued would have arrived by now
    assert dock.stats.frame_count == 12 and np.isfinite(dock.stats.values["qp"]).sum() == 12
    assert dock.scanned is None and "mean QP" in dock.status_label.text()


def test_the_qp_scan_waits_for_the_first_frame_or_a_delay(qtbot, window, clip, monkeypatch):
    """Decoding the whole clip must not compete with the preview's first frame: the scan starts once a frame of
    this media is on screen, or after SCAN_DELAY_MS if none comes."""
    from types import SimpleNamespace

    from engine import MediaOpened
    from gui import quality_plot

    dock = window.quality_plot
    dock.on_media(MediaOpened(10_001, clip, "video", 160, 96, fps=25.0, frame_count=20, duration=0.8))
    scan = dock.scan
    qtbot.wait(100)
    assert not scan.started
    other_media = SimpleNamespace(media_id=10_000, frame_index=0)
    dock.on_frame_shown(other_media)
    assert not scan.started  # a late frame of the previous media does not count
    shown = SimpleNamespace(media_id=10_001, frame_index=0, quality_used=50.0, auto_quality=None,
                            restore_seconds=0.01, restored=None)
    dock.on_frame_shown(shown)
    assert scan.started
    _wait_scan(qtbot, dock, 20)

    monkeypatch.setattr(quality_plot, "SCAN_DELAY_MS", 50)
    dock.on_media(MediaOpened(10_002, clip, "video", 160, 96, fps=25.0, frame_count=20, duration=0.8))
    assert not dock.scan.started
    _wait_scan(qtbot, dock, 20)  # no frame shown: the delay starts it


@pytest.mark.skipif(not __import__("sys").platform.startswith("linux"), reason="per-thread nice is Linux's")
def test_the_qp_scan_runs_at_low_priority_and_leaves_the_app_at_normal(qtbot, clip, monkeypatch):
    """The scan must not take the CPU from the preview (a long clip's scan took a third of it); the niceness is
    the scan thread's own, not the app's."""
    import os
    import threading

    from gui.frame_scans import ClipScan

    seen = {}
    real_work = ClipScan._work

    def work(self):
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        real_work(self)

    monkeypatch.setattr(ClipScan, "_work", work)
    before = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    scan = ClipScan(clip)
    rows = []
    scan.batch.connect(rows.extend)
    with qtbot.waitSignal(scan.finished, timeout=SCAN_TIMEOUT_MS):
        scan.start()
    scan.stop()
    assert seen["nice"] == min(19, before + 19) > before
    assert os.getpriority(os.PRIO_PROCESS, threading.get_native_id()) == before
    assert [r[0] for r in rows] == list(range(20)) and rows[0][1] == "I" and all(r[2] is not None for r in rows)

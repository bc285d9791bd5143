"""The real MainWindow, driven offscreen: open media, restore, strength slider, playback, shortcuts."""
from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from gui.main_window import DEMO_VIDEO

from .conftest import FRAME_TIMEOUT_MS, make_jpeg, open_and_wait


def test_open_clip_shows_original_and_restored(qtbot, window, clip):
    result = open_and_wait(qtbot, window, clip)
    assert window.media.kind == "video" and window.media.frame_count == 20
    assert result.frame_index == 0
    assert result.original.shape == result.restored.shape == (96, 160, 3)
    assert window.compare.original_pane.image is not None
    assert window.compare.restored_pane.image is not None
    assert "deblock" in window.engine_label.text()
    assert window.transport.frame_label.text() == "frame 1 / 20"


def test_slider_rerenders_current_frame_with_new_strength(qtbot, tiny_model, clip, window):
    first = open_and_wait(qtbot, window, clip)
    assert first.restorer == "tiny"
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS,
                          check_params_cb=lambda r: r.id == window._latest_request_id) as blocker:
        window.strength.set_value(12)
    result = blocker.args[0]
    assert result.quality_used == 12 == window.strength.value
    assert result.frame_index == first.frame_index
    assert not np.array_equal(result.restored, first.restored)


def test_slider_drag_shows_only_the_latest_request(qtbot, window, jpeg):
    open_and_wait(qtbot, window, jpeg)
    shown = []
    window.frameShown.connect(lambda r: shown.append(r))
    for value in range(60, 20, -4):  # a quick drag: many requests, the worker serves what is latest
        window.strength.set_value(value)
    qtbot.waitUntil(lambda: bool(shown) and shown[-1].id == window._latest_request_id, timeout=FRAME_TIMEOUT_MS)
    assert shown[-1].quality_used == 24
    assert all(r.id == window._latest_request_id for r in shown)  # no stale picture flashed on screen


def test_playback_runs_on_the_source_clock(qtbot, window, clip):
    open_and_wait(qtbot, window, clip)
    shown = []
    window.frameShown.connect(lambda r: shown.append(r.frame_index))
    window.toggle_play()
    assert window.clock.playing
    qtbot.waitUntil(lambda: len(shown) >= 5, timeout=FRAME_TIMEOUT_MS)
    window.toggle_play()
    assert not window.clock.playing
    assert shown == sorted(shown) or 0 in shown  # forward in time (a loop may wrap to 0)
    assert window.achieved_fps > 0
    # Paused: stepping shows exactly the next frame.
    index = window.clock.current_index
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS,
                          check_params_cb=lambda r: r.id == window._latest_request_id) as blocker:
        QTest.keyClick(window, Qt.Key.Key_Right)
    assert blocker.args[0].frame_index == index + 1


def test_transport_shortcuts(qtbot, window, clip):
    open_and_wait(qtbot, window, clip)

    def shown_after(key):
        with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS,
                              check_params_cb=lambda r: r.id == window._latest_request_id) as blocker:
            QTest.keyClick(window, key)
        return blocker.args[0].frame_index

    with qtbot.waitSignal(window.engine.worker.originalReady, timeout=FRAME_TIMEOUT_MS) as preview:
        end_index = shown_after(Qt.Key.Key_End)  # a jump: the decoded original is sent ahead of the restore
    assert end_index == 19 and preview.args[2] == 19
    assert window.transport.frame_label.text() == "frame 20 / 20"
    assert shown_after(Qt.Key.Key_Left) == 18
    assert shown_after(Qt.Key.Key_Home) == 0
    QTest.keyClick(window, Qt.Key.Key_Space)
    assert window.clock.playing
    QTest.keyClick(window, Qt.Key.Key_Space)
    assert not window.clock.playing


def test_export_hook_and_about(qtbot, window):
    assert window.export_context() is None  # nothing open yet
    QTest.keyClick(window, Qt.Key.Key_E, Qt.KeyboardModifier.ControlModifier)
    assert window.banner.isVisible() and "Open an image or video first" in window.banner.text  # nothing to export
    assert window.export_dialog is None
    window.actions["about"].trigger()
    assert "Blender Foundation" in window._about_box.text() and "CC-BY 3.0" in window._about_box.text()
    assert "Restora 0." in window._about_box.text() and "PyTorch 2." in window._about_box.text()  # for bug reports
    window._about_box.close()


def test_exif_orientation_is_honoured(qtbot, window, tmp_path):
    from PIL import Image

    path = make_jpeg(tmp_path / "sideways.jpg", width=120, height=60)
    im = Image.open(path)
    exif = im.getexif()
    exif[0x0112] = 6  # "rotate 90 CW to display"
    im.save(path, exif=exif, quality=90)
    result = open_and_wait(qtbot, window, path)
    assert result.original.shape[:2] == (120, 60)
    assert (window.media.width, window.media.height) == (60, 120)


@pytest.mark.skipif(not DEMO_VIDEO.exists() or DEMO_VIDEO.stat().st_size < 10_000, reason="demo not built yet")
def test_demo_video_opens_and_plays(qtbot, window):
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS):
        window.open_demo_video()
    assert window.clock.playing
    window.toggle_play()


def test_auto_mode_shows_where_the_strength_came_from(qtbot, window, jpeg):
    open_and_wait(qtbot, window, jpeg)  # saved at JPEG quality 20
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS,
                          check_params_cb=lambda r: r.id == window._latest_request_id) as blocker:
        window.strength.set_mode("auto")
    result = blocker.args[0]
    assert result.quality_source == "jpeg-tables" and result.quality_used == 20
    assert "JPEG tables" in window.strength.source_label.text()
    assert window.strength.value == 20 and not window.strength.slider.isEnabled()
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS,
                          check_params_cb=lambda r: r.id == window._latest_request_id) as blocker:
        window.strength.set_mode("relative")
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS,
                          check_params_cb=lambda r: r.id == window._latest_request_id) as blocker:
        window.strength.set_value(60)  # Auto + 10
    assert blocker.args[0].quality_used == 30 and blocker.args[0].auto_quality == 20


def test_model_and_device_choice(qtbot, tiny_model, jpeg, window):
    first = open_and_wait(qtbot, window, jpeg)
    assert first.restorer == "tiny"
    names = [window.model_combo.itemData(i) for i in range(window.model_combo.count())]
    devices = [window.device_combo.itemData(i) for i in range(window.device_combo.count())]
    assert names == ["tiny", "deblock"] and "cpu" in devices and devices[0] == "auto"
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS,
                          check_params_cb=lambda r: r.restorer == "deblock") as blocker:
        window.model_combo.setCurrentIndex(names.index("deblock"))
    assert blocker.args[0].device == "cpu"
    assert window.engine_label.text() == "deblock on cpu"
    assert window.settings.model == "deblock"
    context = window.export_context()  # what File → Export… will start from
    assert context["path"] == jpeg and context["restorer"] == "deblock" and context["kind"] == "image"


def test_status_bar_names_the_restorer_even_when_it_was_built_before_the_catalog(qtbot, window, jpeg):
    open_and_wait(qtbot, window, jpeg)
    qtbot.waitUntil(lambda: window.engine_label.text() == "deblock on cpu", timeout=FRAME_TIMEOUT_MS)
    window._configure_engine()  # same choice again: nothing rebuilt, but the label must not stay "Loading…"
    assert window.engine_label.text().startswith("Loading")
    qtbot.waitUntil(lambda: window.engine_label.text() == "deblock on cpu", timeout=FRAME_TIMEOUT_MS)


def test_ctrl_o_opens_from_the_last_folder_and_ctrl_q_quits(qtbot, window, clip, jpeg, monkeypatch):
    from gui import main_window

    open_and_wait(qtbot, window, jpeg)
    asked = []

    def fake_dialog(parent, title, folder, filters):
        asked.append(folder)
        return str(clip), ""

    monkeypatch.setattr(main_window.QFileDialog, "getOpenFileName", staticmethod(fake_dialog))
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS):
        QTest.keyClick(window, Qt.Key.Key_O, Qt.KeyboardModifier.ControlModifier)
    assert asked == [str(jpeg.parent.resolve())]
    assert window.media.path == clip
    QTest.keyClick(window, Qt.Key.Key_Q, Qt.KeyboardModifier.ControlModifier)
    assert not window.isVisible() and window.engine.thread.isFinished()


def test_strength_shortcuts_nudge_the_control_and_switch_modes(qtbot, window, tmp_path):
    """] / [ one step stronger / weaker, } / { ten; in Auto a nudge becomes an offset from Auto; Ctrl+1/2/3 pick
    the mode; each change restores the frame again."""
    open_and_wait(qtbot, window, make_jpeg(tmp_path / "photo.jpg", quality=30))
    window.activateWindow()
    assert window.strength.mode == "absolute" and window.strength.value == 50
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Strength")
    assert window.actions["stronger"] in menu.actions()

    def press(key):
        with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS,
                              check_params_cb=lambda r: r.id == window._latest_request_id) as blocker:
            QTest.keyClicks(window, key)
        return blocker.args[0]

    assert press("]").quality_used == 49 and window.strength.strength_label.text() == "strength 51"
    assert press("}").quality_used == 39
    assert press("[").quality_used == 40
    assert press("{").quality_used == 50
    assert window.actions["manual"].isChecked() and not window.actions["auto"].isChecked()
    QTest.keyClick(window, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
    assert window.strength.mode == "auto" and window.actions["auto"].isChecked()
    qtbot.waitUntil(lambda: window.last_result.quality_source == "jpeg-tables", timeout=FRAME_TIMEOUT_MS)
    auto = window.last_result.quality_used
    shown = press("]")
    assert window.strength.mode == "relative" and window.strength.value == 49
    assert window.actions["relative"].isChecked() and not window.actions["auto"].isChecked()
    assert shown.quality_used == pytest.approx(auto - 1)
    QTest.keyClick(window, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert window.strength.mode == "absolute"


def test_help_lists_every_shortcut_from_the_actions(qtbot, window):
    from gui.about import shortcuts_html

    html = shortcuts_html(window.actions)
    for action in window.actions.values():
        for key in action.shortcuts():
            assert key.toString(key.SequenceFormat.NativeText) in html
    assert "Stronger Restoration" in html and "Hold A" in html
    window.actions["shortcuts"].trigger()
    assert window._shortcuts_box.isVisible() and "Keyboard and mouse" in window._shortcuts_box.text()
    window._shortcuts_box.close()


def test_the_first_picture_does_not_wait_for_the_engine_catalog(qtbot, make_window, clip, monkeypatch):
    """The catalog imports torch (~1 s on a cold start): the file opened at start-up shows its decoded original
    meanwhile, and the restored frame and the model list follow."""
    import time

    import engine

    real = engine.available_devices

    def slow_catalog():
        time.sleep(1.5)
        return real()

    monkeypatch.setattr(engine, "available_devices", slow_catalog)
    window = make_window()
    started = time.perf_counter()
    window.open_path(clip)
    qtbot.waitUntil(lambda: window.compare.original_pane.image is not None, timeout=FRAME_TIMEOUT_MS)
    assert time.perf_counter() - started < 1.5 and window.model_combo.count() == 0
    qtbot.waitUntil(lambda: window.last_result is not None, timeout=FRAME_TIMEOUT_MS)  # restored follows
    qtbot.waitUntil(lambda: window.model_combo.count() > 0, timeout=FRAME_TIMEOUT_MS)


def _rgb(image) -> np.ndarray:
    from PySide6.QtGui import QImage

    image = image.convertToFormat(QImage.Format.Format_RGB888)
    return np.array(image.constBits(), np.uint8).reshape(image.height(), image.bytesPerLine())[
        :, :image.width() * 3].reshape(image.height(), image.width(), 3)


def test_save_frame_writes_the_whole_restored_frame_even_when_zoomed_in(qtbot, window, tmp_path, monkeypatch):
    from PIL import Image
    from PySide6.QtWidgets import QFileDialog

    from .conftest import make_clip

    clip = make_clip(tmp_path / "wide.mp4", width=640, height=368, frames=6)
    first = open_and_wait(qtbot, window, clip)  # fitted: the whole frame, at the current strength
    window.compare.view.set_zoom(4.0)
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS, check_params_cb=lambda r: r.region):
        window.strength.set_value(first.quality_used)  # the same strength, restored for the visible crop only
        window.request_frame()
    target = tmp_path / "out" / "still"
    target.parent.mkdir()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), ""))
    with qtbot.waitSignal(window.noticeShown, timeout=FRAME_TIMEOUT_MS,
                          check_params_cb=lambda text, level: text.startswith("Saved")) as notice:
        window.actions["save_frame"].trigger()
    assert notice.args[0] == "Saved still.png"
    saved = np.asarray(Image.open(target.with_suffix(".png")))
    assert saved.shape == (368, 640, 3) and np.array_equal(saved, first.restored)
    assert [p.name for p in target.parent.iterdir()] == ["still.png"]  # no temporary left behind

    # Edit → Copy: the whole restored frame too, not the zoomed preview's crop; Copy Original: the decoded frame
    from PySide6.QtWidgets import QApplication
    with qtbot.waitSignal(window.noticeShown, timeout=FRAME_TIMEOUT_MS,
                          check_params_cb=lambda text, level: text.startswith("Copied the restored")) as notice:
        window.actions["copy_frame"].trigger()
    assert notice.args[0] == "Copied the restored frame (640×368)"
    assert np.array_equal(_rgb(QApplication.clipboard().image()), first.restored)
    window.actions["copy_original"].trigger()
    assert np.array_equal(_rgb(QApplication.clipboard().image()), first.original)
    assert [a.text() for a in window.edit_menu.actions()] == ["&Paste", "", "&Copy Restored Frame",
                                                              "Copy &Original Frame"]

    # a format it cannot write, or the input itself: refused with a notice, nothing written
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(tmp_path / "x.gif"), ""))
    with qtbot.waitSignal(window.noticeShown, timeout=FRAME_TIMEOUT_MS) as notice:
        window.actions["save_frame"].trigger()
    assert notice.args[1] == "error" and ".gif" in notice.args[0] and not (tmp_path / "x.gif").exists()
    photo = tmp_path / "photo.png"
    Image.fromarray(first.original[:64, :64]).save(photo)
    open_and_wait(qtbot, window, photo)
    before = photo.read_bytes()
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(photo), ""))
    with qtbot.waitSignal(window.noticeShown, timeout=FRAME_TIMEOUT_MS) as notice:
        window.actions["save_frame"].trigger()
    assert "overwrite the input" in notice.args[0] and photo.read_bytes() == before

"""Bad input gets a clear, non-modal message and the app stays usable; drops, settings, clean shutdown."""
from __future__ import annotations

import struct
import zlib

import numpy as np

from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QApplication

from .conftest import FRAME_TIMEOUT_MS, drop_and_wait, make_clip, make_jpeg, open_and_wait


def _png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header says width x height; nothing big is ever allocated to write it."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def _audio_only_mp4(path):
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("aac", rate=48000)
        frame = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        frame.sample_rate = 48000
        for packet in stream.encode(frame):
            container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def _bad_inputs(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "notes.jpg").write_text("this is a text file, not a JPEG\n")
    (tmp_path / "noise.png").write_bytes(bytes(range(256)) * 40)
    good = make_clip(tmp_path / "good.mp4", frames=12).read_bytes()
    (tmp_path / "truncated.mp4").write_bytes(good[: len(good) // 8])
    (tmp_path / "huge.png").write_bytes(_png_claiming(12000, 12000))
    return {
        "empty.jpg": "empty", "notes.jpg": "notes.jpg", "noise.png": "noise.png",
        "truncated.mp4": "truncated.mp4", "audio_only.mp4": "video",
        "huge.png": "too large",
    }


def test_each_bad_input_gets_a_message_and_the_app_stays_usable(qtbot, window, tmp_path):
    expectations = _bad_inputs(tmp_path)
    _audio_only_mp4(tmp_path / "audio_only.mp4")
    for name, expected in expectations.items():
        with qtbot.waitSignal(window.noticeShown, timeout=FRAME_TIMEOUT_MS) as blocker:
            window.open_path(tmp_path / name)
        text, level = blocker.args
        assert level == "error"
        assert text.startswith(f"Cannot open {name}:"), text
        assert expected in text, text
        assert "\n" not in text and "Traceback" not in text
        assert window.banner.isVisible() and window.banner.text == text
    # Still usable: a path with spaces and non-ASCII characters simply opens.
    odd = tmp_path / "Été à Zürich — 東京 photo.jpg"
    make_jpeg(odd)
    result = open_and_wait(qtbot, window, odd)
    assert result.original.shape == (96, 128, 3)
    assert window.media.path == odd
    window.banner.close_button.click()
    assert not window.banner.isVisible()


def test_drop_a_file_onto_the_window(qtbot, window, clip):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(clip))])
    drop_and_wait(qtbot, window, mime)
    assert window.media.path == clip


def test_dropping_several_files_opens_the_first_and_points_at_export_files(qtbot, window, clip, tmp_path):
    photo = make_jpeg(tmp_path / "photo.jpg")
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(clip)), QUrl.fromLocalFile(str(photo))])
    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(window, QDragEnterEvent(QPoint(200, 200), *args))
    with qtbot.waitSignal(window.noticeShown, timeout=FRAME_TIMEOUT_MS) as notice:
        QApplication.sendEvent(window, QDropEvent(QPointF(200, 200), *args))
    assert notice.args[0].startswith(f"2 files dropped: opened {clip.name}") and "Export Files" in notice.args[0]
    qtbot.waitUntil(lambda: window.media is not None and window.media.path == clip, timeout=FRAME_TIMEOUT_MS)


def test_settings_persist_across_windows(qtbot, make_window, clip):
    first = make_window()
    open_and_wait(qtbot, first, clip)
    first.set_view_mode("split")
    first.strength.set_mode("relative")
    first.strength.set_value(33)
    first.resize(1100, 700)
    first.close()
    assert first.engine.thread.isFinished()

    second = make_window()
    assert second.compare.mode == "split" and second.view_actions["split"].isChecked()
    assert second.strength.value == 33 and second.strength.mode == "relative"
    assert second.settings.recent_files[0] == str(clip.resolve())
    assert second.settings.last_folder == str(clip.parent.resolve())
    assert [a.text() for a in second.recent_menu.actions()][0] == clip.name
    assert second.settings.geometry is not None
    qtbot.waitUntil(lambda: second.model_combo.count() > 0, timeout=FRAME_TIMEOUT_MS)
    assert second.model_combo.currentData() == "deblock"


def test_closing_stops_the_engine_thread(qtbot, window, clip):
    open_and_wait(qtbot, window, clip)
    window.toggle_play()
    qtbot.wait(100)
    window.close()
    assert window.engine.thread.isFinished()


def _mjpeg_avi_with_a_damaged_frame(path, frames=8):
    """An MJPEG AVI whose third frame's JPEG data is overwritten: the decoder rejects that one packet."""
    import av
    import numpy as np

    with av.open(str(path), "w") as container:
        stream = container.add_stream("mjpeg", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuvj420p"
        for i in range(frames):
            img = np.full((48, 64, 3), 16 + 20 * i, np.uint8)
            img[4:12, 4:12] = 255
            for packet in stream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]
    lo, hi = starts[2], starts[3] - 16  # leave the AVI chunk headers intact
    data[lo:hi] = bytes([0x55]) * (hi - lo)
    path.write_bytes(bytes(data))
    return path


def test_damaged_frame_mid_stream_is_skipped_with_a_notice(qtbot, window, tmp_path):
    path = _mjpeg_avi_with_a_damaged_frame(tmp_path / "damaged.avi")
    open_and_wait(qtbot, window, path)
    shown = []
    window.frameShown.connect(lambda r: shown.append(r.frame_index))
    with qtbot.waitSignal(window.noticeShown, timeout=FRAME_TIMEOUT_MS,
                          check_params_cb=lambda text, level: "skipped" in text) as blocker:
        window.toggle_play()
    assert "damaged" in blocker.args[0] and blocker.args[1] == "warning"
    count = len(shown)
    qtbot.waitUntil(lambda: len(shown) > count + 2, timeout=FRAME_TIMEOUT_MS)  # playback goes on
    assert window.clock.playing
    window.toggle_play()


def test_video_display_rotation_is_honoured(qtbot, window, tmp_path):
    import av
    import numpy as np

    path = tmp_path / "portrait.mp4"
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=25)
        stream.width, stream.height, stream.pix_fmt = 64, 32, "yuv420p"
        stream.set_display_rotation(90)
        for i in range(3):
            frame = av.VideoFrame.from_ndarray(np.full((32, 64, 3), 40 * i, np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    result = open_and_wait(qtbot, window, path)
    assert (window.media.width, window.media.height) == (32, 64)
    assert result.original.shape[:2] == (64, 32) == result.restored.shape[:2]


def test_no_display_is_one_line_and_exit_2_not_a_qt_abort(monkeypatch, capsys):
    from gui import app as gui_app

    monkeypatch.setattr(gui_app.sys, "platform", "linux")
    for name in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM"):
        monkeypatch.delenv(name, raising=False)
    assert gui_app.run_app(["photo.jpg"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "no display" in err and "restore" in err
    for name, value in (("DISPLAY", ":0"), ("WAYLAND_DISPLAY", "wayland-0"), ("QT_QPA_PLATFORM", "offscreen")):
        with monkeypatch.context() as m:
            m.setenv(name, value)
            assert gui_app.missing_display() is None  # a display (or an explicit Qt platform) lets Qt decide


def test_an_animated_image_opens_as_its_first_frame_with_a_notice(qtbot, window, tmp_path):
    from PIL import Image

    frames = [Image.fromarray(np.full((48, 64, 3), 40 * i, np.uint8)) for i in range(3)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:], duration=80)
    with qtbot.waitSignal(window.noticeShown, timeout=20000,
                          check_params_cb=lambda text, level: "animated" in text) as notice:
        result = open_and_wait(qtbot, window, tmp_path / "anim.gif")
    assert notice.args[0] == "anim.gif is animated (3 frames): Restora restores its first frame"
    assert window.media.kind == "image" and result.original.shape[:2] == (48, 64)


def test_a_recent_file_that_went_away_is_greyed_when_the_menu_opens(qtbot, window, clip, tmp_path):
    photo = make_jpeg(tmp_path / "gone.jpg")
    open_and_wait(qtbot, window, photo)
    open_and_wait(qtbot, window, clip)
    photo.unlink()
    window.recent_menu.aboutToShow.emit()
    actions = {a.text(): a for a in window.recent_menu.actions() if a.text()}
    assert actions[clip.name].isEnabled() and not actions["gone.jpg"].isEnabled()
    assert "(not found)" in actions["gone.jpg"].toolTip()

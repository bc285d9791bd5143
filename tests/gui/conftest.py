"""GUI test fixtures: temporary QSettings, a thread-leak guard, fast restorers and small synthetic media."""
from __future__ import annotations

import os
import weakref

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QSettings, QThread  # noqa: E402

FRAME_TIMEOUT_MS = 20000


@pytest.fixture(autouse=True)
def temp_settings(tmp_path, qapp):
    """Every QSettings("Restora", "Restora") of the test lands in tmp_path, never in the user's config."""
    folder = tmp_path / "settings"
    folder.mkdir()
    for fmt in (QSettings.Format.NativeFormat, QSettings.Format.IniFormat):
        QSettings.setPath(fmt, QSettings.Scope.UserScope, str(folder))
    qapp.setOrganizationName("Restora")
    qapp.setApplicationName("Restora")
    settings = QSettings("Restora", "Restora")
    settings.clear()
    # deblock is instant; tests that need the network ask for the `tiny_model` fixture.
    settings.setValue("engine/model", "deblock")
    settings.setValue("engine/device", "cpu")
    settings.setValue("restore/mode", "absolute")
    settings.sync()
    yield folder


@pytest.fixture(autouse=True)
def no_thread_left_running(monkeypatch, temp_settings):
    """Fails the test if any QThread started during it is still running at teardown (after windows closed)."""
    started: list = []
    original_start = QThread.start

    def tracking_start(self, *args, **kwargs):
        started.append(weakref.ref(self))
        return original_start(self, *args, **kwargs)

    monkeypatch.setattr(QThread, "start", tracking_start)
    yield started
    running = [t() for t in started if t() is not None and t().isRunning()]
    assert not running, f"{len(running)} QThread(s) left running: {[t.objectName() for t in running]}"


@pytest.fixture(autouse=True)
def quit_questions(monkeypatch):
    """Closing a window with exports running asks the user; tests answer "Close" and can read what was asked."""
    asked = []
    monkeypatch.setattr("gui.export_queue.ask_to_quit", lambda window, text: asked.append(text) or True)
    return asked


@pytest.fixture
def make_window(qtbot, no_thread_left_running):
    """Builds real MainWindows; closes any still open at the end (which must stop their engine threads)."""
    from gui.main_window import MainWindow
    from gui.theme import apply_dark_theme

    windows = []

    def factory():
        from PySide6.QtWidgets import QApplication
        apply_dark_theme(QApplication.instance())
        window = MainWindow()
        qtbot.addWidget(window)
        window.resize(1280, 800)
        window.show()
        windows.append(window)
        return window

    yield factory
    for window in windows:
        window.close()


@pytest.fixture
def window(make_window):
    return make_window()


def drop_and_wait(qtbot, window, mime) -> None:
    """Drag `mime` onto the window and drop it, as Qt does (a drop goes only to a widget that accepted the drag
    entering it); waits for the first frame of what the drop opened."""
    from PySide6.QtCore import QPoint, QPointF, Qt
    from PySide6.QtGui import QDragEnterEvent, QDropEvent
    from PySide6.QtWidgets import QApplication

    args = (Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    enter = QDragEnterEvent(QPoint(200, 200), *args)
    QApplication.sendEvent(window, enter)
    assert enter.isAccepted()
    drop = QDropEvent(QPointF(200, 200), *args)
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS):
        QApplication.sendEvent(window, drop)
    assert drop.isAccepted()


def open_and_wait(qtbot, window, path, timeout=FRAME_TIMEOUT_MS):
    """Open `path` and wait for its first frame on screen; returns the RestoreResult."""
    with qtbot.waitSignal(window.frameShown, timeout=timeout) as blocker:
        window.open_path(path)
    return blocker.args[0]


def make_clip(path, width=160, height=96, frames=20, fps=25, rotation=0):
    """A small H.264 clip with moving content, so consecutive frames differ."""
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
        stream.options = {"crf": "38", "preset": "ultrafast"}
        if rotation:
            stream.set_display_rotation(rotation)
        yy, xx = np.mgrid[0:height, 0:width]
        for i in range(frames):
            img = np.stack([(xx * 7 + i * 9) % 256, (yy * 5 + i * 3) % 256, ((xx ^ yy) * 3) % 256], -1)
            frame = av.VideoFrame.from_ndarray(img.astype(np.uint8), format="rgb24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def make_jpeg(path, width=128, height=96, quality=20):
    from PIL import Image

    yy, xx = np.mgrid[0:height, 0:width]
    img = np.stack([(xx * 2) % 256, (yy * 2) % 256, ((xx + yy) * 3) % 256], -1).astype(np.uint8)
    Image.fromarray(img).save(path, quality=quality)
    return path


@pytest.fixture
def clip(tmp_path):
    return make_clip(tmp_path / "clip.mp4")


@pytest.fixture
def jpeg(tmp_path):
    return make_jpeg(tmp_path / "photo.jpg")


@pytest.fixture
def tiny_model(tmp_path, monkeypatch, temp_settings):
    """A random-init RestoraNet small enough for CPU tests, registered as the only model."""
    from engine.models import registry
    from engine.models.restora_net import RestoraNet

    models = tmp_path / "models"
    models.mkdir()
    import torch

    torch.manual_seed(0)
    net = RestoraNet(c1=8, c2=16, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8)
    with torch.no_grad():  # fresh nets start as the identity (zero-init exits); make quality actually matter
        for param in net.parameters():
            if not param.any():
                param.normal_(0.0, 0.05)
    registry.save_model(net, models / "tiny.safetensors", "tiny")
    monkeypatch.setattr(registry, "MODELS_DIR", models)
    settings = QSettings("Restora", "Restora")
    settings.setValue("engine/model", "tiny")
    settings.sync()
    return "tiny"

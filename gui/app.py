"""Application start: theme, main window, what to open first, and the optional screenshot hook."""
from __future__ import annotations

import os
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from .main_window import DEMO_VIDEO, MainWindow
from .settings import APP, ORG
from .theme import apply_dark_theme


def _install_screenshot_hook(window: MainWindow, target: str, app: QApplication) -> None:
    """RESTORA_SCREENSHOT=path: after the first restored frames are on screen, save the window and quit.
    RESTORA_SCREENSHOT_DELAY (seconds, default 2) lets playback run a little first. A file that never shows a
    frame (a damaged one: the notice is what to look at) is shot 10 s after the window opens instead."""
    delay_ms = int(float(os.environ.get("RESTORA_SCREENSHOT_DELAY", "2")) * 1000)
    state = {"armed": True}

    def grab() -> None:
        if window.isHidden():
            return  # already shot
        window.grab().save(target)
        print(f"screenshot saved to {target}", flush=True)
        window.close()
        app.quit()

    def on_frame(_result) -> None:
        if state["armed"]:
            state["armed"] = False
            QTimer.singleShot(delay_ms, grab)

    def without_frame() -> None:
        if state["armed"]:
            state["armed"] = False
            grab()

    window.frameShown.connect(on_frame)
    QTimer.singleShot(10_000 + delay_ms, without_frame)


def create_application(argv: list[str]) -> QApplication:
    """The QApplication, named so QSettings("Restora", "Restora") finds our preferences, in the dark theme."""
    # The engine thread runs Python between its C calls; a shorter GIL switch interval hands the GIL back to the
    # GUI thread sooner, which keeps playback and slider drags smooth while it works.
    sys.setswitchinterval(0.001)
    app = QApplication.instance() or QApplication([sys.argv[0]] + list(argv))
    app.setOrganizationName(ORG)
    app.setApplicationName(APP)
    app.setApplicationDisplayName("Restora")
    apply_dark_theme(app)
    return app


def missing_display() -> str | None:
    """Why a window cannot open here, or None. Qt itself aborts (core dump, a screenful about xcb plugins) when a
    Linux session has no display, which reads like a crash; say it in one line instead."""
    if not sys.platform.startswith("linux") or os.environ.get("QT_QPA_PLATFORM"):
        return None
    if os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"):
        return None
    return ("no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set); run it in a desktop "
            "session, or use the headless commands: python main.py restore|probe|evaluate|benchmark --help")


def run_app(argv: list[str]) -> int:
    problem = missing_display()
    if problem:
        print(f"restora: {problem}", file=sys.stderr)
        return 2
    app = create_application(argv)
    window = MainWindow()
    screenshot = os.environ.get("RESTORA_SCREENSHOT")
    if screenshot:
        _install_screenshot_hook(window, screenshot, app)
    window.show()
    files = [a for a in argv if not a.startswith("-")]
    if files:
        window.open_path(Path(files[0]), autoplay=True)
    elif DEMO_VIDEO.exists():
        window.open_demo_video()
    else:
        window.show_notice("Demo video not found; open an image or video with File → Open (Ctrl+O).", "info")
    return app.exec()

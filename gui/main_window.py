"""The main window: picture, controls, menus; talks to the engine thread only through requests and signals."""
from __future__ import annotations

import time
from collections import deque
from pathlib import Path

from PySide6.QtCore import QEvent, Qt, Signal
from PySide6.QtWidgets import QApplication, QFileDialog, QFrame, QLabel, QMainWindow, QVBoxLayout, QWidget

from engine import (ConfigureRestorerRequest, OpenMediaRequest, RestoreFrameRequest, next_request_id)

from . import about
from .batch_export import install_batch_export
from .compare_view import VIEW_MODES, CompareView
from .controls import StrengthPanel, TransportBar
from .engine_worker import EngineThread
from .export_dialog import show_export_dialog
from .export_queue import confirm_quit, install_export_queue
from .export_runner import install_export
from .menus import OPEN_FILTER, build_menus_and_toolbar, refresh_recent_menu, sync_strength_menu
from .navigation import install_navigation
from .paste import install_paste
from .playback_speed import install_playback_speed
from .notices import NoticeBanner
from .player import PlaybackClock
from .quality_plot import install_quality_plot
from .save_frame import install_save_frame
from .settings import AppSettings
from .visible_restore import install_visible_restore
from .zoom_pan import zoom_label

ROOT = Path(__file__).resolve().parents[1]
DEMO_VIDEO = ROOT / "resources" / "demo" / "bbb_demo.mp4"
DEMO_IMAGE = ROOT / "resources" / "demo" / "bbb_demo.jpg"
FPS_WINDOW_S = 1.5
AB_KEY = Qt.Key.Key_A


class MainWindow(QMainWindow):
    frameShown = Signal(object)  # RestoreResult now on screen (tests, bench, screenshot)
    mediaReady = Signal(object)  # MediaOpened
    noticeShown = Signal(str, str)  # text, level
    aboutToClose = Signal()  # before the engine stops: panels and exports join their threads

    def __init__(self, settings: AppSettings | None = None) -> None:
        super().__init__()
        self.settings = settings or AppSettings()
        self.setWindowTitle("Restora")
        self.setAcceptDrops(True)
        self.setDockOptions(QMainWindow.DockOption.AnimatedDocks | QMainWindow.DockOption.AllowTabbedDocks)
        self.media = None  # MediaOpened of what is on screen
        self._pending_open: dict[int, tuple[Path, bool]] = {}  # open id -> (path, autoplay)
        self._latest_request_id = 0
        self._shown_request_id = 0
        self._shown_times: deque = deque()
        self.last_result = None
        self.achieved_fps = 0.0  # restored frames per second reaching the screen during the last playback
        self._closing = False

        self.banner = NoticeBanner()
        self.compare = CompareView()
        self.transport = TransportBar()
        self.strength = StrengthPanel()
        panel = QFrame()
        panel.setObjectName("controlsPanel")
        panel_layout = QVBoxLayout(panel)
        panel_layout.setContentsMargins(0, 2, 0, 2)
        panel_layout.setSpacing(0)
        panel_layout.addWidget(self.transport)
        panel_layout.addWidget(self.strength)
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.banner)
        layout.addWidget(self.compare, 1)
        layout.addWidget(panel)
        self.setCentralWidget(central)

        self.clock = PlaybackClock(self)
        build_menus_and_toolbar(self)
        install_export(self)
        install_quality_plot(self)  # before _restore_settings: restoreState needs the docks to exist
        install_export_queue(self)
        install_visible_restore(self)
        install_navigation(self)
        install_playback_speed(self)
        self._build_status_bar()
        self._restore_settings()  # before connecting: restoring must not write half-restored values back
        self._connect_ui()

        self.engine = EngineThread(self.settings.model or None, self.settings.device)
        w = self.engine.worker
        w.catalogReady.connect(self._on_catalog)
        w.mediaOpened.connect(self._on_media_opened)
        w.frameReady.connect(self._on_frame_ready)
        w.originalReady.connect(self._on_original_ready)
        w.restorerReady.connect(self._on_restorer_ready)
        w.failed.connect(self._on_failed)
        w.notice.connect(self._on_engine_notice)  # a bound method: queued onto the GUI thread
        self.engine.start()
        install_save_frame(self)
        install_batch_export(self)
        install_paste(self)  # after Save Frame: it joins the Edit menu
        QApplication.instance().installEventFilter(self)  # the A/B key must work whatever has focus

    # --- construction helpers ----------------------------------------------------------------------------------
    def _build_status_bar(self) -> None:
        bar = self.statusBar()
        self.media_label = QLabel("No media")
        self.engine_label = QLabel("Starting engine…")
        self.timing_label = QLabel("")
        self.fps_label = QLabel("")
        self.zoom_label = QLabel("")
        for label in (self.engine_label, self.timing_label, self.fps_label, self.zoom_label):
            bar.addPermanentWidget(label)
        bar.addWidget(self.media_label, 1)

    def _connect_ui(self) -> None:
        t = self.transport
        t.playToggled.connect(self.toggle_play)
        t.stepRequested.connect(self.step)
        t.jumpRequested.connect(self.jump)
        t.scrubbed.connect(self._on_scrub)
        t.loopToggled.connect(self.set_loop)
        self.clock.frameDue.connect(self._on_frame_due)
        self.clock.playingChanged.connect(self._on_playing_changed)
        self.strength.changed.connect(self._on_strength_changed)
        self.compare.zoomChanged.connect(lambda z: self.zoom_label.setText(zoom_label(z)))
        self.model_combo.currentIndexChanged.connect(self._on_engine_choice)
        self.device_combo.currentIndexChanged.connect(self._on_engine_choice)
        refresh_recent_menu(self)

    def _restore_settings(self) -> None:
        s = self.settings
        self.set_view_mode(s.view_mode if s.view_mode in VIEW_MODES else "side_by_side")
        self.strength.set_mode(s.strength_mode)  # mode first: switching modes re-bases the slider
        self.strength.set_value(s.strength)
        sync_strength_menu(self)
        if s.geometry is not None:
            self.restoreGeometry(s.geometry)
        else:
            self.resize(1440, 900)
        if s.window_state is not None:
            self.restoreState(s.window_state)

    def add_bottom_dock(self, dock) -> None:
        """Hook for panels such as the quality plot: they live in the bottom dock area."""
        self.addDockWidget(Qt.DockWidgetArea.BottomDockWidgetArea, dock)
        self.view_menu.addAction(dock.toggleViewAction())

    # --- opening media -----------------------------------------------------------------------------------------
    def open_path(self, path, autoplay: bool = False) -> int:
        """Ask the engine to open `path`; returns the request id. Failures arrive as a notice, not an exception."""
        path = Path(path).absolute()  # the export dialog's suggested output and the recent list read it later
        request = OpenMediaRequest(next_request_id(), path)
        self._pending_open[request.id] = (path, autoplay)
        self.media_label.setText(f"Opening {path.name}…")
        self.engine.submit(request)
        return request.id

    def open_dialog(self) -> None:
        start = self.settings.last_folder or str(Path.home())
        path, _ = QFileDialog.getOpenFileName(self, "Open image or video", start, OPEN_FILTER)
        if path:
            self.open_path(path)

    def open_demo_video(self) -> None:
        self.open_path(DEMO_VIDEO, autoplay=True)

    def open_demo_image(self) -> None:
        self.open_path(DEMO_IMAGE)

    def open_export_dialog(self) -> None:
        """File → Export… (Ctrl+E): the dialog starts from `export_context()`; the export runs on its own thread."""
        show_export_dialog(self)

    def export_context(self) -> dict | None:
        """What an export of the current view needs: the file, the restorer and the strength as set now."""
        if self.media is None:
            return None
        return {"path": Path(self.media.path), "kind": self.media.kind,
                "restorer": self.model_combo.currentData(), "device": self.device_combo.currentData() or "auto",
                "strength_mode": self.strength.mode, "slider": float(self.strength.value),
                "frame_index": self.clock.current_index, "scratch": self.paster.holds(self.media.path)}

    def _on_media_opened(self, opened) -> None:
        path, autoplay = self._pending_open.pop(opened.id, (opened.path, False))
        self.media = opened
        if not self.paster.holds(path):  # a pasted image's scratch file is no place the user chose
            self.settings.last_folder = str(Path(path).resolve().parent)
            self.settings.add_recent(str(Path(path).resolve()))
            refresh_recent_menu(self)
        self.setWindowTitle(f"{Path(path).name} — Restora")
        self.media_label.setText(f"{Path(path).name} · {opened.description}")
        self.clock.set_media(opened.fps, opened.frame_count)
        self.clock.loop = self.actions["loop"].isChecked()
        self.transport.set_media(opened.frame_count, opened.fps)
        self.compare.clear()
        self.compare.set_placeholder(f"Loading {Path(path).name}…")
        self.last_result = None
        self._shown_times.clear()
        self.fps_label.setText("")
        self.mediaReady.emit(opened)
        self.request_frame(0)
        if autoplay and opened.kind == "video":
            self.clock.play()

    # --- frames ------------------------------------------------------------------------------------------------
    def request_frame(self, index: int | None = None, supersedes: bool = True) -> int:
        """Ask for frame `index` (default: the current one) with the strength now set; returns the request id."""
        if self.media is None:
            return 0
        if index is None:
            index = self.clock.current_index
        request = RestoreFrameRequest(next_request_id(), self.media.id, self.clock.frame_time(index),
                                      float(self.strength.value), self.strength.mode, supersedes,
                                      self.visible_restore.region())
        self._latest_request_id = request.id
        self.engine.submit(request)
        return request.id

    def _on_frame_due(self, index: int, _time: float) -> None:
        self.transport.show_position(index)
        # Playback never supersedes: cancelling in-flight work on each tick would starve a slow restorer.
        self.request_frame(index, supersedes=not self.clock.playing)

    def _accepts(self, result) -> bool:
        if self.media is None or result.media_id != self.media.id:
            return False
        if self.clock.playing:
            return result.id > self._shown_request_id  # anything newer than the screen: keep the picture moving
        return result.id == self._latest_request_id  # paused: only what the controls say now

    def _on_original_ready(self, request_id: int, media_id: int, index: int, original_image) -> None:
        """The decoded frame, before restoration: worth showing when restoring takes a while (scrubbing)."""
        if self.media is None or media_id != self.media.id or request_id != self._latest_request_id:
            return
        if self.clock.playing and self.last_result is not None:
            return
        self.compare.set_frames(original_image, None)

    def _on_frame_ready(self, result, original_image, restored_image) -> None:
        if not self._accepts(result):
            return
        self._shown_request_id = result.id
        self.last_result = result
        self.compare.set_frames(original_image, restored_image)
        self.strength.show_decision(result.quality_used, result.quality_source, result.auto_quality)
        area = " (visible area)" if result.region is not None else ""
        self.timing_label.setText(f"restore {result.restore_seconds * 1000:.0f} ms{area}")
        self.timing_label.setToolTip(f"decode {result.decode_seconds * 1000:.0f} ms, restore "
                                     f"{result.restore_seconds * 1000:.0f} ms, frame {result.frame_index + 1}")
        self._count_fps()
        if not self.clock.playing:
            self.transport.show_position(result.frame_index)
        self.frameShown.emit(result)

    def _count_fps(self) -> None:
        now = time.perf_counter()
        self._shown_times.append(now)
        while self._shown_times and now - self._shown_times[0] > FPS_WINDOW_S:
            self._shown_times.popleft()
        if self.clock.playing and len(self._shown_times) >= 2:
            span = self._shown_times[-1] - self._shown_times[0]
            self.achieved_fps = (len(self._shown_times) - 1) / span if span > 0 else 0.0
            wanted = self.clock.fps * self.clock.rate  # slow motion asks for fewer frames a second
            self.fps_label.setText(f"{self.achieved_fps:.1f} fps restored / {wanted:.3g} wanted")

    # --- transport ---------------------------------------------------------------------------------------------
    def toggle_play(self) -> None:
        if self.media is not None and self.media.kind == "video":
            self.clock.toggle()

    def step(self, delta: int) -> None:
        if self.media is not None and self.media.kind == "video":
            self.clock.step(delta)

    def jump(self, where: str) -> None:
        if self.media is not None and self.media.kind == "video":
            self.clock.pause()
            self.clock.seek_index(0 if where == "start" else self.clock.frame_count - 1)

    def set_loop(self, on: bool) -> None:
        self.clock.loop = bool(on)
        for widget in (self.actions["loop"], self.transport.loop_box):
            widget.blockSignals(True)
            widget.setChecked(bool(on))
            widget.blockSignals(False)

    def _on_scrub(self, index: int) -> None:
        if self.media is not None and self.media.kind == "video":
            playing = self.clock.playing
            self.clock.seek_index(index) if playing else (self.clock.pause(), self.clock.seek_index(index))

    def _on_playing_changed(self, playing: bool) -> None:
        self.transport.set_playing(playing)
        self._shown_times.clear()
        if not playing and self.achieved_fps:
            self.fps_label.setText(f"{self.achieved_fps:.1f} fps restored (paused)")

    # --- strength / engine choice ------------------------------------------------------------------------------
    def _on_strength_changed(self) -> None:
        sync_strength_menu(self)
        self.settings.strength = self.strength.value
        self.settings.strength_mode = self.strength.mode
        if not self.clock.playing:  # while playing, the next frame picks the new value up
            self.request_frame()

    def _on_catalog(self, devices: list, names: list, default: str) -> None:
        for combo in (self.model_combo, self.device_combo):
            combo.blockSignals(True)
            combo.clear()
        for name in names:
            self.model_combo.addItem(name, name)
        self.device_combo.addItem("auto", "auto")
        for dev in devices:
            self.device_combo.addItem(dev, dev)
        model = self.settings.model if self.settings.model in names else default
        device = self.settings.device if self.device_combo.findData(self.settings.device) >= 0 else "auto"
        self.model_combo.setCurrentIndex(max(0, self.model_combo.findData(model)))
        self.device_combo.setCurrentIndex(max(0, self.device_combo.findData(device)))
        for combo in (self.model_combo, self.device_combo):
            combo.blockSignals(False)
        self._configure_engine()

    def _on_engine_choice(self) -> None:
        self.settings.model = self.model_combo.currentData() or ""
        self.settings.device = self.device_combo.currentData() or "auto"
        self._configure_engine()
        if not self.clock.playing:
            self.request_frame()

    def _configure_engine(self) -> None:
        self.engine_label.setText("Loading model…")
        self.engine.submit(ConfigureRestorerRequest(next_request_id(), self.model_combo.currentData(),
                                                    self.device_combo.currentData() or "auto"))

    def _on_restorer_ready(self, ready) -> None:
        precision = "" if ready.precision == "fp32" else f" {ready.precision}"
        self.engine_label.setText(f"{ready.name} on {ready.device}{precision}")
        self.engine_label.setToolTip(ready.title)

    # --- notices -----------------------------------------------------------------------------------------------
    def show_notice(self, text: str, level: str = "info") -> None:
        self.banner.show_notice(text, level)
        self.statusBar().showMessage(text, 8000)
        self.noticeShown.emit(text, level)

    def _on_engine_notice(self, text: str) -> None:
        self.show_notice(text, "warning")

    def _on_failed(self, request_id: int, message: str) -> None:
        if request_id in self._pending_open:
            path, _ = self._pending_open.pop(request_id)
            self.show_notice(f"Cannot open {path.name}: {message}", "error")
            self.media_label.setText(f"{Path(self.media.path).name} · {self.media.description}"
                                     if self.media is not None else "No media")
        else:
            self.show_notice(message, "error")

    # --- views -------------------------------------------------------------------------------------------------
    def set_view_mode(self, mode: str) -> None:
        self.compare.set_mode(mode)
        self.view_actions[mode].setChecked(True)
        self.settings.view_mode = mode

    def show_about(self) -> None:
        self._about_box = about.show_about(self)

    def show_shortcuts(self) -> None:
        self._shortcuts_box = about.show_shortcuts(self, self.actions)

    def eventFilter(self, obj, event) -> bool:  # noqa: N802
        kind = event.type()
        if kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease) and event.key() == AB_KEY \
                and not event.isAutoRepeat() and isinstance(obj, QWidget) and obj.window() is self \
                and not (event.modifiers() & ~Qt.KeyboardModifier.KeypadModifier):
            self.compare.set_holding_original(kind == QEvent.Type.KeyPress)
            return True
        return super().eventFilter(obj, event)

    # --- drag and drop -----------------------------------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:  # noqa: N802
        mime = event.mimeData()
        if any(url.isLocalFile() for url in mime.urls()) or mime.hasImage():  # files, or a browser's image
            event.acceptProposedAction()

    dragMoveEvent = dragEnterEvent

    def dropEvent(self, event) -> None:  # noqa: N802
        if self.paster.open_mime(event.mimeData(), "drop"):
            event.acceptProposedAction()

    # --- shutdown ----------------------------------------------------------------------------------------------
    def closeEvent(self, event) -> None:  # noqa: N802
        if not self._closing:
            if not confirm_quit(self):  # exports running or waiting: the user decides
                event.ignore()
                return
            self._closing = True
            self.clock.pause()
            self.settings.geometry = self.saveGeometry()
            self.settings.window_state = self.saveState()
            self.settings.sync()
            QApplication.instance().removeEventFilter(self)
            self.aboutToClose.emit()
            self.engine.shutdown()
        super().closeEvent(event)

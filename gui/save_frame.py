"""File → Save Frame As… (Ctrl+Shift+S): the restored frame on screen as a PNG, JPEG or WebP still, restored
whole on the engine thread with the controls as they are (the zoomed-in preview may show only a crop)."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog

from engine import SaveFrameRequest, next_request_id

from .menus import make_action

SAVE_FILTER = "PNG image (*.png);;JPEG image (*.jpg *.jpeg);;WebP image (*.webp)"


def suggested_name(media_path: Path, kind: str, frame_index: int) -> str:
    stem = Path(media_path).stem
    return f"{stem}_restored.png" if kind == "image" else f"{stem}_restored_frame{frame_index + 1:05d}.png"


class FrameSaver(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window_ = window
        self.pending: set[int] = set()
        action = window.actions["save_frame"] = make_action(
            window, "Save &Frame As…", self.choose_path, "Ctrl+Shift+S", "Save the restored frame on screen as an image")
        file_menu = window.menuBar().actions()[0].menu()
        file_menu.insertAction(window.actions["export"], action)
        window.engine.worker.frameSaved.connect(self._on_saved)  # a bound method: queued onto the GUI thread

    def choose_path(self) -> None:
        w = self.window_
        if w.media is None:
            w.show_notice("Open an image or video first.", "info")
            return
        folder = Path(w.settings.last_folder or Path(w.media.path).parent)
        name = suggested_name(w.media.path, w.media.kind, w.clock.current_index)
        path, _ = QFileDialog.getSaveFileName(w, "Save restored frame", str(folder / name), SAVE_FILTER)
        if path:
            self.save(Path(path))

    def save(self, path: Path) -> int:
        """Ask the engine for the frame on screen, restored whole, written to `path`; returns the request id."""
        w = self.window_
        if path.suffix == "":
            path = path.with_suffix(".png")  # a bare name from the dialog: the default format
        request = SaveFrameRequest(next_request_id(), w.media.id, w.clock.frame_time(w.clock.current_index),
                                   float(w.strength.value), w.strength.mode, path)
        self.pending.add(request.id)
        w.engine.submit(request)
        return request.id

    def _on_saved(self, request_id: int, path: str) -> None:
        if request_id in self.pending:
            self.pending.discard(request_id)
            self.window_.show_notice(f"Saved {Path(path).name}", "info")


def install_save_frame(window) -> FrameSaver:
    window.frame_saver = FrameSaver(window)
    return window.frame_saver

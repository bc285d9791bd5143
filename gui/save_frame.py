"""File → Save Frame As… (Ctrl+Shift+S) and Edit → Copy (Ctrl+C / Ctrl+Shift+C): the frame on screen, restored
whole on the engine thread with the controls as they are (the zoomed-in preview may show only a crop), to a PNG,
JPEG or WebP still or to the clipboard."""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QApplication, QFileDialog, QMenu

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
        copy = window.actions["copy_frame"] = make_action(
            window, "&Copy Restored Frame", self.copy_restored, "Ctrl+C", "Copy the restored frame to the clipboard")
        original = window.actions["copy_original"] = make_action(
            window, "Copy &Original Frame", self.copy_original, "Ctrl+Shift+C", "Copy the original frame")
        window.edit_menu = QMenu("&Edit", window)
        window.edit_menu.addActions([copy, original])
        window.menuBar().insertMenu(window.view_menu.menuAction(), window.edit_menu)
        window.engine.worker.frameSaved.connect(self._on_saved)  # a bound method: queued onto the GUI thread
        window.engine.worker.frameCopied.connect(self._on_copied)

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

    def copy_restored(self) -> int | None:
        """Ask the engine for the frame on screen, restored whole, for the clipboard; returns the request id."""
        if self.window_.media is None:
            self.window_.show_notice("Open an image or video first.", "info")
            return None
        return self.save(None)

    def copy_original(self) -> None:
        image = self.window_.compare.original_image
        if self.window_.media is None or image is None:
            self.window_.show_notice("Open an image or video first.", "info")
            return
        QApplication.clipboard().setImage(image)
        self.window_.show_notice(f"Copied the original frame ({image.width()}×{image.height()})", "info")

    def save(self, path: Path | None) -> int:
        """Ask the engine for the frame on screen, restored whole, written to `path` (None: to the clipboard);
        returns the request id."""
        w = self.window_
        if path is not None and path.suffix == "":
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

    def _on_copied(self, request_id: int, image) -> None:
        if request_id in self.pending:
            self.pending.discard(request_id)
            QApplication.clipboard().setImage(image)
            self.window_.show_notice(f"Copied the restored frame ({image.width()}×{image.height()})", "info")


def install_save_frame(window) -> FrameSaver:
    window.frame_saver = FrameSaver(window)
    return window.frame_saver

"""Edit → Paste (Ctrl+V) and drops of image data: open what the clipboard holds, whether a copied file, a copied path
or the pixels of a screenshot or a browser's image.

Pixels are written once to a PNG in the app's cache folder (on a worker thread: a 24 MP paste takes most of a second
to encode) and opened from there like any file, so export, Save Frame and the engine need nothing new. Such a
scratch file never becomes the "last folder" or a recent file, and exports of it are suggested in the last export
folder rather than beside it in the cache."""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from PySide6.QtCore import QMimeData, QObject, QStandardPaths, Signal
from PySide6.QtGui import QImage, QKeySequence
from PySide6.QtWidgets import QApplication

from .batch_export import open_dropped
from .menus import make_action

KEEP_PASTED = 20  # scratch files kept in the cache: the recent ones stay reopenable, the folder cannot grow forever
KEEP_BYTES = 512 * 2**20  # ... nor past this much (a 24 MP photo is 40-70 MB as PNG); the newest always stays


def default_paste_folder() -> Path:
    return Path(QStandardPaths.writableLocation(QStandardPaths.StandardLocation.CacheLocation)) / "pasted"


def local_files(mime: QMimeData) -> list[str]:
    """Copied or dragged files; a copied line of text that names an existing file counts too."""
    files = [url.toLocalFile() for url in mime.urls() if url.isLocalFile()]
    if not files and mime.hasText():
        text = mime.text().strip().strip('"').strip("'")
        if text and "\n" not in text and len(text) < 4096 and Path(text).expanduser().is_file():
            files = [str(Path(text).expanduser())]
    return files


def clipboard_image(mime: QMimeData) -> QImage | None:
    image = mime.imageData() if mime.hasImage() else None
    return image if isinstance(image, QImage) and not image.isNull() else None


def prune(folder: Path, keep: int = KEEP_PASTED, keep_bytes: int = KEEP_BYTES, spare: frozenset = frozenset()) -> None:
    """Delete the oldest scratch files beyond `keep` files or `keep_bytes`; never one in `spare` (pasted in this
    session: it may be on screen or waiting in the export queue), though those count towards the limits."""
    pasted = sorted(folder.glob("pasted-*.png"), key=lambda p: p.stat().st_mtime, reverse=True)
    total = 0
    for n, path in enumerate(pasted):
        total += path.stat().st_size
        if (n >= keep or (n > 0 and total > keep_bytes)) and path not in spare:
            path.unlink(missing_ok=True)


class ClipboardPaster(QObject):
    saved = Signal(str, str)  # path, error ("" when written): from the writer thread, queued to the GUI thread

    def __init__(self, window) -> None:
        super().__init__(window)
        self.window_ = window
        self.folder = default_paste_folder()
        self._writers: list[threading.Thread] = []
        self._written: set[Path] = set()  # this session's pastes: pruning spares them
        action = window.actions["paste"] = make_action(
            window, "&Paste", self.paste, QKeySequence.StandardKey.Paste,
            "Open the image, file or file path on the clipboard (a screenshot, a browser's image)")
        window.edit_menu.insertAction(window.edit_menu.actions()[0], action)
        window.edit_menu.insertSeparator(window.edit_menu.actions()[1])
        self.saved.connect(self._on_saved)
        window.aboutToClose.connect(self.join)

    def holds(self, path) -> bool:
        """True for a scratch file of ours: not a place the user chose."""
        return Path(path).absolute().parent == self.folder.absolute()

    def paste(self) -> bool:
        return self.open_mime(QApplication.clipboard().mimeData(), "clipboard")

    def open_mime(self, mime: QMimeData | None, where: str) -> bool:
        """Open files or pixels from a clipboard or a drop; False (and a notice) when there is neither."""
        if mime is None:
            return False
        files = local_files(mime)
        if files:
            open_dropped(self.window_, files)
            return True
        image = clipboard_image(mime)
        if image is None:
            self.window_.show_notice(f"The {where} holds no image and no file to open.", "info")
            return False
        self.window_.show_notice(f"Opening the {image.width()}×{image.height()} image from the {where}…", "info")
        writer = threading.Thread(target=self._write, args=(image.copy(), where), name="paste-writer")
        self._writers = [t for t in self._writers if t.is_alive()] + [writer]
        writer.start()
        return True

    def _write(self, image: QImage, where: str) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            stamp = time.strftime("%Y%m%d-%H%M%S")
            path = self.folder / f"pasted-{stamp}.png"
            n = 1
            while path.exists():
                n += 1
                path = self.folder / f"pasted-{stamp}-{n}.png"
            part = path.with_name(path.name + ".part")
            if not image.save(str(part), "PNG"):
                part.unlink(missing_ok=True)
                raise OSError(f"could not write {part.parent}")
            os.replace(part, path)
            self._written.add(path)
            prune(self.folder, spare=frozenset(self._written))
            self.saved.emit(str(path), "")
        except OSError as exc:
            self.saved.emit("", f"Could not keep the {where} image in {self.folder}: {exc.strerror or exc}")

    def _on_saved(self, path: str, error: str) -> None:
        if error:
            self.window_.show_notice(error, "error")
            return
        self.window_.open_path(path)
        # A pasted picture is pixels only: whatever quality tables the JPEG had stayed behind in the source.
        self.window_.show_notice("Pasted image: its JPEG tables, if it had any, did not come with it, so Auto "
                                 "estimates the strength from the pixels.", "info")

    def join(self) -> None:
        for writer in self._writers:
            writer.join()


def install_paste(window) -> ClipboardPaster:
    window.paster = ClipboardPaster(window)
    return window.paster

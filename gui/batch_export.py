"""File → Export Files… (Ctrl+Shift+E): many images and videos at once, each restored whole into one folder and
lined up in the export queue, with the strength, model and device the window has now (what `restore IN... -o
FOLDER` does headlessly). Stills become PNG, videos MP4 (H.264, the codec's default quality); the names are the
inputs' stems with `_restored`.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QFileDialog

import engine
from engine import ExportSettings, RestoraError

from .export_dialog import LAST_EXPORT_FOLDER_KEY, PASSES_KEY
from .export_runner import ExportJob
from .menus import OPEN_FILTER, make_action

OUTPUT_EXTENSION = {"image": ".png", "video": ".mp4"}


def batch_settings(window) -> ExportSettings:
    """The window's controls as export settings: Auto (and Relative) export as Auto per frame, Manual as its Q."""
    strength = window.strength
    quality = "auto" if strength.mode in ("auto", "relative") else float(strength.value)
    model = window.model_combo.currentData() or None
    saved = str(QSettings("Restora", "Restora").value(PASSES_KEY, 1))
    passes = int(saved) if saved.isdigit() and model != "deblock" else 1
    return ExportSettings(quality=quality, model=model, device=window.device_combo.currentData() or "auto",
                          ensemble=passes)


def queue_files(window, files: list[Path], folder: Path) -> tuple[int, list[str]]:
    """Queue an export of each file into `folder`; (how many were queued, one line per file that was not)."""
    settings = batch_settings(window)
    queued, problems = 0, []
    for src in files:
        src = Path(src).absolute()
        try:
            kind = engine.media_kind(src)  # a header sniff, milliseconds: the export itself runs on its thread
        except RestoraError as exc:
            problems.append(str(exc))
            continue
        dst = Path(folder).absolute() / f"{src.stem}_restored{OUTPUT_EXTENSION[kind]}"
        if dst == src:
            problems.append(f"{src.name}: the output would overwrite the input")
            continue
        reason = window.export_queue.submit(ExportJob(src, dst, kind, settings))
        if reason is not None:
            problems.append(reason)
        else:
            queued += 1
    return queued, problems


class BatchExport:
    def __init__(self, window) -> None:
        self.window_ = window
        action = window.actions["export_files"] = make_action(
            window, "Export &Files…", self.choose, "Ctrl+Shift+E",
            "Restore many images and videos into one folder, through the export queue")
        file_menu = window.menuBar().actions()[0].menu()
        actions = file_menu.actions()
        after_export = actions[actions.index(window.actions["export"]) + 1] if window.actions["export"] in actions \
            else None
        file_menu.insertAction(after_export, action)

    def choose(self) -> None:
        w = self.window_
        start = w.settings.last_folder or str(Path.home())
        files, _ = QFileDialog.getOpenFileNames(w, "Export files: choose images and videos", start, OPEN_FILTER)
        if not files:
            return
        q = QSettings("Restora", "Restora")
        folder = QFileDialog.getExistingDirectory(w, "Export files: choose the output folder",
                                                  str(q.value(LAST_EXPORT_FOLDER_KEY, "") or Path(files[0]).parent))
        if folder:
            q.setValue(LAST_EXPORT_FOLDER_KEY, folder)
            self.export(files, Path(folder))

    def export(self, files: list, folder: Path) -> int:
        w = self.window_
        queued, problems = queue_files(w, [Path(f) for f in files], folder)
        text = f"Queued {queued} export{'s' if queued != 1 else ''} to {folder} (View → Export Queue)"
        if problems:
            text += f"; {len(problems)} not queued: " + "; ".join(problems)
        w.show_notice(text, "error" if problems and not queued else "info")
        if queued:
            w.export_queue_dock.show()
            w.export_queue_dock.raise_()
        return queued


def install_batch_export(window) -> BatchExport:
    window.batch_export = BatchExport(window)
    return window.batch_export


def open_dropped(window, files: list[str]) -> None:
    """Drop: open the first file; several files point to Export Files…, which takes them all."""
    window.open_path(files[0])
    if len(files) > 1:
        window.show_notice(f"{len(files)} files dropped: opened {Path(files[0]).name}. File → Export Files… "
                           f"(Ctrl+Shift+E) restores many at once.", "info")

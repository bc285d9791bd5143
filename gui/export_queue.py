"""Export queue: the dialog hands every export here; one runs at a time (ExportRunner), the rest wait in order, so
a user can line up several clips (or several settings of one) and walk away.

The dock (View → Export Queue) lists each job with its state and lets the user drop waiting jobs, cancel the
running one and clear finished rows. Closing the window while exports run or wait asks first; quitting interrupts
the running export, keeping its finished segments for a resume, and drops the waiting ones.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (QDockWidget, QHBoxLayout, QListWidget, QListWidgetItem, QMessageBox, QPushButton,
                               QVBoxLayout, QWidget)

from .export_runner import ExportJob, ExportRunner, format_seconds, report_line

WAITING, RUNNING, DONE, FAILED, CANCELLED = "waiting", "running", "done", "failed", "cancelled"


@dataclass
class QueueEntry:
    job: ExportJob
    state: str = WAITING
    detail: str = ""

    def describe(self) -> str:
        names = f"{self.job.src.name} → {self.job.dst.name}"
        detail = f": {self.detail}" if self.detail else ""
        return f"{names} · {self.state}{detail}"


class ExportQueue(QObject):
    changed = Signal()

    def __init__(self, runner: ExportRunner, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.runner = runner
        self.entries: list[QueueEntry] = []
        runner.progress.connect(self._on_progress)
        runner.finished.connect(lambda report: self._end(DONE, report_line(report)))
        runner.failed.connect(lambda message: self._end(FAILED, message))
        runner.cancelled.connect(lambda: self._end(CANCELLED, "nothing was written"))
        runner.idle.connect(self._start_next)

    # --- what the dialog and the dock call -------------------------------------------------------------------
    def submit(self, job: ExportJob) -> str | None:
        """Queue `job` (it starts at once when nothing runs); a one-line reason instead when it cannot be."""
        for entry in self.entries:
            if entry.state in (WAITING, RUNNING) and Path(entry.job.dst) == Path(job.dst):
                return f"{job.dst.name} is already being written by a queued export"
        self.entries.append(QueueEntry(job))
        self._start_next()
        self.changed.emit()
        return None

    @property
    def waiting(self) -> list[QueueEntry]:
        return [e for e in self.entries if e.state == WAITING]

    @property
    def running_entry(self) -> QueueEntry | None:
        return next((e for e in self.entries if e.state == RUNNING), None)

    def remove(self, entry: QueueEntry) -> None:
        """Drop a waiting job, or a finished row; the running one is cancelled instead."""
        if entry.state == RUNNING:
            self.runner.cancel()
            return
        if entry in self.entries:
            self.entries.remove(entry)
            self.changed.emit()

    def clear_finished(self) -> None:
        self.entries = [e for e in self.entries if e.state in (WAITING, RUNNING)]
        self.changed.emit()

    def cancel_all(self) -> None:
        """Drop every waiting job and cancel the running one."""
        self.entries = [e for e in self.entries if e.state != WAITING]
        self.runner.cancel()
        self.changed.emit()

    # --- runner events -----------------------------------------------------------------------------------------
    def _start_next(self) -> None:
        if self.runner.running or self.runner.closing:
            return
        waiting = self.waiting
        if not waiting:
            return
        entry = waiting[0]
        entry.state = RUNNING
        entry.detail = "starting"
        self.changed.emit()
        self.runner.start(entry.job)

    def _on_progress(self, progress, _samples) -> None:
        entry = self.running_entry
        if entry is not None:
            total = max(progress.frames_total, 1)
            entry.detail = (f"{100 * progress.frames_done / total:.0f} %, {progress.fps:.1f} fps, "
                            f"ETA {format_seconds(progress.eta_seconds)}")
            self.changed.emit()

    def _end(self, state: str, detail: str) -> None:
        entry = self.running_entry
        if entry is not None:
            entry.state, entry.detail = state, detail
            self.changed.emit()


class ExportQueueDock(QDockWidget):
    def __init__(self, window, queue: ExportQueue) -> None:
        super().__init__("Export Queue", window)
        self.setObjectName("exportQueueDock")
        self.queue = queue
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 2, 6, 4)
        self.list = QListWidget()
        self.list.setObjectName("exportQueueList")
        layout.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        self.remove_button = QPushButton("Remove")
        self.remove_button.setToolTip("Drop the selected waiting job or finished row; cancel it if it is running")
        self.clear_button = QPushButton("Clear Finished")
        self.cancel_button = QPushButton("Cancel All")
        self.cancel_button.setToolTip("Cancel the running export and drop every waiting one")
        self.remove_button.clicked.connect(self._remove_selected)
        self.clear_button.clicked.connect(queue.clear_finished)
        self.cancel_button.clicked.connect(queue.cancel_all)
        for button in (self.remove_button, self.clear_button, self.cancel_button):
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            buttons.addWidget(button)
        buttons.addStretch(1)
        layout.addLayout(buttons)
        self.setWidget(body)
        queue.changed.connect(self.refresh)
        self.refresh()

    def refresh(self) -> None:
        selected = self.list.currentRow()
        self.list.clear()
        for entry in self.queue.entries:
            item = QListWidgetItem(entry.describe())
            item.setData(Qt.ItemDataRole.UserRole, id(entry))
            item.setToolTip(f"{entry.job.src}\n→ {entry.job.dst}")
            self.list.addItem(item)
        if 0 <= selected < self.list.count():
            self.list.setCurrentRow(selected)
        self.cancel_button.setEnabled(any(e.state in (WAITING, RUNNING) for e in self.queue.entries))
        self.clear_button.setEnabled(any(e.state not in (WAITING, RUNNING) for e in self.queue.entries))

    def _remove_selected(self) -> None:
        row = self.list.currentRow()
        if 0 <= row < len(self.queue.entries):
            self.queue.remove(self.queue.entries[row])


def quit_question(queue: ExportQueue) -> str | None:
    """What quitting now would stop, in words; None when no export runs or waits."""
    running, waiting = queue.running_entry, len(queue.waiting)
    if running is None and not waiting:
        return None
    parts = []
    if running is not None:
        parts.append(f"{running.job.src.name} is being exported ({running.detail}). What is finished is kept: "
                     f"export to {running.job.dst.name} again to resume.")
    if waiting:
        parts.append(f"{waiting} waiting export{'s' if waiting > 1 else ''} will not start.")
    return " ".join(parts)


def ask_to_quit(window, text: str) -> bool:
    box = QMessageBox(QMessageBox.Icon.Question, "Quit Restora?", "Quit while exporting?", parent=window)
    box.setInformativeText(text)
    quit_button = box.addButton("Quit", QMessageBox.ButtonRole.AcceptRole)
    box.setDefaultButton(box.addButton("Keep Exporting", QMessageBox.ButtonRole.RejectRole))
    box.exec()
    return box.clickedButton() is quit_button


def confirm_quit(window) -> bool:
    """Closing the window: True when nothing is exporting or the user agrees to stop it."""
    queue = getattr(window, "export_queue", None)
    text = quit_question(queue) if queue is not None else None
    return text is None or ask_to_quit(window, text)


def install_export_queue(window) -> ExportQueue:
    """window.export_queue (used by the export dialog) and its dock, hidden until a second job is queued."""
    queue = ExportQueue(window.export_runner, window)
    dock = ExportQueueDock(window, queue)
    window.add_bottom_dock(dock)
    window.tabifyDockWidget(window.quality_plot, dock)
    dock.hide()
    window.view_menu.addAction(dock.toggleViewAction())

    def show_when_lined_up() -> None:
        if queue.waiting and not dock.isVisible():
            dock.show()
            dock.raise_()

    queue.changed.connect(show_when_lined_up)
    window.export_queue, window.export_queue_dock = queue, dock
    return queue

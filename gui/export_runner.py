"""Runs one export at a time on its own QThread, apart from the preview's engine thread, so playback and
scrubbing stay usable while a clip is written. The GUI only talks to it through `start`, `cancel`, `shutdown`
and the queued signals below."""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot
from PySide6.QtWidgets import QApplication

import engine
from engine import CancelToken, Cancelled, RestoraError

PROGRESS_INTERVAL_S = 0.05  # at most ~20 progress signals a second: the bar cannot show more, the plot not much more


@dataclass(frozen=True)
class ExportJob:
    src: Path
    dst: Path
    kind: str  # "video" | "image"
    settings: object  # engine.ExportSettings
    resume: bool = False
    first_frame: int = 0  # clip index of the first exported frame (in point), for per-frame plots


def partial_export_exists(dst: Path) -> bool:
    """An interrupted (not cancelled) video export leaves its finished segments beside the destination."""
    return engine.work_dir_for(Path(dst)).is_dir()


def format_seconds(seconds: float | None) -> str:
    """ETA as m:ss."""
    if seconds is None:
        return "–"
    seconds = int(round(seconds))
    return f"{seconds // 60}:{seconds % 60:02d}"


def report_line(report) -> str:
    """One line for the notice banner: what was written, how fast, what happened to the other streams."""
    parts = [f"Exported {Path(report.output).name}: {report.frames} frame{'s' if report.frames != 1 else ''}"]
    if report.output.suffix.lower() in (".mp4", ".mkv", ".mov"):  # stills have no frames to skip, no streams
        parts.append(f"{report.skipped_frames} skipped")
    if report.resumed_frames:
        parts.append(f"{report.resumed_frames} resumed")
    if report.fps:
        parts.append(f"{report.fps:.1f} fps")
    parts.extend(report.audio)  # one entry per audio/subtitle stream: copied, transcoded or dropped
    return ", ".join(parts)


class _ExportWorker(QObject):
    """Lives on the export thread for one job; every outcome ends in exactly one of finished/failed/cancelled."""
    progress = Signal(object, object)  # ExportProgress, [(clip frame index, quality fed to the model)] since last
    finished = Signal(object)  # ExportReport
    failed = Signal(str)
    cancelled = Signal()
    done = Signal()

    def __init__(self, job: ExportJob, token: CancelToken) -> None:
        super().__init__()
        self.job, self.token = job, token
        self._last_emit = 0.0
        self._samples: list = []

    def _on_progress(self, progress) -> None:
        now = time.perf_counter()
        final = progress.frames_done >= progress.frames_total
        # frames_done counts resumed segments too; they precede the frames restored in this run.
        index = self.job.first_frame + max(0, progress.frames_done - 1)
        if progress.last_quality is not None:
            self._samples.append((index, float(progress.last_quality)))
        if final or now - self._last_emit >= PROGRESS_INTERVAL_S:
            self._last_emit = now
            samples, self._samples = self._samples, []
            self.progress.emit(progress, samples)

    @Slot()
    def run(self) -> None:
        job = self.job
        try:
            if job.kind == "image":
                report = engine.export_image(job.src, job.dst, job.settings, progress=self._on_progress,
                                             cancel=self.token)
            else:
                report = engine.export_video(job.src, job.dst, job.settings, progress=self._on_progress,
                                             cancel=self.token, resume=job.resume)
            self.finished.emit(report)
        except Cancelled:
            self.cancelled.emit()
        except RestoraError as exc:
            self.failed.emit(str(exc))
        except Exception as exc:  # a bug must become a notice, not take the app down
            traceback.print_exc()
            self.failed.emit(f"internal error: {type(exc).__name__}: {exc}")
        finally:
            self.done.emit()


class ExportRunner(QObject):
    """Owns the export thread. Signals are re-emitted from here so listeners survive between jobs."""
    started = Signal(object)  # ExportJob
    progress = Signal(object, object)  # ExportProgress, [(clip frame index, quality used)] since the last one
    finished = Signal(object)  # ExportReport
    failed = Signal(str)
    cancelled = Signal()
    idle = Signal()  # the thread has ended: a next job may start (not while the window closes)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.closing = False
        self.job: ExportJob | None = None
        self._thread: QThread | None = None
        self._worker: _ExportWorker | None = None
        self._token: CancelToken | None = None

    @property
    def running(self) -> bool:
        return self._thread is not None

    def start(self, job: ExportJob) -> bool:
        """Start `job`; False (and nothing started) if an export is already running."""
        if self.running:
            return False
        self.job, self._token = job, CancelToken()
        thread = QThread()
        thread.setObjectName("restora-export")
        worker = _ExportWorker(job, self._token)
        worker.moveToThread(thread)
        thread.started.connect(worker.run)
        worker.progress.connect(self.progress)
        worker.finished.connect(self.finished)
        worker.failed.connect(self.failed)
        worker.cancelled.connect(self.cancelled)
        # Direct: quit from the export thread itself, so shutdown() can join without the GUI loop turning.
        worker.done.connect(thread.quit, Qt.ConnectionType.DirectConnection)
        thread.finished.connect(self._on_thread_finished)
        self._thread, self._worker = thread, worker
        thread.start()
        self.started.emit(job)
        return True

    def cancel(self) -> None:
        """Ask the running export to stop; the engine checks the token between tiles and frames."""
        if self._token is not None:
            self._token.cancel()

    def shutdown(self, timeout_ms: int = 10000) -> bool:
        """Interrupt and join (window closing): the export keeps its finished segments for a resume. Returns False
        if the thread did not stop in time."""
        self.closing = True
        if self._thread is None:
            return True
        if self._token is not None:
            self._token.cancel(keep_partial=True)
        thread = self._thread
        stopped = thread.wait(timeout_ms)
        if stopped:
            self._on_thread_finished()
        return stopped

    def _on_thread_finished(self) -> None:
        if self._thread is None:
            return
        self._thread.wait()  # `finished` is emitted just before the thread really ends
        self._thread.deleteLater()
        self._worker.deleteLater()
        self._thread = self._worker = self._token = None
        if not self.closing:
            self.idle.emit()


def install_export(window) -> ExportRunner:
    """Gives `window` an export runner whose outcome reaches the notice banner, joined when the window closes."""
    runner = ExportRunner(window)
    window.export_runner = runner
    window.export_dialog = None
    runner.finished.connect(lambda report: window.show_notice(report_line(report), "info"))
    runner.failed.connect(lambda message: window.show_notice(f"Export failed: {message}", "error"))
    runner.cancelled.connect(lambda: window.show_notice("Export cancelled; nothing was written.", "info"))
    # A long export usually ends while the user is elsewhere: flash the taskbar entry (no-op when active).
    for signal in (runner.finished, runner.failed):
        signal.connect(lambda *_: QApplication.alert(window))
    window.aboutToClose.connect(runner.shutdown)
    return runner

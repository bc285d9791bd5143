"""The quality plot dock under the player: per-frame codec QP and picture types, the strength fed to the model,
restore time, and PSNR against a clean reference. Clicking a frame seeks the player there.

Data arrive from `MainWindow.frameShown` (frames on screen), a background QP scan of the whole clip, the export
runner's progress (strength of each frame written by an export of this clip) and a background PSNR job; all of it
lands in a FrameStats model, and a timer redraws at most ten times a second so playback never waits on plotting.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtWidgets import QDockWidget, QFileDialog, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from .frame_scans import ClipScan, ReferenceCompare
from .frame_stats import FrameStats
from .image_summary import ImageSummary, image_summary_html
from .plot_rows import build_rows, legend_html

REFERENCE_FILTER = ("Images and videos (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff *.mp4 *.m4v *.mkv *.mov *.avi "
                    "*.webm *.y4m);;All files (*)")
REDRAW_MS = 100
SCAN_DELAY_MS = 3000
REDRAW_COST_FACTOR, MAX_REDRAW_MS = 15, 2000
DOCK_HEIGHT = 340
IMAGE_DOCK_HEIGHT = 130  # three lines of text: the picture gets the rest


class QualityPlotDock(QDockWidget):
    seekRequested = Signal(int)  # frame index clicked on the plot

    def __init__(self, window) -> None:
        super().__init__("Quality", window)
        self.setObjectName("qualityPlotDock")  # saveState/restoreState key
        self.window_ = window
        self.stats = FrameStats()
        self.media = None
        self.scan: ClipScan | None = None
        self.compare: ReferenceCompare | None = None
        self._retired: list = []  # stopped jobs whose threads may still be finishing a frame
        self.reference_name = ""
        self.scanned = 0  # frames the QP scan has read; None once it finished
        self._image_result = None  # a still image's last restore, for its text summary
        self._drawn_revision = -1
        self._build()
        self._timer = QTimer(self)
        self._timer.setInterval(REDRAW_MS)
        self._timer.timeout.connect(self._redraw_if_changed)
        self._timer.start()

    # --- layout ----------------------------------------------------------------------------------------------
    def _build(self) -> None:
        body = QWidget()
        body.setObjectName("qualityPlotBody")
        layout = QVBoxLayout(body)
        layout.setContentsMargins(6, 2, 6, 4)
        layout.setSpacing(2)
        header = QHBoxLayout()
        self.legend_label = QLabel()
        self.legend_label.setTextFormat(Qt.TextFormat.RichText)
        self.status_label = QLabel("")
        self.status_label.setObjectName("sourceLabel")
        self.reference_button = QPushButton("Load Reference…")
        self.reference_button.clicked.connect(self.choose_reference)
        self.clear_button = QPushButton("Clear Reference")
        self.clear_button.clicked.connect(self.clear_reference)
        self.clear_button.setVisible(False)
        header.addWidget(self.legend_label)
        header.addStretch(1)
        header.addWidget(self.status_label)
        header.addWidget(self.reference_button)
        header.addWidget(self.clear_button)
        layout.addLayout(header)

        self.graphics = pg.GraphicsLayoutWidget()
        self.graphics.setMinimumHeight(200)
        self.graphics.ci.setSpacing(0)
        self.graphics.ci.setContentsMargins(0, 0, 4, 0)
        layout.addWidget(self.graphics, 1)
        self.image_summary = ImageSummary()
        self.image_summary.setVisible(False)
        layout.addWidget(self.image_summary, 1)
        self.setWidget(body)

        self.plots, self.curves, self.type_markers = build_rows(self.graphics)
        self.graphics.scene().sigMouseClicked.connect(self._on_click)
        self._show_psnr_row(False)
        self._update_legend()

    def _show_psnr_row(self, visible: bool) -> None:
        # A hidden item keeps its row in a QGraphicsGridLayout; a zero maximum height gives the space back.
        plot = self.plots["psnr"]
        plot.setVisible(visible)
        plot.setMaximumHeight(16777215 if visible else 0)

    def _update_legend(self) -> None:
        qp = self.stats.has("qp")
        self.legend_label.setText(legend_html(self.stats, self.compare is not None))
        self.plots["source"].setLabel("left", "QP" if qp else "Est. q")

    # --- wiring ----------------------------------------------------------------------------------------------
    def attach(self, window) -> None:
        window.mediaReady.connect(self.on_media)
        window.frameShown.connect(self.on_frame_shown)
        window.clock.frameDue.connect(lambda index, _t: self.set_playhead(index))
        window.aboutToClose.connect(self.shutdown)
        runner = getattr(window, "export_runner", None)
        if runner is not None:
            runner.progress.connect(self.on_export_progress)
        self.seekRequested.connect(self._seek_player)

    def on_media(self, opened) -> None:
        self._stop_jobs()
        self.media = opened
        self.reference_name = ""
        self.stats.reset(opened.frame_count)
        last = max(opened.frame_count - 1, 1)
        for plot in self.plots.values():
            plot.setLimits(xMin=-1, xMax=last + 1)
            plot.setXRange(-0.5, last + 0.5, padding=0)
        self._show_psnr_row(False)
        self.clear_button.setVisible(False)
        self.status_label.setText("")
        self.scanned = None
        self._image_result = None
        self._set_image_mode(opened.kind == "image")
        if opened.kind == "video":
            self.scanned = 0
            self.scan = ClipScan(Path(opened.path))
            self.scan.batch.connect(self._on_scan_batch)
            self.scan.finished.connect(self._on_scan_finished)
            self.scan.failed.connect(self._on_scan_failed)
            self.status_label.setText(self._summary())
            # Decoding the whole clip competes with the preview's first frame for the CPU: start once that frame
            # is on screen, or after SCAN_DELAY_MS if none comes (e.g. a frame that fails to restore).
            QTimer.singleShot(SCAN_DELAY_MS, self._start_scan)
        self._redraw()

    def _set_image_mode(self, image: bool) -> None:
        """One frame: numbers as text, not dots on a time axis, in a lower dock; a video gets its height back."""
        if image == self.image_summary.isVisible():
            return
        if image:  # before the first layout (an image given on the command line) the height means nothing
            self._plot_height = self.height() if self.height() > 2 * IMAGE_DOCK_HEIGHT else DOCK_HEIGHT
        self.graphics.setVisible(not image)
        self.legend_label.setVisible(not image)
        self.image_summary.setVisible(image)
        height = IMAGE_DOCK_HEIGHT if image else getattr(self, "_plot_height", DOCK_HEIGHT)
        self.window_.resizeDocks([self], [height], Qt.Orientation.Vertical)

    def on_frame_shown(self, result) -> None:
        if self.media is None or result.media_id != self.media.id:
            return
        self._start_scan()
        i = result.frame_index
        if self.media.kind == "image":
            self._image_result = result
        self.stats.set("strength", i, result.quality_used)
        self.stats.set("estimate", i, result.auto_quality)
        self.stats.set("restore_ms", i, result.restore_seconds * 1000.0)
        if self.compare is not None and getattr(result, "region", None) is None:  # PSNR of whole frames only
            self.compare.submit(i, result.restored)
        self.set_playhead(i)

    def on_export_progress(self, _progress, samples) -> None:
        """Frames written by an export: plotted when the export is of the clip on screen."""
        job = self.window_.export_runner.job
        if self.media is None or job is None or Path(job.src) != Path(self.media.path):
            return
        for index, quality in samples:
            self.stats.set("export_strength", index, quality)

    def set_playhead(self, index: int) -> None:
        for plot in self.plots.values():
            plot.playhead.setValue(index)

    def _start_scan(self) -> None:
        if self.scan is not None and not self.scan.started and not self.scan.stopped:
            self.scan.start()

    def _on_scan_batch(self, batch) -> None:
        if self.sender() is not self.scan:
            return  # queued from a scan of the previous media
        for index, pict_type, qp, quality in batch:
            self.stats.set_frame_type(index, pict_type)
            self.stats.set("qp", index, qp)
            self.stats.set("qp_quality", index, quality)
        if self.scanned is not None:
            self.scanned = batch[-1][0] + 1
        self.status_label.setText(self._summary())

    def _on_scan_finished(self) -> None:
        if self.sender() is not self.scan:
            return
        self.scanned = None
        self.status_label.setText(self._summary())

    # --- reference -------------------------------------------------------------------------------------------
    def choose_reference(self) -> None:
        if self.media is None:
            self.window_.show_notice("Open a video or image first, then load its clean reference.", "info")
            return
        start = str(Path(self.media.path).parent)
        path, _ = QFileDialog.getOpenFileName(self, "Load reference (clean original)", start, REFERENCE_FILTER)
        if path:
            self.load_reference(path)

    def load_reference(self, path) -> None:
        """Compare with a clean version of the clip on screen: PSNR per frame, computed on a background thread."""
        if self.media is None:
            return
        self.clear_reference()
        path = Path(path)
        self.compare = ReferenceCompare(path, Path(self.media.path), self.media.kind)
        self.compare.ready.connect(self._on_reference_ready)
        self.compare.inputPsnr.connect(self._on_input_psnr)
        self.compare.restoredPsnr.connect(self._on_restored_psnr)
        self.compare.failed.connect(self._on_reference_failed)
        self.status_label.setText(f"Checking {path.name}…")
        self.compare.start()
        self._show_psnr_row(True)
        self.clear_button.setVisible(True)
        self._update_legend()
        self._show_image_summary()
        shown = self.window_.last_result
        if shown is not None and getattr(shown, "region", None) is not None:
            self.window_.request_frame()  # only part of it was restored: PSNR needs the whole frame
        elif shown is not None:  # the frame already on screen gets its PSNR at once
            self.on_frame_shown(shown)

    def clear_reference(self) -> None:
        if self.compare is not None:
            self._retire(self.compare)
            self.compare = None
        self.reference_name = ""
        self.stats.clear("psnr_input", "psnr_restored")
        self._show_psnr_row(False)
        self.clear_button.setVisible(False)
        self.status_label.setText(self._summary())
        self._update_legend()
        self._show_image_summary()

    def _on_reference_ready(self, description: str) -> None:
        if self.sender() is not self.compare:
            return
        self.reference_name = description
        self.status_label.setText(self._summary())
        self._show_image_summary()

    def _on_restored_psnr(self, index: int, db: float) -> None:
        if self.sender() is self.compare:
            self.stats.set("psnr_restored", index, db)
            self.status_label.setText(self._summary())

    def _on_input_psnr(self, batch) -> None:
        if self.sender() is not self.compare:
            return
        for index, db in batch:
            self.stats.set("psnr_input", index, db)
        self.status_label.setText(self._summary())

    def _on_scan_failed(self, message: str) -> None:
        if self.sender() is self.scan:
            self.scanned = None
            self.status_label.setText(f"QP scan failed: {message}")

    def _on_reference_failed(self, message: str) -> None:
        if self.sender() is not self.compare:
            return
        self.clear_reference()
        self.window_.show_notice(f"Cannot compare with the reference: {message}", "error")

    def _summary(self) -> str:
        if self.media is not None and self.media.kind == "image":
            return ""  # the image summary below says it all
        parts = []
        qp = self.stats.mean("qp")
        if self.scanned is not None and self.media is not None:
            parts.append(f"scanning QP {self.scanned} / {self.media.frame_count}")
        elif qp is not None:
            parts.append(f"mean QP {qp:.1f}")
        if self.reference_name:
            parts.append(f"reference {self.reference_name}")
            for name, title in (("psnr_input", "input"), ("psnr_restored", "restored")):
                mean = self.stats.mean(name)
                if mean is not None:
                    parts.append(f"{title} {mean:.2f} dB")
        return " · ".join(parts)

    # --- drawing and clicks ----------------------------------------------------------------------------------
    def _redraw_if_changed(self) -> None:
        if self.stats.revision != self._drawn_revision and self.isVisible():
            started = time.perf_counter()
            self._redraw()
            # Long clips cost more per redraw (30k frames: ~0.15 s); space redraws out so plotting stays a small
            # share of the GUI thread (painting costs about as much again) and playback keeps its frame rate.
            cost_ms = (time.perf_counter() - started) * 1000
            self._timer.setInterval(int(min(max(REDRAW_MS, cost_ms * REDRAW_COST_FACTOR), MAX_REDRAW_MS)))

    def _redraw(self) -> None:
        s = self.stats
        source = "qp" if s.has("qp") else "estimate"
        frames = np.arange(s.frame_count, dtype=np.float64)
        # Whole arrays, NaN where a frame has no value yet: lines break at gaps instead of bridging frames
        # that were never shown (playback slower than the source skips frames).
        for curve, name in [("source", source)] + [(n, n) for n in ("qp_quality", "strength", "export_strength",
                                                                    "psnr_input", "psnr_restored", "restore_ms")]:
            if s.has(name):
                self.curves[curve].setData(frames, s.values[name], connect="finite")
            else:
                self.curves[curve].setData([], [])  # an all-NaN array makes the symbol bounds warn
        for kind, marker in self.type_markers.items():
            x, y = s.typed_points(source, kind)
            marker.setData(x=x, y=y)
        slowest = s.values["restore_ms"][np.isfinite(s.values["restore_ms"])]
        if slowest.size:  # times read best from zero; autorange would zoom into the jitter
            self.plots["time"].setYRange(0, float(slowest.max()) * 1.15 + 1e-3, padding=0)
        self._drawn_revision = s.revision
        self._update_legend()
        self._show_image_summary()

    def _show_image_summary(self) -> None:
        if self.media is None or self.media.kind != "image":
            return
        first = {name: float(self.stats.values[name][0]) for name in ("psnr_input", "psnr_restored")}
        reference = None if self.compare is None else self.reference_name
        self.image_summary.setText(image_summary_html(self._image_result, first["psnr_input"],
                                                      first["psnr_restored"], reference))

    def _on_click(self, event) -> None:
        if event.button() != Qt.MouseButton.LeftButton or self.media is None:
            return
        pos = event.scenePos()
        for plot in self.plots.values():
            if plot.isVisible() and plot.vb.sceneBoundingRect().contains(pos):
                index = int(round(plot.vb.mapSceneToView(pos).x()))
                self.seekRequested.emit(min(max(index, 0), self.stats.frame_count - 1))
                event.accept()
                return

    def _seek_player(self, index: int) -> None:
        w = self.window_
        if w.media is not None and w.media.kind == "video":
            w.clock.pause()
            w.clock.seek_index(index)

    # --- lifetime --------------------------------------------------------------------------------------------
    def _retire(self, job) -> None:
        """Stop without waiting (the GUI thread must not wait for a frame to decode); drop what has ended."""
        job.stop(wait=False)
        self._retired.append(job)
        for old in [j for j in self._retired if not j.alive]:
            self._retired.remove(old)
            old.deleteLater()

    def _stop_jobs(self) -> None:
        for job in (self.scan, self.compare):
            if job is not None:
                self._retire(job)
        self.scan = self.compare = None

    def shutdown(self) -> None:
        """Window closing: stop redrawing and join every background thread."""
        self._timer.stop()
        self._stop_jobs()
        for job in self._retired:
            job.stop(wait=True)
        self._retired.clear()


def install_quality_plot(window) -> QualityPlotDock:
    """Adds the dock under the player (View menu toggles it) and File → Load Reference…."""
    dock = QualityPlotDock(window)
    window.add_bottom_dock(dock)
    window.resizeDocks([dock], [DOCK_HEIGHT], Qt.Orientation.Vertical)  # the picture keeps most of the window
    dock.attach(window)
    action = window.actions["reference"] = window.addAction("Load &Reference…")
    action.setStatusTip("Load the clean original of the clip on screen to plot PSNR per frame")
    action.triggered.connect(dock.choose_reference)
    file_menu = window.menuBar().actions()[0].menu()
    file_menu.insertAction(window.actions["export"], action)
    window.quality_plot = dock
    return dock

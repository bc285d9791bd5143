"""File → Export… (Ctrl+E): where to write, codec/container/quality/range/strength, then progress and Cancel.

The dialog is non-modal and the export runs on its own thread (ExportRunner), so the preview stays usable. The
choices offered follow the engine's CODECS table: containers and bit depths a codec cannot write are disabled.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings, Qt, QUrl
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (QCheckBox, QComboBox, QDialog, QDialogButtonBox, QFileDialog, QFormLayout, QGroupBox,
                               QHBoxLayout, QLabel, QLineEdit, QProgressBar, QPushButton, QSpinBox, QVBoxLayout)

from engine import CODECS, ExportSettings

from .export_layout import LayoutCombo, retarget
from .export_range import RangeRow
from .export_runner import ExportJob, ExportRunner, format_seconds, partial_export_exists, report_line

CONTAINER_TITLES = {".mp4": "MP4", ".mkv": "MKV", ".mov": "MOV"}
IMAGE_FORMATS = {".png": "PNG (lossless)", ".jpg": "JPEG", ".webp": "WebP"}
LAST_EXPORT_FOLDER_KEY = "export/last_folder"
PASSES_KEY = "export/passes"  # self-ensemble size, remembered: a user who wants the finest usually always does
PASSES = {1: "1 pass (fastest)", 4: "4 turned passes (4× time)", 8: "8 turned passes (finest, 8× time)"}
LABEL_WIDTH = 96


def _label(text: str) -> QLabel:
    label = QLabel(text)
    label.setMinimumWidth(LABEL_WIDTH)  # one width in every group, so the fields line up across groups
    return label


def _set_item_enabled(combo: QComboBox, index: int, enabled: bool) -> None:
    item = combo.model().item(index)
    flags = item.flags()
    item.setFlags(flags | Qt.ItemFlag.ItemIsEnabled if enabled else flags & ~Qt.ItemFlag.ItemIsEnabled)


class ExportDialog(QDialog):
    def __init__(self, window, runner: ExportRunner) -> None:
        super().__init__(window)
        self.setObjectName("exportDialog")
        self.setWindowTitle("Export")
        self.setModal(False)
        self.window_ = window
        self.runner = runner
        self.context: dict | None = None
        self.q = QSettings("Restora", "Restora")
        self._build()
        runner.started.connect(self._on_started)
        runner.progress.connect(self._on_progress)
        runner.finished.connect(self._on_finished)
        runner.failed.connect(self._on_failed)
        runner.cancelled.connect(self._on_cancelled)

    # --- layout ------------------------------------------------------------------------------------------
    def _build(self) -> None:
        self.path_edit = QLineEdit()
        self.path_edit.setMinimumWidth(380)
        self.path_edit.editingFinished.connect(self._on_path_edited)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self.browse)
        path_row = QHBoxLayout()
        path_row.addWidget(self.path_edit, 1)
        path_row.addWidget(self.browse_button)

        self.format_combo = QComboBox()  # containers for video, image formats for stills
        self.format_combo.currentIndexChanged.connect(self._on_format_changed)
        self.codec_combo = QComboBox()
        for name, spec in CODECS.items():
            self.codec_combo.addItem(spec.title, name)
        self.codec_combo.currentIndexChanged.connect(self._on_codec_changed)
        self.rate_mode = QComboBox()
        self.rate_mode.addItem("Constant quality (CRF)", "crf")
        self.rate_mode.addItem("Bitrate", "bitrate")
        self.rate_mode.currentIndexChanged.connect(self._update_rate_widgets)
        self.crf_spin = QSpinBox()
        self.bitrate_spin = QSpinBox()
        self.bitrate_spin.setRange(100, 200000)
        self.bitrate_spin.setSingleStep(500)
        self.bitrate_spin.setValue(8000)
        self.bitrate_spin.setSuffix(" kbit/s")
        self.rate_note = QLabel()
        self.rate_note.setObjectName("sourceLabel")
        rate_row = QHBoxLayout()
        for w in (self.rate_mode, self.crf_spin, self.bitrate_spin, self.rate_note):
            rate_row.addWidget(w)
        rate_row.addStretch(1)
        self.preset_combo = QComboBox()
        self.depth_combo = QComboBox()
        self.depth_combo.addItem("8-bit", 8)
        self.depth_combo.addItem("10-bit", 10)

        self.video_box = QGroupBox("Video encoding")
        video_form = QFormLayout(self.video_box)
        video_form.addRow(_label("Codec"), self.codec_combo)
        video_form.addRow(_label("Quality"), rate_row)
        self.preset_label = _label("Speed preset")
        video_form.addRow(self.preset_label, self.preset_combo)
        video_form.addRow(_label("Bit depth"), self.depth_combo)

        self.range_widget = RangeRow(self.window_.clock)
        r = self.range_widget
        self.whole_clip, self.in_spin, self.out_spin = r.whole_clip, r.in_spin, r.out_spin
        self.set_in_button, self.set_out_button = r.set_in_button, r.set_out_button

        self.strength_combo = QComboBox()
        self.strength_combo.addItem("Auto (per frame)", "auto")
        self.strength_combo.addItem("Fixed quality", "fixed")
        self.strength_combo.currentIndexChanged.connect(self._update_strength_widgets)
        self.strength_spin = QSpinBox()
        self.strength_spin.setRange(1, 100)
        self.passes_combo = QComboBox()  # engine/restore/ensemble.py: 8 passes gained ~0.1 dB on LIVE1
        for n, title in PASSES.items():
            self.passes_combo.addItem(title, n)
        self.passes_combo.setToolTip("Average the model over flipped/turned copies of each frame: slower, finer")
        saved = str(self.q.value(PASSES_KEY, 1))  # a string from some settings back-ends; garbage picks 1 pass
        self.passes_combo.setCurrentIndex(max(0, self.passes_combo.findData(int(saved) if saved.isdigit() else 1)))
        strength_row = QHBoxLayout()
        for w in (self.strength_combo, self.strength_spin, self.passes_combo):
            strength_row.addWidget(w)
        strength_row.addStretch(1)
        self.keep_audio = QCheckBox("Keep audio")
        self.keep_subtitles = QCheckBox("Keep subtitles")
        for box in (self.keep_audio, self.keep_subtitles):
            box.setChecked(True)
        streams_row = QHBoxLayout()
        streams_row.addWidget(self.keep_audio)
        streams_row.addWidget(self.keep_subtitles)
        streams_row.addStretch(1)
        self.resume_box = QCheckBox("Resume the interrupted export found for this file")
        self.resume_box.setChecked(True)

        output_box = QGroupBox("Output")
        output_form = QFormLayout(output_box)
        output_form.addRow(_label("Save to"), path_row)
        self.format_label = _label("Container")
        output_form.addRow(self.format_label, self.format_combo)
        self.layout_combo = LayoutCombo(self.q, self.path_edit, self._on_path_edited)
        output_form.addRow(_label("Layout"), self.layout_combo)
        content_box = QGroupBox("Restoration")
        form = QFormLayout(content_box)
        self.range_label = _label("Range")
        form.addRow(self.range_label, self.range_widget)
        form.addRow(_label("Strength"), strength_row)
        self.streams_label = _label("Streams")
        form.addRow(self.streams_label, streams_row)

        self.progress_bar = QProgressBar()
        self.progress_bar.setTextVisible(True)
        self.status_label = QLabel("")
        self.status_label.setObjectName("exportStatus")
        self.status_label.setWordWrap(True)
        self.buttons = QDialogButtonBox()
        self.export_button = self.buttons.addButton("Export", QDialogButtonBox.ButtonRole.AcceptRole)
        self.cancel_button = self.buttons.addButton("Cancel Export", QDialogButtonBox.ButtonRole.RejectRole)
        self.close_button = self.buttons.addButton("Close", QDialogButtonBox.ButtonRole.DestructiveRole)
        self.show_folder_button = self.buttons.addButton("Show in Folder", QDialogButtonBox.ButtonRole.ActionRole)
        self.show_folder_button.clicked.connect(self.show_in_folder)
        self.show_folder_button.setVisible(False)
        self.written: Path | None = None  # the last export's file, for Show in Folder
        self.export_button.clicked.connect(self.start_export)
        self.cancel_button.clicked.connect(self.runner.cancel)
        self.cancel_button.setToolTip("Cancel the running export; queued ones still follow (the Export Queue's Cancel "
                                      "All stops them too)")
        self.close_button.clicked.connect(self.hide)

        self.export_button.setDefault(True)
        for button in (self.cancel_button, self.close_button, self.show_folder_button):
            button.setAutoDefault(False)

        layout = QVBoxLayout(self)
        layout.addWidget(output_box)
        layout.addWidget(self.video_box)
        layout.addWidget(content_box)
        layout.addWidget(self.resume_box)
        layout.addWidget(self.progress_bar)
        layout.addWidget(self.status_label)
        layout.addWidget(self.buttons)
        self._set_running(False)

    # --- filling from the main window ------------------------------------------------------------------------
    @property
    def is_image(self) -> bool:
        return self.context is not None and self.context["kind"] == "image"

    def load_context(self, context: dict) -> None:
        """Start from what the window shows now: its file, strength and (for videos) the clip's length."""
        self.context = context
        src = Path(context["path"])
        self.format_combo.blockSignals(True)
        self.format_combo.clear()
        for ext, title in (IMAGE_FORMATS if self.is_image else CONTAINER_TITLES).items():
            self.format_combo.addItem(title, ext)
        self.format_combo.blockSignals(False)
        self.format_label.setText("Format" if self.is_image else "Container")
        for w in (self.video_box, self.range_label, self.range_widget, self.streams_label, self.keep_audio,
                  self.keep_subtitles):
            w.setVisible(not self.is_image)
        self.strength_combo.setItemText(0, "Auto" if self.is_image else "Auto (per frame)")
        self.strength_combo.setCurrentIndex(0 if context["strength_mode"] in ("auto", "relative") else 1)
        self.strength_spin.setValue(int(round(context["slider"])))
        self._update_strength_widgets()
        self.range_widget.reset(float(context.get("duration") or 0.0))
        # MP4 for video; PNG for stills: re-compressing a restored JPEG as JPEG would add artefacts back.
        # A pasted image lives in the app's cache: suggest the last export folder instead of beside it.
        folder = Path(str(self.q.value(LAST_EXPORT_FOLDER_KEY, "") or Path.home())) if context.get("scratch") \
            else src.parent
        suggested = folder / f"{src.stem}_restored{self.format_combo.itemData(0)}"
        self.path_edit.setText(retarget(str(suggested), self.layout_combo.currentData()))
        if not self.is_image:
            self._on_codec_changed()
        self._on_path_edited()
        self.status_label.setText("")
        self.progress_bar.setValue(0)
        self.adjustSize()  # video → image hides whole groups: shrink to what is left

    # --- constraints -----------------------------------------------------------------------------------------
    @property
    def codec_spec(self):
        return CODECS[self.codec_combo.currentData()]

    def _on_codec_changed(self) -> None:
        spec = self.codec_spec
        for i in range(self.format_combo.count()):
            _set_item_enabled(self.format_combo, i, self.format_combo.itemData(i) in spec.containers)
        if self.format_combo.currentData() not in spec.containers:
            self.format_combo.setCurrentIndex(self.format_combo.findData(spec.containers[0]))
        for i in range(self.depth_combo.count()):
            _set_item_enabled(self.depth_combo, i, self.depth_combo.itemData(i) in spec.bit_depths)
        if self.depth_combo.currentData() not in spec.bit_depths:
            self.depth_combo.setCurrentIndex(self.depth_combo.findData(spec.bit_depths[0]))
        self.depth_combo.setEnabled(len(spec.bit_depths) > 1)
        self.preset_combo.clear()
        for preset in spec.presets:
            self.preset_combo.addItem(preset, preset)
        if spec.default_preset is not None:
            self.preset_combo.setCurrentIndex(self.preset_combo.findData(spec.default_preset))
        self.preset_combo.setEnabled(bool(spec.presets))
        self.preset_label.setText("Profile" if spec.preset_option == "profile" else "Speed preset")
        if spec.crf_range is not None:
            self.crf_spin.setRange(*spec.crf_range)
            self.crf_spin.setValue(spec.default_crf)
        self._update_rate_widgets()

    def _update_rate_widgets(self) -> None:
        spec = self.codec_spec
        has_rate = spec.crf_range is not None and not spec.lossless
        bitrate = self.rate_mode.currentData() == "bitrate"
        self.rate_mode.setVisible(has_rate)
        self.crf_spin.setVisible(has_rate and not bitrate)
        self.bitrate_spin.setVisible(has_rate and bitrate)
        self.rate_note.setVisible(not has_rate)
        self.rate_note.setText("lossless" if spec.lossless else "set by the profile")

    def _update_strength_widgets(self) -> None:
        self.strength_spin.setEnabled(self.strength_combo.currentData() == "fixed")

    def _on_format_changed(self) -> None:
        ext = self.format_combo.currentData()
        text = self.path_edit.text().strip()
        if ext and text:
            self.path_edit.setText(str(Path(text).with_suffix(ext)))
        self._update_resume_offer()

    def _on_path_edited(self) -> None:
        """A typed extension picks the matching format (if the codec allows it; otherwise Export explains)."""
        suffix = Path(self.path_edit.text().strip()).suffix.lower()
        suffix = ".jpg" if suffix == ".jpeg" else suffix
        index = self.format_combo.findData(suffix)
        if index >= 0 and index != self.format_combo.currentIndex():
            self.format_combo.blockSignals(True)
            self.format_combo.setCurrentIndex(index)
            self.format_combo.blockSignals(False)
        self._update_resume_offer()

    def _update_resume_offer(self) -> None:
        text = self.path_edit.text().strip()
        self.resume_box.setVisible(bool(text) and not self.is_image and partial_export_exists(Path(text)))

    def browse(self) -> None:
        """Save-as dialog, opening in the folder of the last export (the default path sits beside the input)."""
        ext = self.format_combo.currentData() or ""
        title = self.format_combo.currentText()
        current = Path(self.path_edit.text().strip() or f"export{ext}")
        folder = str(self.q.value(LAST_EXPORT_FOLDER_KEY, "") or "")
        start = Path(folder) / current.name if folder and Path(folder).is_dir() else current
        path, _ = QFileDialog.getSaveFileName(self, "Export to", str(start), f"{title} (*{ext})")
        if path:
            self.path_edit.setText(path if Path(path).suffix else path + ext)
            self._on_path_edited()

    # --- running ---------------------------------------------------------------------------------------------
    def settings(self) -> ExportSettings:
        quality = "auto" if self.strength_combo.currentData() == "auto" else float(self.strength_spin.value())
        ctx = self.context
        model = ctx.get("restorer") or None
        passes = self.passes_combo.currentData() if model != "deblock" else 1  # a fixed filter has no turns
        common = dict(quality=quality, model=model, device=ctx.get("device") or "auto", ensemble=passes,
                      layout=self.layout_combo.currentData())
        if self.is_image:
            return ExportSettings(**common)
        spec = self.codec_spec
        has_rate = spec.crf_range is not None and not spec.lossless
        bitrate = has_rate and self.rate_mode.currentData() == "bitrate"
        partial = not self.whole_clip.isChecked()
        return ExportSettings(
            codec=spec.name, crf=self.crf_spin.value() if has_rate and not bitrate else None,
            bitrate=self.bitrate_spin.value() * 1000 if bitrate else None,
            preset=self.preset_combo.currentData() if spec.presets else None,
            ten_bit=self.depth_combo.currentData() == 10, start=self.in_spin.value() if partial else None,
            end=self.out_spin.value() if partial else None, keep_audio=self.keep_audio.isChecked(),
            keep_subtitles=self.keep_subtitles.isChecked(), **common)

    def start_export(self) -> bool:
        if self.context is None:
            return False
        dst = Path(self.path_edit.text().strip()).expanduser()
        if not dst.name:
            self._show_status("Choose where to save the export.", error=True)
            return False
        settings = self.settings()
        fps = float(self.context.get("fps") or 0.0)
        first = int(round(settings.start * fps)) if (not self.is_image and settings.start) else 0
        job = ExportJob(Path(self.context["path"]), dst, self.context["kind"], settings,
                        resume=self.resume_box.isVisibleTo(self) and self.resume_box.isChecked(), first_frame=first)
        self.q.setValue(LAST_EXPORT_FOLDER_KEY, str(dst.parent))
        self.q.setValue(PASSES_KEY, self.passes_combo.currentData())
        reason = self.window_.export_queue.submit(job)
        if reason is not None:
            self._show_status(reason, error=True)
            return False
        if self.runner.job is not job:
            waiting = len(self.window_.export_queue.waiting)
            self._show_status(f"Queued {dst.name}: it starts when the export before it ends ({waiting} waiting; "
                              f"View → Export Queue).")
        return True

    def _on_started(self, job) -> None:
        self._set_running(True)
        self.show_folder_button.setVisible(False)
        self.progress_bar.setRange(0, 0)  # busy until the first frame: the restorer may take seconds to build
        self._show_status(f"Preparing {job.dst.name}…")

    def _set_running(self, running: bool) -> None:
        """The form stays editable while an export runs: what it describes next is queued behind it."""
        self.export_button.setText("Add to Queue" if running else "Export")
        self.cancel_button.setEnabled(running)
        self.progress_bar.setVisible(running or self.progress_bar.value() > 0)

    def _on_progress(self, progress, _samples) -> None:
        total = max(progress.frames_total, progress.frames_done, 1)
        self.progress_bar.setRange(0, total)
        self.progress_bar.setValue(progress.frames_done)
        self.progress_bar.setFormat("%v / %m frames  (%p%)")
        job, waiting = self.runner.job, len(self.window_.export_queue.waiting)
        name = f"{job.dst.name}: " if job is not None else ""
        more = f" · {waiting} more waiting" if waiting else ""
        self._show_status(f"{name}{progress.fps:.1f} fps · ETA {format_seconds(progress.eta_seconds)}{more}")

    def show_in_folder(self) -> None:
        """The file manager on the folder of what was just written."""
        if self.written is not None:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.written.parent)))

    def _on_finished(self, report) -> None:
        self.written = Path(report.output)
        self.show_folder_button.setVisible(True)
        self._set_running(False)
        self.progress_bar.setRange(0, max(1, report.frames))
        self.progress_bar.setValue(max(1, report.frames))
        self._show_status(report_line(report))
        self._update_resume_offer()

    def _on_failed(self, message: str) -> None:
        self._set_running(False)
        self._show_status(f"Export failed: {message}", error=True)
        self._update_resume_offer()

    def _on_cancelled(self) -> None:
        self._set_running(False)
        self.progress_bar.setRange(0, 1)
        self.progress_bar.setValue(0)
        self._show_status("Export cancelled; nothing was written.")
        self._update_resume_offer()

    def _show_status(self, text: str, error: bool = False) -> None:
        self.status_label.setStyleSheet("color: #ff8a80;" if error else "")
        self.status_label.setText(text)


def show_export_dialog(window) -> ExportDialog | None:
    """Ctrl+E: the dialog for what is on screen (re-shown as it was while an export runs)."""
    context = window.export_context()
    if context is None:
        window.show_notice("Open an image or video first, then export it.", "info")
        return None
    if window.export_dialog is None:
        window.export_dialog = ExportDialog(window, window.export_runner)
    dialog = window.export_dialog
    # While an export runs the dialog keeps showing it; another file on screen gets its own settings to queue.
    same_file = dialog.context is not None and Path(dialog.context["path"]) == Path(context["path"])
    if not window.export_runner.running or not same_file:
        media = window.media
        context = {**context, "fps": getattr(media, "fps", 0.0), "duration": getattr(media, "duration", 0.0)}
        dialog.load_context(context)
    dialog.show()
    dialog.raise_()
    dialog.activateWindow()
    return dialog

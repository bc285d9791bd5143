"""The controls under the picture: transport (play, step, timeline) and restoration strength."""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QHBoxLayout, QLabel, QPushButton, QSlider, QSpinBox,
                               QToolButton, QWidget)

from .icons import transport_icon

STRENGTH_MODE_TITLES = {"absolute": "Manual", "auto": "Auto", "relative": "Relative to Auto"}
SOURCE_TITLES = {"manual": "set by hand", "jpeg-tables": "from JPEG tables", "qp": "from codec QP",
                 "estimate": "model estimate", "default": "default, no evidence"}


def format_time(seconds: float) -> str:
    seconds = max(0.0, seconds)
    m, s = divmod(seconds, 60)
    h, m = divmod(int(m), 60)
    return f"{h}:{m:02d}:{s:06.3f}" if h else f"{m:02d}:{s:06.3f}"


def describe_source(source: str) -> str:
    return SOURCE_TITLES.get(source.lower(), source) if source else ""


class WidestTextLabel(QLabel):
    """A label that keeps room for the widest text it will show, so a changing number never gets clipped.

    Why not setMinimumWidth: the width must follow the font and padding the style sheet gives it (monospace here)."""

    def __init__(self, widest: str) -> None:
        super().__init__()
        self._widest = widest

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        current = self.fontMetrics().horizontalAdvance(self.text())
        extra = max(0, hint.width() - current)  # padding and margins, as the style computed them for the text now
        return QSize(max(hint.width(), self.fontMetrics().horizontalAdvance(self._widest) + extra), hint.height())

    def sizeHint(self) -> QSize:
        return self.minimumSizeHint().expandedTo(super().sizeHint())


class TransportBar(QWidget):
    playToggled = Signal()
    stepRequested = Signal(int)  # -1 / +1
    jumpRequested = Signal(str)  # "start" | "end"
    scrubbed = Signal(int)  # frame index
    loopToggled = Signal(bool)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.play_button = self._button(transport_icon("play"), "Play/Pause (Space)", self.playToggled.emit)
        self.start_button = self._button(transport_icon("start"), "Start (Home)",
                                         lambda: self.jumpRequested.emit("start"))
        self.back_button = self._button(transport_icon("step_back"), "Previous frame (←)",
                                        lambda: self.stepRequested.emit(-1))
        self.forward_button = self._button(transport_icon("step_forward"), "Next frame (→)",
                                           lambda: self.stepRequested.emit(1))
        self.end_button = self._button(transport_icon("end"), "End (End)", lambda: self.jumpRequested.emit("end"))
        self.timeline = QSlider(Qt.Orientation.Horizontal)
        self.timeline.setObjectName("timeline")
        self.timeline.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # arrows belong to frame stepping
        self.timeline.setRange(0, 0)
        self.timeline.valueChanged.connect(self._on_timeline)
        self.time_label = QLabel("00:00.000 / 00:00.000")
        self.time_label.setObjectName("timeLabel")
        self.frame_label = QLabel("frame 0 / 0")
        self.frame_label.setObjectName("frameLabel")
        self.loop_box = QCheckBox("Loop")
        self.loop_box.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.loop_box.setChecked(True)
        self.loop_box.toggled.connect(self.loopToggled.emit)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        for w in (self.start_button, self.back_button, self.play_button, self.forward_button, self.end_button):
            layout.addWidget(w)
        layout.addWidget(self.timeline, 1)
        layout.addWidget(self.time_label)
        layout.addWidget(self.frame_label)
        layout.addWidget(self.loop_box)
        self._fps = 25.0
        self._frames = 1
        self._updating = False

    def _button(self, icon, tip: str, slot) -> QToolButton:
        b = QToolButton()
        b.setIcon(icon)
        b.setIconSize(QSize(20, 20))
        b.setToolTip(tip)
        b.setAutoRaise(True)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        b.clicked.connect(slot)
        return b

    def set_media(self, frame_count: int, fps: float) -> None:
        self._frames, self._fps = max(1, frame_count), fps or 25.0
        is_video = frame_count > 1
        for w in (self.play_button, self.start_button, self.back_button, self.forward_button, self.end_button,
                  self.timeline, self.loop_box):
            w.setEnabled(is_video)
        self._updating = True
        self.timeline.setRange(0, self._frames - 1)
        self.timeline.setValue(0)
        self._updating = False
        self.show_position(0)

    def set_playing(self, playing: bool) -> None:
        self.play_button.setIcon(transport_icon("pause" if playing else "play"))

    def show_position(self, index: int) -> None:
        if self._frames <= 1:
            self.time_label.setText("still image")
            self.frame_label.setText("")
            return
        if not self.timeline.isSliderDown():
            self._updating = True
            self.timeline.setValue(index)
            self._updating = False
        duration = self._frames / self._fps
        self.time_label.setText(f"{format_time(index / self._fps)} / {format_time(duration)}")
        self.frame_label.setText(f"frame {index + 1} / {self._frames}")

    def _on_timeline(self, value: int) -> None:
        if not self._updating:
            self.scrubbed.emit(value)


class StrengthPanel(QWidget):
    """Quality factor the model assumes (JPEG scale) and how it relates to Auto."""

    changed = Signal()  # slider or mode moved: re-render

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setObjectName("strengthSlider")
        self.slider.setRange(1, 100)
        self.slider.setValue(50)
        self.slider.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.slider.setToolTip("The JPEG quality the model assumes: lower = stronger restoration")
        self.slider.setMinimumWidth(120)  # the window's minimum width must leave the slider usable, not a dot
        self.spin = QSpinBox()
        self.spin.setRange(1, 100)
        self.spin.setValue(50)
        self.spin.setPrefix("Q ")
        self.spin.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.strength_label = WidestTextLabel(widest="strength 100")
        self.strength_label.setObjectName("strengthLabel")
        self.mode_buttons = QButtonGroup(self)
        self._last_quality_used: float | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(8, 2, 8, 6)
        title = QLabel("Quality")
        title.setObjectName("sectionTitle")
        layout.addWidget(title)
        for i, (mode, text) in enumerate(STRENGTH_MODE_TITLES.items()):
            b = QPushButton(text)
            b.setCheckable(True)
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
            b.setProperty("mode", mode)
            b.setObjectName("modeButton")
            self.mode_buttons.addButton(b, i)
            layout.addWidget(b)
        self.mode_buttons.buttons()[0].setChecked(True)
        layout.addSpacing(8)
        layout.addWidget(self.slider, 1)
        layout.addWidget(self.spin)
        layout.addWidget(self.strength_label)
        self.source_label = QLabel("")
        self.source_label.setObjectName("sourceLabel")
        self.source_label.setMinimumWidth(260)
        layout.addWidget(self.source_label)
        self.slider.valueChanged.connect(self._slider_moved)
        self.spin.valueChanged.connect(self.slider.setValue)
        self.mode_buttons.buttonToggled.connect(self._mode_toggled)
        self._refresh_labels()

    # --- state -----------------------------------------------------------------------------------------------
    @property
    def mode(self) -> str:
        button = self.mode_buttons.checkedButton()
        return button.property("mode") if button is not None else "absolute"

    def set_mode(self, mode: str) -> None:
        for b in self.mode_buttons.buttons():
            if b.property("mode") == mode:
                b.setChecked(True)

    @property
    def value(self) -> int:
        return self.slider.value()

    def set_value(self, value: int) -> None:
        self.slider.setValue(int(value))

    def nudge(self, quality_steps: int) -> None:
        """Keyboard strength: negative steps restore more. In Auto it switches to Relative to Auto, so Auto keeps
        following the frames and the nudge is an offset from it."""
        if self.mode == "auto":
            self.set_mode("relative")
        self.set_value(min(max(self.value + int(quality_steps), 1), 100))

    def show_decision(self, quality_used: float, source: str, auto_quality: float | None) -> None:
        """What the restorer was actually given, and where Auto's number came from."""
        where = describe_source(source)
        self._last_quality_used = quality_used
        if self.mode == "auto":  # the (disabled) slider follows Auto's number
            self._set_silently(int(round(quality_used)))
            self._refresh_labels()
        if self.mode == "absolute":
            text = f"Using Q {quality_used:.0f}"
        elif self.mode == "auto":
            text = f"Auto: Q {quality_used:.0f} ({where})" if where else f"Auto: Q {quality_used:.0f}"
        else:
            base = f"Auto Q {auto_quality:.0f}" if auto_quality is not None else "Auto"
            text = f"{base} ({where}) → using Q {quality_used:.0f}" if where else f"→ using Q {quality_used:.0f}"
        self.source_label.setText(text)
        self.source_label.setToolTip(text)  # a narrow window clips the label; the whole line stays one hover away

    # --- internals -------------------------------------------------------------------------------------------
    def _slider_moved(self, value: int) -> None:
        self.spin.blockSignals(True)
        self.spin.setValue(value)
        self.spin.blockSignals(False)
        self._refresh_labels()
        self.changed.emit()

    def _mode_toggled(self, button, checked: bool) -> None:
        if not checked:
            return
        # Keep the picture steady across a mode switch: "relative" starts at +0 (as detected), "manual" starts at
        # the quality that was in use. The slider means a different thing in each mode.
        mode = button.property("mode")
        if mode == "relative":
            self._set_silently(50)
        elif mode == "absolute" and self._last_quality_used is not None:
            self._set_silently(int(round(self._last_quality_used)))
        self._refresh_labels()
        self.changed.emit()

    def _set_silently(self, value: int) -> None:
        for w in (self.slider, self.spin):
            w.blockSignals(True)
            w.setValue(min(max(int(value), 1), 100))
            w.blockSignals(False)

    def _refresh_labels(self) -> None:
        mode = self.mode
        auto = mode == "auto"
        self.slider.setEnabled(not auto)
        self.spin.setEnabled(not auto)
        if mode == "relative":
            self.strength_label.setText(f"offset {self.value - 50:+d}")
            self.slider.setToolTip("Shift Auto's quality: 50 = Auto's value, left = stronger, right = gentler")
        else:
            self.strength_label.setText(f"strength {100 - self.value}")
            self.slider.setToolTip("The JPEG quality the model assumes: lower = stronger restoration")

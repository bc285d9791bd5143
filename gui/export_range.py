"""The export dialog's range row: Whole clip, or In/Out times set by typing or from the playhead."""
from __future__ import annotations

import math

from PySide6.QtWidgets import QCheckBox, QDoubleSpinBox, QHBoxLayout, QLabel, QPushButton, QWidget


class RangeRow(QWidget):
    def __init__(self, clock) -> None:
        super().__init__()
        self.clock = clock  # the player's PlaybackClock: the playhead for Set In / Set Out
        self.whole_clip = QCheckBox("Whole clip")
        self.whole_clip.setChecked(True)
        self.in_spin, self.out_spin = QDoubleSpinBox(), QDoubleSpinBox()
        for spin in (self.in_spin, self.out_spin):
            spin.setDecimals(3)
            spin.setSuffix(" s")
            spin.setSingleStep(0.04)
            # A time typed by the user means a range; values set by code (load, playhead buttons) are not typing.
            spin.valueChanged.connect(lambda _v, s=spin: s.hasFocus() and self.whole_clip.setChecked(False))
        self.set_in_button = QPushButton("Set In = current")
        self.set_out_button = QPushButton("Set Out = current")
        self.set_in_button.clicked.connect(lambda: self.set_point_from_playhead(self.in_spin, 0.0))
        self.set_out_button.clicked.connect(lambda: self.set_point_from_playhead(self.out_spin, 0.5))
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for w in (self.whole_clip, QLabel("In"), self.in_spin, self.set_in_button, QLabel("Out"), self.out_spin,
                  self.set_out_button):
            row.addWidget(w)

    def reset(self, duration: float) -> None:
        """A new clip: the whole of it."""
        for spin in (self.in_spin, self.out_spin):
            spin.setRange(0.0, max(duration, 0.0))
        self.in_spin.setValue(0.0)
        self.out_spin.setValue(duration)
        self.whole_clip.setChecked(True)

    def set_point_from_playhead(self, spin: QDoubleSpinBox, frame_offset: float) -> None:
        """In = start of the frame on screen; Out = the middle of it: the out point is exclusive, and a time on
        the next frame's exact start can round either way, a mid-frame one cannot."""
        clock = self.clock
        # Floor to the spin's millisecond display: an in point a hair after the frame's start would drop it.
        spin.setValue(math.floor((clock.current_index + frame_offset) / clock.fps * 1000) / 1000)
        self.whole_clip.setChecked(False)

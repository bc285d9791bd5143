"""The export dialog's layout choice: the restored frames alone, or a before/after comparison (remembered)."""
from __future__ import annotations

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox

from engine import EXPORT_LAYOUTS

LAYOUT_KEY = "export/layout"
LAYOUT_TITLES = {"restored": "Restored only", "side-by-side": "Original | restored, side by side (2× wide)",
                 "split": "Original | restored, split at the middle"}


class LayoutCombo(QComboBox):
    def __init__(self, q: QSettings) -> None:
        super().__init__()
        self.q = q
        for layout in EXPORT_LAYOUTS:
            self.addItem(LAYOUT_TITLES.get(layout, layout), layout)
        self.setToolTip("A comparison export shows the original on the left and the restored on the right, "
                        "captioned, for sharing a before/after")
        self.setCurrentIndex(max(0, self.findData(str(q.value(LAYOUT_KEY, "restored")))))
        self.currentIndexChanged.connect(lambda _i: self.q.setValue(LAYOUT_KEY, self.currentData()))

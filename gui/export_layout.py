"""The export dialog's layout choice: the restored frames alone, or a before/after comparison (remembered)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QComboBox, QLineEdit

from engine import EXPORT_LAYOUTS

LAYOUT_KEY = "export/layout"
LAYOUT_TITLES = {"restored": "Restored only", "side-by-side": "Original | restored, side by side (2× wide)",
                 "split": "Original | restored, split at the middle"}
NAME_SUFFIX = {"restored": "_restored", "side-by-side": "_compare", "split": "_compare"}


def retarget(path: str, layout: str) -> str:
    """A suggested name follows the layout (clip_restored.mp4 ↔ clip_compare.mp4), so exporting both does not
    overwrite one with the other; a name the user chose is left alone."""
    p = Path(path)
    for suffix in set(NAME_SUFFIX.values()):
        if p.stem.endswith(suffix):
            return str(p.with_name(p.stem[:-len(suffix)] + NAME_SUFFIX.get(layout, "_restored") + p.suffix))
    return path


class LayoutCombo(QComboBox):
    def __init__(self, q: QSettings, path_edit: QLineEdit, path_edited: Callable[[], None]) -> None:
        super().__init__()
        self.q, self.path_edit, self.path_edited = q, path_edit, path_edited
        for layout in EXPORT_LAYOUTS:
            self.addItem(LAYOUT_TITLES.get(layout, layout), layout)
        self.setToolTip("A comparison export shows the original on the left and the restored on the right, "
                        "captioned, for sharing a before/after")
        self.setCurrentIndex(max(0, self.findData(str(q.value(LAYOUT_KEY, "restored")))))
        self.currentIndexChanged.connect(self._on_changed)

    def _on_changed(self, _index: int) -> None:
        self.q.setValue(LAYOUT_KEY, self.currentData())
        text = self.path_edit.text()
        if text and retarget(text, self.currentData()) != text:
            self.path_edit.setText(retarget(text, self.currentData()))
            self.path_edited()  # the resume offer follows the new name

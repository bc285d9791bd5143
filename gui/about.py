"""Help → About: what Restora is and whose work it shows."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

ABOUT_HTML = """
<h3>Restora</h3>
<p>Restores compressed images and video with a quality-steered neural network, live, while you watch.</p>
<p>Open source (MIT). Built with PyTorch, FFmpeg (PyAV), Qt (PySide6), NumPy, OpenCV and Pillow.</p>
<p><b>Demo footage:</b> Big Buck Bunny, (c) Blender Foundation, www.bigbuckbunny.org, licensed under
<a href="https://creativecommons.org/licenses/by/3.0/">CC-BY 3.0</a>.</p>
"""


def about_text() -> str:
    return ABOUT_HTML


def show_about(parent: QWidget) -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowTitle("About Restora")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(ABOUT_HTML)
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setModal(False)
    box.show()  # non-blocking: playback keeps running behind it
    return box

"""Help → About: what Restora is and whose work it shows."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from engine import VERSION, version_line

ABOUT_HTML = """
<h3>Restora {version}</h3>
<p>Restores compressed images and video with a quality-steered neural network, live, while you watch.</p>
<p>Open source (MIT). Built with PyTorch, FFmpeg (PyAV), Qt (PySide6), NumPy, OpenCV and Pillow.</p>
<p><b>Demo footage:</b> Big Buck Bunny, (c) Blender Foundation, www.bigbuckbunny.org, licensed under
<a href="https://creativecommons.org/licenses/by/3.0/">CC-BY 3.0</a>.</p>
<p><small>{runtime}</small></p>
"""


def about_text() -> str:
    # the runtime line is what a bug report needs: the same text as `python main.py --version`
    runtime = version_line().split(" (", 1)[1].rstrip(")")
    return ABOUT_HTML.format(version=VERSION, runtime=runtime)


def show_about(parent: QWidget) -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowTitle("About Restora")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(about_text())
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setModal(False)
    box.show()  # non-blocking: playback keeps running behind it
    return box


# Keys that are not actions: the A/B hold is an event filter, the rest are mouse gestures on the picture.
EXTRA_KEYS = [("Hold A", "Show the original (A/B view)"), ("Wheel", "Zoom around the cursor"),
              ("Drag", "Pan (both sides move together)"), ("Double-click", "Toggle 100 % / fit")]


def shortcuts_html(actions: dict) -> str:
    """A table of every action that has a key, read from the actions themselves so it never goes stale."""
    rows = []
    for action in actions.values():
        keys = [k.toString(k.SequenceFormat.NativeText) for k in action.shortcuts() if not k.isEmpty()]
        if keys:
            rows.append((" / ".join(keys), action.text().replace("&", "").rstrip("…")))
    rows += EXTRA_KEYS
    cells = "".join(f"<tr><td style='padding-right:16px'><b>{k}</b></td><td>{v}</td></tr>" for k, v in rows)
    return f"<h3>Keyboard and mouse</h3><table cellspacing='2'>{cells}</table>"


def show_shortcuts(parent: QWidget, actions: dict) -> QMessageBox:
    box = QMessageBox(parent)
    box.setWindowTitle("Keyboard Shortcuts")
    box.setTextFormat(Qt.TextFormat.RichText)
    box.setText(shortcuts_html(actions))
    box.setStandardButtons(QMessageBox.StandardButton.Ok)
    box.setModal(False)
    box.show()
    return box

"""Dark neutral theme: Fusion + a grey palette, with a small stylesheet for the parts a palette cannot reach.

Neutral greys on purpose: a tinted UI shifts how people judge colour in the picture next to it.
"""
from __future__ import annotations

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

ACCENT = "#4a90d9"

STYLESHEET = f"""
QMainWindow, QWidget {{ font-size: 10pt; }}
QToolBar {{ background: #2b2b2e; border: none; border-bottom: 1px solid #1c1c1e; spacing: 4px; padding: 3px 6px; }}
QToolBar QToolButton {{ padding: 4px 8px; border-radius: 4px; color: #dcdcdc; }}
QToolBar QToolButton:hover {{ background: #3a3a3e; }}
QToolBar QToolButton:checked {{ background: #3d4f66; color: white; }}
QToolBar QToolButton#qt_toolbar_ext_button {{ padding: 0; min-width: 16px; }}
QToolBar QLabel {{ color: #a0a0a5; padding: 0 4px 0 10px; }}
QComboBox {{ background: #333336; border: 1px solid #45454a; border-radius: 4px; padding: 3px 8px; min-width: 90px; }}
QComboBox:hover {{ border-color: #5a5a60; }}
QStatusBar {{ background: #232325; color: #b8b8bc; border-top: 1px solid #1c1c1e; }}
QStatusBar QLabel {{ color: #b8b8bc; padding: 0 8px; }}
QStatusBar::item {{ border: none; }}
#controlsPanel {{ background: #2b2b2e; border-top: 1px solid #1c1c1e; }}
#sectionTitle {{ color: #8d8d93; font-weight: bold; padding-right: 6px; }}
#timeLabel, #frameLabel, #strengthLabel {{ color: #d0d0d4; font-family: monospace; padding: 0 6px; }}
#sourceLabel {{ color: #9fc3ea; padding-left: 8px; }}
QPushButton#modeButton {{ background: #333336; border: 1px solid #45454a; padding: 3px 12px; border-radius: 0; }}
QPushButton#modeButton:checked {{ background: {ACCENT}; border-color: {ACCENT}; color: white; }}
QPushButton#modeButton:hover:!checked {{ background: #3b3b3f; }}
QSlider::groove:horizontal {{ height: 4px; background: #45454a; border-radius: 2px; }}
QSlider::sub-page:horizontal {{ background: {ACCENT}; border-radius: 2px; }}
QSlider::sub-page:horizontal:disabled {{ background: #5a5a60; }}
QSlider::handle:horizontal {{ background: #e6e6e6; width: 12px; margin: -5px 0; border-radius: 6px; }}
QSlider::handle:horizontal:disabled {{ background: #77777c; }}
QSpinBox {{ background: #333336; border: 1px solid #45454a; border-radius: 4px; padding: 2px 4px; min-width: 56px; }}
#noticeBanner {{ border: none; border-bottom: 1px solid #1c1c1e; }}
#noticeBanner[level="info"] {{ background: #27405c; }}
#noticeBanner[level="warning"] {{ background: #5c4a1e; }}
#noticeBanner[level="error"] {{ background: #5c2626; }}
#noticeText {{ color: #f0f0f0; }}
QDockWidget::title {{ background: #2b2b2e; padding: 4px; }}
QMenu::item:selected {{ background: #3d4f66; }}
"""


def apply_dark_theme(app: QApplication) -> None:
    app.setStyle("Fusion")
    p = QPalette()
    base, window, text = QColor(30, 30, 32), QColor(38, 38, 41), QColor(222, 222, 226)
    p.setColor(QPalette.ColorRole.Window, window)
    p.setColor(QPalette.ColorRole.WindowText, text)
    p.setColor(QPalette.ColorRole.Base, base)
    p.setColor(QPalette.ColorRole.AlternateBase, window)
    p.setColor(QPalette.ColorRole.Text, text)
    p.setColor(QPalette.ColorRole.Button, QColor(51, 51, 54))
    p.setColor(QPalette.ColorRole.ButtonText, text)
    p.setColor(QPalette.ColorRole.ToolTipBase, QColor(50, 50, 54))
    p.setColor(QPalette.ColorRole.ToolTipText, text)
    p.setColor(QPalette.ColorRole.Highlight, QColor(ACCENT))
    p.setColor(QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
    p.setColor(QPalette.ColorRole.Link, QColor(ACCENT))
    p.setColor(QPalette.ColorRole.PlaceholderText, QColor(130, 130, 135))
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, QColor(110, 110, 115))
    app.setPalette(p)
    app.setStyleSheet(STYLESHEET)

"""Transport icons drawn with QPainter: crisp at any DPI and light on the dark theme (the platform's standard
media icons are dark grey and nearly vanish on it)."""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QIcon, QPainter, QPixmap, QPolygonF

SIZE = 32
NORMAL, DISABLED = QColor(225, 225, 230), QColor(95, 95, 100)


def _triangle(p: QPainter, x0: float, x1: float, right: bool = True) -> None:
    top, bottom, mid = 8.0, 24.0, 16.0
    pts = [QPointF(x0, top), QPointF(x1, mid), QPointF(x0, bottom)] if right else \
        [QPointF(x1, top), QPointF(x0, mid), QPointF(x1, bottom)]
    p.drawPolygon(QPolygonF(pts))


def _draw(kind: str, p: QPainter) -> None:
    if kind == "play":
        _triangle(p, 10, 24)
    elif kind == "pause":
        p.drawRect(QRectF(9, 8, 5, 16))
        p.drawRect(QRectF(18, 8, 5, 16))
    elif kind == "step_back":
        p.drawRect(QRectF(8, 8, 3, 16))
        _triangle(p, 12, 24, right=False)
    elif kind == "step_forward":
        _triangle(p, 8, 20)
        p.drawRect(QRectF(21, 8, 3, 16))
    elif kind == "start":
        p.drawRect(QRectF(5, 8, 3, 16))
        _triangle(p, 8, 17, right=False)
        _triangle(p, 17, 26, right=False)
    elif kind == "end":
        _triangle(p, 6, 15)
        _triangle(p, 15, 24)
        p.drawRect(QRectF(24, 8, 3, 16))


def transport_icon(kind: str) -> QIcon:
    icon = QIcon()
    for colour, mode in ((NORMAL, QIcon.Mode.Normal), (DISABLED, QIcon.Mode.Disabled)):
        pixmap = QPixmap(SIZE, SIZE)
        pixmap.fill(Qt.GlobalColor.transparent)
        p = QPainter(pixmap)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(colour)
        _draw(kind, p)
        p.end()
        icon.addPixmap(pixmap, mode)
    return icon

"""Shared zoom/pan state. Every pane showing the same frame reads one ViewState, so panes stay locked.

Zoom counts *device* pixels per image pixel: at 1.0 each image pixel lands on exactly one screen pixel, also on
high-DPI screens. The pane rounds its offset to whole device pixels so 100 % is a plain, pixel-exact blit.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QObject, QPointF, QRectF, QSizeF, Signal

MIN_ZOOM, MAX_ZOOM = 1 / 32, 64.0


class ViewState(QObject):
    changed = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fit = True
        self.zoom = 1.0  # device px per image px; ignored while fit is on
        self.center = QPointF(0, 0)  # image coordinates shown at the pane's centre
        self.image_size = QSizeF(0, 0)

    def set_image_size(self, width: int, height: int) -> None:
        """A new image size (new media) resets to fit; same size keeps the user's zoom and pan."""
        size = QSizeF(width, height)
        if size != self.image_size:
            self.image_size = size
            self.center = QPointF(width / 2, height / 2)
            self.fit = True
            self.changed.emit()

    # --- mapping -------------------------------------------------------------------------------------------
    def scale_for(self, pane_w: float, pane_h: float, dpr: float) -> float:
        """Logical (widget) pixels per image pixel for a pane of this size."""
        iw, ih = self.image_size.width(), self.image_size.height()
        if self.fit:
            if iw <= 0 or ih <= 0 or pane_w <= 0 or pane_h <= 0:
                return 1.0
            return min(pane_w / iw, pane_h / ih)
        return self.zoom / dpr

    def offset_for(self, pane_w: float, pane_h: float, dpr: float) -> QPointF:
        """Widget position of image pixel (0, 0), snapped to whole device pixels."""
        s = self.scale_for(pane_w, pane_h, dpr)
        center = QPointF(self.image_size.width() / 2, self.image_size.height() / 2) if self.fit else self.center
        ox = pane_w / 2 - center.x() * s
        oy = pane_h / 2 - center.y() * s
        return QPointF(round(ox * dpr) / dpr, round(oy * dpr) / dpr)

    def image_rect_in_pane(self, pane_w: float, pane_h: float, dpr: float) -> QRectF:
        s = self.scale_for(pane_w, pane_h, dpr)
        o = self.offset_for(pane_w, pane_h, dpr)
        return QRectF(o.x(), o.y(), self.image_size.width() * s, self.image_size.height() * s)

    def effective_zoom(self, pane_w: float, pane_h: float, dpr: float) -> float:
        return self.scale_for(pane_w, pane_h, dpr) * dpr

    # --- user actions --------------------------------------------------------------------------------------
    def set_fit(self) -> None:
        self.fit = True
        self.center = QPointF(self.image_size.width() / 2, self.image_size.height() / 2)
        self.changed.emit()

    def set_zoom(self, zoom: float, pane_w: float | None = None, pane_h: float | None = None,
                 dpr: float = 1.0, anchor: QPointF | None = None) -> None:
        """Zoom to `zoom`; `anchor` (widget coords) keeps the image point under it fixed, e.g. the cursor."""
        zoom = min(max(zoom, MIN_ZOOM), MAX_ZOOM)
        if anchor is not None and pane_w is not None:
            s_old = self.scale_for(pane_w, pane_h, dpr)
            o = self.offset_for(pane_w, pane_h, dpr)
            img_pt = QPointF((anchor.x() - o.x()) / s_old, (anchor.y() - o.y()) / s_old)
            s_new = zoom / dpr
            self.center = QPointF(img_pt.x() - (anchor.x() - pane_w / 2) / s_new,
                                  img_pt.y() - (anchor.y() - pane_h / 2) / s_new)
        elif self.fit:
            self.center = QPointF(self.image_size.width() / 2, self.image_size.height() / 2)
        self.fit = False
        self.zoom = zoom
        self.changed.emit()

    def zoom_by(self, factor: float, pane_w: float, pane_h: float, dpr: float, anchor: QPointF) -> None:
        current = self.effective_zoom(pane_w, pane_h, dpr)
        target = current * factor
        # Snap onto 100 % when a wheel step crosses it: that is where users want to land.
        if (current - 1.0) * (target - 1.0) < 0:
            target = 1.0
        self.set_zoom(target, pane_w, pane_h, dpr, anchor)

    def pan_by(self, dx: float, dy: float, pane_w: float, pane_h: float, dpr: float) -> None:
        """Move the image by (dx, dy) widget pixels."""
        s = self.scale_for(pane_w, pane_h, dpr)
        if self.fit:
            self.zoom = s * dpr
            self.center = QPointF(self.image_size.width() / 2, self.image_size.height() / 2)
            self.fit = False
        self.center = QPointF(self.center.x() - dx / s, self.center.y() - dy / s)
        self.changed.emit()


def zoom_label(zoom: float) -> str:
    pct = zoom * 100
    return f"{pct:.0f} %" if pct >= 10 or math.isclose(pct, round(pct)) else f"{pct:.1f} %"

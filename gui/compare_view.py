"""Before/after views: side by side (two locked panes), split-wipe (draggable divider), A/B (hold a key) and the
amplified difference (what the restoration changed).

Custom QWidget painting rather than QGraphicsView: we need exactly one thing, a scaled blit that is pixel-exact
at 100 %, and both panes read the same ViewState so zoom and pan can never drift apart.
"""
from __future__ import annotations

import math

from PySide6.QtCore import QPointF, QRectF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPen
from PySide6.QtWidgets import QHBoxLayout, QWidget

from .image_convert import difference_qimage
from .zoom_pan import ViewState

VIEW_MODES = ("side_by_side", "split", "ab", "difference")
VIEW_TITLES = {"side_by_side": "Side by side", "split": "Split wipe", "ab": "A/B toggle", "difference": "Difference"}
DIFFERENCE_GAIN = 8  # artifacts are a few levels: ×8 makes a 3-level change a visible 24
BACKGROUND = QColor(24, 24, 26)
DIVIDER_GRAB_PX = 8
WHEEL_STEP = 1.25


class ImagePane(QWidget):
    """One canvas. Shows `image`; in split mode `left_image` replaces it left of the divider."""

    dividerMoved = Signal(float)

    def __init__(self, view: ViewState, caption: str = "", parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.caption = caption
        self.image: QImage | None = None
        self.left_image: QImage | None = None
        self.left_caption = ""
        self.split = False
        self.divider = 0.5  # fraction of the pane's width
        self.placeholder = ""
        self._drag: str | None = None  # "pan" | "divider"
        self._last_pos = QPointF()
        self.setMouseTracking(True)
        self.setMinimumSize(160, 120)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent)
        self.setCursor(Qt.CursorShape.OpenHandCursor)
        view.changed.connect(self.update)

    # --- geometry ------------------------------------------------------------------------------------------
    def _dpr(self) -> float:
        return self.devicePixelRatioF() or 1.0

    def image_rect(self) -> QRectF:
        """Where the whole image lands in widget coordinates (may extend past the pane)."""
        return self.view.image_rect_in_pane(self.width(), self.height(), self._dpr())

    def effective_zoom(self) -> float:
        return self.view.effective_zoom(self.width(), self.height(), self._dpr())

    def widget_to_image(self, pos: QPointF) -> QPointF:
        r = self.image_rect()
        s = r.width() / max(self.view.image_size.width(), 1)
        return QPointF((pos.x() - r.x()) / s, (pos.y() - r.y()) / s)

    def _divider_x(self) -> float:
        return self.divider * self.width()

    # --- painting ------------------------------------------------------------------------------------------
    def paintEvent(self, event) -> None:  # noqa: N802 (Qt naming)
        p = QPainter(self)
        try:
            self._paint(p)
        finally:
            p.end()  # explicitly: a painter outliving the event (e.g. kept alive by a traceback) breaks Qt

    def _paint(self, p: QPainter) -> None:
        p.fillRect(self.rect(), BACKGROUND)
        if self.image is None:
            self._paint_placeholder(p)
            return
        zoom = self.effective_zoom()
        # 100 % and enlargements show real pixels (no blur); reductions are smoothed to avoid aliasing.
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, zoom < 0.999)
        target = self.image_rect()
        if self.split and self.left_image is not None:
            x = self._divider_x()
            p.save()
            p.setClipRect(QRectF(0, 0, x, self.height()))
            self._blit(p, self.left_image, target)
            p.restore()
            p.save()
            p.setClipRect(QRectF(x, 0, self.width() - x, self.height()))
            self._blit(p, self.image, target)
            p.restore()
            self._paint_divider(p, x)
            self._paint_caption(p, self.left_caption, left=True)
            self._paint_caption(p, self.caption, left=False)
        else:
            self._blit(p, self.image, target)
            self._paint_caption(p, self.caption, left=True)

    def _blit(self, p: QPainter, image: QImage, target: QRectF) -> None:
        """Draw only the visible part: cheap on big images at high zoom."""
        visible = target.intersected(QRectF(self.rect()))
        if visible.isEmpty():
            return
        sx = image.width() / target.width()
        sy = image.height() / target.height()
        source = QRectF((visible.x() - target.x()) * sx, (visible.y() - target.y()) * sy,
                        visible.width() * sx, visible.height() * sy)
        p.drawImage(visible, image, source)

    def _paint_divider(self, p: QPainter, x: float) -> None:
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(QPen(QColor(0, 0, 0, 120), 3))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        p.setPen(QPen(QColor(240, 240, 240), 1))
        p.drawLine(QPointF(x, 0), QPointF(x, self.height()))
        cy = self.height() / 2
        p.setBrush(QColor(240, 240, 240))
        p.setPen(QPen(QColor(30, 30, 30), 1))
        p.drawEllipse(QPointF(x, cy), 9, 9)
        p.setPen(QPen(QColor(30, 30, 30), 2))
        p.drawLine(QPointF(x - 4, cy - 4), QPointF(x - 4, cy + 4))
        p.drawLine(QPointF(x + 4, cy - 4), QPointF(x + 4, cy + 4))

    def _paint_caption(self, p: QPainter, text: str, left: bool) -> None:
        if not text:
            return
        font = QFont(self.font())
        font.setPointSizeF(max(8.0, font.pointSizeF() * 0.95))
        font.setBold(True)
        p.setFont(font)
        metrics = p.fontMetrics()
        w, h = metrics.horizontalAdvance(text) + 16, metrics.height() + 8
        x = 10 if left else self.width() - w - 10
        box = QRectF(x, 10, w, h)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(0, 0, 0, 150))
        p.drawRoundedRect(box, 4, 4)
        p.setPen(QColor(235, 235, 235))
        p.drawText(box, Qt.AlignmentFlag.AlignCenter, text)

    def _paint_placeholder(self, p: QPainter) -> None:
        if not self.placeholder:
            return
        p.setPen(QColor(150, 150, 155))
        font = QFont(self.font())
        font.setPointSizeF(font.pointSizeF() * 1.3)
        p.setFont(font)
        p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, self.placeholder)

    # --- interaction ---------------------------------------------------------------------------------------
    def _near_divider(self, pos: QPointF) -> bool:
        return self.split and abs(pos.x() - self._divider_x()) <= DIVIDER_GRAB_PX

    def mousePressEvent(self, event) -> None:  # noqa: N802
        if event.button() != Qt.MouseButton.LeftButton or self.image is None:
            return super().mousePressEvent(event)
        pos = event.position()
        self._drag = "divider" if self._near_divider(pos) else "pan"
        self._last_pos = pos
        if self._drag == "pan":
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        event.accept()

    def mouseMoveEvent(self, event) -> None:  # noqa: N802
        pos = event.position()
        if self._drag == "divider":
            self.divider = min(max(pos.x() / max(self.width(), 1), 0.0), 1.0)
            self.dividerMoved.emit(self.divider)
            self.update()
        elif self._drag == "pan":
            delta = pos - self._last_pos
            self._last_pos = pos
            self.view.pan_by(delta.x(), delta.y(), self.width(), self.height(), self._dpr())
        else:
            self.setCursor(Qt.CursorShape.SplitHCursor if self._near_divider(pos)
                           else Qt.CursorShape.OpenHandCursor)

    def mouseReleaseEvent(self, event) -> None:  # noqa: N802
        self._drag = None
        self.setCursor(Qt.CursorShape.OpenHandCursor)

    def mouseDoubleClickEvent(self, event) -> None:  # noqa: N802
        """Double-click toggles between fit and 100 % around the clicked point."""
        if self.image is None or event.button() != Qt.MouseButton.LeftButton or self._near_divider(event.position()):
            return
        if self.view.fit or abs(self.effective_zoom() - 1.0) > 1e-6:
            self.view.set_zoom(1.0, self.width(), self.height(), self._dpr(), event.position())
        else:
            self.view.set_fit()

    def wheelEvent(self, event) -> None:  # noqa: N802
        if self.image is None:
            return
        steps = event.angleDelta().y() / 120.0
        if steps == 0:
            return
        self.view.zoom_by(WHEEL_STEP ** steps, self.width(), self.height(), self._dpr(), event.position())
        event.accept()


class CompareView(QWidget):
    """Holds the two panes and arranges them for the current compare mode."""

    zoomChanged = Signal(float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.view = ViewState(self)
        self.original_pane = ImagePane(self.view, "Original")
        self.restored_pane = ImagePane(self.view, "Restored")
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.original_pane)
        layout.addWidget(self.restored_pane)
        self.mode = "side_by_side"
        self.holding_original = False
        self._original: QImage | None = None
        self._restored: QImage | None = None
        self._diff_key: tuple | None = None  # (original, restored, their difference image)
        self.view.changed.connect(lambda: self.zoomChanged.emit(self.current_zoom()))
        self.set_placeholder("Drop an image or video here, or use File → Open")
        self._arrange()

    def set_placeholder(self, text: str) -> None:
        self.original_pane.placeholder = text
        self.original_pane.update()

    def set_frames(self, original: QImage, restored: QImage | None) -> None:
        """restored None = not restored yet: show the original on both sides rather than a blank pane."""
        self._original, self._restored = original, restored
        self.view.set_image_size(original.width(), original.height())
        self._arrange()
        self.zoomChanged.emit(self.current_zoom())

    @property
    def original_image(self) -> QImage | None:
        """The whole original frame on screen (display form), whatever the zoom."""
        return self._original

    def clear(self) -> None:
        self._original = self._restored = None
        self._arrange()

    def _difference(self, orig: QImage, rest: QImage) -> QImage:
        """Computed on the GUI thread only in this mode, once per frame pair (~10 ms at 720p)."""
        if self._diff_key is None or self._diff_key[0] is not orig or self._diff_key[1] is not rest:
            self._diff_key = (orig, rest, difference_qimage(orig, rest, DIFFERENCE_GAIN))
        return self._diff_key[2]

    def set_mode(self, mode: str) -> None:
        if mode not in VIEW_MODES:
            raise ValueError(f"unknown view mode {mode!r}")
        self.mode = mode
        self._arrange()
        self.zoomChanged.emit(self.current_zoom())

    def set_holding_original(self, holding: bool) -> None:
        if holding != self.holding_original:
            self.holding_original = holding
            self._arrange()

    def visible_panes(self) -> list[ImagePane]:
        return [p for p in (self.original_pane, self.restored_pane) if not p.isHidden()]

    def visible_region(self) -> tuple[int, int, int, int] | None:
        """(x, y, w, h) of the image the restored side shows, in image pixels; None when it shows all of it."""
        if self._original is None:
            return None
        pane = self.restored_pane if self.mode == "side_by_side" else self.original_pane
        if pane.width() <= 0 or pane.height() <= 0:
            return None
        top_left = pane.widget_to_image(QPointF(0, 0))
        bottom_right = pane.widget_to_image(QPointF(pane.width(), pane.height()))
        iw, ih = int(self.view.image_size.width()), int(self.view.image_size.height())
        x0, y0 = max(0, math.floor(top_left.x())), max(0, math.floor(top_left.y()))
        x1, y1 = min(iw, math.ceil(bottom_right.x())), min(ih, math.ceil(bottom_right.y()))
        if (x0, y0, x1, y1) == (0, 0, iw, ih) or x1 <= x0 or y1 <= y0:
            return None
        return x0, y0, x1 - x0, y1 - y0

    def current_zoom(self) -> float:
        pane = self.original_pane
        return pane.effective_zoom() if self._original is not None else 1.0

    def zoom_fit(self) -> None:
        self.view.set_fit()

    def zoom_actual(self) -> None:
        pane = self.original_pane
        self.view.set_zoom(1.0, pane.width(), pane.height(), pane._dpr())

    def zoom_step(self, steps: int) -> None:
        """Keyboard zoom (+/-) around the centre of the pane."""
        pane = self.original_pane
        if self._original is not None:
            self.view.zoom_by(WHEEL_STEP ** steps, pane.width(), pane.height(), pane._dpr(),
                              QPointF(pane.width() / 2, pane.height() / 2))

    def resizeEvent(self, event) -> None:  # noqa: N802
        super().resizeEvent(event)
        self.zoomChanged.emit(self.current_zoom())  # fit mode: the zoom follows the window size

    def _arrange(self) -> None:
        orig, rest = self._original, self._restored
        shown = rest if rest is not None else orig
        left, right = self.original_pane, self.restored_pane
        left.split = False
        if self.mode == "side_by_side":
            left.image, left.caption = orig, "Original"
            right.image = shown
            right.caption = "Restored" if rest is not None else "Restoring…"
            right.setVisible(True)
        elif self.mode == "split":
            left.image, left.left_image = shown, orig
            left.split = orig is not None
            left.left_caption, left.caption = "Original", ("Restored" if rest is not None else "Restoring…")
            right.setVisible(False)
        elif self.mode == "difference":  # one pane; hold A for the original here too
            showing_original = self.holding_original or rest is None
            left.image = orig if showing_original else self._difference(orig, rest)
            left.caption = ("A · Original" if rest is not None else "Restoring…") if showing_original else \
                f"|restored − original| × {DIFFERENCE_GAIN}"
            right.setVisible(False)
        else:  # "ab": one pane, hold A for the original
            showing_original = self.holding_original or rest is None
            left.image = orig if showing_original else rest
            left.caption = "A · Original" if showing_original else "B · Restored   (hold A for original)"
            right.setVisible(False)
        left.update()
        right.update()

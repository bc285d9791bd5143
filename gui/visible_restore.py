"""Zoomed in, restore only what the restored side shows (engine.restore_visible_region): the live preview answers
several times faster on a CPU. Zooming or panning while paused asks again once the view rests, when the area
restored no longer covers what is visible; while playing, the next frame picks the new area up.

View → Restore Visible Area Only (remembered) turns it off, for whole restored frames at any zoom.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, QTimer

from .menus import make_action

SETTLE_MS = 120  # a wheel or drag sends many view changes: ask once the view rests
CONTEXT_KEPT = 32  # visible pixels must lie this far inside the restored crop (its edges see less context)


def covers(crop: tuple[int, int, int, int], region: tuple[int, int, int, int], width: int, height: int) -> bool:
    """Whether `crop` holds `region` with CONTEXT_KEPT pixels to spare (none needed at the frame's edges)."""
    cx, cy, cw, ch = crop
    x, y, w, h = region
    left, top = max(0, x - CONTEXT_KEPT), max(0, y - CONTEXT_KEPT)
    right, bottom = min(width, x + w + CONTEXT_KEPT), min(height, y + h + CONTEXT_KEPT)
    return cx <= left and cy <= top and cx + cw >= right and cy + ch >= bottom


class VisibleRestore(QObject):
    def __init__(self, window) -> None:
        super().__init__(window)
        self.window_ = window
        self.enabled = window.settings.visible_only
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.setInterval(SETTLE_MS)
        self._settle.timeout.connect(self._refresh_if_needed)
        window.compare.zoomChanged.connect(lambda _zoom: self._settle.start())
        action = window.actions["visible_only"] = make_action(
            window, "Restore &Visible Area Only", self.set_enabled,
            tip="Zoomed in, restore only what is on screen: a faster live preview")
        action.setCheckable(True)
        action.setChecked(self.enabled)
        window.view_menu.addSeparator()
        window.view_menu.addAction(action)

    def region(self) -> tuple[int, int, int, int] | None:
        """What a new frame request should restore: the visible area, or None for the whole frame."""
        plot = getattr(self.window_, "quality_plot", None)
        if not self.enabled or (plot is not None and plot.compare is not None):  # PSNR needs whole frames
            return None
        return self.window_.compare.visible_region()

    def set_enabled(self, on: bool) -> None:
        self.enabled = bool(on)
        self.window_.settings.visible_only = self.enabled
        self._refresh_if_needed()

    def _refresh_if_needed(self) -> None:
        w = self.window_
        shown = w.last_result
        if w.media is None or shown is None or w.clock.playing:
            return
        wanted = self.region()
        if shown.region is None:  # the whole frame is on screen already, restored
            return
        height, width = shown.original.shape[:2]
        if wanted is None or not covers(shown.region, wanted, width, height):
            w.request_frame()


def install_visible_restore(window) -> VisibleRestore:
    window.visible_restore = VisibleRestore(window)
    return window.visible_restore

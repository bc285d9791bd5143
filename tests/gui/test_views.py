"""Compare views: locked zoom/pan between panes, pixel-exact 100 %, split divider, A/B key."""
from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QImage
from PySide6.QtTest import QTest

from .conftest import open_and_wait


def _rects(window):
    return [p.image_rect() for p in window.compare.visible_panes()]


def test_zoom_and_pan_stay_locked_between_panes(qtbot, window, jpeg):
    open_and_wait(qtbot, window, jpeg)
    window.set_view_mode("side_by_side")
    left, right = window.compare.original_pane, window.compare.restored_pane
    qtbot.waitUntil(lambda: left.width() > 200 and right.isVisible())
    assert left.size() == right.size()
    # Wheel on the left pane, around a point off-centre: the image point under the cursor stays put.
    anchor = QPointF(left.width() * 0.3, left.height() * 0.4)
    before = left.widget_to_image(anchor)
    left.view.zoom_by(2.0, left.width(), left.height(), 1.0, anchor)
    after = left.widget_to_image(anchor)
    assert abs(before.x() - after.x()) < 0.6 and abs(before.y() - after.y()) < 0.6
    assert left.image_rect() == right.image_rect()
    # Drag-pan on the right pane moves the left one too.
    start = right.image_rect()
    QTest.mousePress(right, Qt.MouseButton.LeftButton, pos=QPoint(100, 100))
    QTest.mouseMove(right, QPoint(140, 130))
    QTest.mouseRelease(right, Qt.MouseButton.LeftButton, pos=QPoint(140, 130))
    assert right.image_rect().topLeft() == start.topLeft() + QPointF(40, 30)
    assert left.image_rect() == right.image_rect()
    # Switching views keeps the zoom and the pan.
    for mode in ("split", "ab", "side_by_side"):
        window.set_view_mode(mode)
        assert window.view_actions[mode].isChecked()
        assert left.image_rect() == start.translated(40, 30)


def test_fit_and_actual_pixels(qtbot, window, jpeg):
    open_and_wait(qtbot, window, jpeg)
    pane = window.compare.original_pane
    QTest.keyClick(window, Qt.Key.Key_1)
    assert window.compare.current_zoom() == 1.0
    rect = pane.image_rect()
    assert rect.width() == 128 and rect.height() == 96
    assert rect.x() == int(rect.x()) and rect.y() == int(rect.y())  # whole pixels: a plain blit
    # Pixel-exact: the painted pane holds the image's own pixels, unsmoothed.
    shot = pane.grab().toImage().convertToFormat(QImage.Format.Format_RGB888)
    x0, y0 = int(rect.x()), int(rect.y())
    for x, y in ((0, 0), (5, 7), (64, 40), (127, 95)):
        assert shot.pixelColor(x0 + x, y0 + y) == pane.image.pixelColor(x, y)
    QTest.keyClick(window, Qt.Key.Key_F)
    assert pane.view.fit
    assert abs(pane.image_rect().width() - pane.width()) < 1 or abs(pane.image_rect().height() - pane.height()) < 1
    fit_zoom = window.compare.current_zoom()
    QTest.keyClick(window, Qt.Key.Key_Equal)
    assert window.compare.current_zoom() > fit_zoom
    QTest.keyClick(window, Qt.Key.Key_Minus)
    assert abs(window.compare.current_zoom() - fit_zoom) < 1e-6
    QTest.mouseDClick(pane, Qt.MouseButton.LeftButton, pos=QPoint(pane.width() // 2, pane.height() // 2))
    assert window.compare.current_zoom() == 1.0
    assert window.zoom_label.text() == "100 %"


def test_split_divider_drags_and_ab_key_shows_original(qtbot, window, jpeg):
    open_and_wait(qtbot, window, jpeg)
    window.set_view_mode("split")
    pane = window.compare.original_pane
    assert pane.split and not window.compare.restored_pane.isVisible()
    x = int(pane.width() * 0.5)
    QTest.mousePress(pane, Qt.MouseButton.LeftButton, pos=QPoint(x, 50))
    QTest.mouseMove(pane, QPoint(x - pane.width() // 4, 50))
    QTest.mouseRelease(pane, Qt.MouseButton.LeftButton, pos=QPoint(x - pane.width() // 4, 50))
    assert abs(pane.divider - 0.25) < 0.02

    window.set_view_mode("ab")
    restored = pane.image
    QTest.keyPress(window, Qt.Key.Key_A)
    assert window.compare.holding_original and pane.image is not restored
    QTest.keyRelease(window, Qt.Key.Key_A)
    assert not window.compare.holding_original and pane.image is restored


def test_difference_view_amplifies_what_the_restoration_changed(qtbot, window, jpeg):
    import numpy as np

    from gui.image_convert import _rgb32_view

    shown = open_and_wait(qtbot, window, jpeg)
    window.set_view_mode("difference")
    pane = window.compare.original_pane
    assert not window.compare.restored_pane.isVisible() and pane.caption == "|restored − original| × 8"
    expected = np.minimum(np.abs(shown.restored.astype(int) - shown.original.astype(int)) * 8, 255)
    got = _rgb32_view(pane.image)[..., 2::-1]  # B, G, R, X in memory
    assert np.array_equal(got, expected) and got.max() > 0
    assert pane.image is window.compare._difference(window.compare._original, window.compare._restored)  # cached
    QTest.keyPress(window, Qt.Key.Key_A)  # hold A: the original, as in A/B
    assert pane.image is window.compare.original_image
    QTest.keyRelease(window, Qt.Key.Key_A)
    assert window.settings.view_mode == "difference" and window.view_actions["difference"].isChecked()
    seen = []
    for _ in range(4):  # V cycles through the views and back
        QTest.keyClick(window, Qt.Key.Key_V)
        seen.append(window.compare.mode)
    assert seen == ["side_by_side", "split", "ab", "difference"]


def test_strength_slider_and_readout_stay_usable_in_a_narrow_window(qtbot, window):
    """The readout's number changes width as the slider moves; at the smallest window it must still show in full."""
    window.resize(window.minimumSizeHint().width(), 700)
    label = window.strength.strength_label
    qtbot.wait(20)
    assert window.strength.slider.width() >= 120  # still something to drag
    for value in (1, 50, 91, 100):  # strength 99 (the widest), 50, 9, 0
        window.strength.set_value(value)
        qtbot.wait(20)
        assert label.isVisible()
        shown = label.contentsRect().width()
        assert shown >= label.fontMetrics().horizontalAdvance(label.text()), (label.text(), shown)

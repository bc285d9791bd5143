"""Zoomed in, the preview restores only the visible area: requests carry it, panning while paused asks again once
the view rests, the View menu turns it off (remembered), and a loaded reference gets whole frames for its PSNR."""
from __future__ import annotations

from .conftest import FRAME_TIMEOUT_MS, make_clip, open_and_wait


def _next_shown(qtbot, window, action, check=None):
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS, check_params_cb=check) as blocker:
        action()
    return blocker.args[0]


def _inside(crop, region):
    cx, cy, cw, ch = crop
    x, y, w, h = region
    return cx <= x and cy <= y and cx + cw >= x + w and cy + ch >= y + h


def test_zoomed_in_the_preview_restores_what_is_visible(qtbot, window, tmp_path):
    clip = make_clip(tmp_path / "wide.mp4", width=640, height=368, frames=6)
    first = open_and_wait(qtbot, window, clip)
    assert first.region is None  # fitted: the whole frame
    window.compare.view.set_zoom(4.0)
    region = window.compare.visible_region()
    assert region is not None and region[2] < 640 / 2
    qtbot.wait(300)
    assert window.last_result is first  # the whole frame covers any zoom: nothing asked

    shown = _next_shown(qtbot, window, lambda: window.strength.set_value(30), lambda r: r.region is not None)
    assert _inside(shown.region, region) and shown.region[2] * shown.region[3] < 640 * 368 / 2
    assert "visible area" in window.timing_label.text()

    # a pan away from the restored crop: asked again once the view rests
    panned = _next_shown(qtbot, window, lambda: window.compare.view.pan_by(-300, -200, 640, 400, 1.0),
                         lambda r: r.id != shown.id)
    assert _inside(panned.region, window.compare.visible_region())

    # fitted again: the whole frame
    whole = _next_shown(qtbot, window, window.compare.zoom_fit, lambda r: r.region is None)
    assert whole.restored.shape[:2] == (368, 640)
    assert "visible area" not in window.timing_label.text()


def test_the_view_menu_turns_it_off_and_remembers(qtbot, make_window, tmp_path):
    from gui.settings import AppSettings

    window = make_window()
    clip = make_clip(tmp_path / "wide.mp4", width=640, height=368, frames=6)
    open_and_wait(qtbot, window, clip)
    action = window.actions["visible_only"]
    assert action.isChecked() and action in window.view_menu.actions()
    window.compare.view.set_zoom(4.0)
    _next_shown(qtbot, window, lambda: window.strength.set_value(30), lambda r: r.region is not None)
    _next_shown(qtbot, window, action.trigger, lambda r: r.region is None)  # off: the whole frame at once
    assert AppSettings().visible_only is False
    window.strength.set_value(40)
    qtbot.waitUntil(lambda: window.last_result.id == window._latest_request_id, timeout=FRAME_TIMEOUT_MS)
    assert window.last_result.region is None
    window.close()
    assert make_window().actions["visible_only"].isChecked() is False


def test_a_loaded_reference_gets_whole_frames(qtbot, window, tmp_path):
    from .test_quality_plot import make_reference

    clip = make_clip(tmp_path / "wide.mp4", width=640, height=368, frames=6)
    reference = make_reference(tmp_path / "clean.mkv", width=640, height=368, frames=6)
    open_and_wait(qtbot, window, clip)
    window.compare.view.set_zoom(4.0)
    _next_shown(qtbot, window, lambda: window.strength.set_value(30), lambda r: r.region is not None)
    dock = window.quality_plot
    _next_shown(qtbot, window, lambda: dock.load_reference(reference), lambda r: r.region is None)
    qtbot.waitUntil(lambda: dock.stats.has("psnr_restored"), timeout=FRAME_TIMEOUT_MS)

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


def test_a_screenshotted_jpeg_is_restored_on_its_block_grid(qtbot, window, tmp_path):
    """A PNG cut from a JPEG 3 rows and 5 columns in: the preview feeds the restorer the image shifted back onto
    its 8x8 grid (engine.restore_on_grid), the same result the headless export gives."""
    import io

    import numpy as np
    from PIL import Image

    import engine

    yy, xx = np.mgrid[0:203, 0:261].astype(np.float32)
    rgb = np.stack([128 + 90 * np.sin(xx / 5.0) * np.cos(yy / 9.0), 255 * xx / 261, 120 + 60 * np.cos(yy / 4.0)], -1)
    buf = io.BytesIO()
    Image.fromarray(rgb.clip(0, 255).astype(np.uint8)).save(buf, "JPEG", quality=20)
    cut = np.asarray(Image.open(buf).convert("RGB"))[3:, 5:]
    path = tmp_path / "screenshot.png"
    Image.fromarray(cut).save(path)
    shown = open_and_wait(qtbot, window, path)
    assert engine.load_image(path).block_grid == (5, 3)
    assert "8×8 blocks off the corner (row 5, column 3)" in window.media_label.text()
    restorer = engine.create_restorer(shown.restorer, "cpu")
    expected = engine.restore_on_grid(restorer, cut, shown.quality_used, (5, 3))
    assert np.array_equal(shown.restored, expected)
    assert not np.array_equal(shown.restored, restorer.restore(cut, shown.quality_used))  # the shift mattered


def test_a_turned_clip_is_restored_on_the_grid_the_turn_moved(qtbot, window, tmp_path):
    """A phone clip 164 px wide shown turned 90°: its rows start 164 % 8 = 4 px into a block, and the preview
    restores it shifted back onto the codec's grid, as the (unturned) export does."""
    import numpy as np

    import engine

    clip = make_clip(tmp_path / "phone.mp4", width=164, height=96, frames=4, rotation=90)
    open_and_wait(qtbot, window, clip)
    window.strength.set_mode("manual")
    shown = _next_shown(qtbot, window, lambda: window.strength.set_value(30), lambda r: r.quality_used == 30.0)
    assert shown.original.shape[:2] == (164, 96)
    assert engine.turned_block_grid(96, 164, 90) == (4, 0)
    restorer = engine.create_restorer(shown.restorer, "cpu")
    assert np.array_equal(shown.restored, engine.restore_on_grid(restorer, shown.original, 30.0, (4, 0)))
    assert not np.array_equal(shown.restored, restorer.restore(shown.original, 30.0))

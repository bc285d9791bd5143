"""Go to a frame or a time (Ctrl+G) and full screen (F11 / Esc)."""
from __future__ import annotations

import re

import pytest

from gui.navigation import parse_position

from .conftest import FRAME_TIMEOUT_MS, open_and_wait


@pytest.mark.parametrize("text, index", [("1", 0), ("75", 74), ("132", 131), ("2.96s", 74), ("2.96", 74),
                                         ("0:02.960", 74), ("0:02,960", 74), ("00:00:05", 125), (" 3s ", 75)])
def test_frame_numbers_count_from_one_and_times_land_on_their_frame(text, index):
    assert parse_position(text, 25.0, 132) == index


@pytest.mark.parametrize("text, reason", [("", "type a frame"), ("0", "outside 1–132"), ("133", "outside 1–132"),
                                          ("6s", "past the end (5.280 s)"), ("abc", "neither a frame number"),
                                          ("1:2s", "neither a frame number")])
def test_bad_positions_say_why(text, reason):
    with pytest.raises(ValueError, match=re.escape(reason)):
        parse_position(text, 25.0, 132)


def test_go_to_seeks_the_paused_player_and_bad_input_is_a_notice(qtbot, window, clip):
    open_and_wait(qtbot, window, clip)
    assert window.actions["go_to"] in next(a.menu() for a in window.menuBar().actions()
                                           if a.text() == "&Playback").actions()
    with qtbot.waitSignal(window.frameShown, timeout=FRAME_TIMEOUT_MS,
                          check_params_cb=lambda r: r.frame_index == 11):
        assert window.navigation.go_to("12")
    assert not window.clock.playing and window.transport.frame_label.text() == "frame 12 / 20"
    with qtbot.waitSignal(window.noticeShown, timeout=FRAME_TIMEOUT_MS) as notice:
        assert not window.navigation.go_to("99")
    assert notice.args == ["Go to: frame 99 is outside 1–20", "error"]


def test_full_screen_toggles_and_esc_leaves(qtbot, window):
    window.actions["full_screen"].trigger()
    qtbot.waitUntil(window.isFullScreen)
    window.actions["leave_full_screen"].trigger()
    qtbot.waitUntil(lambda: not window.isFullScreen())
    assert not window.actions["full_screen"].isChecked()


def test_speed_keys_step_through_the_speeds_and_the_menu_follows(qtbot, window, clip):
    from PySide6.QtCore import Qt

    open_and_wait(qtbot, window, clip)
    speed = window.playback_speed
    assert window.clock.rate == 1.0 and speed.speed_actions[1.0].isChecked()
    window.activateWindow()
    qtbot.keyClick(window, "<")
    assert window.clock.rate == 0.5 and speed.speed_actions[0.5].isChecked()
    window.actions["slower"].trigger()
    window.actions["slower"].trigger()  # clamped at the slowest
    assert window.clock.rate == 0.25
    for _ in range(5):
        window.actions["faster"].trigger()
    assert window.clock.rate == 2.0 and speed.speed_actions[2.0].isChecked()
    speed.speed_actions[0.5].trigger()
    assert window.clock.rate == 0.5
    window.clock.play()
    qtbot.waitUntil(lambda: "wanted" in window.fps_label.text(), timeout=FRAME_TIMEOUT_MS)
    assert "/ 12.5 wanted" in window.fps_label.text()  # the 25 fps clip at ½×
    qtbot.keyClick(window, Qt.Key.Key_Space)

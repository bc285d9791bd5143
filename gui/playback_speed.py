"""Playback → Speed: slow motion to inspect artifacts (¼×, ½×) or 2× to skim; `<` / `>` step through the speeds.

At ¼× a 25 fps clip needs 6.25 restored frames a second, about what the CPU preview manages, so slow motion also
drops few frames or none. The speed is not remembered: the app always starts at 1×."""
from __future__ import annotations

from PySide6.QtGui import QActionGroup

from .menus import make_action

SPEEDS = (0.25, 0.5, 1.0, 2.0)


def speed_title(rate: float) -> str:
    return {0.25: "¼×", 0.5: "½×"}.get(rate, f"{rate:g}×")


class PlaybackSpeed:
    def __init__(self, window) -> None:
        self.window_ = window
        a = window.actions
        play_menu = next(x.menu() for x in window.menuBar().actions() if x.text() == "&Playback")
        menu = play_menu.addMenu("&Speed")
        group = QActionGroup(window)
        self.speed_actions = {}
        for rate in SPEEDS:
            act = make_action(window, speed_title(rate), lambda _c=False, r=rate: self.set_speed(r))
            act.setCheckable(True)
            act.setChecked(rate == 1.0)
            group.addAction(act)
            menu.addAction(act)
            self.speed_actions[rate] = act
        menu.addSeparator()
        a["slower"] = make_action(window, "Slower", lambda: self.step(-1), "<", "Play slower (down to ¼×)")
        a["faster"] = make_action(window, "Faster", lambda: self.step(1), ">", "Play faster (up to 2×)")
        menu.addActions([a["slower"], a["faster"]])

    @property
    def rate(self) -> float:
        return self.window_.clock.rate

    def step(self, direction: int) -> None:
        i = SPEEDS.index(self.rate) if self.rate in SPEEDS else SPEEDS.index(1.0)
        self.set_speed(SPEEDS[min(max(i + direction, 0), len(SPEEDS) - 1)])

    def set_speed(self, rate: float) -> None:
        w = self.window_
        w.clock.set_rate(rate)
        self.speed_actions[rate].setChecked(True)
        w._shown_times.clear()  # the restored-fps figure restarts at the new speed
        w.statusBar().showMessage(f"Playback speed {speed_title(rate)}", 2000)


def install_playback_speed(window) -> PlaybackSpeed:
    window.playback_speed = PlaybackSpeed(window)
    return window.playback_speed

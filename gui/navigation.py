"""Playback → Go to Frame or Time… (Ctrl+G) and View → Full Screen (F11)."""
from __future__ import annotations

import math
import re

from PySide6.QtWidgets import QInputDialog

from .menus import make_action

_TIME = re.compile(r"^(?:(\d+):)?(?:(\d+):)?(\d+(?:\.\d*)?)$")


def parse_position(text: str, fps: float, frame_count: int) -> int:
    """A 0-based frame index from what the user typed: "75" (frame 75 as the transport shows it, counting from
    1), "2.96s", "0:02.960" or "1:02:03.5". ValueError with a one-line reason otherwise."""
    text = text.strip().lower().replace(",", ".")
    if not text:
        raise ValueError("type a frame number or a time")
    if re.fullmatch(r"\d+", text):
        frame = int(text)
        if not 1 <= frame <= frame_count:
            raise ValueError(f"frame {frame} is outside 1–{frame_count}")
        return frame - 1
    seconds_only = text.endswith("s")
    match = _TIME.match(text[:-1] if seconds_only else text)
    if match is None or (seconds_only and ":" in text):
        raise ValueError(f"{text!r} is neither a frame number nor a time like 0:02.960 or 2.96s")
    first, second, seconds = match.groups()
    hours, minutes = (int(first), int(second)) if second is not None else (0, int(first or 0))
    t = hours * 3600 + minutes * 60 + float(seconds)
    index = int(math.floor(t * fps + 1e-6))
    if index >= frame_count:
        raise ValueError(f"{text} is past the end ({frame_count / fps:.3f} s)")
    return index


class Navigation:
    def __init__(self, window) -> None:
        self.window_ = window
        a = window.actions
        a["go_to"] = make_action(window, "&Go to Frame or Time…", self.ask_position, "Ctrl+G",
                                 "Jump to a frame number or a time (Ctrl+G)")
        a["full_screen"] = make_action(window, "&Full Screen", self.toggle_full_screen, "F11")
        a["full_screen"].setCheckable(True)
        # Esc leaves full screen, as everywhere else; it does nothing in a normal window.
        a["leave_full_screen"] = make_action(window, "Leave Full Screen", lambda: self.toggle_full_screen(False),
                                             "Esc")
        play_menu = next(x.menu() for x in window.menuBar().actions() if x.text() == "&Playback")
        play_menu.insertAction(a["loop"], a["go_to"])
        window.view_menu.addAction(a["full_screen"])

    def ask_position(self) -> None:
        w = self.window_
        if w.media is None or w.media.kind != "video":
            return
        text, ok = QInputDialog.getText(w, "Go to", f"Frame (1–{w.media.frame_count}) or time (e.g. 0:02.5):")
        if ok:
            self.go_to(text)

    def go_to(self, text: str) -> bool:
        w = self.window_
        try:
            index = parse_position(text, w.clock.fps, w.clock.frame_count)
        except ValueError as exc:
            w.show_notice(f"Go to: {exc}", "error")
            return False
        w.clock.pause()
        w.clock.seek_index(index)
        return True

    def toggle_full_screen(self, on: bool) -> None:
        w = self.window_
        if on:
            w.showFullScreen()
        elif w.isFullScreen():
            w.showNormal()
        w.actions["full_screen"].setChecked(bool(on))


def install_navigation(window) -> Navigation:
    window.navigation = Navigation(window)
    return window.navigation

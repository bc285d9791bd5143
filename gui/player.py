"""Playback clock: media time follows a monotonic wall clock, not the speed of restoration.

A fast QTimer polls `time.perf_counter()`; whenever the frame that should be on screen changes, `frameDue` fires.
If restoration is slower than the source, frames in between are simply never requested: the picture lags, the
clock does not, and nothing queues up.
"""
from __future__ import annotations

import math
import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal

# Poll a few times per frame; frame boundaries come from the clock, not from counting ticks. Not faster: each
# tick is Python on the GUI thread and competes for the GIL with the engine thread.
MIN_TICK_MS, MAX_TICK_MS = 4, 10


class PlaybackClock(QObject):
    frameDue = Signal(int, float)  # frame index, media time (seconds from the start of the stream)
    playingChanged = Signal(bool)
    finished = Signal()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.fps = 25.0
        self.frame_count = 1
        self.loop = True
        self.playing = False
        self.rate = 1.0  # playback speed: media seconds per wall-clock second
        self._position = 0.0  # media time while paused / at the anchor
        self._anchor_wall = 0.0
        self._last_index = -1
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(MAX_TICK_MS)
        self._timer.timeout.connect(self._tick)

    # --- media -----------------------------------------------------------------------------------------------
    def set_media(self, fps: float, frame_count: int) -> None:
        self.pause()
        self.fps = fps if fps and fps > 0 else 25.0
        self.frame_count = max(1, int(frame_count))
        self._timer.setInterval(int(min(max(1000 / self.fps / 4, MIN_TICK_MS), MAX_TICK_MS)))
        self._position = 0.0
        self._last_index = -1

    @property
    def duration(self) -> float:
        return self.frame_count / self.fps

    def frame_time(self, index: int) -> float:
        """Media time to request for a frame: a quarter into it, so neither "nearest frame" nor "last frame at or
        before" lookups land on a neighbour through timestamp rounding."""
        return (index + 0.25) / self.fps

    def index_at(self, t: float) -> int:
        return min(max(int(math.floor(t * self.fps + 1e-6)), 0), self.frame_count - 1)

    @property
    def position(self) -> float:
        if self.playing:
            return self._position + (time.perf_counter() - self._anchor_wall) * self.rate
        return self._position

    def set_rate(self, rate: float) -> None:
        """Change speed without a jump: the media time reached so far becomes the new anchor."""
        if self.playing:
            self._position, self._anchor_wall = self.position, time.perf_counter()
        self.rate = float(rate)

    @property
    def current_index(self) -> int:
        return self.index_at(self.position)

    # --- transport -------------------------------------------------------------------------------------------
    def play(self) -> None:
        if self.playing or self.frame_count <= 1:
            return
        if self.current_index >= self.frame_count - 1:
            self._position = 0.0  # play at the end starts over
            self._last_index = -1
        self._anchor_wall = time.perf_counter()
        self.playing = True
        self._timer.start()
        self.playingChanged.emit(True)
        self._tick()

    def pause(self) -> None:
        if not self.playing:
            return
        # Park on the frame that is on screen, so stepping continues from what the user saw.
        self._position = self.frame_time(self.index_at(self.position))
        self.playing = False
        self._timer.stop()
        self.playingChanged.emit(False)

    def toggle(self) -> None:
        self.pause() if self.playing else self.play()

    def seek_index(self, index: int) -> None:
        index = min(max(int(index), 0), self.frame_count - 1)
        self._position = self.frame_time(index)
        self._anchor_wall = time.perf_counter()
        self._last_index = index
        self.frameDue.emit(index, self._position)

    def step(self, delta: int) -> None:
        self.pause()
        self.seek_index(self.current_index + delta)

    def _tick(self) -> None:
        t = self._position + (time.perf_counter() - self._anchor_wall) * self.rate
        if t >= self.duration:
            if self.loop:
                # Restart the clock at 0 rather than carrying the overshoot: frame 0 is always shown.
                self._position, self._anchor_wall, t = 0.0, time.perf_counter(), 0.0
                self._last_index = -1
            else:
                self._position = self.frame_time(self.frame_count - 1)
                self.playing = False
                self._timer.stop()
                self.playingChanged.emit(False)
                self.finished.emit()
                return
        index = self.index_at(t)
        if index != self._last_index:
            self._last_index = index
            self.frameDue.emit(index, self.frame_time(index))

"""The playback clock follows wall time: frames due are skipped, not queued, when the consumer is slow."""
from __future__ import annotations

import time

from gui.player import PlaybackClock


def test_clock_skips_frames_instead_of_queueing(qtbot):
    clock = PlaybackClock()
    clock.set_media(fps=100.0, frame_count=1000)
    due = []

    def slow_consumer(index, _t):
        due.append(index)
        time.sleep(0.05)  # 5 frame periods per frame: a restorer that cannot keep up

    clock.frameDue.connect(slow_consumer)
    clock.loop = False
    start = time.perf_counter()
    clock.play()
    qtbot.waitUntil(lambda: len(due) >= 6, timeout=5000)
    clock.pause()
    elapsed = time.perf_counter() - start
    assert due == sorted(due)
    assert due[-1] >= int(elapsed * 100 * 0.7)  # media time kept pace with the wall clock
    assert len(due) < due[-1]  # so most frames were never even requested


def test_step_seek_and_end_of_media(qtbot):
    clock = PlaybackClock()
    clock.set_media(fps=25.0, frame_count=10)
    seen = []
    clock.frameDue.connect(lambda i, t: seen.append(i))
    clock.seek_index(8)
    clock.step(1)
    clock.step(1)  # clamped at the last frame
    clock.step(-3)
    assert seen == [8, 9, 9, 6]
    clock.loop = False
    with qtbot.waitSignal(clock.finished, timeout=3000):
        clock.play()
    assert not clock.playing and clock.current_index == 9


def test_playback_speed_scales_media_time_without_a_jump(qtbot, monkeypatch):
    from gui import player

    now = [100.0]
    monkeypatch.setattr(player.time, "perf_counter", lambda: now[0])  # a wall clock the test moves
    clock = PlaybackClock()
    clock.set_media(fps=25.0, frame_count=1000)
    clock.play()
    now[0] += 1.0
    assert abs(clock.position - 1.0) < 1e-9
    clock.set_rate(0.25)
    assert abs(clock.position - 1.0) < 1e-9  # changing speed does not move the playhead
    now[0] += 2.0
    assert abs(clock.position - 1.5) < 1e-9 and clock.current_index == 37
    clock.set_rate(2.0)
    now[0] += 0.5
    assert abs(clock.position - 2.5) < 1e-9
    clock.pause()
    now[0] += 5.0
    assert clock.current_index == 62 and clock.rate == 2.0  # paused: the speed waits for the next play

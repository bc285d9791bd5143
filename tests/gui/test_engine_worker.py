"""The worker's request slot: control requests in order, frame requests latest-wins."""
from __future__ import annotations

import threading
from pathlib import Path

from engine import ConfigureRestorerRequest, OpenMediaRequest, RestoreFrameRequest
from gui.engine_worker import RequestSlots


def test_frame_requests_overwrite_each_other_but_control_requests_queue():
    slots = RequestSlots()
    slots.put(RestoreFrameRequest(1, media_id=9, time=0.0))
    slots.put(OpenMediaRequest(2, Path("a.mp4")))
    slots.put(RestoreFrameRequest(3, media_id=9, time=0.1))
    slots.put(ConfigureRestorerRequest(4, "deblock"))
    slots.put(RestoreFrameRequest(5, media_id=9, time=0.2))
    assert [slots.take().id for _ in range(3)] == [2, 4, 5]  # controls first, then only the newest frame
    assert slots.replaced == 2


def test_take_blocks_until_work_or_stop():
    slots = RequestSlots()
    got = []
    thread = threading.Thread(target=lambda: got.append(slots.take()))
    thread.start()
    thread.join(0.05)
    assert thread.is_alive()  # nothing to do yet: waiting, not spinning
    slots.stop()
    thread.join(2)
    assert got == [None]


def test_request_ids_are_unique_and_increasing_across_threads():
    from engine import next_request_id

    seen: list[list[int]] = [[] for _ in range(4)]
    threads = [threading.Thread(target=lambda out=out: out.extend(next_request_id() for _ in range(500)))
               for out in seen]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [i for out in seen for i in out]
    assert len(set(everything)) == 2000
    assert all(out == sorted(out) for out in seen)

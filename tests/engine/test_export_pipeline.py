"""The threaded decode -> restore -> encode pipeline: order, batching, errors and prompt cancel."""
from __future__ import annotations

import threading
import time

import pytest

from engine.cancel import CancelToken
from engine.errors import Cancelled
from engine.export.pipeline import Pipeline


def test_items_arrive_in_order_through_batches():
    seen, batches = [], []

    def transform(items):
        batches.append(len(items))
        return [x * 10 for x in items]

    def slow_source():
        for i in range(40):
            if i % 10 == 0:
                time.sleep(0.01)  # let items pile up so batching has something to group
            yield i

    Pipeline().run(slow_source(), transform, seen.append, batch=4, group=lambda x: x // 10)
    assert seen == [i * 10 for i in range(40)]
    # Full batches whatever the timing, cut only where the group changes (10 items = 4 + 4 + 2).
    assert batches == [4, 4, 2] * 4


def test_stage_error_reaches_the_caller_and_stops_the_source():
    produced = []

    def source():
        for i in range(10_000):
            produced.append(i)
            yield i

    def transform(items):
        if items[0] >= 5:
            raise ValueError("restore failed")
        return items

    with pytest.raises(ValueError, match="restore failed"):
        Pipeline().run(source(), transform, lambda x: None)
    assert len(produced) < 100  # bounded queues: the decoder never ran far ahead


def test_cancel_stops_all_stages_quickly():
    token = CancelToken()

    def endless():
        i = 0
        while True:
            yield i
            i += 1

    def consume(x):
        time.sleep(0.001)

    threading.Timer(0.2, token.cancel).start()
    t0 = time.perf_counter()
    with pytest.raises(Cancelled):
        Pipeline(token).run(endless(), lambda items: items, consume)
    assert time.perf_counter() - t0 < 1.2
    assert not any(t.name.startswith("export-") for t in threading.enumerate())


def test_stages_overlap():
    def source():
        for i in range(8):
            time.sleep(0.02)
            yield i

    def transform(items):
        time.sleep(0.02 * len(items))
        return items

    pipe = Pipeline()
    t0 = time.perf_counter()
    pipe.run(source(), transform, lambda x: time.sleep(0.02))
    wall = time.perf_counter() - t0
    # Serial would be 3 x 8 x 20 ms = 0.48 s; concurrent stages approach one stage's 0.16 s.
    assert wall < 0.40
    assert set(pipe.seconds) == {"decode", "restore", "encode"}

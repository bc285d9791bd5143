"""The training batch stream: shapes and types, worker processes, and recovery when a worker dies."""
import numpy as np
import pytest
import torch

from training.loader import batch_stream, restarting, to_unit


def _photos(n=3, size=(150, 170)):
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:size[0], 0:size[1]]
    return [np.clip(np.stack([xx + k * 20, yy, (xx * yy) % 255], -1) + rng.normal(0, 8, (*size, 3)), 0, 255)
            .astype(np.uint8) for k in range(n)]


@pytest.mark.parametrize("workers", [0, 1])
def test_batches_are_uint8_pairs_with_a_quality_map(workers):
    batches = batch_stream(_photos(), patch=32, batch=4, codec_fraction=0.0, seed=3, workers=workers)
    x, y, q = next(batches)
    assert x.dtype == y.dtype == torch.uint8 and x.shape == y.shape == (4, 3, 32, 32)
    assert q.dtype == torch.float32 and q.shape == (4, 1, 32, 32) and float(q.min()) >= 1 and float(q.max()) <= 100
    assert not torch.equal(x, y)  # degraded differs from clean
    unit = to_unit(x)
    assert unit.dtype == torch.float32 and 0 <= float(unit.min()) and float(unit.max()) <= 1


def test_same_seed_same_batches_without_workers():
    a = next(batch_stream(_photos(), 32, 2, 0.0, seed=5, workers=0))
    b = next(batch_stream(_photos(), 32, 2, 0.0, seed=5, workers=0))
    assert all(torch.equal(u, v) for u, v in zip(a, b))


def test_a_dead_worker_restarts_the_stream_with_a_new_seed():
    started = []

    def start(attempt):
        started.append(attempt)

        def gen():
            yield attempt
            if attempt == 0:
                raise RuntimeError("DataLoader worker (pid 1) is killed by signal: Segmentation fault.")
            while True:
                yield attempt
        return gen()

    stream = restarting(start, limit=2)
    assert [next(stream) for _ in range(3)] == [0, 1, 1]
    assert started == [0, 1]


def test_restarts_are_bounded():
    def start(attempt):
        def gen():
            raise RuntimeError("worker died")
            yield  # noqa: unreachable - makes this a generator
        return gen()

    with pytest.raises(RuntimeError, match="worker died"):
        next(restarting(start, limit=2))

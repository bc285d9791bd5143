"""Training batches made by worker processes, for a GPU that outruns one CPU core's degradations.

Each worker owns its own Degrader and random stream (seeded from the run seed, the start step and its worker
id), so runs are reproducible for a given worker count and no two workers make the same patches.
"""
from __future__ import annotations

import numpy as np
import torch
from torch.utils.data import DataLoader, IterableDataset, get_worker_info

from training.degrade import Degrader


def make_batch(degrader: Degrader, images: list[np.ndarray], size: int, rng: np.random.Generator):
    """`size` (degraded, clean, quality map) triples: uint8 (B,3,P,P) twice (a quarter of float32's bytes through
    the workers' shared memory; `to_unit` converts on the device) and float32 quality maps (B,1,P,P)."""
    xs, ys, qs = [], [], []
    for _ in range(size):
        d, c, q = degrader(images[int(rng.integers(0, len(images)))])
        xs.append(d), ys.append(c), qs.append(q)
    to_t = lambda a: torch.from_numpy(np.stack(a)).permute(0, 3, 1, 2)
    return to_t(xs), to_t(ys), torch.from_numpy(np.stack(qs))[:, None]


def to_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 (B,3,H,W) -> float in [0, 1], channels-last (what the convolutions run fastest on)."""
    return images.float().div_(255.0).contiguous(memory_format=torch.channels_last)


class DegradedBatches(IterableDataset):
    def __init__(self, images: list[np.ndarray], patch: int, batch: int, codec_fraction: float, seed: int,
                 codec_frames: int = 1, aligned_fraction: float = 0.0) -> None:
        self.images, self.patch, self.batch = images, patch, batch
        self.codec_fraction, self.seed, self.codec_frames = codec_fraction, seed, codec_frames
        self.aligned_fraction = aligned_fraction

    def __iter__(self):
        info = get_worker_info()
        worker = info.id if info is not None else 0
        import cv2  # noqa: PLC0415 - keep OpenCV's own thread pool from fighting the other workers
        cv2.setNumThreads(1)
        rng = np.random.default_rng([self.seed, worker])
        degrader = Degrader(self.patch, codec_fraction=self.codec_fraction, seed=self.seed * 1009 + worker,
                            frames_per_clip=self.codec_frames, aligned_fraction=self.aligned_fraction)
        while True:
            yield make_batch(degrader, self.images, self.batch, rng)


def batch_stream(images: list[np.ndarray], patch: int, batch: int, codec_fraction: float, seed: int, workers: int,
                 codec_frames: int = 1, aligned_fraction: float = 0.0):
    """An endless iterator of batches; with workers > 0 they are made in parallel and pinned for fast copies.
    codec_frames: training frames taken from each encoded clip (see Degrader)."""
    if workers <= 0:
        return iter(DegradedBatches(images, patch, batch, codec_fraction, seed, codec_frames, aligned_fraction))

    def start(attempt: int):
        # A restart gets a new seed: replaying the stream that crashed could crash the same way.
        data = DegradedBatches(images, patch, batch, codec_fraction, seed + 7919 * attempt, codec_frames,
                               aligned_fraction)
        # spawn, not fork: a child forked while the parent's torch or codec threads hold a lock can hang
        return iter(DataLoader(data, batch_size=None, num_workers=workers, pin_memory=torch.cuda.is_available(),
                               prefetch_factor=4, persistent_workers=True, multiprocessing_context="spawn"))
    return restarting(start)


def restarting(start, limit: int = 5):
    """Yield from start(0); when a worker dies, go on with start(1), start(2)... up to `limit` restarts.
    Seen on a 16-core GPU machine: one worker segfaulted inside an encoder after ~9k batches, which killed a
    run that had 10 more minutes of borrowed GPU time."""
    attempt, batches = 0, start(0)
    while True:
        try:
            yield next(batches)
        except RuntimeError as exc:
            attempt += 1
            if attempt > limit:
                raise
            print(f"batch workers failed ({exc}); restarting them ({attempt}/{limit})", flush=True)
            del batches
            batches = start(attempt)

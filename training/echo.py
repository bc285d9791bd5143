"""Data echoing for GPU runs: train on each degraded patch several times, so the GPU stops waiting for the CPU.

Why: on the lent H100 the 14 CPU workers made ~1,200 degraded 128² patches a second and the GPU sat 86 % idle
(Choi et al., "Faster neural network training with data echoing", 2019: when the input pipeline is the
bottleneck, repeating examples buys most of what fresh ones would). Patches go into a pool on the device; every
step draws a batch from the whole pool, each patch turned by a random flip/transpose (the same one for its
degraded copy, its clean copy and its quality map), and one fresh batch enters the pool every `echo` steps.

The turns keep a JPEG degradation a JPEG degradation: a flip maps the 8×8 block grid onto a grid at another offset
(training already uses random offsets) and only changes DCT signs; a transpose swaps the table's axes. Codec frames
turned this way have their intra prediction mirrored, a small departure that the fresh share keeps in check.
"""
from __future__ import annotations

from typing import Iterator

import torch

from engine.restore.ensemble import turn  # the same 8 turns the export's self-ensemble uses

Batch = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


class EchoPool:
    """A ring of recent patches on `device`; `draw` returns a batch of turned patches from all of it."""

    def __init__(self, capacity: int, device: torch.device, seed: int) -> None:
        self.capacity, self.device = capacity, torch.device(device)
        self.x = self.y = self.q = None
        self.filled = self.cursor = 0
        self.generator = torch.Generator().manual_seed(seed)  # on the host: same draws on every device

    def add(self, batch: Batch) -> None:
        x, y, q = (t.to(self.device, non_blocking=True) for t in batch)
        if self.x is None:
            self.x = x.new_empty((self.capacity, *x.shape[1:]))
            self.y = y.new_empty((self.capacity, *y.shape[1:]))
            self.q = q.new_empty((self.capacity, *q.shape[1:]))
        n = x.shape[0]
        slots = (self.cursor + torch.arange(n)) % self.capacity
        slots = slots.to(self.device)
        self.x[slots], self.y[slots], self.q[slots] = x, y, q
        self.cursor = (self.cursor + n) % self.capacity
        self.filled = min(self.capacity, self.filled + n)

    def draw(self, size: int) -> Batch:
        if not self.filled:
            raise RuntimeError("draw from an empty pool")
        picks = torch.randint(0, self.filled, (size,), generator=self.generator)
        codes = torch.randint(0, 8, (size,), generator=self.generator)
        x, y, q = (t[picks.to(self.device)] for t in (self.x, self.y, self.q))
        for code in codes.unique().tolist():
            rows = (codes == code).nonzero().squeeze(1).to(self.device)
            x[rows], y[rows], q[rows] = (turn(t[rows], code) for t in (x, y, q))
        return x, y, q


def echoed(batches: Iterator[Batch], echo: int, pool_batches: int, device: torch.device, seed: int
           ) -> Iterator[Batch]:
    """Batches of the same size as `batches`' but `echo` steps per fresh batch, drawn from a pool of the last
    `pool_batches` fresh ones (on average each patch is trained on `echo` times). Until the pool is full, every
    step brings a fresh batch: the first steps must not train on one batch over and over."""
    first = next(batches)
    size = first[0].shape[0]
    pool = EchoPool(size * pool_batches, device, seed)
    pool.add(first)
    yield pool.draw(size)
    step = 0
    while True:
        step += 1
        if pool.filled < pool.capacity or step % echo == 0:
            pool.add(next(batches))
        yield pool.draw(size)

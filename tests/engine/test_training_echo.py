"""Data echoing (training/echo.py): patches reused from a device pool, turned consistently, at a known rate."""
import itertools

import torch

from training.echo import EchoPool, echoed, turn


def _numbered_batches(size=4, patch=8, counter=None):
    """Batches whose patches are all distinct; the quality map carries the patch's number, the clean copy is the
    degraded one plus one, so a draw can be traced back and checked for consistency."""
    for b in itertools.count():
        if counter is not None:
            counter.append(b)
        ids = torch.arange(b * size, (b + 1) * size)
        base = torch.randint(0, 250, (size, 3, patch, patch), generator=torch.Generator().manual_seed(b),
                             dtype=torch.uint8)
        q = ids.float().view(-1, 1, 1, 1).expand(size, 1, patch, patch).clone()
        yield base, base + 1, q


def test_the_eight_turns_are_distinct_and_each_has_an_inverse():
    t = torch.arange(16.0).view(1, 4, 4)
    seen = {tuple(turn(t, c).flatten().tolist()) for c in range(8)}
    assert len(seen) == 8
    for c in range(8):
        assert any(torch.equal(turn(turn(t, c), d), t) for d in range(8))


def test_each_fresh_batch_serves_echo_steps_once_the_pool_is_full():
    fetched = []
    stream = echoed(_numbered_batches(counter=fetched), echo=4, pool_batches=3, device="cpu", seed=0)
    for _ in range(3):
        next(stream)
    assert len(fetched) == 3  # filling: one fresh batch a step
    for _ in range(40):
        next(stream)
    assert len(fetched) == 3 + 40 // 4


def test_a_drawn_patch_is_one_pooled_patch_turned_the_same_way_in_all_three_tensors():
    batches = list(itertools.islice(_numbered_batches(), 3))
    pool = EchoPool(capacity=12, device="cpu", seed=1)
    for b in batches:
        pool.add(b)
    all_x = torch.cat([b[0] for b in batches])
    x, y, q = pool.draw(64)
    assert x.shape == (64, 3, 8, 8) and x.dtype == torch.uint8 and q.shape == (64, 1, 8, 8)
    codes_used = set()
    for i in range(64):
        source = int(q[i, 0, 0, 0])
        assert torch.all(q[i] == source)  # a constant map stays that patch's
        matches = [c for c in range(8) if torch.equal(turn(all_x[source], c), x[i])]
        assert matches, "not a turned pooled patch"
        assert torch.equal(y[i], x[i] + 1)  # the clean copy got the same turn
        codes_used.add(matches[0])
    assert len(codes_used) > 4  # turns are drawn per patch


def test_the_pool_keeps_only_the_newest_patches():
    pool = EchoPool(capacity=8, device="cpu", seed=2)
    for b in itertools.islice(_numbered_batches(), 5):  # 20 patches through 8 slots
        pool.add(b)
    _, _, q = pool.draw(200)
    assert set(q[:, 0, 0, 0].long().tolist()) <= set(range(12, 20))

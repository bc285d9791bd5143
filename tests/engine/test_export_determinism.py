"""The encoder must be repeatable for resume to equal an uninterrupted export. libx264's macroblock-tree reads
memory it never wrote at the end of short streams; without engine.export.determinism the same 8 frames encoded
to 3-8 different bitstreams in 40 tries on the development machine (depending on what the heap held)."""
from __future__ import annotations

import av
import numpy as np
import pytest

from engine.export import ExportSettings
from engine.export.determinism import available, zeroed_allocations
from engine.export.encode import SegmentWriter, plan_encoder
from engine.export.settings import validate_video_settings
from engine.export.source import probe_source
from tests.engine.export_media import make_clip, moving_pattern

pytestmark = pytest.mark.skipif(not available(), reason="needs glibc's mallopt")


def _payloads(path) -> list[bytes]:
    with av.open(str(path)) as c:
        return [bytes(p) for p in c.demux(c.streams.video[0]) if p.size]


@pytest.mark.parametrize("first", [8, 24])
def test_a_segment_encodes_to_the_same_bits_whatever_the_heap_held(tmp_path, first):
    src = tmp_path / "clip.mp4"
    make_clip(src, frames=4)
    settings = ExportSettings()  # x264 medium: B-frames, macroblock-tree
    plan = plan_encoder(settings, validate_video_settings(settings, tmp_path / "o.mp4"), probe_source(src),
                        threads=1, segment_frames=8)
    frames = [moving_pattern(i, 96, 64) for i in range(first, first + 8)]
    rng = np.random.default_rng(0)
    outputs = set()
    for k in range(12):
        scribble = [rng.integers(0, 255, int(n), dtype=np.uint8) for n in rng.integers(100, 200_000, 30)]
        del scribble  # freed blocks full of noise: what an encoder reading stale memory would pick up
        writer = SegmentWriter(tmp_path / f"seg{k}.mp4", plan)  # zeroes fresh blocks inside its encoder calls
        for i, pixels in enumerate(frames):
            writer.write(pixels, (first + i) * 3600)
        writer.close()
        outputs.add(tuple(_payloads(tmp_path / f"seg{k}.mp4")))
    assert len(outputs) == 1


def test_fresh_blocks_read_as_zeros_and_the_option_nests():
    with zeroed_allocations():
        with zeroed_allocations():
            pass
        for _ in range(20):  # freed noise of the same size first: what a stale read would otherwise see
            noise = np.full(60_000, 0xA5, np.uint8)
            del noise
            fresh = np.empty(60_000, np.uint8)  # a heap block (below the mmap threshold)
            assert not fresh.any()

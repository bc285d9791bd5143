"""training/fit_frame_types.py: the I/P/B correction's fitting pieces (the measured fit itself runs for minutes)."""
import numpy as np
import pytest

from training.fit_frame_types import encode_decode, offset_tables, parabola_peak


def test_parabola_peak_finds_the_vertex_between_grid_points():
    offsets = np.arange(-0.6, 1.21, 0.15)
    scores = -(offsets - 0.37) ** 2
    assert parabola_peak(offsets, scores) == pytest.approx(0.37, abs=1e-9)
    # at the edge of the grid there is no parabola: the edge itself
    assert parabola_peak(offsets, offsets) == pytest.approx(offsets[-1])


def test_offset_tables_split_rate_controls_and_sort_by_qp():
    rows = [{"setting": "crf30", "type": "B", "qp": 35.6, "best_offset": 0.19},
            {"setting": "crf22", "type": "B", "qp": 28.7, "best_offset": 0.12},
            {"setting": "qp32", "type": "B", "qp": 33.7, "best_offset": 0.56},
            {"setting": "qp32", "type": "I", "qp": 29.0, "best_offset": -0.07}]
    assert offset_tables(rows) == {"varying": {"B": {"qp": [28.7, 35.6], "offset": [0.12, 0.19]}},
                                   "flat": {"B": {"qp": [33.7], "offset": [0.56]}, "I": {"qp": [29.0], "offset": [-0.07]}}}


def test_encode_decode_gives_every_picture_type_with_its_qp():
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (72, 104, 3), dtype=np.uint8)
    frames = [np.ascontiguousarray(np.roll(base, 2 * i, axis=1)[:64, :96]) for i in range(12)]
    decoded = encode_decode(frames, "crf", 30, "veryfast")
    assert len(decoded) == 12
    assert {kind for _, _, kind in decoded} == {"I", "P", "B"}
    for rgb, qp, _ in decoded:
        assert rgb.shape == (64, 96, 3) and 10 < qp < 51

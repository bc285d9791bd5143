"""training/bitstream_study.py: motion vectors -> reference QP and prediction class per macroblock."""
import numpy as np

from training.auto_proof import encode_clip
from training.bitstream_study import decode_with_vectors, vector_maps


def test_vector_maps_on_a_panning_clip(tmp_path):
    rng = np.random.default_rng(0)
    base = rng.integers(0, 256, (80, 160, 3), dtype=np.uint8)
    base = np.repeat(np.repeat(base[::4, ::4], 4, 0), 4, 1)  # blocky texture the encoder can track
    frames = [np.ascontiguousarray(np.roll(base, 2 * i, axis=1)[:64, :96]) for i in range(10)]
    decoded = decode_with_vectors(encode_clip(frames, tmp_path / "pan.mkv", "h264", "crf", 28))
    kinds = [kind for _, _, kind, _ in decoded]
    assert kinds[0] == "I" and "B" in kinds
    ref_qp, classes = vector_maps(decoded, 0)
    assert np.isnan(ref_qp).all() and (classes == 0).all()  # an I frame: intra everywhere, no reference
    k = kinds.index("B")
    ref_qp, classes = vector_maps(decoded, k)
    assert ref_qp.shape == classes.shape == decoded[k][1].shape == (4, 6)
    inter = classes > 0
    assert inter.any() and np.isfinite(ref_qp[inter]).all() and np.isnan(ref_qp[~inter]).all()
    assert (ref_qp[inter] > 0).all() and (ref_qp[inter] < 52).all()

"""Codec QP -> JPEG-scale quality: calibration table, analytic fallback, MPEG-2 scale, per-block maps."""
import json

import numpy as np
import pytest

from engine.auto import qp as qp_module
from engine.auto.qp import (analytic_h264_quality, frame_quality, frame_type_factor, load_calibration,
                            load_frame_type_offsets, mpeg2_qscale_to_h264_qp, qp_to_quality, quality_map_from_qp)


@pytest.fixture
def table(tmp_path):
    path = tmp_path / "cal.json"
    path.write_text(json.dumps({"methods": {"psnr": {"qp": [20, 30, 40], "quality": [90.0, 50.0, 10.0]}}}))
    load_calibration.cache_clear()
    yield path
    load_calibration.cache_clear()


def test_calibration_table_interpolates(table):
    np.testing.assert_allclose(qp_to_quality([20, 25, 30, 40], calibration=table), [90, 70, 50, 10])
    # beyond the measured range the analytic slope continues the curve instead of a flat clamp
    assert qp_to_quality(17, calibration=table) > 90
    assert 1 <= qp_to_quality(51, calibration=table) < 10


def test_sweep_method_preferred_over_psnr(tmp_path):
    path = tmp_path / "cal.json"
    path.write_text(json.dumps({"methods": {"psnr": {"qp": [20, 40], "quality": [90, 10]},
                                            "sweep": {"qp": [20, 40], "quality": [80, 20]}}}))
    load_calibration.cache_clear()
    assert load_calibration(path)[2] == "sweep"
    assert qp_to_quality(30, calibration=path) == pytest.approx(50)
    load_calibration.cache_clear()


def test_missing_or_broken_file_uses_analytic_fallback(tmp_path):
    (tmp_path / "bad.json").write_text("{not json")
    load_calibration.cache_clear()
    for path in (tmp_path / "missing.json", tmp_path / "bad.json"):
        assert qp_to_quality(30, calibration=path) == pytest.approx(analytic_h264_quality(30))
    load_calibration.cache_clear()


def test_analytic_fallback_is_monotone_and_bounded():
    q = analytic_h264_quality(np.arange(0, 52))
    assert np.all(np.diff(q) <= 0) and q[0] > 90 and q[-1] < 10
    assert np.all((q >= 1) & (q <= 100))


def test_shipped_calibration_is_usable():
    load_calibration.cache_clear()
    if not qp_module.CALIBRATION_PATH.exists():
        pytest.skip("resources/calibration/qp_to_quality.json not generated")
    qps, qualities, method = load_calibration(qp_module.CALIBRATION_PATH)
    assert method in ("psnr", "sweep") and np.all(np.diff(qualities) <= 0)  # coarser QP, lower quality


def test_mpeg2_scale_conversion():
    # x264's relation: qscale code 0.85 * 2^((QP-12)/6); FFmpeg exports 2 x code for linear MPEG-2
    assert mpeg2_qscale_to_h264_qp(2 * 0.85) == pytest.approx(12.0)
    assert mpeg2_qscale_to_h264_qp(4 * 0.85) - mpeg2_qscale_to_h264_qp(2 * 0.85) == pytest.approx(6.0)
    assert qp_to_quality(8, codec="mpeg2") > qp_to_quality(40, codec="mpeg2")
    with pytest.raises(ValueError):
        qp_to_quality(20, codec="vp9")


def test_quality_map_nearest_blocks_cropped(table, monkeypatch):
    monkeypatch.setattr(qp_module, "CALIBRATION_PATH", table)
    qp_map = np.array([[20, 30], [40, 20]], dtype=np.int32)
    q = quality_map_from_qp(qp_map, 20, 30)  # 1080p-style: the last block row/column is partly outside
    assert q.shape == (20, 30) and q.dtype == np.float32
    assert q[0, 0] == 90 and q[15, 15] == 90 and q[0, 16] == 50 and q[16, 0] == 10 and q[19, 29] == 90
    with pytest.raises(ValueError):
        quality_map_from_qp(qp_map, 40, 30)


@pytest.fixture
def typed(tmp_path):
    path = tmp_path / "typed.json"
    tables = {"flat": {"B": {"qp": [30, 40], "offset": [0.6, 0.2]}},
              "varying": {"B": {"qp": [30, 40], "offset": [0.2, 0.0]}, "I": {"qp": [30], "offset": [-0.1]}}}
    path.write_text(json.dumps({"methods": {"psnr": {"qp": [20, 30, 40], "quality": [90.0, 50.0, 10.0]}},
                                "frame_types": {"h264": tables}}))
    load_calibration.cache_clear()
    load_frame_type_offsets.cache_clear()
    yield path
    load_calibration.cache_clear()
    load_frame_type_offsets.cache_clear()


def test_frame_type_factor_interpolates_the_table_for_the_rate_control(typed):
    flat, varying = np.full((2, 3), 35), np.array([[33, 35], [35, 37]])
    assert frame_type_factor("B", flat, calibration=typed) == pytest.approx(np.exp(0.4))  # constant-QP table
    assert frame_type_factor("B", varying, calibration=typed) == pytest.approx(np.exp(0.1))  # CRF table
    assert frame_type_factor("B", np.full((1, 1), 50), calibration=typed) == pytest.approx(np.exp(0.2))  # end held
    assert frame_type_factor("I", varying, calibration=typed) == pytest.approx(np.exp(-0.1))
    # no table for the type or rate control, unknown types, other codecs, files without a fit: the QP curve alone
    assert frame_type_factor("I", flat, calibration=typed) == 1.0
    assert frame_type_factor("P", varying, calibration=typed) == 1.0
    assert frame_type_factor("?", varying, calibration=typed) == 1.0
    assert frame_type_factor("B", varying, "mpeg2", calibration=typed) == 1.0
    (typed.parent / "plain.json").write_text(json.dumps({"methods": {}}))
    assert frame_type_factor("B", flat, calibration=typed.parent / "plain.json") == 1.0


def test_frame_quality_is_the_mean_qp_scaled_for_its_type(typed, monkeypatch):
    monkeypatch.setattr(qp_module, "CALIBRATION_PATH", typed)
    qp_map = np.array([[28, 32], [32, 36]])  # mean 32, varying
    assert frame_quality(qp_map, "h264", "P") == pytest.approx(50 - 4 * 2)  # QP 32 on the 90/50/10 table
    assert frame_quality(qp_map, "h264", "B") == pytest.approx(42 * np.exp(0.16))
    assert frame_quality(qp_map, "h264", "B", frame_types=False) == pytest.approx(42)


def test_shipped_fit_restores_b_frames_weaker_than_i_frames():
    load_frame_type_offsets.cache_clear()
    fit = load_frame_type_offsets(qp_module.CALIBRATION_PATH)
    if fit is None:
        pytest.skip("no frame-type fit in resources/calibration/qp_to_quality.json")
    for qp in (28, 32, 36):  # where the fit has its largest gains, for both rate controls
        assert frame_type_factor("B", np.full((2, 2), qp)) > frame_type_factor("I", np.full((2, 2), qp))
        assert frame_type_factor("B", np.array([[qp - 1, qp + 1]])) > frame_type_factor("I", np.array([[qp - 1, qp + 1]]))

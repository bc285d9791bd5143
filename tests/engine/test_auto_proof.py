"""The Auto-strength proof script on tiny synthetic photos with a tiny random-init model: structure and finiteness."""
import json
import math

import numpy as np
import pytest
from PIL import Image

from engine.models.registry import _spec_from_file, save_model
from engine.models.restora_net import RestoraNet
from engine.restore.model_restorer import ModelRestorer
from training.auto_proof import (best_fixed, jpeg_rows, main, parse_setting, refine_steps, to_markdown,
                                 video_rows)
from training.calibrate_qp import build_clips


@pytest.fixture(scope="module")
def tiny_path(tmp_path_factory):
    import torch

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("models") / "tiny.safetensors"
    save_model(RestoraNet(c1=8, c2=16, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8), path, "tiny")
    return path


@pytest.fixture(scope="module")
def tiny(tiny_path):
    return ModelRestorer(_spec_from_file(tiny_path), device="cpu")


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:96, 0:128]
    for i in range(2):
        smooth = np.dstack([x * 2 + i * 30, y * 2, (x + y) + i * 50]) % 256
        Image.fromarray(np.clip(smooth + rng.normal(0, 12, smooth.shape), 0, 255).astype(np.uint8)).save(
            folder / f"p{i}.png")
    return folder


def _finite(*values):
    return all(isinstance(v, float) and math.isfinite(v) for v in values)


def test_settings_and_refinement():
    assert parse_setting("qp32") == ("qp", 32) and parse_setting("CRF30") == ("crf", 30)
    for bad in ("qp", "x264", "32"):
        with pytest.raises(Exception):
            parse_setting(bad)
    assert refine_steps([5, 15, 25]) == [5, 2] and refine_steps([10, 30, 50]) == [10, 5, 2]


def test_best_fixed_refines_around_the_grid_best(tiny):
    rng = np.random.default_rng(3)
    clean = rng.integers(0, 256, (32, 48, 3), dtype=np.uint8)
    noisy = np.clip(clean + rng.normal(0, 8, clean.shape), 0, 255).astype(np.uint8)
    quality, score, curve = best_fixed(tiny, [(clean, noisy)], [10, 50, 90])
    assert set(curve) > {10, 50, 90} and len(curve) <= 3 + 2 * len(refine_steps([10, 50, 90]))
    assert all(1 <= q <= 100 for q in curve)
    assert score == max(curve.values()) and curve[quality] == score and _finite(score)


def test_jpeg_rows_read_the_tables(tiny, photos, tmp_path):
    rows = jpeg_rows(tiny, sorted(photos.glob("*.png")), [20, 40], 64, tmp_path)
    assert [r["qf"] for r in rows] == [20, 40]
    for r in rows:
        assert r["auto_source"] == {"jpeg-tables": 2} and r["q_auto"] == r["qf"]  # Pillow's tables: exact QF
        assert r["auto"] == r["told"] and r["auto_minus_told"] == 0.0 and r["goal_met"]
        assert _finite(r["input"], r["told"], r["blind"], r["q_blind"]) and 1 <= r["q_blind"] <= 100
    assert rows[0]["input"] < rows[1]["input"]  # QF 20 is coarser than QF 40


def test_video_rows_h264_and_hevc(tiny, photos, tmp_path):
    clips = build_clips(photos, 2, 4, 64, 64, seed=0)
    h264 = video_rows(tiny, clips, "h264", [("qp", 36), ("crf", 34)], [20, 60], tmp_path)
    assert [r["setting"] for r in h264] == ["QP 36", "CRF 34"]
    qp_row = h264[0]
    assert qp_row["frames"] == 8 and sum(qp_row["pict_types"].values()) == 8
    assert qp_row["qp_by_type"].get("P") == 36.0  # fixed QP: P frames carry the nominal QP
    for r in h264:
        assert r["auto_sources"] == {"qp": 8}
        assert _finite(r["input"], r["best_fixed"], r["per_frame"], r["per_block"], r["block_minus_best"],
                       r["block_minus_frame"], r["per_block_quality"])
        assert r["best_fixed"] == pytest.approx(max(r["sweep"].values()), abs=1e-3) and isinstance(r["goal_met"], bool)
        assert r["clips"] == 2 and 0 <= r["block_wins"] <= 2 and _finite(r["block_minus_frame_se"])
    hevc = video_rows(tiny, clips, "hevc", [("qp", 36)], [20, 60], tmp_path)
    assert hevc[0]["auto_sources"] == {"estimate": 8} and not hevc[0]["qp_by_type"]  # no QP side data for HEVC
    assert _finite(hevc[0]["auto"], hevc[0]["auto_quality"])
    assert hevc[0]["gain_ratio"] is None or _finite(hevc[0]["gain_ratio"])


def test_main_writes_json_and_markdown(tiny_path, photos, tmp_path):
    out_json, out_md = tmp_path / "proof.json", tmp_path / "proof.md"
    argv = ["--model", str(tiny_path), "--live1", str(photos), "--data", str(photos), "--limit", "1",
            "--crop", "48", "--qfs", "30", "--clips", "1", "--frames", "3", "--size", "64x48", "--h264", "crf34",
            "--hevc", "crf30", "--grid", "30,70", "--json", str(out_json), "--markdown", str(out_md)]
    assert main(argv) == 0
    result = json.loads(out_json.read_text())
    assert [len(result[k]) for k in ("jpeg", "h264", "hevc")] == [1, 1, 1]
    assert result["settings"]["model"] == "tiny" and isinstance(result["all_goals_met"], bool)
    markdown = out_md.read_text()
    assert markdown == to_markdown(result)
    assert "### JPEG" in markdown and "### H.264" in markdown and "### HEVC" in markdown and "| CRF 34 |" in markdown


def test_crf_goal_is_judged_on_the_larger_sample(tiny_path, photos, tmp_path):
    out_json = tmp_path / "proof.json"
    argv = ["--model", str(tiny_path), "--data", str(photos), "--limit", "0", "--clips", "1", "--crf-clips", "2",
            "--frames", "3", "--size", "64x48", "--h264", "qp36,crf34", "--hevc", "", "--grid", "30,70",
            "--json", str(out_json)]
    assert main(argv) == 0
    result = json.loads(out_json.read_text())
    check = result["h264_crf_check"]
    assert [r["setting"] for r in check] == ["CRF 34"] and check[0]["clips"] == 2
    assert check[0]["goal_met"] == (check[0]["block_minus_frame"] > 0 and check[0]["block_minus_best"] >= -0.2)
    crf_row = result["h264"][1]  # the small sample's CRF row keeps only the best-fixed goal
    assert crf_row["clips"] == 1 and crf_row["goal_met"] == (crf_row["block_minus_best"] >= -0.2)
    assert result["all_goals_met"] == all(r["goal_met"] for r in result["h264"] + check)
    markdown = to_markdown(result)
    assert "### H.264 CRF on 2 clips (the CRF goal)" in markdown and "> 0 on CRF (2 clips)" in markdown


def test_qp_maps_match_a_single_threaded_decode(photos, tmp_path):
    """Frame-threaded H.264 decoding exported half-filled QP tables (QP 0 on B frames): the reader must not."""
    import av

    from engine.media import open_video
    from training.auto_proof import encode_clip

    path = encode_clip(build_clips(photos, 1, 8, 160, 128, seed=0)[0], tmp_path / "c.mkv", "h264", "crf", 30)
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        stream.thread_type = "NONE"
        stream.codec_context.options = {"export_side_data": "venc_params"}
        reference = [f.side_data["VIDEO_ENC_PARAMS"].qp_map() for f in src.decode(stream)]
    for _ in range(8):
        with open_video(path, with_qp=True) as reader:
            maps = [f.qp_map for f in reader.frames()]
        assert len(maps) == len(reference) and all(np.array_equal(a, b) for a, b in zip(maps, reference))


def test_crf_encodes_are_repeatable(tmp_path):
    """x264's SIMD mb-tree made CRF encodes differ run to run (seen at 320x240); the proof's encodes must not."""
    from training.auto_proof import decode_clip, encode_clip

    rng = np.random.default_rng(3)
    y, x = np.mgrid[0:360, 0:480]
    texture = np.dstack([np.sin(x / 7.0) * 60 + y / 3, np.cos(y / 5.0) * 50 + x / 4, (x * y) % 97])
    Image.fromarray(np.clip(texture + rng.normal(0, 20, texture.shape), 0, 255).astype(np.uint8)).save(
        tmp_path / "photo.png")
    clip = build_clips(tmp_path, 1, 12, 320, 240, seed=1)[0]
    runs = [np.stack([f.pixels for f in decode_clip(encode_clip(clip, tmp_path / f"r{i}.mkv", "h264", "crf", 36, 2),
                                                     12)]) for i in range(4)]
    assert all(np.array_equal(runs[0], r) for r in runs[1:])

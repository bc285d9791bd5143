"""`python main.py probe FILE [--json]`: kind, format, size, and the Auto strength evidence."""
import json

import numpy as np
import pytest
from PIL import Image

from engine.cli import main
from engine.models import registry

from .test_media_video import make_clip


@pytest.fixture
def no_models(tmp_path, monkeypatch):
    """No trained weights: the default restorer is the deblock baseline, which has no blind head."""
    empty = tmp_path / "models"
    empty.mkdir()
    monkeypatch.setattr(registry, "MODELS_DIR", empty)


def _probe_json(capsys, *args):
    assert main(["probe", *map(str, args), "--json"]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1  # one JSON object
    return json.loads(out[0])


def test_jpeg_image(tmp_path, capsys):
    Image.fromarray(np.full((30, 40, 3), 128, np.uint8)).save(tmp_path / "photo one.jpg", quality=42)
    report = _probe_json(capsys, tmp_path / "photo one.jpg")
    assert report["kind"] == "image" and report["format"] == "JPEG"
    assert (report["width"], report["height"], report["jpeg_quality"]) == (40, 30, 42)
    assert report["strength_source"] == "jpeg-tables" and report["auto_quality"] == 42
    assert report["frames"] == 1


def test_an_animated_image_reports_its_frames(tmp_path, capsys, no_models):
    frames = [Image.fromarray(np.full((16, 20, 3), 60 * i, np.uint8)) for i in range(4)]
    frames[0].save(tmp_path / "anim.gif", save_all=True, append_images=frames[1:])
    assert _probe_json(capsys, tmp_path / "anim.gif")["frames"] == 4
    assert main(["probe", str(tmp_path / "anim.gif")]) == 0
    assert "animated: 4 frames (the first is restored)" in capsys.readouterr().out


def test_png_without_head_reports_null_estimate(tmp_path, capsys, no_models):
    Image.fromarray(np.zeros((8, 8), np.uint8)).save(tmp_path / "g.png")
    report = _probe_json(capsys, tmp_path / "g.png")
    assert report["jpeg_quality"] is None and report["blind_estimate"] is None
    assert report["restorer"] == "deblock" and report["strength_source"] == "default"


def test_h264_video_reports_qp(tmp_path, capsys):
    path = make_clip(tmp_path / "clip.mp4", n=10, options={"qp": "28"})
    report = _probe_json(capsys, path, "--frames", "6")
    assert report["kind"] == "video" and report["codec"] == "h264"
    assert (report["width"], report["height"], report["frame_count"], report["fps"]) == (64, 48, 10, 25.0)
    assert report["qp_available"] and report["qp_frames_sampled"] == 6 and report["qp_codec"] == "h264"
    assert 20 <= report["qp_mean"] <= 36  # x264 spreads I/P/B around the nominal QP
    assert report["jpeg_quality"] is None and report["strength_source"] == "qp"


def test_video_without_qp_uses_blind_estimate_or_null(tmp_path, capsys, no_models):
    path = make_clip(tmp_path / "clip.webm", "libvpx-vp9", n=4, options={"deadline": "realtime", "cpu-used": "8"})
    report = _probe_json(capsys, path)
    assert report["qp_available"] is False and report["qp_mean"] is None
    assert report["blind_estimate"] is None and report["restorer"] == "deblock"


def test_human_readable_text(tmp_path, capsys):
    path = make_clip(tmp_path / "clip.mp4", n=3)
    assert main(["probe", str(path)]) == 0
    text = capsys.readouterr().out
    for words in ("kind", "video", "h264", "64x48", "3 at 25.0 fps", "qp", "auto strength"):
        assert words in text


def test_unreadable_file_exits_2_with_one_line(tmp_path, capsys):
    (tmp_path / "x.mp4").write_bytes(b"")
    (tmp_path / "y.png").write_text("plain text")
    for name in ("x.mp4", "y.png", "missing.jpg"):
        assert main(["probe", str(tmp_path / name)]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and err.startswith("restora probe:")


def test_blind_estimate_with_a_model(tmp_path, capsys, monkeypatch):
    import torch

    from engine.models.restora_net import RestoraNet

    models = tmp_path / "models"
    models.mkdir()
    torch.manual_seed(0)
    registry.save_model(RestoraNet(c1=8, c2=16, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8),
                        models / "tiny.safetensors", "tiny")
    monkeypatch.setattr(registry, "MODELS_DIR", models)
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (32, 32, 3), dtype=np.uint8)).save(tmp_path / "n.png")
    report = _probe_json(capsys, tmp_path / "n.png")
    assert report["restorer"] == "tiny" and report["strength_source"] == "estimate"
    assert 1 <= report["blind_estimate"] <= 100 and report["auto_quality"] == report["blind_estimate"]

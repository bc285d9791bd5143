"""The evaluate harness end to end on tiny synthetic folders: runner, report, CLI; Restora via a tiny random net."""
import json

import numpy as np
import pytest
import torch
from PIL import Image

from engine.errors import MediaError, RestoraError
from engine.evaluation import metrics
from engine.evaluation.datasets import DatasetSpec, jpeg_roundtrip, load_folder, to_720p
from engine.evaluation.report import format_markdown, format_screen
from engine.evaluation.runner import build_method, run_evaluation


def _picture(h, w, seed):
    yy, xx = np.mgrid[0:h, 0:w]
    rng = np.random.default_rng(seed)
    base = 80 + 0.6 * xx + 0.4 * yy + 25 * np.sin(xx / 5.0 + seed) + rng.normal(0, 5, (h, w))
    rgb = np.stack([base, base * 0.8 + 30, 200 - base * 0.5], axis=2)
    return np.clip(rgb, 0, 255).astype(np.uint8)


@pytest.fixture
def folder(tmp_path):
    d = tmp_path / "set"
    d.mkdir()
    Image.fromarray(_picture(48, 64, 1)).save(d / "a.png")
    Image.fromarray(_picture(40, 56, 2)[:, :, 1], "L").save(d / "b_grey.png")
    (d / "notes.txt").write_text("not an image")
    return d


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    from engine.models.registry import save_model
    from engine.models.restora_net import RestoraNet

    torch.manual_seed(0)
    net = RestoraNet(c1=8, c2=16, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8)
    # the real init is an identity map; a small random exit makes the output differ from the input
    torch.nn.init.normal_(net.exit.weight, std=0.02)
    path = tmp_path_factory.mktemp("models") / "tiny.safetensors"
    save_model(net, path, "tiny")
    return path


def test_load_folder_colour_and_grey(folder):
    colour = load_folder(folder, grey=False)
    assert [i.name for i in colour] == ["a", "b_grey"]
    assert all(i.pixels.shape[2] == 3 and i.pixels.dtype == np.uint8 for i in colour)
    grey = load_folder(folder, grey=True)
    assert grey[0].pixels.ndim == 2
    assert np.array_equal(grey[0].pixels, metrics.rgb_to_luma(colour[0].pixels))
    assert np.array_equal(grey[1].pixels, colour[1].pixels[:, :, 0])  # grey files are taken as they are
    assert len(load_folder(folder, grey=False, limit=1)) == 1


def test_bad_folders_give_media_errors(tmp_path):
    with pytest.raises(MediaError):
        load_folder(tmp_path / "missing", grey=False)
    with pytest.raises(MediaError):
        load_folder(tmp_path, grey=False)  # empty
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(MediaError):
        load_folder(tmp_path, grey=False)


def test_jpeg_roundtrip_is_deterministic_and_worse_at_low_quality():
    img = _picture(48, 64, 3)
    low, high = jpeg_roundtrip(img, 10), jpeg_roundtrip(img, 90)
    assert low.shape == img.shape and low.dtype == np.uint8
    assert np.array_equal(low, jpeg_roundtrip(img, 10))
    assert metrics.psnr(img, low) < metrics.psnr(img, high)
    assert jpeg_roundtrip(img[:, :, 0], 30).ndim == 2


def test_to_720p_tiles_small_images():
    frame = to_720p(_picture(48, 64, 4))
    assert frame.shape == (720, 1280, 3) and frame.flags.c_contiguous


def test_run_evaluation_with_tiny_restora(folder, tiny_model):
    spec = DatasetSpec("set", folder, grey=False)
    keys = ["jpeg", "deblock", str(tiny_model), f"{tiny_model}-blind"]
    report = run_evaluation([spec], [10, 50], keys, timing=True, timing_repeats=1)
    results = report["results"]["set"]
    assert set(results) == set(keys)
    # the 'jpeg' row is exactly the metrics of the harness's own JPEGs
    images = load_folder(folder, grey=False)
    expected = np.mean([metrics.psnr(i.pixels, jpeg_roundtrip(i.pixels, 10)) for i in images])
    assert results["jpeg"]["10"]["psnr"] == pytest.approx(expected)
    assert results["jpeg"]["10"]["images"] == 2
    assert results[str(tiny_model)]["10"]["psnr"] != pytest.approx(expected)
    estimate = results[f"{tiny_model}-blind"]["50"]["quality_estimate"]
    assert 1.0 <= estimate <= 100.0
    assert "quality_estimate" not in results[str(tiny_model)]["50"]
    assert report["time_720p_s"]["jpeg"] is None and report["time_720p_s"]["deblock"] > 0
    assert report["methods"][2]["title"] == "tiny (told the quality)"
    text = format_screen(report)
    assert "set (2 images, colour)" in text and "[Y]" in text and "QF50" in text
    md = format_markdown(report)
    assert "| tiny (blind) |" in md and "s / 720p frame" in md


def test_method_limits_and_grey_mode(folder):
    spec = DatasetSpec("set", folder, grey=True, method_limits={"deblock": 1})
    report = run_evaluation([spec], [20], ["jpeg", "deblock"], per_image=True)
    rows = report["results"]["set"]
    assert rows["jpeg"]["20"]["images"] == 2 and rows["deblock"]["20"]["images"] == 1
    assert [r["image"] for r in rows["jpeg"]["20"]["per_image"]] == ["a", "b_grey"]
    assert rows["jpeg"]["20"]["psnr"] == rows["jpeg"]["20"]["psnr_y"]
    assert "(first 1)" in format_markdown(report)


def test_unknown_method_and_missing_model_are_one_line_errors(tmp_path):
    with pytest.raises(RestoraError, match="unknown method"):
        build_method("nonsense")
    with pytest.raises(RestoraError, match="not found"):
        build_method(str(tmp_path / "absent.safetensors"))
    with pytest.raises(RestoraError, match="no Restora model"):
        build_method("restora", models_dir=tmp_path)
    with pytest.raises(MediaError, match="weights not found"):
        build_method("dncnn3", weights_dir=tmp_path)


def test_cli_writes_json_and_markdown(folder, tmp_path, capsys):
    from engine.cli import main

    out_json, out_md = tmp_path / "r.json", tmp_path / "r.md"
    rc = main(["evaluate", str(folder), "-q", "10", "-m", "jpeg", "deblock", "--json", str(out_json),
               "--markdown", str(out_md), "--quiet"])
    assert rc == 0
    data = json.loads(out_json.read_text())
    assert data["results"]["set"]["deblock"]["10"]["images"] == 2
    assert out_md.read_text().startswith("**set (2 images, colour)**")
    assert "QF10" in capsys.readouterr().out


def test_cli_failures_are_one_line_and_leave_no_file(folder, tmp_path, capsys):
    from engine.cli import main

    rc = main(["evaluate", str(tmp_path / "nowhere"), "-m", "jpeg", "--quiet"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and err.startswith("restora evaluate:") and "\n" not in err
    target = tmp_path / "no_such_dir" / "r.json"
    assert main(["evaluate", str(folder), "-m", "jpeg", "--json", str(target), "--quiet"]) == 2
    assert not target.exists()
    assert main(["evaluate", str(folder), "-m", "jpeg", "-q", "0", "--quiet"]) == 2
    assert main(["evaluate", str(folder), "-m", "wat", "--quiet"]) == 2


def test_readme_preset_on_a_fake_data_root(tmp_path, capsys):
    from engine.cli import main

    for sub, seed in (("LIVE1", 1), ("BSDS500_test", 2), ("classic5", 3)):
        d = tmp_path / "test" / sub
        d.mkdir(parents=True)
        for k in range(2):
            Image.fromarray(_picture(32, 40, seed * 10 + k)).save(d / f"img{k}.png")
    out_json, out_md = tmp_path / "readme.json", tmp_path / "readme.md"
    rc = main(["evaluate", "--preset", "readme", "--data-root", str(tmp_path), "-q", "10", "-m", "jpeg", "deblock",
               "--peer-limit", "1", "--time-repeats", "1", "--json", str(out_json), "--markdown", str(out_md),
               "--quiet"])
    assert rc == 0
    data = json.loads(out_json.read_text())
    assert [(d["name"], d["grey"]) for d in data["datasets"]] == [
        ("LIVE1", False), ("BSDS500_test", False), ("Classic5", True)]
    assert data["datasets"][1]["method_limits"] == {"dncnn3": 1, "mit": 1}
    assert data["time_720p_s"]["deblock"] > 0  # the preset always times
    md = out_md.read_text()
    capsys.readouterr()
    assert md.count("| JPEG input |") == 3 and "**Classic5 (2 images, grey)**" in md
    assert main(["evaluate", "--preset", "readme", "--data-root", str(tmp_path), "--sets", "Classic5", "-q", "10",
                 "-m", "jpeg", "--quiet"]) == 0
    assert "LIVE1" not in capsys.readouterr().out
    assert main(["evaluate", "--preset", "readme", "--data-root", str(tmp_path), "--sets", "Kodak", "--quiet"]) == 2


def test_default_methods_include_the_registered_model(folder, tiny_model, tmp_path, monkeypatch):
    import shutil

    from engine.cli import main
    from engine.models import registry

    models = tmp_path / "models"
    models.mkdir()
    shutil.copy(tiny_model, models / "tiny.safetensors")
    monkeypatch.setattr(registry, "MODELS_DIR", models)
    out = tmp_path / "r.json"
    assert main(["evaluate", str(folder), "-q", "30", "--json", str(out), "--quiet"]) == 0
    data = json.loads(out.read_text())
    assert [m["key"] for m in data["methods"]] == ["jpeg", "deblock", "restora", "restora-blind"]
    assert "quality_estimate" in data["results"]["set"]["restora-blind"]["30"]

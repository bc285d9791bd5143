"""The QP calibration script on tiny synthetic photos: both methods run, merge into one JSON, and plot."""
import json

import numpy as np
import pytest
from PIL import Image

from engine.auto.qp import load_calibration
from training.calibrate_qp import camera_clip, main


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:90, 0:120]
    for i in range(2):
        smooth = np.dstack([x * 2 + i * 30, y * 2, (x + y) + i * 50]) % 256
        Image.fromarray(np.clip(smooth + rng.normal(0, 12, smooth.shape), 0, 255).astype(np.uint8)).save(
            folder / f"p{i}.png")
    return folder


def test_camera_clip_moves():
    photo = np.random.default_rng(1).integers(0, 256, (90, 120, 3), dtype=np.uint8)
    frames = camera_clip(photo, 4, 64, 48, np.random.default_rng(0))
    assert len(frames) == 4 and frames[0].shape == (48, 64, 3)
    assert np.abs(frames[0].astype(int) - frames[-1]).mean() > 1  # pan + zoom: consecutive frames differ


def test_psnr_then_sweep_write_json_and_plot(tmp_path, photos):
    import torch

    from engine.models.registry import save_model
    from engine.models.restora_net import RestoraNet

    out, plot = tmp_path / "cal.json", tmp_path / "cal.png"
    common = ["--data", str(photos), "--clips", "2", "--frames", "3", "--size", "64x48", "--qps", "22,40",
              "--out", str(out), "--plot", str(plot)]
    assert main(["psnr", *common]) == 0
    psnr = json.loads(out.read_text())["methods"]["psnr"]
    assert psnr["qp"] == [22, 40] and psnr["quality"][0] > psnr["quality"][1]  # coarser QP -> lower quality
    assert all(row["decoded_qp"] == row["qp"] for row in psnr["rows"])  # fixed QP reached every frame

    torch.manual_seed(0)
    model = tmp_path / "tiny.safetensors"
    save_model(RestoraNet(c1=8, c2=16, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8), model, "tiny")
    assert main(["sweep", "--model", str(model), "--qualities", "10,50,90", "--device", "cpu", *common]) == 0
    methods = json.loads(out.read_text())["methods"]
    assert set(methods) == {"psnr", "sweep"}  # the second run merged, not overwrote
    assert set(methods["sweep"]["quality"]) <= {10.0, 50.0, 90.0}
    assert len(methods["sweep"]["rows"][0]["restored_psnr"]) == 3
    load_calibration.cache_clear()
    assert load_calibration(out)[2] == "sweep"
    load_calibration.cache_clear()
    with Image.open(plot) as im:
        assert im.size == (900, 560)
        assert len(np.unique(np.asarray(im.convert("RGB")).reshape(-1, 3), axis=0)) > 3  # axes, curves and labels drawn


def test_sweep_needs_model(photos):
    with pytest.raises(SystemExit):
        main(["sweep", "--data", str(photos)])

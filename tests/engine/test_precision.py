"""Model arithmetic: fp16 on CUDA, bf16 on CPUs with bf16 units, float32 elsewhere or when asked."""
import io

import numpy as np
import pytest
import torch
from PIL import Image

from engine import device as dev
from engine.models.registry import list_models
from engine.restore.model_restorer import ModelRestorer

CPU, CUDA, MPS = torch.device("cpu"), torch.device("cuda"), torch.device("mps")


@pytest.fixture(autouse=True)
def _no_env(monkeypatch):
    monkeypatch.delenv("RESTORA_PRECISION", raising=False)


def test_auto_picks_bf16_only_on_cpus_with_bf16_units(monkeypatch):
    monkeypatch.setattr(dev, "cpu_has_bf16_units", lambda: True)
    assert dev.choose_precision(CPU, True) == "bf16"
    assert dev.choose_precision(CPU, False) == "fp32"  # the model says it is not safe in reduced precision
    monkeypatch.setattr(dev, "cpu_has_bf16_units", lambda: False)
    assert dev.choose_precision(CPU, True) == "fp32"
    assert dev.choose_precision(CPU, True, "bf16") == "bf16"  # asked for explicitly: honoured
    assert dev.choose_precision(CUDA, True) == "fp16"
    assert dev.choose_precision(CUDA, True, "bf16") == "bf16"
    assert dev.choose_precision(MPS, True) == "fp32"


def test_environment_and_cli_setting_force_full_precision(monkeypatch):
    monkeypatch.setattr(dev, "cpu_has_bf16_units", lambda: True)
    dev.set_precision_for_process("fp32")
    try:
        assert dev.choose_precision(CPU, True) == "fp32"
        assert dev.choose_precision(CUDA, True) == "fp32"
    finally:
        dev.set_precision_for_process("auto")
    assert dev.choose_precision(CPU, True) == "bf16"
    with pytest.raises(ValueError):
        dev.choose_precision(CPU, True, "int4")


def _jpeg_photo(size=(192, 136), quality=15) -> np.ndarray:
    h, w = size[1], size[0]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    rgb = np.stack([128 + 100 * np.sin(xx / 7.0) * np.cos(yy / 11.0), 255 * xx / w,
                    np.where((xx // 20 + yy // 20) % 2 == 0, 200, 40)], -1)
    buf = io.BytesIO()
    Image.fromarray(np.clip(rgb, 0, 255).astype(np.uint8)).save(buf, "JPEG", quality=quality)
    return np.asarray(Image.open(buf).convert("RGB"))


def test_shipped_model_in_bf16_matches_float32():
    spec = next(s for s in list_models() if s.name == "restora-small")
    image = _jpeg_photo()
    full = ModelRestorer(spec, device="cpu", precision="fp32")
    bf16 = ModelRestorer(spec, device="cpu", precision="bf16")
    assert (full.precision, bf16.precision) == ("fp32", "bf16")
    a = full.restore(image, 15.0).astype(np.float64)
    b = bf16.restore(image, 15.0).astype(np.float64)
    assert b.shape == image.shape
    # bf16 rounds only the correction the net adds: the outputs agree to within a level or two of 8 bits (measured: mean 0.12, max 1).
    assert np.abs(a - b).mean() < 0.3 and np.abs(a - b).max() <= 2
    assert np.abs(a - image).mean() > 4 * np.abs(a - b).mean()  # and the restoration itself is much larger


def test_restore_cli_precision_flag_reaches_the_restorer(tmp_path, capsys, monkeypatch):
    from engine.cli import main as cli_main

    Image.fromarray(_jpeg_photo((64, 48))).save(tmp_path / "in.jpg", quality=20)
    seen = []
    real_place = ModelRestorer._place

    def spy(self):
        real_place(self)
        seen.append(self.precision)

    monkeypatch.setattr(ModelRestorer, "_place", spy)
    try:
        code = cli_main(["restore", str(tmp_path / "in.jpg"), "-o", str(tmp_path / "out.png"), "--precision", "fp32"])
    finally:
        dev.set_precision_for_process("auto")
    assert code == 0, capsys.readouterr().err
    assert seen == ["fp32"] and (tmp_path / "out.png").is_file()


def test_speed_figures_name_their_host(monkeypatch, capsys):
    """Hosts of one machine type differ 2-5x (AMX or AVX2 only): a benchmark says which one it ran on."""
    import json
    import os

    from engine.cli import main as cli_main

    monkeypatch.setattr(dev, "cpu_has_bf16_units", lambda: False)
    host = dev.describe_host("cpu")
    assert f"{os.cpu_count()} cores" in host and host.endswith("no bf16 units")
    assert torch.backends.cpu.get_cpu_capability() in host
    assert cli_main(["benchmark", "model", "--device", "cpu", "--size", "64x48", "--runs", "1", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["host"] == host and result["precision"] == "fp32"
    assert result["sizes"]["64x48"]["ms_per_frame_median"] > 0

"""The content-rule fit of training/strength_map_fit.py on synthetic data: features, and a rule it must find."""
import numpy as np

from training.strength_map_fit import DCT8, FEATURES, Dataset, block_features, fit_rule, gains


def test_dct_matrix_is_orthonormal():
    assert np.allclose(DCT8 @ DCT8.T, np.eye(8))


def test_block_features_see_activity_blocking_and_qp_deviation():
    rng = np.random.default_rng(0)
    frame = np.full((32, 48, 3), 128, np.uint8)
    frame[:16, :16] = rng.integers(0, 255, (16, 16, 3), dtype=np.uint8)  # busy block
    frame[16:, 16:32] = np.kron(np.array([[100, 160], [160, 100]], np.uint8), np.ones((8, 8), np.uint8))[..., None]
    qp = np.array([[30.0, 32, 34], [36, 38, 40]])
    f = block_features(frame, qp)
    assert f.shape == (2, 3, len(FEATURES))
    col = {name: f[..., i] for i, name in enumerate(FEATURES)}
    assert np.allclose(col["qp_dev"], qp - 35)
    assert col["log_std"][0, 0] > col["log_std"][0, 1] == 0  # flat block: no activity
    assert col["blockiness"][1, 1] > 1 and abs(col["blockiness"][0, 2]) < 1e-9  # steps only on the 8-px grid
    assert col["zero_share"][0, 2] > 0.98 and col["zero_share"][0, 0] < 0.2


def test_fit_finds_a_rule_the_errors_reward_and_scores_it():
    grid = np.arange(5, 100, 5, dtype=np.float64)
    rng = np.random.default_rng(1)
    records = []
    for _ in range(6):
        bright = rng.random((3, 4)) > 0.5
        # bright blocks restore best at quality 20, dark ones at 80: brightness predicts the better strength
        best = np.where(bright, 20.0, 80.0)
        errors = (grid[:, None, None] - best[None]) ** 2 + 100.0
        features = np.zeros((3, 4, len(FEATURES)))
        features[..., FEATURES.index("brightness")] = np.where(bright, 0.3, -0.3)
        features[..., FEATURES.index("log_std")] = rng.normal(size=(3, 4))  # noise the fit should not need
        records.append({"errors": errors, "features": features, "qp": np.full((3, 4), 30.0),
                        "pixels": 12 * 256 * 3, "setting": "CRF30"})
    data = Dataset(records)
    w, scale = fit_rule(data, grid, steps=200)
    assert w[FEATURES.index("brightness")] < 0  # brighter -> lower quality -> stronger restoration
    assert gains(data, grid, w, scale)["CRF30"] > 0.1


def test_command_fits_and_reports_on_tiny_clips(tmp_path):
    """The whole command on two synthetic photos with a tiny random-init model: it runs and writes its table."""
    import torch
    from PIL import Image

    from engine.models.registry import save_model
    from engine.models.restora_net import RestoraNet
    from training.strength_map_fit import main

    torch.manual_seed(0)
    model = tmp_path / "tiny.safetensors"
    save_model(RestoraNet(c1=8, c2=16, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8), model, "tiny")
    photos = tmp_path / "photos"
    photos.mkdir()
    y, x = np.mgrid[0:96, 0:128]
    rng = np.random.default_rng(0)
    for i in range(2):
        smooth = np.dstack([x * 2 + i * 30, y * 2, (x + y) + i * 50]) % 256
        Image.fromarray(np.clip(smooth + rng.normal(0, 12, smooth.shape), 0, 255).astype(np.uint8)).save(
            photos / f"p{i}.png")
    out = tmp_path / "fit.md"
    assert main(["--model", str(model), "--fit-data", str(photos), "--test-data", str(photos), "--fit-clips", "2",
                 "--test-clips", "1", "--frames", "3", "--size", "64x48", "--settings", "crf30",
                 "--markdown", str(out)]) == 0
    text = out.read_text()
    assert "| test photos (held out) | " in text and "CRF30" in text and "qp_dev" in text

"""Fitting the blind head: codec frames are fitted to the trunk's restoration, not to a noisy label."""
import numpy as np
import torch

from engine.models.quality_head import DctQualityHead
from training.fit_quality_head import STRENGTH_GRID, db_lost, fit


def _curve(best: float) -> torch.Tensor:
    """A log-MSE curve over the grid with its minimum at quality `best` (0.5 dB per octave away from it)."""
    g = torch.log(torch.tensor(STRENGTH_GRID, dtype=torch.float32))
    return 0.5 / (10 / np.log(10)) * (g - np.log(best)).abs() / np.log(2)


def test_db_lost_is_zero_at_the_best_strength_and_grows_away_from_it():
    curves = _curve(45).expand(3, -1)
    lost = db_lost(torch.log(torch.tensor([[45.0], [22.5], [95.0]])), curves)[:, 0]
    assert abs(float(lost[0])) < 1e-5
    assert 0.4 < float(lost[1]) < 0.6 and float(lost[2]) > 0.4


def test_db_lost_has_a_gradient_toward_the_best():
    log_q = torch.log(torch.tensor([[20.0]])).requires_grad_()
    db_lost(log_q, _curve(55)[None]).sum().backward()
    assert float(log_q.grad) < 0  # raising the quality (towards 55) lowers the loss
    beyond = torch.log(torch.tensor([[300.0]])).requires_grad_()
    db_lost(beyond, _curve(100)[None]).sum().backward()
    assert float(beyond.grad) > 0  # off the grid it is pulled back, not left without a gradient


def test_fit_follows_curves_for_codec_frames_and_labels_for_jpeg():
    head = DctQualityHead(8)
    gen = torch.Generator().manual_seed(0)
    n = 200
    f = torch.randn(n, head.feature_mean.numel(), generator=gen)
    f[: n // 2, 0] += 4  # two kinds of input, told apart by one feature
    q = torch.full((n,), float("nan"))
    q[: n // 2] = 30.0  # "JPEG" rows labelled 30
    curves = torch.full((n, len(STRENGTH_GRID)), float("nan"))
    curves[n // 2:] = _curve(75)  # "codec" rows restore best at 75
    fit(head, f, q, curves, steps=2000, seed=0, codec_weight=20.0)
    with torch.no_grad():
        pred = head.from_features(f)[:, 0]
    assert abs(float(pred[: n // 2].median()) - 30) < 4
    assert abs(float(pred[n // 2:].median()) - 75) < 10


def test_codec_samples_span_the_sizes_the_app_shows_the_head():
    from training.fit_quality_head import codec_sample
    rng = np.random.default_rng(3)
    photo = (np.random.default_rng(0).random((300, 300, 3)) * 255).astype(np.uint8)
    sides = {codec_sample(rng, photo, 256)[0].shape[0] for _ in range(4)}
    assert all(128 <= s <= 256 and s % 8 == 0 for s in sides) and len(sides) > 1
    small = (np.random.default_rng(1).random((140, 200, 3)) * 255).astype(np.uint8)
    assert codec_sample(rng, small, 256)[0].shape[:2] == (136, 136)  # never larger than the photo


def test_x265_report_scores_a_head_against_each_frames_best_strength():
    from training.fit_quality_head import x265_report
    head = DctQualityHead(8)
    f = torch.randn(6, head.feature_mean.numel(), generator=torch.Generator().manual_seed(0))
    curves = _curve(45).expand(6, -1)
    out = x265_report(head, {"qp32": (f, curves)})
    assert out["qp32"]["best_fixed"] == 45
    pred = float(head.from_features(f)[:, 0].mean().detach())
    assert abs(out["qp32"]["predicted"] - pred) < 0.1
    assert out["qp32"]["db_lost"] >= 0 and out["mean_db_lost"] == out["qp32"]["db_lost"]


def test_screen_content_is_flat_never_compressed_and_seeded():
    from training.graphics import screen_content
    photo = (np.random.default_rng(0).random((200, 300, 3)) * 255).astype(np.uint8)
    a = screen_content(np.random.default_rng(5), 128, [photo])
    b = screen_content(np.random.default_rng(5), 128, [photo])
    assert a.shape == (128, 128, 3) and a.dtype == np.uint8 and np.array_equal(a, b)
    flat = (np.abs(np.diff(a.astype(int), axis=1)).sum(axis=2) == 0).mean()
    assert flat > 0.4  # mostly flat panels: what fooled a head fitted on photographs alone
    assert len(np.unique(a.reshape(-1, 3), axis=0)) > 8  # yet not a single colour: text, lines, accents
    rng = np.random.default_rng(0)  # every draw (1x and 2x drawn) comes out at the size asked for
    assert {screen_content(rng, 96, [photo]).shape for _ in range(24)} == {(96, 96, 3)}


def test_clean_and_screen_samples_are_labelled_by_kind():
    from engine.models.restora_net import RestoraNet
    from training.fit_quality_head import CLEAN_FLOOR, make_set, report
    torch.manual_seed(0)
    trunk = RestoraNet(c1=8, c2=16, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8).eval()
    photo = (np.random.default_rng(0).random((300, 300, 3)) * 255).astype(np.uint8)
    images, q, curves, kinds = make_set(np.random.default_rng(1), [photo], 40, 0.0, trunk,
                                        clean_fraction=0.4, screen_fraction=0.3)
    kinds = np.array(kinds)
    assert set(kinds) == {"jpeg", "screen-jpeg", "clean-photo", "clean-screen"}
    clean = torch.from_numpy(np.isin(kinds, ["clean-photo", "clean-screen"]))
    assert torch.isnan(q[clean]).all() and not torch.isnan(curves[clean]).any()
    assert float(curves[clean].min()) >= CLEAN_FLOOR - 1e-5  # 45 dB: past it a clean crop's restoration is invisible
    assert not torch.isnan(q[~clean]).any() and torch.isnan(curves[~clean]).all()
    head = DctQualityHead(8)
    with torch.no_grad():
        f = torch.cat([head.features(torch.from_numpy(np.array(im)).permute(2, 0, 1)[None].float() / 255)
                       for im in images])
    out = report(head, f, q, curves, list(kinds))
    assert {"jpeg_mae", "screen_jpeg_mae", "clean_photo_db_lost", "clean_screen_db_lost",
            "clean_screen_median_estimate"} <= set(out) and "codec_db_lost" not in out

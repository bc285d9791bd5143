"""The strength-map study's composition arithmetic (training/strength_map_study.py): pure numpy, no model."""
import numpy as np

from training.strength_map_study import block_errors, composed_mse, cross_fitted_mse, mean_psnr_of


def test_block_errors_sum_per_macroblock_and_drop_partial_edges():
    clean = np.zeros((40, 50, 3), np.uint8)
    test = clean.copy()
    test[0:16, 16:32] = 2  # one whole block off by 2 in every channel
    test[32:, :] = 9  # the partial bottom row of blocks is not a whole macroblock
    errors = block_errors(clean, test)
    assert errors.shape == (2, 3)
    assert errors[0, 1] == 16 * 16 * 3 * 4
    assert errors.sum() == errors[0, 1]


def test_composed_mse_picks_and_interpolates_per_block():
    grid = np.array([10.0, 20.0, 30.0])
    errors = np.stack([np.full((2, 2), e) for e in (4.0, 8.0, 12.0)])  # error grows with quality
    pixels = 4
    assert composed_mse(errors, grid, 10.0, pixels) == 4.0
    assert composed_mse(errors, grid, 15.0, pixels) == 6.0  # halfway between the 10 and 20 errors
    assert composed_mse(errors, grid, 99.0, pixels) == 12.0  # clamped to the grid
    per_block = np.array([[10.0, 30.0], [20.0, 20.0]])
    assert composed_mse(errors, grid, per_block, pixels) == (4 + 12 + 8 + 8) / 4


def test_mean_psnr_of_matches_the_psnr_formula():
    assert abs(mean_psnr_of([255.0 ** 2 / 100]) - 20.0) < 1e-9


def test_block_errors_halves_split_a_block_into_two_checkerboards():
    rng = np.random.default_rng(0)
    clean = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    test = rng.integers(0, 256, (32, 32, 3), dtype=np.uint8)
    whole = block_errors(clean, test)
    halves = block_errors(clean, test, 0) + block_errors(clean, test, 1)
    assert np.allclose(whole, halves)
    test2 = clean.copy()
    test2[0, 0] = 10 + clean[0, 0].astype(int) % 200  # (0, 0) is on the even half only
    assert block_errors(clean, test2, 1).sum() == 0 and block_errors(clean, test2, 0).sum() > 0


def test_cross_fitting_removes_the_selection_gain_of_pure_noise():
    # 19 "strengths" that are all equally good: the plain block oracle still gains by picking the luckiest
    # error per block, while picking on one half and scoring on the other gains nothing on average.
    rng = np.random.default_rng(1)
    halves = rng.normal(100.0, 10.0, (2, 19, 30, 40))
    pixels = 30 * 40
    plain_oracle = halves.sum(0).min(0).sum() / pixels
    fixed = halves.sum(0)[0].sum() / pixels
    crossed = cross_fitted_mse(halves, pixels, per_block=True)
    assert plain_oracle < fixed - 20  # selection bias: ~1.7 sigma of the sum per block
    assert abs(crossed - fixed) < 3  # none left after cross-fitting
    assert cross_fitted_mse(halves, pixels, per_block=False) > plain_oracle


def test_cross_fitting_keeps_a_real_per_block_preference():
    halves = np.full((2, 3, 1, 2), 10.0)
    halves[:, 0, 0, 0] = 1.0  # block 0 is truly best at strength 0, block 1 at strength 2, in both halves
    halves[:, 2, 0, 1] = 2.0
    assert cross_fitted_mse(halves, 4, per_block=True) == (2 * 1.0 + 2 * 2.0) / 4
    assert cross_fitted_mse(halves, 4, per_block=False) == (2 * 1.0 + 2 * 10.0) / 4

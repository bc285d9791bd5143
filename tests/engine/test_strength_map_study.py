"""The strength-map study's composition arithmetic (training/strength_map_study.py): pure numpy, no model."""
import numpy as np

from training.strength_map_study import block_errors, composed_mse, mean_psnr_of


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

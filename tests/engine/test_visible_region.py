"""Restoring only the visible area (the zoomed-in preview): the crop is grid-aligned with context, the visible
pixels match a whole-frame restore, the rest of the frame stays as decoded, and quality maps follow the crop."""
from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from engine.models.registry import list_models
from engine.restore.model_restorer import ModelRestorer
from engine.restore.visible_region import CONTEXT, GRID, MAX_SHARE, crop_for_region, restore_visible_region


@pytest.fixture(scope="module")
def shipped():
    spec = {s.name: s for s in list_models()}["restora-small"]
    return ModelRestorer(spec, device="cpu")


@pytest.fixture(scope="module")
def frame():
    """A 400x288 textured picture through JPEG at quality 15: blocking everywhere."""
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:288, 0:400]
    img = np.stack([(xx * 3 + yy) % 256, (yy * 2 + 40 * np.sin(xx / 9)) % 256, (xx ^ yy) % 256], -1)
    img = np.clip(img + rng.normal(0, 12, img.shape), 0, 255).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "JPEG", quality=15)
    return np.asarray(Image.open(buf).convert("RGB"))


def test_the_crop_is_aligned_carries_context_and_stays_in_the_frame():
    x, y, w, h = crop_for_region((300, 200, 120, 70), 720, 1280)
    assert x % GRID == 0 and y % GRID == 0 and w % GRID == 0 and h % GRID == 0
    assert x <= 300 - CONTEXT and y <= 200 - CONTEXT and x + w >= 420 + CONTEXT and y + h >= 270 + CONTEXT
    assert x + w - (420 + CONTEXT) < GRID and 300 - CONTEXT - x < GRID  # no more than the grid asks
    assert crop_for_region((5, 3, 40, 30), 720, 1280)[:2] == (0, 0)  # clamped at the frame's edges
    x, y, w, h = crop_for_region((1200, 650, 80, 70), 720, 1280)
    assert x + w == 1280 and y + h == 720


def test_no_crop_when_the_whole_frame_is_about_as_cheap_or_nothing_is_visible():
    assert crop_for_region(None, 720, 1280) is None
    assert crop_for_region((0, 0, 1100, 600), 720, 1280) is None  # > MAX_SHARE of the frame with its context
    x, y, w, h = crop_for_region((400, 200, 400, 250), 720, 1280)
    assert w * h <= MAX_SHARE * 720 * 1280
    assert crop_for_region((2000, 100, 50, 50), 720, 1280) is None  # panned off the picture


def test_visible_pixels_match_the_whole_frame_restore_and_the_rest_is_untouched(shipped, frame):
    region = (150, 110, 90, 60)
    whole = shipped.restore(frame, 15.0)
    restored, crop = restore_visible_region(shipped, frame, 15.0, region)
    assert crop == crop_for_region(region, *frame.shape[:2]) and restored.shape == frame.shape
    x, y, w, h = region
    diff = np.abs(restored[y:y + h, x:x + w].astype(int) - whole[y:y + h, x:x + w])
    assert diff.max() <= 1, "the visible area must look as it does in a whole-frame restore"
    assert np.abs(restored[y:y + h, x:x + w].astype(int) - frame[y:y + h, x:x + w]).mean() > 1  # it was restored
    cx, cy, cw, ch = crop
    outside = np.ones(frame.shape[:2], bool)
    outside[cy:cy + ch, cx:cx + cw] = False
    assert np.array_equal(restored[outside], frame[outside])


def test_a_per_pixel_quality_map_is_cropped_with_the_pixels(shipped, frame):
    quality = np.full(frame.shape[:2], 60.0, np.float32)
    quality[:, 200:] = 10.0  # the visible area straddles a strength change
    region = (170, 100, 60, 60)
    whole = shipped.restore(frame, quality)
    restored, crop = restore_visible_region(shipped, frame, quality, region)
    assert crop is not None
    x, y, w, h = region
    assert np.abs(restored[y:y + h, x:x + w].astype(int) - whole[y:y + h, x:x + w]).max() <= 1


def test_no_region_or_an_odd_quality_map_restores_the_whole_frame(shipped, frame):
    whole = shipped.restore(frame, 15.0)
    restored, crop = restore_visible_region(shipped, frame, 15.0, None)
    assert crop is None and np.array_equal(restored, whole)

    class Recorder:
        def restore(self, image, quality, cancel=None):
            self.shape = image.shape
            return image

    recorder = Recorder()
    _, crop = restore_visible_region(recorder, frame, np.full((4, 5), 30.0), (150, 110, 60, 40))
    assert crop is None and recorder.shape == frame.shape

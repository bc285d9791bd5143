"""Stills whose 8x8 blocks do not start at the corner: the grid is found from the pixels and the restorer is fed the
image shifted onto it."""
import io
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from engine.auto.block_grid import detect_block_grid
from engine.media.image_io import load_image
from engine.restore.grid_align import grid_padding, restore_on_grid, turned_block_grid
from engine.restore.visible_region import restore_visible_region

DEMO = Path(__file__).resolve().parents[2] / "resources" / "demo" / "bbb_demo.jpg"


def _photo() -> np.ndarray:
    """The bundled demo frame box-downscaled 4x, 320x180: its own (heavy) JPEG blocks survive a 2x or 3x box
    filter at a measurable level, but not 4x."""
    return np.asarray(Image.open(DEMO).convert("RGB").reduce(4)).copy()


def _jpeg(rgb: np.ndarray, q: int) -> np.ndarray:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=q)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert(Image.fromarray(rgb).mode))


def _psnr(a, b):
    return 10 * np.log10(255.0 ** 2 / np.mean((a.astype(np.float64) - b) ** 2))


@pytest.mark.parametrize("q", [10, 50, 95])
def test_finds_where_the_blocks_of_a_cropped_jpeg_start(q):
    jpeg = _jpeg(_photo(), q)
    assert detect_block_grid(jpeg) == (0, 0)
    # Cut 3 rows and 5 columns off: blocks now start at row 5 and column 3.
    assert detect_block_grid(jpeg[3:, 5:]) == (5, 3)
    assert detect_block_grid(jpeg[1:, :]) == (7, 0)


def test_grey_and_sixteen_bit_stills():
    grey = _jpeg(np.asarray(Image.fromarray(_photo()).convert("L")), 30)[6:, 2:]
    assert detect_block_grid(grey) == (2, 6)
    assert detect_block_grid(grey[:, :, None]) == (2, 6)
    assert detect_block_grid(grey.astype(np.uint16) * 257) == (2, 6)


def test_never_compressed_or_tiny_images_stay_on_the_corner():
    assert detect_block_grid(_photo()[3:, 5:]) == (0, 0)  # box-downscaled: no grid left at any phase
    assert detect_block_grid(np.random.default_rng(0).integers(0, 256, (64, 64, 3), dtype=np.uint8)) == (0, 0)
    assert detect_block_grid(np.zeros((12, 300, 3), np.uint8)) == (0, 0)
    assert detect_block_grid(np.full((64, 64, 3), 128, np.uint8)) == (0, 0)  # flat: every phase ties


def test_load_image_reads_the_grid_of_a_screenshotted_jpeg(tmp_path):
    jpeg = _jpeg(_photo(), 25)
    Image.fromarray(jpeg[3:, 5:]).save(tmp_path / "cropped.png")
    Image.fromarray(_photo()).save(tmp_path / "whole.jpg", quality=25)
    assert load_image(tmp_path / "cropped.png").block_grid == (5, 3)
    assert load_image(tmp_path / "whole.jpg").block_grid == (0, 0)


class _Recorder:
    """A restorer that returns its input + 1 and remembers what it was given."""

    def __init__(self):
        self.seen = []

    def restore(self, pixels, quality, cancel=None):
        self.seen.append((pixels.copy(), quality))
        return (pixels.astype(np.int32) + 1).clip(0, 255).astype(pixels.dtype)


def test_padding_puts_the_blocks_on_multiples_of_eight():
    assert grid_padding((0, 0)) == (0, 0)
    assert grid_padding((5, 3)) == (3, 5)
    assert grid_padding((7, 1)) == (1, 7)


@pytest.mark.parametrize("shape", [(37, 29, 3), (20, 21), (16, 16, 1)])
def test_restore_on_grid_keeps_shape_dtype_and_pixels_in_place(shape):
    image = np.random.default_rng(1).integers(0, 250, shape, dtype=np.uint8)
    fake = _Recorder()
    out = restore_on_grid(fake, image, 30.0, (5, 3))
    padded, quality = fake.seen[0]
    assert padded.shape[:2] == (shape[0] + 3, shape[1] + 5) and quality == 30.0
    assert np.array_equal(padded[3:, 5:], image)
    assert out.shape == image.shape and out.dtype == image.dtype
    assert np.array_equal(out, image + 1)


def test_a_quality_map_is_padded_with_the_pixels():
    image = np.zeros((24, 40, 3), np.uint8)
    qmap = np.arange(24 * 40, dtype=np.float32).reshape(24, 40)
    fake = _Recorder()
    restore_on_grid(fake, image, qmap, (6, 1))
    padded, q = fake.seen[0]
    assert q.shape == padded.shape[:2] == (26, 47)
    assert np.array_equal(q[2:, 7:], qmap) and np.all(q[0, 7:] == qmap[0])


def test_on_the_corner_the_restorer_gets_the_image_untouched():
    image = np.random.default_rng(2).integers(0, 250, (24, 24, 3), dtype=np.uint8)
    fake = _Recorder()
    restore_on_grid(fake, image, 40.0)
    assert fake.seen[0][0].shape == image.shape


def test_the_zoomed_preview_crop_uses_the_same_grid():
    image = np.random.default_rng(3).integers(0, 250, (400, 600, 3), dtype=np.uint8)
    fake = _Recorder()
    out, crop = restore_visible_region(fake, image, 30.0, (200, 150, 100, 80), grid=(5, 3))
    x, y, w, h = crop
    assert fake.seen[0][0].shape[:2] == (h + 3, w + 5)
    assert np.array_equal(out[y:y + h, x:x + w], image[y:y + h, x:x + w] + 1)


def test_the_shipped_model_restores_a_cropped_jpeg_better_on_its_grid():
    from engine.restore import create_restorer

    clean = _photo()
    cut = _jpeg(clean, 20)[3:, 5:]
    reference = clean[3:, 5:]
    restorer = create_restorer("restora-small", "cpu")
    plain = _psnr(reference, restorer.restore(cut, 20.0))
    on_grid = _psnr(reference, restore_on_grid(restorer, cut, 20.0, detect_block_grid(cut)))
    assert on_grid > plain + 0.02, (plain, on_grid)


def test_export_and_probe_of_a_screenshotted_jpeg_use_its_grid(tmp_path):
    from engine.cli.probe_cmd import probe_image
    from engine.export import ExportSettings, export_image

    src = tmp_path / "cropped.png"
    Image.fromarray(_jpeg(_photo(), 25)[3:, 5:]).save(src)
    fake = _Recorder()
    report = export_image(src, tmp_path / "out.png", ExportSettings(quality=30), restorer=fake)
    assert report.notes == ["8x8 blocks start at row 5, column 3 (a cropped or re-saved JPEG): restored on that grid"]
    assert fake.seen[0][0].shape[:2] == (177 + 3, 315 + 5)
    expected = (np.asarray(Image.open(src)).astype(np.int32) + 1).clip(0, 255)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "out.png")), expected)
    assert probe_image(src)["block_grid"] == [5, 3]


def test_a_jpeg_turned_by_exif_gets_the_grid_the_turn_moved(tmp_path):
    """Turned 180° by its EXIF orientation, a 315x177 JPEG's blocks start at 177 % 8 = 1 and 315 % 8 = 3."""
    exif = Image.Exif()
    exif[0x0112] = 3
    Image.fromarray(_photo()[3:, 5:]).save(tmp_path / "turned.jpg", quality=30, exif=exif.tobytes())
    image = load_image(tmp_path / "turned.jpg")
    assert image.pixels.shape[:2] == (177, 315) and image.block_grid == (1, 3)


@pytest.mark.parametrize("rotation", [0, 90, 180, 270, -90])
def test_a_video_frame_turned_upright_has_its_grid_where_the_turn_put_it(rotation):
    from engine.media import apply_rotation

    coded = _jpeg(_photo(), 20)[:177, :315]  # blocks on the corner, 177 % 8 = 1 and 315 % 8 = 3 left over
    upright = apply_rotation(coded, rotation)
    assert turned_block_grid(177, 315, rotation) == detect_block_grid(upright)
    assert turned_block_grid(177, 315, rotation) != (0, 0) or rotation == 0

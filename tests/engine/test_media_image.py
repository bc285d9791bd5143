"""Still-image I/O: formats, bit depths, alpha, EXIF orientation, bad inputs, atomic saving."""
import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageOps

from engine.errors import MediaError, OutputError
from engine.media import MAX_PIXELS, load_image, media_kind, save_image


def _gradient(h=24, w=32, dtype=np.uint8):
    top = 255 if dtype == np.uint8 else 65535
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.stack([x * top // (w - 1), y * top // (h - 1), (x + y) * top // (w + h - 2)], axis=2)
    return rgb.astype(dtype)


@pytest.mark.parametrize("ext", [".png", ".bmp", ".tiff", ".webp"])
def test_lossless_formats_round_trip(tmp_path, ext):
    rgb = _gradient()
    path = save_image(tmp_path / f"img{ext}", rgb, quality=100)
    img = load_image(path)
    if ext == ".webp":  # Pillow's WebP at quality 100 is lossy unless asked otherwise: near, not exact
        assert np.abs(img.pixels.astype(int) - rgb).mean() < 3
    else:
        np.testing.assert_array_equal(img.pixels, rgb)
    assert img.pixels.dtype == np.uint8 and img.alpha is None and img.jpeg_quality is None


def test_jpeg_gets_quality_from_tables(tmp_path):
    Image.fromarray(_gradient()).save(tmp_path / "a.jpg", quality=37)
    img = load_image(tmp_path / "a.jpg")
    assert img.format == "JPEG" and img.jpeg_quality == 37 and img.jpeg_quality_confidence == 1.0
    assert img.pixels.shape == (24, 32, 3)


@pytest.mark.parametrize("ext", [".png", ".tiff"])
def test_16bit_colour_and_alpha_kept(tmp_path, ext):
    rgb = _gradient(dtype=np.uint16)
    alpha = np.linspace(0, 65535, 24 * 32).reshape(24, 32).astype(np.uint16)
    save_image(tmp_path / f"deep{ext}", rgb, alpha)
    img = load_image(tmp_path / f"deep{ext}")
    assert img.pixels.dtype == np.uint16
    np.testing.assert_array_equal(img.pixels, rgb)
    np.testing.assert_array_equal(img.alpha, alpha)


def test_16bit_grey(tmp_path):
    grey = (np.arange(24 * 32).reshape(24, 32) * 83).astype(np.uint16)
    save_image(tmp_path / "grey16.png", grey)
    img = load_image(tmp_path / "grey16.png")
    assert img.pixels.dtype == np.uint16 and img.pixels.ndim == 2
    np.testing.assert_array_equal(img.pixels, grey)


def test_grey_and_grey_alpha(tmp_path):
    grey = _gradient()[..., 0]
    Image.fromarray(grey, "L").save(tmp_path / "g.png")
    img = load_image(tmp_path / "g.png")
    assert img.pixels.shape == grey.shape and img.alpha is None
    la = Image.merge("LA", [Image.fromarray(grey), Image.fromarray(255 - grey)])
    la.save(tmp_path / "ga.png")
    img = load_image(tmp_path / "ga.png")
    np.testing.assert_array_equal(img.pixels, grey)
    np.testing.assert_array_equal(img.alpha, 255 - grey)


def test_rgba_and_palette(tmp_path):
    rgba = np.dstack([_gradient(), np.full((24, 32), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    img = load_image(tmp_path / "a.png")
    np.testing.assert_array_equal(img.pixels, rgba[..., :3])
    assert (img.alpha == 128).all()
    Image.fromarray(_gradient()).quantize(16).save(tmp_path / "p.png")
    img = load_image(tmp_path / "p.png")
    assert img.pixels.shape == (24, 32, 3) and img.pixels.dtype == np.uint8 and img.alpha is None


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_matches_pillow(tmp_path, orientation):
    im = Image.fromarray(_gradient())
    exif = Image.Exif()
    exif[0x0112] = orientation
    im.save(tmp_path / "o.jpg", exif=exif.tobytes(), quality=95)
    expected = np.asarray(ImageOps.exif_transpose(Image.open(tmp_path / "o.jpg")).convert("RGB"))
    img = load_image(tmp_path / "o.jpg")
    np.testing.assert_array_equal(img.pixels, expected)
    reread = Image.Exif()
    reread.load(img.exif)
    assert reread.get(0x0112, 1) == 1  # pixels are upright, so the tag must not rotate them again


def test_unicode_path_with_spaces(tmp_path):
    folder = tmp_path / "dossier été 写真"
    folder.mkdir()
    save_image(folder / "ça va.png", _gradient())
    assert load_image(folder / "ça va.png").pixels.shape == (24, 32, 3)
    save_image(folder / "深度.png", _gradient(dtype=np.uint16))  # OpenCV path: must not use cv2.imread/imwrite
    assert load_image(folder / "深度.png").pixels.dtype == np.uint16


def test_bad_inputs_give_one_line_media_errors(tmp_path):
    (tmp_path / "empty.jpg").write_bytes(b"")
    (tmp_path / "text.jpg").write_text("hello, I am not a JPEG\n")
    (tmp_path / "noise.png").write_bytes(np.random.default_rng(0).bytes(4096))
    cases = {"missing.png": "not found", "empty.jpg": "empty", "text.jpg": "not an image", "noise.png": "not an image"}
    for name, words in cases.items():
        with pytest.raises(MediaError) as err:
            load_image(tmp_path / name)
        assert words in str(err.value) and "\n" not in str(err.value)


def test_truncated_jpeg_is_a_media_error(tmp_path):
    Image.fromarray(_gradient(64, 64)).save(tmp_path / "t.jpg", quality=90)
    data = (tmp_path / "t.jpg").read_bytes()
    (tmp_path / "t.jpg").write_bytes(data[: len(data) // 3])
    with pytest.raises(MediaError):
        load_image(tmp_path / "t.jpg")


def _png_header_only(path, width, height):
    """A PNG whose header claims width x height: enough for the size check, tiny on disk."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64))
                     + chunk(b"IEND", b""))


def test_huge_image_refused_from_header(tmp_path):
    _png_header_only(tmp_path / "huge.png", 12000, 12000)
    assert 12000 * 12000 > MAX_PIXELS
    with pytest.raises(MediaError, match="too large"):
        load_image(tmp_path / "huge.png")
    assert media_kind(tmp_path / "huge.png") == "image"  # an image, just too large: load_image says so
    _png_header_only(tmp_path / "bomb.png", 30000, 30000)  # past Pillow's own 2x guard too
    with pytest.raises(MediaError, match="too large"):
        load_image(tmp_path / "bomb.png")


def test_save_unknown_extension_and_no_partial_file(tmp_path):
    with pytest.raises(OutputError, match="unknown image extension"):
        save_image(tmp_path / "out.xyz", _gradient())
    with pytest.raises(OutputError):
        save_image(tmp_path / "missing" / "out.png", _gradient())
    save_image(tmp_path / "out.jpg", _gradient(), quality=50)
    assert load_image(tmp_path / "out.jpg").jpeg_quality == 50
    assert sorted(os.listdir(tmp_path)) == ["out.jpg"]  # no temp files left behind


def test_save_does_not_touch_input_array(tmp_path):
    rgb = _gradient(dtype=np.uint16)
    before = rgb.copy()
    save_image(tmp_path / "o.jpg", rgb)  # 16-bit to an 8-bit format converts a copy
    np.testing.assert_array_equal(rgb, before)


def test_media_kind_sniffs_content(tmp_path):
    Image.fromarray(_gradient()).save(tmp_path / "photo.png")
    os.replace(tmp_path / "photo.png", tmp_path / "photo.mp4")  # misleading extension
    assert media_kind(tmp_path / "photo.mp4") == "image"
    from .test_media_video import make_clip

    make_clip(tmp_path / "clip.mkv", n=2)
    os.replace(tmp_path / "clip.mkv", tmp_path / "clip.jpg")
    assert media_kind(tmp_path / "clip.jpg") == "video"
    (tmp_path / "notes.txt").write_text("nothing to see")
    with pytest.raises(MediaError, match="neither"):
        media_kind(tmp_path / "notes.txt")

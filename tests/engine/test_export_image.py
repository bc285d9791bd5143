"""export_image: PNG / JPEG / WebP by extension, alpha kept, the input never touched."""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from engine.errors import MediaError, OutputError
from engine.export import ExportSettings, export_image
from engine.restore import create_restorer
from tests.engine.export_media import moving_pattern


@pytest.fixture
def jpeg(tmp_path):
    path = tmp_path / "photo.jpg"
    Image.fromarray(moving_pattern(0, 96, 64)).save(path, quality=20)
    return path


@pytest.mark.parametrize("ext, fmt", [(".png", "PNG"), (".jpg", "JPEG"), (".webp", "WEBP")])
def test_formats_follow_the_extension(jpeg, tmp_path, ext, fmt):
    dst = tmp_path / f"out{ext}"
    report = export_image(jpeg, dst, ExportSettings(), restorer=create_restorer("deblock"))
    with Image.open(dst) as im:
        assert (im.format, im.size) == (fmt, (96, 64))
    # Auto strength reads the JPEG's own quantisation tables.
    assert report.quality_source == "jpeg-tables" and report.quality_used == pytest.approx(20, abs=1)
    assert report.frames == 1 and report.restore_seconds > 0


def test_fixed_quality_and_alpha(tmp_path):
    src = tmp_path / "logo.png"
    rgba = np.dstack([moving_pattern(1, 48, 32), np.full((32, 48), 128, np.uint8)])
    Image.fromarray(rgba, "RGBA").save(src)
    dst = tmp_path / "out.png"
    report = export_image(src, dst, ExportSettings(quality=35), restorer=create_restorer("deblock"))
    assert report.quality_source == "manual" and report.quality_used == 35
    with Image.open(dst) as im:
        assert im.mode == "RGBA" and (np.asarray(im)[..., 3] == 128).all()


def test_refuses_bad_requests(jpeg, tmp_path):
    before = jpeg.read_bytes()
    restorer = create_restorer("deblock")
    with pytest.raises(OutputError):
        export_image(jpeg, jpeg, ExportSettings(), restorer=restorer)
    with pytest.raises(OutputError, match="extension"):
        export_image(jpeg, tmp_path / "out.gif", ExportSettings(), restorer=restorer)
    with pytest.raises(MediaError):
        export_image(tmp_path / "missing.png", tmp_path / "out.png", ExportSettings(), restorer=restorer)
    assert jpeg.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.jpg"]


def test_save_restored_frame_keeps_alpha_and_refuses_bad_targets(tmp_path):
    """File → Save Frame As…: the still's alpha survives; the input, unknown formats and missing folders are
    refused with one-line OutputErrors and nothing is written."""
    import numpy as np
    import pytest
    from PIL import Image

    from engine.errors import OutputError
    from engine.export.image_export import save_restored_frame
    from engine.media import load_image

    rgba = np.random.default_rng(0).integers(0, 256, (40, 50, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(tmp_path / "in.png")
    image = load_image(tmp_path / "in.png")
    restored = 255 - image.pixels
    written = save_restored_frame(tmp_path / "out.png", restored, tmp_path / "in.png", image)
    out = np.asarray(Image.open(written))
    assert out.shape == (40, 50, 4) and np.array_equal(out[..., 3], rgba[..., 3])
    assert np.array_equal(out[..., :3], restored)
    video_frame = save_restored_frame(tmp_path / "frame.jpg", restored, tmp_path / "clip.mp4")
    assert Image.open(video_frame).size == (50, 40)
    for bad, reason in ((tmp_path / "in.png", "overwrite the input"), (tmp_path / "x.bmp", "unsupported"),
                        (tmp_path / "missing" / "x.png", "does not exist")):
        with pytest.raises(OutputError, match=reason):
            save_restored_frame(bad, restored, tmp_path / "in.png", image)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["frame.jpg", "in.png", "out.png"]

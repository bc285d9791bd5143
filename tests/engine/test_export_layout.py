"""Comparison exports (--layout side-by-side / split): the original on the left as the viewer shows it, the restored
on the right, captioned; rotation metadata, alpha and bit depth carried over."""
from __future__ import annotations

import json
import subprocess
import sys

import av
import numpy as np
import pytest
from PIL import Image

from engine.errors import OutputError
from engine.export import ExportSettings, export_image, export_video
from engine.export.layout import compose, output_shape
from engine.media import apply_rotation
from tests.engine.export_media import make_clip, moving_pattern

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


class Inverter:
    """A restorer whose output cannot be mistaken for its input."""
    name = "inverter"

    def restore(self, pixels, quality, cancel=None):
        return (np.iinfo(pixels.dtype).max - pixels).astype(pixels.dtype)


def caption_rows(height: int) -> int:
    return int(height / 720 * 16 * 2 + 40)  # generous: the caption's box is 2 margins + text height


@pytest.mark.parametrize("rotation", [0, 90, 180, 270])
def test_side_by_side_reads_left_original_when_upright(rotation):
    rng = np.random.default_rng(rotation)
    coded = rng.integers(0, 256, (60, 100, 3), dtype=np.uint8)
    out = compose(coded, 255 - coded, "side-by-side", rotation)
    assert out.shape[:2] == output_shape(60, 100, "side-by-side", rotation)
    upright, original = apply_rotation(out, rotation), apply_rotation(coded, rotation)
    w = original.shape[1]
    below = caption_rows(upright.shape[0])
    assert np.array_equal(upright[below:, :w], original[below:])
    assert np.array_equal(upright[below:, w:], 255 - original[below:])
    assert not np.array_equal(upright[:below, :w], original[:below])  # the "Original" caption is drawn


def test_split_keeps_the_size_and_draws_a_divider():
    coded = np.full((80, 120, 3), 100, np.uint16) * 256
    out = compose(coded, coded // 2, "split")
    assert out.shape == coded.shape and out.dtype == np.uint16
    below = caption_rows(80)
    assert (out[below:, :59] == 100 * 256).all() and (out[below:, 61:] == 50 * 256).all()
    assert (out[:, 59:61] == 65535).all()  # the divider, full white at 16 bits
    assert np.array_equal(compose(coded, coded // 2, "restored"), coded // 2)


def test_grey_planes_compose_without_captions():
    alpha = np.arange(40 * 30, dtype=np.uint8).reshape(40, 30)
    out = compose(alpha, alpha, "side-by-side", captions=False)
    assert np.array_equal(out, np.hstack([alpha, alpha]))


def test_rotated_video_side_by_side(tmp_path):
    src, dst = tmp_path / "phone.mp4", tmp_path / "compare.mkv"
    make_clip(src, frames=6, size=(80, 48), rotation=90)
    report = export_video(src, dst, ExportSettings(codec="ffv1", quality=50, segment_seconds=0.32,
                                                   layout="side-by-side"), restorer=Inverter())
    assert report.frames == 6
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        originals = [f.to_ndarray(format="rgb24").astype(int) for f in a.decode(video=0)]
        outputs = [(f.to_ndarray(format="rgb24").astype(int), f.rotation) for f in b.decode(video=0)]
    assert len(outputs) == 6
    for original, (out, rotation) in zip(originals, outputs):
        assert out.shape == (96, 80, 3) and rotation == 90  # coded 80x48 turned 90°: stacked in coded space
        upright, source = apply_rotation(out, 90), apply_rotation(original, 90)
        below, w = caption_rows(upright.shape[0]), source.shape[1]
        assert np.abs(upright[below:, :w] - source[below:]).mean() < 3  # ffv1 is lossless up to yuv420 rounding
        assert np.abs(upright[below:, w:] - (255 - source[below:])).mean() < 3


def test_image_side_by_side_keeps_alpha(tmp_path):
    src, dst = tmp_path / "logo.png", tmp_path / "out.png"
    rgba = np.dstack([moving_pattern(1, 48, 32), np.tile(np.arange(48, dtype=np.uint8) * 5, (32, 1))])
    Image.fromarray(rgba, "RGBA").save(src)
    export_image(src, dst, ExportSettings(quality=40, layout="side-by-side"), restorer=Inverter())
    with Image.open(dst) as im:
        out = np.asarray(im)
    assert out.shape == (32, 96, 4) and np.array_equal(out[..., 3], np.hstack([rgba[..., 3]] * 2))


def test_unknown_layout_is_refused_before_anything_is_written(tmp_path):
    src = tmp_path / "a.mp4"
    make_clip(src, frames=3)
    with pytest.raises(OutputError, match="layout"):
        export_video(src, tmp_path / "b.mp4", ExportSettings(layout="sideways"), restorer=Inverter())
    with pytest.raises(OutputError, match="layout"):
        export_image(ROOT / "resources" / "demo" / "bbb_demo.jpg", tmp_path / "c.png",
                     ExportSettings(layout="sideways"), restorer=Inverter())
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.mp4"]


def test_cli_split_layout(tmp_path):
    src, dst = tmp_path / "photo.jpg", tmp_path / "split.png"
    Image.fromarray(moving_pattern(0, 96, 64)).save(src, quality=20)
    run = subprocess.run([sys.executable, str(ROOT / "main.py"), "restore", str(src), "-o", str(dst), "--model",
                          "deblock", "--layout", "split", "--json"], capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout)["items"][0]["output"] == str(dst)
    with Image.open(dst) as im:
        assert im.size == (96, 64)

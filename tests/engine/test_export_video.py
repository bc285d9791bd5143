"""export_video: timing, audio, rotation and colour carried over; safe failure; damaged input."""
from __future__ import annotations

import os
from fractions import Fraction

import av
import numpy as np
import pytest

from engine.cancel import CancelToken
from engine.errors import Cancelled, MediaError, OutputError
from engine.export import ExportSettings, export_video
from engine.restore import create_restorer
from tests.conftest import SHARED_DATA
from tests.engine.export_media import make_clip, packet_payloads, video_pts_seconds

VFR_TIMES = [0, 0.04, 0.1, 0.13, 0.2, 0.33, 0.36, 0.4, 0.5, 0.52, 0.6, 0.7, 0.74, 0.8, 0.9, 0.95, 1.0, 1.1]
FAST = dict(segment_seconds=0.32, quality=40, preset="ultrafast")


@pytest.fixture(scope="module")
def deblock():
    return create_restorer("deblock")


def _leftovers(folder, keep):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


@pytest.mark.parametrize("ext, bframes", [(".mp4", 0), (".mkv", 0), (".mov", 0), (".mp4", 2)])
def test_vfr_clip_keeps_every_frame_time_and_audio_packet(tmp_path, deblock, ext, bframes):
    src = tmp_path / "vfr.mp4"
    make_clip(src, frame_times=VFR_TIMES, audio=True, bframes=bframes)
    dst = tmp_path / f"out{ext}"
    report = export_video(src, dst, ExportSettings(**FAST), restorer=deblock)
    assert report.frames == len(VFR_TIMES) and report.segments > 1
    got = video_pts_seconds(dst)
    # Matroska stores milliseconds; MP4/MOV keep the source time base exactly.
    tolerance = 1e-3 if ext == ".mkv" else 1e-9
    assert np.allclose(got, video_pts_seconds(src), atol=tolerance, rtol=0)
    assert packet_payloads(dst, "audio") == packet_payloads(src, "audio")
    assert report.audio == ["audio #1 (aac): copied"]
    assert _leftovers(tmp_path, {"vfr.mp4", dst.name}) == []


@pytest.mark.parametrize("ext", [".mp4", ".mkv"])
def test_rotation_colour_aspect_and_size_are_carried_over(tmp_path, deblock, ext):
    src = tmp_path / "rot.mp4"
    make_clip(src, frames=12, size=(80, 48), rotation=90, colorspace="bt709", sample_aspect_ratio=Fraction(4, 3))
    dst = tmp_path / f"out{ext}"
    export_video(src, dst, ExportSettings(**FAST), restorer=deblock)
    with av.open(str(dst)) as c:
        frame = next(c.decode(video=0))
        assert (frame.width, frame.height, frame.rotation) == (80, 48, 90)
        assert c.streams.video[0].sample_aspect_ratio == Fraction(4, 3)
        assert (frame.colorspace, frame.color_primaries, frame.color_trc, frame.color_range) == (1, 1, 1, 1)


def test_restored_frames_follow_the_source(tmp_path, deblock):
    src = tmp_path / "a.mp4"
    make_clip(src, frames=10)
    dst = tmp_path / "b.mkv"
    export_video(src, dst, ExportSettings(codec="ffv1", segment_seconds=0.32, quality=90), restorer=deblock)
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        fa = [f.to_ndarray(format="rgb24").astype(int) for f in a.decode(video=0)]
        fb = [f.to_ndarray(format="rgb24").astype(int) for f in b.decode(video=0)]
    assert len(fa) == len(fb)
    # Mild deblocking of a lossless export: close to, but not bit-identical with, the source.
    assert np.mean([np.abs(x - y).mean() for x, y in zip(fa, fb)]) < 8


def test_in_and_out_points_trim_and_restart_the_timeline(tmp_path, deblock):
    src = tmp_path / "a.mp4"
    make_clip(src, frames=25, audio=True)
    dst = tmp_path / "cut.mp4"
    report = export_video(src, dst, ExportSettings(start=0.2, end=0.6, **FAST), restorer=deblock)
    times = video_pts_seconds(dst)
    assert report.frames == len(times) == 10
    assert np.allclose(times, [i / 25 for i in range(10)])
    audio = packet_payloads(dst, "audio")
    assert 0 < len(audio) < len(packet_payloads(src, "audio"))


def test_cancel_leaves_nothing_behind(tmp_path, deblock):
    src = tmp_path / "a.mp4"
    make_clip(src, frames=30)
    dst = tmp_path / "out.mp4"
    token = CancelToken()

    def progress(p):
        if p.frames_done >= 12:
            token.cancel()

    with pytest.raises(Cancelled):
        export_video(src, dst, ExportSettings(**FAST), restorer=deblock, progress=progress, cancel=token)
    assert _leftovers(tmp_path, {"a.mp4"}) == []


def test_refuses_to_overwrite_the_input(tmp_path, deblock):
    src = tmp_path / "a.mp4"
    make_clip(src, frames=4)
    before = src.read_bytes()
    with pytest.raises(OutputError, match="overwrite the input"):
        export_video(src, src, ExportSettings(**FAST), restorer=deblock)
    link = tmp_path / "link.mp4"
    os.link(src, link)
    with pytest.raises(OutputError, match="same file"):
        export_video(src, link, ExportSettings(**FAST), restorer=deblock)
    assert src.read_bytes() == before


@pytest.mark.parametrize("settings, name, message", [
    (ExportSettings(codec="ffv1"), "out.mp4", "use .mkv"),
    (ExportSettings(codec="prores_ks"), "out.mp4", "use .mov or .mkv"),
    (ExportSettings(), "out.avi", "use .mp4, .mkv or .mov"),
    (ExportSettings(crf=99), "out.mp4", "out of range"),
    (ExportSettings(quality=0), "out.mp4", "quality"),
])
def test_impossible_settings_fail_before_writing(tmp_path, deblock, settings, name, message):
    src = tmp_path / "a.mp4"
    make_clip(src, frames=4)
    with pytest.raises(OutputError, match=message):
        export_video(src, tmp_path / name, settings, restorer=deblock)
    assert _leftovers(tmp_path, {"a.mp4"}) == []


@pytest.mark.parametrize("content", [b"", b"this is not a video at all" * 40])
def test_bad_input_is_a_media_error(tmp_path, deblock, content):
    src = tmp_path / "bad.mp4"
    src.write_bytes(content)
    with pytest.raises(MediaError):
        export_video(src, tmp_path / "out.mp4", ExportSettings(**FAST), restorer=deblock)
    assert _leftovers(tmp_path, {"bad.mp4"}) == []


def test_corrupt_packet_drops_only_that_frame(tmp_path, deblock):
    src = tmp_path / "clip.mp4"
    pts = make_clip(src, frames=30, gop=10)
    with av.open(str(src)) as c:
        packets = [(p.pos, p.size) for p in c.demux(video=0) if p.size]
    data = bytearray(src.read_bytes())
    pos, size = packets[12]  # a P frame in the middle of the second GOP
    data[pos + 4:pos + size] = np.random.default_rng(0).integers(0, 256, size - 4, dtype=np.uint8).tobytes()
    damaged = tmp_path / "damaged.mp4"
    damaged.write_bytes(bytes(data))
    dst = tmp_path / "out.mp4"
    report = export_video(damaged, dst, ExportSettings(**FAST), restorer=deblock)
    got = video_pts_seconds(dst)
    # Documented behaviour: a frame the decoder rejects is missing from the output and counted; all others
    # keep their own timestamps.
    assert report.skipped_frames >= 1
    assert len(got) == report.frames == len(pts) - report.skipped_frames
    source_times = [p / 90000 for p in pts]
    assert all(any(abs(t - s) < 1e-9 for s in source_times) for t in got)
    assert any("could not be decoded" in note for note in report.notes)


def test_learned_model_with_batches_and_auto_strength(tmp_path):
    from engine.models.registry import _spec_from_file, save_model
    from engine.models.restora_net import RestoraNet
    from engine.restore.model_restorer import ModelRestorer

    weights = tmp_path / "tiny.safetensors"
    save_model(RestoraNet(c1=8, c2=16, blocks1=1, blocks2=1, blocks3=1, embed=8, head_width=8), weights, "tiny")
    restorer = ModelRestorer(_spec_from_file(weights), device="cpu")
    src = tmp_path / "a.mp4"
    make_clip(src, frames=12, size=(64, 48))
    dst = tmp_path / "out.mkv"
    report = export_video(src, dst, ExportSettings(segment_seconds=0.32, batch_size=3, preset="ultrafast"),
                          restorer=restorer)
    assert report.frames == 12 and report.restorer == "tiny"
    assert report.quality_source == "qp" and 1 <= report.quality_used <= 100  # H.264 source: QP evidence
    assert len(video_pts_seconds(dst)) == 12


def test_timestamps_follow_ffmpegs_best_effort_rule():
    from types import SimpleNamespace as Frame

    from engine.export.source import _best_effort_timestamps

    # AVI with packed B-frames: frames come out in display order but carry dts-order pts; the dts are right.
    avi = [Frame(pts=p, dts=d) for p, d in [(1, 1), (2, 2), (3, 3), (5, 4), (4, 5), (6, 6), (8, 7), (7, 8), (9, 9)]]
    assert [t for _, t in _best_effort_timestamps(iter(avi))] == list(range(1, 10))
    # Normal reordered streams: pts are right, frame dts may be missing.
    mp4 = [Frame(pts=p, dts=None) for p in (0, 2, 3, 5, 6)]
    assert [t for _, t in _best_effort_timestamps(iter(mp4))] == [0, 2, 3, 5, 6]


@pytest.mark.skipif(not (SHARED_DATA / "video" / "Megamind.avi").exists(), reason="shared data absent")
def test_avi_with_packed_b_frames_keeps_a_regular_timeline(tmp_path, deblock):
    dst = tmp_path / "megamind.mkv"
    report = export_video(SHARED_DATA / "video" / "Megamind.avi", dst,
                          ExportSettings(end=0.5, quality=50, preset="ultrafast"), restorer=deblock)
    times = video_pts_seconds(dst)
    assert report.frames == len(times) >= 10 and report.notes == []
    steps = np.diff(times)
    assert np.allclose(steps, steps.mean(), atol=1.5e-3)  # milliseconds in Matroska

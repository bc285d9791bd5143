"""Video reading through PyAV on small synthetic clips: codecs, containers, 10-bit, rotation, VFR, seeking, damage."""
import gc
from fractions import Fraction

import av
import numpy as np
import pytest

from engine.errors import MediaError
from engine.media import apply_rotation, media_kind, open_video

STEP = 6  # grey level step between consecutive frames: each frame is identifiable by its mean


def level(i):
    return 16 + (i * STEP) % 220


def make_clip(path, codec="libx264", pix_fmt="yuv420p", n=12, w=64, h=48, rate=25, options=None, rotation=None,
              pts_ms=None, container_options=None, noise=False):
    """Frame i is flat grey `level(i)` with a small bright square, so codecs have something to code.

    noise=True makes frames of random pixels instead: large packets, for cutting files at a byte offset."""
    with av.open(str(path), "w", options=container_options or {}) as c:
        s = c.add_stream(codec, rate=rate)
        s.width, s.height, s.pix_fmt = w, h, pix_fmt
        if options:
            s.options = options
        if pts_ms is not None:
            s.codec_context.time_base = Fraction(1, 1000)
        if rotation is not None:
            s.set_display_rotation(rotation)
        for i in range(n):
            a = np.full((h, w, 3), level(i), np.uint8)
            a[4:12, 4:12] = 255
            if noise:
                a = np.random.default_rng(i).integers(0, 256, (h, w, 3), dtype=np.uint8)
            frame = av.VideoFrame.from_ndarray(a, format="rgb24")
            if pts_ms is not None:
                frame.pts, frame.time_base = pts_ms[i], Fraction(1, 1000)
            for p in s.encode(frame):
                c.mux(p)
        for p in s.encode():
            c.mux(p)
    return path


def frame_level(frame):
    px = frame.pixels.astype(np.float64)
    if px.dtype != np.uint8 and frame.pixels.dtype == np.uint16:
        px /= 257.0
    return float(np.median(px))


CODECS = [
    ("h264.mp4", "libx264", "yuv420p", {}),
    ("h264.mov", "libx264", "yuv420p", {}),
    ("hevc.mkv", "libx265", "yuv420p", {"x265-params": "log-level=none"}),
    ("vp9.webm", "libvpx-vp9", "yuv420p", {"deadline": "realtime", "cpu-used": "8"}),
    ("av1.mkv", "libsvtav1", "yuv420p", {"preset": "12"}),
    ("mpeg2.mpg", "mpeg2video", "yuv420p", {}),
    ("mpeg4.avi", "mpeg4", "yuv420p", {}),
    ("mjpeg.mov", "mjpeg", "yuvj420p", {}),
]


@pytest.mark.parametrize("name,codec,pix_fmt,options", CODECS, ids=[c[0] for c in CODECS])
def test_codecs_and_containers_decode_every_frame(tmp_path, name, codec, pix_fmt, options):
    path = make_clip(tmp_path / name, codec, pix_fmt, n=8, w=64, h=64, options=options)
    assert media_kind(path) == "video"
    with open_video(path) as reader:
        info = reader.info
        assert (info.width, info.height, info.bit_depth) == (64, 64, 8)
        assert info.fps == 25
        frames = list(reader.frames())
    assert len(frames) == 8 and reader.skipped_frames == 0
    assert [f.index for f in frames] == list(range(8))
    for i, f in enumerate(frames):
        assert f.pixels.shape == (64, 64, 3) and f.pixels.dtype == np.uint8
        assert abs(frame_level(f) - level(i)) < 4
        assert f.time == pytest.approx(i / 25, abs=1e-3)


def test_10bit_hevc_gives_uint16(tmp_path):
    path = make_clip(tmp_path / "ten.mkv", "libx265", "yuv420p10le", n=4,
                     options={"x265-params": "log-level=none"})
    with open_video(path) as reader:
        assert reader.info.bit_depth == 10 and reader.info.pix_fmt == "yuv420p10le"
        frames = list(reader.frames())
    assert len(frames) == 4
    assert frames[0].pixels.dtype == np.uint16
    assert abs(frame_level(frames[2]) - level(2)) < 4


def test_rotation_metadata_read_and_applied(tmp_path):
    path = make_clip(tmp_path / "rot.mp4", n=3, w=64, h=48, rotation=90)
    with open_video(path) as reader:
        assert reader.info.rotation == 90
        frame = next(reader.frames())
    assert frame.pixels.shape == (48, 64, 3)  # coded pixels stay unrotated
    upright = apply_rotation(frame.pixels, reader.info.rotation)
    assert upright.shape == (64, 48, 3)
    np.testing.assert_array_equal(upright, np.rot90(frame.pixels))  # 90 = counter-clockwise, as FFmpeg means it
    assert apply_rotation(frame.pixels, 0) is frame.pixels
    assert apply_rotation(frame.pixels, 180).shape == (48, 64, 3)


def test_vfr_timestamps_come_back_exact(tmp_path):
    pts_ms = [0, 40, 100, 110, 300, 310, 500, 1000]
    path = make_clip(tmp_path / "vfr.mkv", n=len(pts_ms), pts_ms=pts_ms, options={"bf": "0"})
    with open_video(path) as reader:
        frames = list(reader.frames())
        assert [round(f.time * 1000) for f in frames] == pts_ms
        # frame_at returns the frame on screen at that time: the last one that started at or before it
        for t_ms, expected in [(0, 0), (39, 0), (40, 1), (105, 2), (299, 3), (700, 6), (5000, 7)]:
            assert round(reader.frame_at(t_ms / 1000).time * 1000) == pts_ms[expected]


def test_frame_at_exact_and_forward_steps_do_not_seek(tmp_path, monkeypatch):
    path = make_clip(tmp_path / "gop.mp4", n=40, options={"g": "10", "bf": "2"})
    with open_video(path) as reader:
        seeks = []
        original = reader._seek
        monkeypatch.setattr(reader, "_seek", lambda t: (seeks.append(t), original(t)))
        for i in (25, 7, 33, 0, 39, 12):  # jumps both ways, keyframes and not
            f = reader.frame_at(i / 25 + 0.01)
            assert f.index == i and abs(frame_level(f) - level(i)) < 4
        seeks.clear()
        for i in range(13, 25):  # frame-by-frame stepping: decodes forward from the open decoder
            f = reader.frame_at(i / 25)
            assert f.index == i and abs(frame_level(f) - level(i)) < 4
        assert seeks == []
        for i in range(24, 12, -1):  # stepping back: recently shown frames come from the cache
            f = reader.frame_at(i / 25 + 0.001)
            assert f.index == i and abs(frame_level(f) - level(i)) < 4
        assert seeks == []
        start = list(reader.frames(start_time=30 / 25))
        assert [f.index for f in start] == list(range(30, 40))


def test_qp_map_when_asked(tmp_path):
    path = make_clip(tmp_path / "qp.mp4", n=4, w=64, h=48, options={"qp": "30"})
    with open_video(path, with_qp=True) as reader:
        assert reader.info.qp_available
        frame = next(reader.frames())
    assert frame.qp_map.shape == (3, 4) and frame.qp_codec == "h264"
    assert 25 <= frame.qp_map.mean() <= 35 and frame.pict_type == "I"
    with open_video(path) as reader:
        assert next(reader.frames()).qp_map is None


def test_coding_pass_matches_the_decoded_frames_without_pixels(tmp_path):
    """The quality plot's scan reads picture types and QP maps without converting pixels; it must see exactly
    what the full pass sees, frame for frame, and a later frame_at still works."""
    path = make_clip(tmp_path / "ibp.mp4", n=14, w=64, h=48, options={"qp": "28", "bf": "2", "g": "6"})
    with open_video(path, with_qp=True) as reader:
        full = [(f.index, f.pict_type, f.qp_map, f.qp_codec) for f in reader.frames()]
        coded = list(reader.coding())
        assert reader.frame_at(5 / 25 + 0.001).index == 5
    assert [c.index for c in coded] == list(range(14)) and not hasattr(coded[0], "pixels")
    assert [c.pict_type for c in coded] == [f[1] for f in full] and {"I", "P", "B"} <= {c.pict_type for c in coded}
    for c, (_, _, qp, codec) in zip(coded, full):
        assert np.array_equal(c.qp_map, qp) and c.qp_codec == codec == "h264"
    with open_video(path) as reader:
        assert all(c.qp_map is None and c.qp_codec == "" for c in reader.coding())


def test_reading_qp_leaves_no_cyclic_garbage(tmp_path):
    """Decoded frames must be freed by reference counting: a frame kept in a reference cycle (PyAV's cached
    `frame.side_data` points back at its frame) holds its decoder buffers until a rare full GC, and FFmpeg's
    frame pool keeps every buffer it had to add meanwhile: looped playback grew by tens of MiB a minute."""
    path = make_clip(tmp_path / "qp.mp4", n=30, w=64, h=48, options={"qp": "30"})
    with open_video(path, with_qp=True) as reader:
        gc.collect()
        gc.disable()
        try:
            frames = [f for f in reader.frames() if f.qp_map is not None]
            for i in (29, 3, 17, 25):
                assert reader.frame_at(i / 25 + 0.001).qp_map is not None
            unreachable = gc.collect()
        finally:
            gc.enable()
    assert len(frames) == 30
    assert unreachable == 0


def test_corrupt_packet_is_skipped_and_counted(tmp_path):
    path = make_clip(tmp_path / "mj.avi", "mjpeg", "yuvj420p", n=6)
    data = bytearray(path.read_bytes())
    starts = [i for i in range(len(data) - 1) if data[i] == 0xFF and data[i + 1] == 0xD8]
    lo, hi = starts[2], starts[3] - 16  # third frame's JPEG, leaving the AVI chunk headers intact
    data[lo:hi] = bytes([0x55]) * (hi - lo)  # no markers at all: the decoder rejects the packet
    path.write_bytes(bytes(data))
    with open_video(path) as reader:
        frames = list(reader.frames())
    assert len(frames) == 5 and reader.skipped_frames == 1


@pytest.mark.parametrize("name", ["cut.mp4", "cut.mkv", "cut.ts"])
def test_truncated_file_keeps_frames_before_the_cut(tmp_path, name):
    whole = make_clip(tmp_path / f"whole_{name}", n=20, noise=True,
                      container_options={"movflags": "faststart"} if name.endswith("mp4") else None).read_bytes()
    (tmp_path / name).write_bytes(whole[: len(whole) * 6 // 10])
    with open_video(tmp_path / name) as reader:
        frames = list(reader.frames())  # no exception: the stream just ends early
    assert 5 <= len(frames) < 20


def test_audio_and_metadata_flags(tmp_path):
    path = tmp_path / "av.mp4"
    with av.open(str(path), "w") as c:
        v = c.add_stream("libx264", rate=25)
        v.width, v.height, v.pix_fmt = 64, 48, "yuv420p"
        a = c.add_stream("aac", rate=48000)
        for p in v.encode(av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")):
            c.mux(p)
        for p in v.encode():
            c.mux(p)
        samples = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        samples.sample_rate = 48000
        for p in a.encode(samples):
            c.mux(p)
        for p in a.encode():
            c.mux(p)
    with open_video(path) as reader:
        assert reader.info.has_audio and reader.info.codec == "h264" and reader.info.frame_count == 1
        assert reader.info.color["range_id"] in (0, 1, 2)


def test_bad_videos_give_one_line_media_errors(tmp_path):
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "text.mp4").write_text("not a video at all\n" * 50)
    audio = tmp_path / "audio.mp4"
    with av.open(str(audio), "w") as c:
        a = c.add_stream("aac", rate=48000)
        samples = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
        samples.sample_rate = 48000
        for p in list(a.encode(samples)) + list(a.encode()):
            c.mux(p)
    whole = make_clip(tmp_path / "whole.mp4", n=8).read_bytes()
    (tmp_path / "cut.mp4").write_bytes(whole[: len(whole) // 2])  # moov is at the end: lost
    fast = make_clip(tmp_path / "fast.mp4", n=8, container_options={"movflags": "faststart"}).read_bytes()
    moov_end = fast.index(b"mdat") + 4
    (tmp_path / "cutfast.mp4").write_bytes(fast[:moov_end])  # index present, no frame data
    cases = {"missing.mp4": "not found", "empty.mp4": "empty", "text.mp4": "not a video",
             "audio.mp4": "no video stream", "cut.mp4": "not a video", "cutfast.mp4": "no decodable"}
    for name, words in cases.items():
        with pytest.raises(MediaError) as err:
            open_video(tmp_path / name)
        assert words in str(err.value) and "\n" not in str(err.value), name


SHARED_VIDEOS = ["bigbuckbunny.mp4", "carphone_distorted.mp4", "bikes.mp4", "vtest.avi", "Megamind.avi"]


@pytest.mark.parametrize("name", SHARED_VIDEOS)
def test_shared_sample_videos(name):
    from tests.conftest import SHARED_DATA

    path = SHARED_DATA / "video" / name
    if not path.exists():
        pytest.skip("../shared/data not available")
    with open_video(path, with_qp=True) as reader:
        info = reader.info
        frames = []
        for frame in reader.frames():
            frames.append(frame)
            if len(frames) == 3:
                break
        assert info.width > 0 and info.frame_count > 0 and info.fps > 0
        assert frames[0].pixels.shape == (info.height, info.width, 3)
        assert (frames[0].qp_map is not None) == (info.codec == "h264")
        later = reader.frame_at(1.0)
        assert later.time <= 1.0 + 1e-6 and 1.0 - later.time < 2 / float(info.fps)

"""Audio and subtitle streams: copied packet for packet where the container can hold them, else transcoded
(audio) or dropped (subtitles), and the report says which. Also: a full disk is one clear OutputError."""
from __future__ import annotations

import errno

import av
import pytest

from engine.errors import OutputError
from engine.export import ExportSettings, export_video
from engine.export import encode as encode_module
from engine.restore import create_restorer
from tests.engine.export_media import make_clip, packet_payloads

FAST = dict(quality=50, preset="ultrafast", segment_seconds=0.32)


@pytest.fixture(scope="module")
def deblock():
    return create_restorer("deblock")


def test_subtitles_copied_into_mkv_and_dropped_from_mp4(tmp_path, deblock):
    src = tmp_path / "subs.mkv"
    make_clip(src, frames=12, audio=True, subtitles=True)
    mkv = export_video(src, tmp_path / "out.mkv", ExportSettings(**FAST), restorer=deblock)
    assert mkv.audio == ["audio #1 (aac): copied", "subtitle #2 (srt): copied"]
    assert packet_payloads(tmp_path / "out.mkv", "subtitle") == packet_payloads(src, "subtitle") != []
    mp4 = export_video(src, tmp_path / "out.mp4", ExportSettings(**FAST), restorer=deblock)
    assert mp4.audio[1] == "subtitle #2 (srt): dropped, the mp4 container cannot hold srt subtitles"
    assert packet_payloads(tmp_path / "out.mp4", "audio") == packet_payloads(src, "audio")


def test_audio_the_container_cannot_hold_is_transcoded(tmp_path, deblock):
    src = tmp_path / "mulaw.mov"
    make_clip(src, frames=12, audio=True, audio_codec="pcm_mulaw")
    dst = tmp_path / "out.mkv"
    report = export_video(src, dst, ExportSettings(**FAST), restorer=deblock)
    assert report.audio == ["audio #1 (pcm_mulaw): transcoded to flac, the matroska container cannot hold pcm_mulaw"]
    with av.open(str(src)) as a, av.open(str(dst)) as b:
        samples_in = sum(f.samples for f in a.decode(audio=0))
        samples_out = sum(f.samples for f in b.decode(audio=0))
    assert samples_out == samples_in


def test_audio_can_be_left_out(tmp_path, deblock):
    src = tmp_path / "a.mp4"
    make_clip(src, frames=8, audio=True)
    report = export_video(src, tmp_path / "out.mp4", ExportSettings(keep_audio=False, **FAST), restorer=deblock)
    assert report.audio == ["audio #1 (aac): left out (by settings)"]
    assert packet_payloads(tmp_path / "out.mp4", "audio") == []


def test_full_disk_is_one_clear_error(tmp_path, deblock, monkeypatch):
    src = tmp_path / "a.mp4"
    make_clip(src, frames=12)

    def full_disk(self, pixels, pts):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(encode_module.SegmentWriter, "write", full_disk)
    with pytest.raises(OutputError, match="disk full"):
        export_video(src, tmp_path / "out.mp4", ExportSettings(**FAST), restorer=deblock)
    assert not (tmp_path / "out.mp4").exists()
    assert not list(tmp_path.glob("*.part*"))

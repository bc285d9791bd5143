"""Synthetic clips for the export tests, made with PyAV in tmp_path (no shared data needed)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np


def moving_pattern(index: int, width: int, height: int) -> np.ndarray:
    """A frame with edges and motion, so codecs and restorers have something to work on."""
    y, x = np.mgrid[0:height, 0:width]
    r = ((x + 3 * index) % 32 < 16).astype(np.uint8) * 180 + 40
    g = ((y * 255) // max(height - 1, 1)).astype(np.uint8)
    b = (((x + y + 5 * index) * 4) % 256).astype(np.uint8)
    return np.dstack([r, g, b]).astype(np.uint8)


def make_clip(path: Path, *, frames: int = 20, size=(96, 64), codec: str = "libx264", time_base=Fraction(1, 90000),
              frame_times: list[float] | None = None, audio: bool = False, rotation: int = 0,
              colorspace: str | None = None, pix_fmt: str = "yuv420p", gop: int = 8,
              subtitles: bool = False, audio_codec: str = "aac", bframes: int = 0,
              sample_aspect_ratio: Fraction | None = None) -> list[int]:
    """Write a clip and return the pts of its video frames (stream time base). `frame_times` makes it VFR."""
    width, height = size
    times = frame_times if frame_times is not None else [i / 25 for i in range(frames)]
    pts_list = [int(round(t / time_base)) for t in times]
    with av.open(str(path), "w") as out:
        video = out.add_stream(codec, rate=25)
        video.width, video.height, video.pix_fmt = width, height, pix_fmt
        video.time_base = time_base
        video.codec_context.time_base = time_base
        video.codec_context.gop_size = gop
        if codec == "libx264":
            video.codec_context.options = {"preset": "ultrafast", "crf": "30", "threads": "1", "bf": str(bframes)}
        if colorspace == "bt709":
            video.codec_context.colorspace = 1
            video.codec_context.color_primaries = 1
            video.codec_context.color_trc = 1
            video.codec_context.color_range = 1  # limited ("tv")
        if rotation:
            video.set_display_rotation(rotation)
        if sample_aspect_ratio:
            video.codec_context.sample_aspect_ratio = sample_aspect_ratio
        sound = None
        if audio:
            sound = out.add_stream(audio_codec, rate=48000, layout="mono")
        srt = _srt_file(path, times) if subtitles else None
        subs = out.add_stream_from_template(srt.streams.subtitles[0]) if srt else None
        for i, pts in enumerate(pts_list):
            frame = av.VideoFrame.from_ndarray(moving_pattern(i, width, height), format="rgb24")
            frame = frame.reformat(format=pix_fmt)
            frame.pts, frame.time_base = pts, time_base
            out.mux(video.encode(frame))
        out.mux(video.encode(None))
        if srt is not None:
            for cue in srt.demux(srt.streams.subtitles[0]):
                if cue.size:
                    cue.stream = subs
                    out.mux(cue)
            srt.close()
        if sound is not None:
            duration = times[-1] + 0.04
            samples = int(duration * 48000)
            t = np.arange(samples) / 48000
            wave = (0.2 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)[None]
            if audio_codec.startswith("pcm_"):
                wave, fmt = (wave * 32767).astype(np.int16), "s16"
            else:
                fmt = "fltp"
            for start in range(0, samples, 1024):
                chunk = av.AudioFrame.from_ndarray(np.ascontiguousarray(wave[:, start:start + 1024]), format=fmt,
                                                   layout="mono")
                chunk.sample_rate, chunk.pts = 48000, start
                out.mux(sound.encode(chunk))
            out.mux(sound.encode(None))
    return pts_list


def _srt_file(path: Path, times: list[float]):
    """A SubRip file with a cue every few frames, opened for demuxing (its stream is the template)."""
    def stamp(t):
        ms = int(round(t * 1000))
        return f"00:00:{ms // 1000:02d},{ms % 1000:03d}"

    cues = [f"{k + 1}\n{stamp(t)} --> {stamp(t + 0.1)}\ncue {k}\n" for k, t in enumerate(times[::5])]
    srt_path = path.with_name(path.stem + ".srt")
    srt_path.write_text("\n".join(cues))
    return av.open(str(srt_path))


def video_pts_seconds(path: Path) -> list[float]:
    """Presentation times of every decoded video frame, in order."""
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        return [float(f.pts * stream.time_base) for f in src.decode(stream)]


def decoded_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as src:
        return [f.to_ndarray(format="rgb24") for f in src.decode(video=0)]


def packet_payloads(path: Path, kind: str) -> list[bytes]:
    with av.open(str(path)) as src:
        streams = [s for s in src.streams if s.type == kind]
        if not streams:
            return []
        return [bytes(p) for p in src.demux(streams[0]) if p.size]

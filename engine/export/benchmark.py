"""`main.py benchmark export`: fps of each stage alone (decode, restore, encode) against the full threaded
pipeline, and the process RSS at a few frame counts to show memory stays flat."""
from __future__ import annotations

import dataclasses
import resource
import tempfile
import time
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .encode import SegmentWriter, default_encoder_threads, plan_encoder
from .settings import ExportSettings
from .source import DecodeStats, decode_frames, probe_source
from .stages import FrameRestorer
from .video_export import _make_restorer, export_video

LOOP_FRAMES = 48  # frames encoded once for the synthetic clip; the rest are the same packets re-timed
RSS_AT = (100, 5000)
STAGE_FRAMES = 150  # stages alone are timed on at most this many frames (their outputs are held in memory)
RATE = 25


def _rss_mb() -> float:
    """Current resident set size (Linux /proc), falling back to the peak where /proc is missing."""
    try:
        with open("/proc/self/statm") as f:
            pages = int(f.read().split()[1])
        return pages * resource.getpagesize() / 2**20
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def make_looped_clip(path: Path, frames: int, size=(1280, 720)) -> Path:
    """An H.264 clip of `frames` frames: one closed GOP encoded once, its packets muxed again and again with
    shifted timestamps, so long clips cost no encoding time."""
    width, height = size
    tb = Fraction(1, RATE * 512)
    step = int(1 / (RATE * tb))
    with tempfile.TemporaryDirectory() as tmp:
        gop_path = Path(tmp) / "gop.mp4"
        with av.open(str(gop_path), "w") as out:
            stream = out.add_stream("libx264", rate=RATE)
            stream.width, stream.height, stream.pix_fmt = width, height, "yuv420p"
            stream.codec_context.time_base = tb
            stream.codec_context.gop_size = LOOP_FRAMES
            stream.codec_context.options = {"preset": "veryfast", "crf": "32", "bf": "0"}
            y, x = np.mgrid[0:height, 0:width]
            for i in range(LOOP_FRAMES):
                checker = ((x // 16 + y // 16) % 2) * 200
                rgb = np.dstack([(x + 7 * i) % 256, (y + 3 * i) % 256, checker]).astype(np.uint8)
                frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
                frame.pts, frame.time_base = i * step, tb
                out.mux(stream.encode(frame))
            out.mux(stream.encode(None))
        with av.open(str(gop_path)) as gop, av.open(str(path), "w") as out:
            src = gop.streams.video[0]
            dst = out.add_stream_from_template(src)
            packets = [p for p in gop.demux(src) if p.size]
            loops = -(-frames // LOOP_FRAMES)
            for loop in range(loops):
                for k, packet in enumerate(packets):
                    if loop * LOOP_FRAMES + k >= frames:
                        break
                    shift = int(round(loop * LOOP_FRAMES / RATE / packet.time_base))
                    copy = av.Packet(bytes(packet))
                    copy.pts, copy.dts = packet.pts + shift, packet.dts + shift
                    copy.time_base, copy.stream = packet.time_base, dst
                    copy.is_keyframe = packet.is_keyframe
                    out.mux(copy)
    return path


def _fps(frames: int, seconds: float) -> float:
    return round(frames / seconds, 2) if seconds > 0 else 0.0


def benchmark_export(source=None, frames: int = 200, restorer_name: str | None = None, size=(1280, 720),
                     settings: ExportSettings | None = None) -> dict:
    settings = settings or ExportSettings(model=restorer_name, quality="auto")
    restorer = _make_restorer(settings)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        src = Path(source) if source else make_looped_clip(tmp / "synthetic.mp4", frames, size)
        info = probe_source(src)
        result = {"source": str(source) if source else f"synthetic {size[0]}x{size[1]}", "frames": frames,
                  "restorer": restorer.name, "device": restorer.device, "codec": settings.codec}

        t0, decoded, kept = time.perf_counter(), 0, []
        # Same inputs as the pipeline: with Auto strength the frames carry their QP maps (else the blind head runs).
        for f in decode_frames(src, info, DecodeStats(), want_qp=settings.quality == "auto"):
            decoded += 1
            if len(kept) < 8:
                kept.append(f)
            if decoded >= frames:
                break
        result["decode_fps"] = _fps(decoded, time.perf_counter() - t0)
        n = min(frames, decoded)
        n_stage = min(n, STAGE_FRAMES)

        stage = FrameRestorer(restorer, settings.quality, 10**9, None)
        t0 = time.perf_counter()
        restored = [stage([kept[i % len(kept)]])[0] for i in range(n_stage)]
        result["restore_fps"] = _fps(n_stage, time.perf_counter() - t0)

        segment_frames = max(1, int(round(settings.segment_seconds * float(info.rate))))
        plan = plan_encoder(settings, settings.codec_spec(), info, default_encoder_threads(), segment_frames)
        step = max(1, int(round(1 / (info.rate * info.time_base))))
        t0 = time.perf_counter()
        for start in range(0, n_stage, segment_frames):
            writer = SegmentWriter(tmp / f"enc{start}.seg", plan)
            for i in range(start, min(n_stage, start + segment_frames)):
                writer.write(restored[i].pixels, i * step)
            writer.close()
        result["encode_fps"] = _fps(n_stage, time.perf_counter() - t0)
        del restored

        rss = {}

        def progress(p):
            if p.frames_done in RSS_AT or p.frames_done == n:
                rss[str(p.frames_done)] = round(_rss_mb(), 1)

        end = (n - 0.5) / float(info.rate) if source else None
        full = dataclasses.replace(settings, end=end)
        t0 = time.perf_counter()
        report = export_video(src, tmp / "out.mp4", full, restorer=restorer, progress=progress)
        wall = time.perf_counter() - t0
        result.update(pipeline_fps=_fps(report.frames, wall), pipeline_stage_seconds=report.seconds, rss_mb=rss)
        slowest = min(result["decode_fps"], result["restore_fps"], result["encode_fps"])
        result["pipeline_vs_slowest_stage"] = round(result["pipeline_fps"] / slowest, 3) if slowest else None
    restorer.close()
    return result

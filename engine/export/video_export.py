"""export_video: decode -> restore -> encode in closed-GOP segments (resumable), then remux with audio/subtitles
into a temp file beside the destination and move it into place.

Failure policy: cancel removes the work folder (segments and the temp output inside it); any other failure
(error, kill, full disk) and a cancel with `keep_partial` (the app quitting) keep the finished segments so
`resume=True` continues where it stopped. The destination
is only ever touched by the final os.replace.
"""
from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

import av

from ..cancel import CancelToken
from ..errors import Cancelled, MediaError, OutputError, RestoraError
from .atomic import check_input, check_not_input, check_output_folder, output_error, publish, remove_quietly
from .encode import default_encoder_threads, plan_encoder
from .layout import output_shape
from .pipeline import Pipeline
from .remux import TimeWindow, assemble
from .segments import SegmentStore, source_identity
from .settings import CONTAINERS, ExportReport, ExportSettings, validate_video_settings
from .source import DecodeStats, SourceInfo, decode_frames, probe_source
from .stages import FrameRestorer, ProgressFn, SegmentSink

MIN_SEGMENT_FRAMES = 8  # below this, per-segment encoder start-up and keyframes cost more than resume saves


def _restorer_identity(restorer) -> dict:
    spec = getattr(restorer, "spec", None)
    ident = {"name": getattr(restorer, "name", type(restorer).__name__)}
    path = getattr(spec, "path", None)
    if path is not None and Path(path).exists():
        st = Path(path).stat()
        ident.update(size=st.st_size, mtime_ns=st.st_mtime_ns)
    return ident


def _make_restorer(settings: ExportSettings):
    from ..restore import create_restorer
    try:
        return create_restorer(settings.model, settings.device, ensemble=settings.ensemble)
    except ValueError as exc:
        raise RestoraError(str(exc)) from None


def _frame_estimate(info: SourceInfo, settings: ExportSettings) -> int:
    if settings.start is None and settings.end is None:
        return info.frame_estimate
    start = settings.start or 0.0
    end = settings.end if settings.end is not None else info.duration
    return max(1, int(round(max(0.0, min(end, info.duration) - start) * float(info.rate))))


def export_video(src, dst, settings: ExportSettings | None = None, *, progress: ProgressFn | None = None,
                 cancel: CancelToken | None = None, restorer=None, resume: bool = False) -> ExportReport:
    """Restore a video into `dst` (container from its extension). See the module docstring for failure policy."""
    settings = settings or ExportSettings()
    src, dst = Path(src), Path(dst)
    check_input(src)
    spec = validate_video_settings(settings, dst)
    check_output_folder(dst)
    check_not_input(src, dst)
    info = probe_source(src)
    started = time.perf_counter()
    own_restorer = restorer is None
    restorer = _make_restorer(settings) if own_restorer else restorer
    report = ExportReport(input=src, output=dst, restorer=getattr(restorer, "name", ""))
    segment_frames = max(MIN_SEGMENT_FRAMES, int(round(settings.segment_seconds * float(info.rate))))
    fingerprint = settings.fingerprint(restorer=_restorer_identity(restorer), av=av.__version__,
                                       libs=av.library_versions, segment_frames=segment_frames)
    store = SegmentStore(dst, fingerprint, source_identity(src), segment_frames, default_encoder_threads())
    tmp = store.dir / "output.part"  # inside the work folder: beside the destination, and swept on resume
    sink = None
    try:
        report.resumed_frames = store.open(resume)
        plan = plan_encoder(settings, spec, info, store.encoder_threads, segment_frames)
        height, width = output_shape(plan.height, plan.width, settings.layout, info.rotation)
        plan = replace(plan, width=width, height=height)
        stats = DecodeStats()
        frames = decode_frames(src, info, stats, start=settings.start, end=settings.end,
                               skip=lambda i: store.is_done(store.segment_of(i)), want_qp=settings.quality == "auto")
        sink = SegmentSink(store, plan, progress, _frame_estimate(info, settings), report.resumed_frames)
        pipeline = Pipeline(cancel)
        restore = FrameRestorer(restorer, settings.quality, segment_frames, cancel, settings.layout, info.rotation)
        pipeline.run(frames, restore, sink,
                     batch=settings.batch_size, group=lambda f: store.segment_of(f.index))
        sink.finish()
        if stats.frames == 0:
            store.remove()
            raise MediaError(f"{src.name}: no frames in the chosen range")
        t0 = time.perf_counter()
        segments = store.ordered_paths(stats.frames)
        container = CONTAINERS[dst.suffix.lower()]
        tag = spec.tag_for_mp4 if container in ("mp4", "mov") else None
        start_abs = float(info.start_pts * info.time_base)
        window = TimeWindow(start=None if settings.start is None else start_abs + settings.start,
                            end=None if settings.end is None else start_abs + settings.end,
                            shift=float(stats.offset_pts * info.time_base))
        report.audio = assemble(segments, src, tmp, container=container, plan=plan, rotation=info.rotation,
                                window=window, keep_audio=settings.keep_audio, keep_subtitles=settings.keep_subtitles,
                                tag=tag, cancel=cancel)
        publish(tmp, dst)
        mux_seconds = time.perf_counter() - t0
    except BaseException as exc:
        # Keep finished segments for a resume unless the user abandoned the export (an app quitting keeps them).
        keep = not isinstance(exc, Cancelled) or (cancel is not None and cancel.keep_partial)
        if sink is not None:
            sink.abort(keep_finished=keep)
        remove_quietly(tmp)
        if isinstance(exc, Cancelled):
            if not keep:
                store.remove()
            raise
        if isinstance(exc, OSError):  # includes PyAV's errno errors: disk full, permission denied
            raise output_error(exc, dst) from None
        if isinstance(exc, av.FFmpegError):
            raise OutputError(f"{dst.name}: encoding failed ({str(exc).splitlines()[0][:160]})") from None
        raise
    finally:
        if own_restorer:
            restorer.close()
    _fill_report(report, store, stats, sink, pipeline, mux_seconds, time.perf_counter() - started)
    store.remove()
    return report


def _fill_report(report: ExportReport, store: SegmentStore, stats: DecodeStats, sink: SegmentSink,
                 pipeline: Pipeline, mux_seconds: float, total_seconds: float) -> None:
    records = store.done.values()
    report.frames = stats.frames
    report.segments = len(store.done)
    report.skipped_frames = stats.skipped
    report.corrupt_frames = sum(r.corrupt_frames for r in records)
    report.quality_used = sum(r.quality_sum for r in records) / max(1, stats.frames)
    report.quality_source = max(sink.sources, key=sink.sources.get) if sink.sources else "resumed"
    report.seconds = {**{k: round(v, 4) for k, v in pipeline.seconds.items()},
                      "encode_flush": round(sink.flush_seconds, 4), "mux": round(mux_seconds, 4),
                      "total": round(total_seconds, 4)}
    report.fps = round((stats.frames - report.resumed_frames) / total_seconds, 3) if total_seconds > 0 else 0.0
    if stats.skipped:
        report.notes.append(f"{stats.skipped} frame(s) could not be decoded and are missing from the output")
    if stats.repaired_pts:
        report.notes.append(f"{stats.repaired_pts} frame(s) had missing or non-increasing timestamps (nudged)")
    if report.resumed_frames:
        report.notes.append(f"resumed: {report.resumed_frames} frame(s) reused from an interrupted export")

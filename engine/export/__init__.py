"""Export: restored video (resumable, faithful to the source's timing and metadata) and restored stills."""
from .image_export import export_image
from .layout import LAYOUTS as EXPORT_LAYOUTS
from .settings import CODECS, CONTAINERS, CodecSpec, ExportProgress, ExportReport, ExportSettings
from .segments import work_dir_for
from .video_export import export_video

__all__ = ["CODECS", "CONTAINERS", "EXPORT_LAYOUTS", "CodecSpec", "ExportProgress", "ExportReport", "ExportSettings", "export_image",
           "export_video", "benchmark_export", "work_dir_for"]


def benchmark_export(*args, **kwargs):
    """See engine.export.benchmark (imported lazily: it is only needed by `main.py benchmark export`)."""
    from .benchmark import benchmark_export as run
    return run(*args, **kwargs)

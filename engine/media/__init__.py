"""Media I/O: still images (Pillow/OpenCV) and video (PyAV)."""
from __future__ import annotations

from pathlib import Path

from ..errors import MediaError
from .image_io import MAX_PIXELS, apply_exif_orientation, check_readable, is_image_file, load_image, save_image
from .types import ImageData, VideoFrame, VideoInfo
from .video_reader import VideoReader, apply_rotation, open_video

# Extensions only decide which sniffer runs first; the content decides the answer.
VIDEO_EXTENSIONS = {".mp4", ".m4v", ".mkv", ".mov", ".avi", ".webm", ".mpg", ".mpeg", ".ts", ".m2ts", ".mts",
                    ".wmv", ".flv", ".3gp", ".ogv", ".mxf", ".y4m"}


def _is_video(path: Path) -> bool:
    import av

    try:
        with av.open(str(path), metadata_errors="ignore") as container:
            # FFmpeg also opens stills (png_pipe, jpeg_pipe, image2...): those are not videos.
            still = container.format.name == "image2" or container.format.name.endswith("_pipe")
            return bool(container.streams.video) and not still
    except (av.FFmpegError, OSError, UnicodeDecodeError):
        return False


def media_kind(path) -> str:
    """"image" or "video", sniffed from the content (the extension only orders the checks); MediaError if neither.

    Still formats that FFmpeg also opens (JPEG, PNG...) are images: Pillow answers first unless the extension
    says video. Animated GIF/WebP count as images (first frame).
    """
    path = Path(path)
    check_readable(path)
    checks = [("image", lambda: is_image_file(path)), ("video", lambda: _is_video(path))]
    if path.suffix.lower() in VIDEO_EXTENSIONS:
        checks.reverse()
    for kind, check in checks:
        if check():
            return kind
    raise MediaError(f"{path.name} is neither an image nor a video Restora can read")


__all__ = ["ImageData", "VideoFrame", "VideoInfo", "VideoReader", "MAX_PIXELS", "apply_exif_orientation",
           "apply_rotation", "check_readable", "load_image", "media_kind", "open_video", "save_image"]

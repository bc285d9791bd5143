"""export_image: restore one still and save it as PNG / JPEG / WebP (format from the extension), keeping alpha,
ICC profile and EXIF where the format can. The write is atomic (image_io.save_image)."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable

from ..auto.strength import AutoStrength, StrengthDecision
from ..cancel import CancelToken, check
from ..errors import OutputError
from ..media.image_io import load_image, save_image
from ..restore.grid_align import restore_on_grid
from .atomic import check_input, check_not_input, check_output_folder
from .layout import check_layout, compose
from .settings import IMAGE_EXTENSIONS, ExportProgress, ExportReport, ExportSettings, check_quality


def save_restored_frame(dst, restored, src, image=None) -> Path:
    """Save one restored frame the viewer shows (File → Save Frame As…): the format from the extension, never
    over the input, atomically. `image`: the still's ImageData, whose alpha, ICC profile and EXIF are kept."""
    dst, src = Path(dst), Path(src)
    if dst.suffix.lower() not in IMAGE_EXTENSIONS:
        raise OutputError(f"unsupported image extension {dst.suffix or '(none)'!r}: use .png, .jpg or .webp")
    check_output_folder(dst)
    check_not_input(src, dst)
    if image is None:
        return save_image(dst, restored)
    return save_image(dst, restored, image.alpha, icc_profile=image.icc_profile, exif=image.exif)


def first_frame_note(image) -> list[str]:
    """Animated images are read as stills: say so rather than drop the other frames silently."""
    if image.frame_count <= 1:
        return []
    return [f"{image.frame_count} frames: restored the first (animated images are read as stills)"]


def grid_note(image) -> list[str]:
    """A still cut off its JPEG grid is restored shifted onto it: say so, it explains a shifted result."""
    if image.block_grid == (0, 0):
        return []
    return ["8x8 blocks start at row {}, column {} (a cropped or re-saved JPEG): restored on that grid".format(
        *image.block_grid)]


def export_image(src, dst, settings: ExportSettings | None = None, *,
                 progress: Callable[[ExportProgress], None] | None = None, cancel: CancelToken | None = None,
                 restorer=None) -> ExportReport:
    settings = settings or ExportSettings()
    src, dst = Path(src), Path(dst)
    check_input(src)
    if dst.suffix.lower() not in IMAGE_EXTENSIONS:
        raise OutputError(f"unsupported image extension {dst.suffix or '(none)'!r}: use .png, .jpg or .webp")
    check_quality(settings.quality)
    check_layout(settings.layout)
    check_output_folder(dst)
    check_not_input(src, dst)
    started = time.perf_counter()
    image = load_image(src)
    own = restorer is None
    if own:
        from .video_export import _make_restorer
        restorer = _make_restorer(settings)
    try:
        if settings.quality == "auto":
            decision = AutoStrength(restorer).for_image(image)
        else:
            decision = StrengthDecision(float(settings.quality), float(settings.quality), "manual")
        check(cancel)
        t0 = time.perf_counter()
        restored = restore_on_grid(restorer, image.pixels, decision.quality, image.block_grid, cancel)
        restore_seconds = time.perf_counter() - t0
        check(cancel)
        t0 = time.perf_counter()
        alpha = image.alpha
        if settings.layout != "restored":
            restored = compose(image.pixels, restored, settings.layout)
            alpha = None if alpha is None else compose(alpha, alpha, settings.layout, captions=False)
        save_image(dst, restored, alpha, quality=settings.image_quality, icc_profile=image.icc_profile,
                   exif=image.exif)
        save_seconds = time.perf_counter() - t0
    finally:
        if own:
            restorer.close()
    total = time.perf_counter() - started
    if progress is not None:
        progress(ExportProgress(1, 1, 1.0 / total if total > 0 else 0.0, 0.0, decision.mean_quality, decision.source))
    return ExportReport(input=src, output=dst, frames=1, seconds={"restore": round(restore_seconds, 4),
                                                                  "encode": round(save_seconds, 4),
                                                                  "total": round(total, 4)},
                        quality_used=decision.mean_quality, quality_source=decision.source,
                        restorer=getattr(restorer, "name", ""),
                        notes=first_frame_note(image) + grid_note(image))

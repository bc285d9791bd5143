"""Restora's engine: media I/O, models, restoration, export and the headless commands. Never imports Qt.

The GUI imports only the names listed in `_EXPORTS` (a test enforces it). They load lazily so `import engine`
stays cheap and the CLI's `--help` does not pay for torch.
"""
from importlib import import_module

_EXPORTS = {
    # errors and cancellation
    "RestoraError": "engine.errors", "MediaError": "engine.errors", "OutputError": "engine.errors",
    "Cancelled": "engine.errors", "CancelToken": "engine.cancel",
    "VERSION": "engine.version", "version_line": "engine.version",  # Help → About, `--version`
    # devices and restorers
    "available_devices": "engine.device", "resolve_device": "engine.device",
    "Restorer": "engine.restore", "create_restorer": "engine.restore", "restorer_names": "engine.restore",
    "default_restorer_name": "engine.restore",
    "restore_visible_region": "engine.restore.visible_region",  # the live preview when zoomed in
    "restore_on_grid": "engine.restore.grid_align",  # a still whose 8x8 blocks do not start at its corner
    "turned_block_grid": "engine.restore.grid_align",  # ... or a video frame turned upright for display
    "list_models": "engine.models.registry", "ModelSpec": "engine.models.registry",
    # media
    "ImageData": "engine.media.types", "VideoInfo": "engine.media.types", "VideoFrame": "engine.media.types",
    "load_image": "engine.media", "save_image": "engine.media", "media_kind": "engine.media",
    "open_video": "engine.media", "apply_rotation": "engine.media", "VideoReader": "engine.media",
    # auto strength
    "AutoStrength": "engine.auto", "StrengthDecision": "engine.auto", "resolve_strength": "engine.auto",
    "estimate_jpeg_quality": "engine.auto", "qp_to_quality": "engine.auto", "frame_quality": "engine.auto",
    # export (video: resumable, faithful timing/audio/metadata; stills: PNG/JPEG/WebP)
    "ExportSettings": "engine.export", "ExportProgress": "engine.export", "ExportReport": "engine.export",
    "export_video": "engine.export", "export_image": "engine.export", "CODECS": "engine.export",
    "work_dir_for": "engine.export",  # the resume record of an interrupted export, beside its destination
    "CONTAINERS": "engine.export", "EXPORT_LAYOUTS": "engine.export",  # restored only, or before/after
    "save_restored_frame": "engine.export.image_export",  # File → Save Frame As…
    # requests / results exchanged with the GUI's worker
    "RestoreFrameRequest": "engine.requests", "RestoreResult": "engine.requests", "next_request_id": "engine.requests",
    "OpenMediaRequest": "engine.requests", "ConfigureRestorerRequest": "engine.requests",
    "MediaOpened": "engine.requests", "SaveFrameRequest": "engine.requests", "RestorerReady": "engine.requests", "STRENGTH_MODES": "engine.requests",
}


def __getattr__(name):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'engine' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + list(_EXPORTS))

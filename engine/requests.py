"""Immutable messages exchanged between a front end (the GUI's worker thread) and the engine.

Every request carries an id from `next_request_id()`; ids grow monotonically, so a receiver can drop any
result whose id is older than what it already shows. Pure Python on purpose: no Qt here.
"""
from __future__ import annotations

import itertools
import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

_ids = itertools.count(1)
_ids_lock = threading.Lock()

STRENGTH_MODES = ("absolute", "relative", "auto")


def next_request_id() -> int:
    with _ids_lock:
        return next(_ids)


@dataclass(frozen=True)
class OpenMediaRequest:
    """Open an image or a video; the worker answers with MediaOpened or a failure."""
    id: int
    path: Path


@dataclass(frozen=True)
class ConfigureRestorerRequest:
    """Switch model and/or device; the restorer is built on the worker thread (it may take seconds)."""
    id: int
    restorer: str | None  # None = the default for the device
    device: str = "auto"


@dataclass(frozen=True)
class RestoreFrameRequest:
    """Restore the frame shown at `time` (videos) or the still image (time ignored).

    `slider` is on the JPEG quality scale 1..100; `mode` says how it combines with Auto (see engine.auto).
    `supersedes` lets the worker abandon an in-flight restore this request makes pointless (paused slider drags);
    playback leaves it False so a slow restorer still finishes frames instead of cancelling every one.
    """
    id: int
    media_id: int  # id of the OpenMediaRequest this frame belongs to
    time: float = 0.0
    slider: float = 50.0
    mode: str = "absolute"
    supersedes: bool = False
    region: tuple[int, int, int, int] | None = None  # (x, y, w, h) the viewer shows when zoomed in; None: all


@dataclass(frozen=True)
class SaveFrameRequest:
    """Restore the whole frame at `time` with these controls and save it to `path` (PNG/JPEG/WebP); the worker
    answers with frameSaved or a failure. Without a path it hands the restored pixels back (Edit → Copy)."""
    id: int
    media_id: int
    time: float
    slider: float
    mode: str
    path: Path | None = None


@dataclass(frozen=True)
class MediaOpened:
    id: int  # the OpenMediaRequest's id (= media_id of later frame requests)
    path: Path
    kind: str  # "image" | "video"
    width: int  # displayed (upright) size
    height: int
    fps: float = 0.0
    frame_count: int = 1
    duration: float = 0.0
    start_time: float = 0.0
    description: str = ""  # one line for the status bar: codec, size, bit depth...


@dataclass(frozen=True)
class RestoreResult:
    id: int  # the RestoreFrameRequest's id
    media_id: int
    frame_index: int
    time: float
    original: np.ndarray = field(repr=False)  # upright, what the user sees as "before"
    restored: np.ndarray = field(repr=False)
    quality_used: float = 50.0  # the quality the restorer was given (mean of the map when per-block)
    quality_source: str = ""  # where Auto's number came from ("JPEG tables", "QP", "estimate", "slider")
    auto_quality: float | None = None  # what Auto said, when it was consulted
    restore_seconds: float = 0.0
    decode_seconds: float = 0.0
    restorer: str = ""
    device: str = ""
    region: tuple[int, int, int, int] | None = None  # the crop restored (x, y, w, h); elsewhere `restored` is
    # the decoded frame. None: the whole frame was restored.


@dataclass(frozen=True)
class RestorerReady:
    id: int
    name: str
    title: str
    device: str
    precision: str = "fp32"  # "fp16" on CUDA, "bf16" on CPUs with bf16 units (the model's convolutions)

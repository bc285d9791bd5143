"""Test images and the degradation the harness applies to them.

The harness makes its own JPEGs (Pillow/libjpeg, standard IJG tables, 4:2:0 chroma for colour) so results depend
only on the clean images and the quality factor, as in the ARCNN/DnCNN/FBCNN evaluations.
"""
from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import MediaError
from .metrics import rgb_to_luma

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".ppm", ".pgm", ".webp"}
CHROMA_420 = 2  # Pillow's `subsampling` code for 4:2:0


@dataclass(frozen=True)
class ReferenceImage:
    name: str
    pixels: np.ndarray  # uint8, HxWx3 RGB or HxW grey: the clean reference


@dataclass
class DatasetSpec:
    name: str
    folder: Path
    grey: bool = False
    limit: int | None = None  # first N images (sorted by file name)
    method_limits: dict[str, int] = field(default_factory=dict)  # slow methods may see only the first N


def image_paths(folder: Path) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise MediaError(f"not a folder: {folder}")
    paths = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise MediaError(f"no images in {folder}")
    return paths


def load_clean(path: Path, grey: bool) -> np.ndarray:
    """Read a reference image as uint8 RGB, or as luma when `grey` (grey files are taken as they are)."""
    try:
        with Image.open(path) as im:
            im.load()
            if im.mode in ("L", "I;16", "I"):
                pixels = np.asarray(im.convert("L")) if im.mode == "L" else _sixteen_to_eight(np.asarray(im))
                return pixels if grey else np.repeat(pixels[:, :, None], 3, axis=2)
            rgb = np.asarray(im.convert("RGB"))
    except (UnidentifiedImageError, OSError) as exc:
        raise MediaError(f"cannot read image {path.name}: {exc}") from exc
    return rgb_to_luma(rgb) if grey else rgb


def _sixteen_to_eight(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x.astype(np.float64) / 257.0), 0, 255).astype(np.uint8)


def load_folder(folder: Path, grey: bool, limit: int | None = None) -> list[ReferenceImage]:
    paths = image_paths(folder)
    if limit is not None and limit > 0:
        paths = paths[:limit]
    return [ReferenceImage(p.stem, load_clean(p, grey)) for p in paths]


def jpeg_roundtrip(pixels: np.ndarray, quality: int) -> np.ndarray:
    """Encode with libjpeg at `quality` (grey JPEG for HxW input, 4:2:0 colour otherwise) and decode again."""
    if not 1 <= int(quality) <= 100:
        raise ValueError(f"JPEG quality must be 1..100, got {quality}")
    grey = pixels.ndim == 2
    buf = io.BytesIO()
    options = {"quality": int(quality)}
    if not grey:
        options["subsampling"] = CHROMA_420
    Image.fromarray(pixels, "L" if grey else "RGB").save(buf, "JPEG", **options)
    buf.seek(0)
    with Image.open(buf) as im:
        return np.asarray(im.convert("L" if grey else "RGB")).copy()


def to_720p(pixels: np.ndarray) -> np.ndarray:
    """A 1280x720 frame made from a test image (tiled, then cropped) for per-frame timing."""
    reps_y = -(-720 // pixels.shape[0])
    reps_x = -(-1280 // pixels.shape[1])
    tiles = (reps_y, reps_x) + ((1,) if pixels.ndim == 3 else ())
    return np.ascontiguousarray(np.tile(pixels, tiles)[:720, :1280])


# The README table: colour LIVE1 and BSDS500 test, grey Classic5. The peers (a few seconds per image on a CPU)
# see only the first PEER_LIMIT_BSDS images of BSDS500 so the whole preset stays well under 15 minutes on 2 cores.
PEER_LIMIT_BSDS = 20
README_SETS = (("LIVE1", "LIVE1", False), ("BSDS500_test", "BSDS500_test", False), ("Classic5", "classic5", True))
README_METHODS = ("jpeg", "deblock", "dncnn3", "mit", "restora", "restora-blind")
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"


def readme_datasets(data_root: Path = SHARED_DATA, limit: int | None = None,
                    peer_limit: int | None = PEER_LIMIT_BSDS, only: list[str] | None = None) -> list[DatasetSpec]:
    known = [name for name, _, _ in README_SETS]
    unknown = sorted(set(only or []) - set(known))
    if unknown:
        raise MediaError(f"unknown set {unknown[0]!r}; the readme preset has {', '.join(known)}")
    specs = []
    for name, sub, grey in README_SETS:
        if only and name not in only:
            continue
        folder = Path(data_root) / "test" / sub
        if not folder.is_dir():
            raise MediaError(f"test set not found: {folder} (use --data-root)")
        limits = {}
        if name == "BSDS500_test" and peer_limit:
            limits = {"dncnn3": peer_limit, "mit": peer_limit}
        specs.append(DatasetSpec(name, folder, grey, limit, limits))
    return specs


"""Still images in and out: Pillow for most things, OpenCV where Pillow would silently drop 16-bit colour.

Loading returns upright pixels (EXIF orientation applied), alpha split off, and, for JPEGs, the IJG quality
estimated from the quantization tables. Saving is atomic: a temp file beside the destination, then os.replace.
"""
from __future__ import annotations

import os
import struct
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from ..errors import MediaError, OutputError
from ..tempfiles import temp_beside
from .types import ImageData

# Largest image we agree to decode. Pillow's own bomb guard is set to the same number so both refuse alike
# (Pillow only *warns* between 1x and 2x its limit; we check the header size ourselves before decoding).
MAX_PIXELS = 100_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS

SAVE_FORMATS = {".png": "PNG", ".jpg": "JPEG", ".jpeg": "JPEG", ".webp": "WEBP", ".tif": "TIFF", ".tiff": "TIFF",
                ".bmp": "BMP"}
DEFAULT_SAVE_QUALITY = {"JPEG": 95, "WEBP": 90}
EXIF_ORIENTATION = 0x0112


def check_readable(path: Path) -> None:
    """One-line MediaError for a path that cannot be media at all (missing, a folder, 0 bytes)."""
    if not path.exists():
        raise MediaError(f"file not found: {path}")
    if path.is_dir():
        raise MediaError(f"{path.name or path} is a folder, not a file")  # '.' has no name
    if path.stat().st_size == 0:
        raise MediaError(f"{path.name} is empty (0 bytes)")


def _open_pillow(path: Path) -> Image.Image:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            im = Image.open(path)
    except Image.DecompressionBombError:
        raise MediaError(f"{path.name} is too large (over {MAX_PIXELS // 1_000_000} megapixels)") from None
    except UnidentifiedImageError:
        raise MediaError(f"{path.name} is not an image Restora can read") from None
    except OSError as exc:
        raise MediaError(f"cannot read {path.name}: {exc.strerror or exc}") from None
    w, h = im.size
    if w * h > MAX_PIXELS:  # header only so far: nothing large has been allocated
        im.close()
        raise MediaError(f"{path.name} is too large: {w}x{h} is over {MAX_PIXELS // 1_000_000} megapixels")
    return im


def _is_16bit_colour(im: Image.Image, path: Path) -> bool:
    """Pillow decodes 16-bit RGB PNG/TIFF to 8 bits without a word; detect them from the header."""
    if im.format == "PNG":
        with open(path, "rb") as f:
            head = f.read(26)
        # IHDR: bytes 24/25 are bit depth and colour type (0 = grey, which Pillow keeps as I;16).
        return len(head) == 26 and head[24] == 16 and head[25] != 0
    if im.format == "TIFF":
        bits = im.tag_v2.get(258, (8,))
        bits = bits if isinstance(bits, tuple) else (bits,)
        return max(bits) >= 16 and len(bits) >= 3
    return False


def _decode_16bit_colour(path: Path) -> np.ndarray:
    import cv2

    data = np.fromfile(str(path), dtype=np.uint8)  # np.fromfile: non-ASCII paths work, cv2.imread's do not
    arr = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    if arr is None:
        raise MediaError(f"{path.name} is damaged or truncated")
    if arr.ndim == 3 and arr.shape[2] == 4:
        return cv2.cvtColor(arr, cv2.COLOR_BGRA2RGBA)
    if arr.ndim == 3 and arr.shape[2] == 3:
        return cv2.cvtColor(arr, cv2.COLOR_BGR2RGB)
    return arr


def _pillow_to_array(im: Image.Image) -> np.ndarray:
    """Any Pillow mode -> uint8/uint16 array, grey HxW, RGB HxWx3 or RGBA / grey+alpha with a last channel."""
    mode = im.mode
    if mode.startswith("I;16"):
        return np.asarray(im).astype(np.uint16)
    if mode in ("I", "F"):
        arr = np.asarray(im, dtype=np.float64)
        top = 1.0 if mode == "F" and arr.max() <= 1.0 else 65535.0
        return np.clip(np.rint(arr / top * 65535.0), 0, 65535).astype(np.uint16)
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode == "1":
        im = im.convert("L")
    elif mode in ("La",):
        im = im.convert("LA")
    elif mode not in ("L", "LA", "RGB", "RGBA"):
        im = im.convert("RGBA" if "A" in mode or "a" in mode else "RGB")  # CMYK, YCbCr, LAB, RGBa, ...
    return np.asarray(im)


def apply_exif_orientation(pixels: np.ndarray, orientation: int) -> np.ndarray:
    """Make pixels upright for EXIF orientation 1..8 (the same transforms as PIL.ImageOps.exif_transpose)."""
    ops = {
        2: lambda a: a[:, ::-1],
        3: lambda a: a[::-1, ::-1],
        4: lambda a: a[::-1],
        5: lambda a: a.swapaxes(0, 1),
        6: lambda a: np.rot90(a, -1),
        7: lambda a: np.rot90(a.swapaxes(0, 1), 2),
        8: lambda a: np.rot90(a, 1),
    }
    op = ops.get(int(orientation))
    return np.ascontiguousarray(op(pixels)) if op else pixels


def _split_alpha(arr: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    if arr.ndim == 3 and arr.shape[2] in (2, 4):
        return np.ascontiguousarray(arr[..., :-1].squeeze(-1) if arr.shape[2] == 2 else arr[..., :3]), \
            np.ascontiguousarray(arr[..., -1])
    return arr, None


def load_image(path) -> ImageData:
    """Decode a still image (JPEG, PNG, WebP, BMP, TIFF, GIF...) into an upright ImageData; MediaError if it can't."""
    from ..auto.block_grid import detect_block_grid
    from ..auto.jpeg_quality import estimate_jpeg_quality

    path = Path(path)
    check_readable(path)
    with _open_pillow(path) as im:
        try:
            fmt = im.format or ""
            exif = im.getexif()
            orientation = int(exif.get(EXIF_ORIENTATION, 1) or 1)
            quant = getattr(im, "quantization", None) if fmt in ("JPEG", "MPO") else None
            icc = im.info.get("icc_profile")
            frames = int(getattr(im, "n_frames", 1) or 1)
            arr = _decode_16bit_colour(path) if _is_16bit_colour(im, path) else _pillow_to_array(im)
        except (OSError, SyntaxError, ValueError) as exc:
            raise MediaError(f"{path.name} is damaged or truncated ({exc})".splitlines()[0]) from None
    arr = apply_exif_orientation(arr, orientation)
    pixels, alpha = _split_alpha(arr)
    quality = confidence = None
    if quant:
        quality, confidence = estimate_jpeg_quality(quant)
    if EXIF_ORIENTATION in exif:
        exif[EXIF_ORIENTATION] = 1  # the pixels are upright now; a writer copying this EXIF must not rotate again
    return ImageData(pixels=pixels, alpha=alpha, path=path, format="JPEG" if fmt == "MPO" else fmt,
                     jpeg_quality=quality, jpeg_quality_confidence=confidence, icc_profile=icc,
                     exif=exif.tobytes() if len(exif) else None, frame_count=frames,
                     block_grid=detect_block_grid(pixels))


def _to_8bit(arr: np.ndarray) -> np.ndarray:
    if arr.dtype == np.uint8:
        return arr
    return np.clip(np.rint(arr.astype(np.float32) / 257.0), 0, 255).astype(np.uint8)


def _encode_16bit(pixels: np.ndarray, alpha: np.ndarray | None, ext: str) -> bytes:
    """Pillow cannot write 16-bit colour; OpenCV can (PNG and TIFF)."""
    import cv2

    arr = pixels if pixels.ndim == 3 else pixels[..., None]
    if arr.shape[2] == 3:
        arr = cv2.cvtColor(arr, cv2.COLOR_RGB2BGR)
    if alpha is not None:
        if arr.shape[2] == 1:
            arr = np.repeat(arr, 3, axis=2)  # OpenCV has no grey+alpha layout
        arr = np.dstack([arr, alpha.astype(np.uint16)])
    ok, buf = cv2.imencode(ext, arr.squeeze(-1) if arr.shape[2] == 1 else arr)
    if not ok:
        raise OutputError(f"could not encode a 16-bit {ext} image")
    return buf.tobytes()


def _to_pillow(pixels: np.ndarray, alpha: np.ndarray | None, fmt: str) -> Image.Image:
    pixels = _to_8bit(pixels)
    if pixels.ndim == 3 and pixels.shape[2] == 1:
        pixels = pixels[..., 0]
    keep_alpha = alpha is not None and fmt in ("PNG", "WEBP", "TIFF")
    if keep_alpha:
        im = Image.fromarray(np.dstack([pixels, _to_8bit(alpha)]), "LA" if pixels.ndim == 2 else "RGBA")
        if fmt == "WEBP" and im.mode == "LA":
            im = im.convert("RGBA")
    else:
        im = Image.fromarray(pixels, "L" if pixels.ndim == 2 else "RGB")
    return im


def save_image(path, pixels: np.ndarray, alpha: np.ndarray | None = None, *, quality: float | None = None,
               icc_profile: bytes | None = None, exif: bytes | None = None) -> Path:
    """Write an image, format from the extension; 16-bit and alpha kept where the format can (PNG, TIFF)."""
    path = Path(path)
    ext = path.suffix.lower()
    fmt = SAVE_FORMATS.get(ext)
    if fmt is None:
        raise OutputError(f"cannot save {path.name}: unknown image extension {ext or '(none)'} "
                          f"(use {', '.join(sorted(set(SAVE_FORMATS)))})")
    if pixels.dtype not in (np.uint8, np.uint16):
        raise OutputError(f"cannot save {path.name}: pixels must be uint8 or uint16, not {pixels.dtype}")
    if not path.parent.is_dir():
        raise OutputError(f"cannot save {path.name}: folder {path.parent} does not exist")
    try:  # the folder's permission bits say little (root, /proc, read-only mounts): creating the file is the test
        fd, tmp = temp_beside(path, prefix=f".{path.stem}.", suffix=ext + ".part")
    except OSError as exc:
        raise OutputError(f"cannot write {path.name}: folder {path.parent} refuses new files "
                          f"({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as f:
            if pixels.dtype == np.uint16 and fmt in ("PNG", "TIFF"):
                f.write(_encode_16bit(pixels, alpha, ext))
            else:
                im = _to_pillow(pixels, alpha, fmt)
                opts = {}
                if fmt in DEFAULT_SAVE_QUALITY:
                    opts["quality"] = int(round(quality if quality is not None else DEFAULT_SAVE_QUALITY[fmt]))
                if icc_profile and fmt != "BMP":
                    opts["icc_profile"] = icc_profile
                if exif and fmt in ("JPEG", "PNG", "WEBP", "TIFF"):
                    opts["exif"] = exif
                im.save(f, format=fmt, **opts)
        os.replace(tmp, path)
    except OSError as exc:
        raise OutputError(f"cannot write {path.name}: {exc.strerror or exc}") from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def is_image_file(path: Path) -> bool:
    """True if Pillow recognises the file from its header (nothing is decoded; oversized images count too)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(path):
                return True
    except Image.DecompressionBombError:
        return True  # an image, just too large: load_image says so
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, struct.error):
        return False

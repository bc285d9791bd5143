"""Runs a registered network as a Restorer: device placement, fp16 on CUDA / bf16 on capable CPUs, tiling, OOM
fallback."""
from __future__ import annotations

import numpy as np
import torch

from ..cancel import CancelToken, check
from ..device import choose_precision, resolve_device
from ..models.refiners import load_refiner
from ..models.registry import ModelSpec, build_model
from ..models.restora_net import MULTIPLE
from .accelerate import make_forward
from .base import NoticeFn, Quality, Restorer
from .ensemble import check_ensemble, ensembled
from .tiler import run_tiled

# Tiles bound memory. A whole 1080p frame fits comfortably on a CPU and on any CUDA card (the small net peaked at
# 63 MiB on an H100 in fp16 with 1024-px tiles), and tiling costs: 1024-px tiles cut 1080p into four overlapping
# passes. A GPU that runs out of memory halves the tile (_shrink_after_oom).
DEFAULT_TILE = {"cuda": 2048, "mps": 768, "cpu": 2048}
MIN_TILE = 128
HEAD_CROP = 256  # side of the centred crop the blind quality head looks at


def upload(image: np.ndarray, device: torch.device, half: bool) -> tuple[torch.Tensor, dict]:
    """uint8/uint16 HxW[xC] -> (1,3,H,W) float in [0,1] on `device`, plus what `download` needs to undo it.
    The integer pixels travel and are converted on the device: on a GPU, float conversion and the 4x larger
    float upload on the host cost ten times the network itself (1080p: ~25 ms against ~3 ms on an H100)."""
    if image.dtype not in (np.uint8, np.uint16):
        raise TypeError(f"unsupported image dtype {image.dtype}")
    info = {"dtype": image.dtype, "shape": image.shape}
    arr = image if image.ndim == 3 else image[:, :, None]
    if arr.shape[2] not in (1, 3):
        raise ValueError(f"expected 1 or 3 channels, got {arr.shape[2]}")
    if arr.dtype == np.uint16:  # torch has no arithmetic on uint16: widen (16-bit stills only, rare)
        arr = arr.astype(np.int32)
    elif not (arr.flags.c_contiguous and arr.flags.writeable):
        arr = arr.copy()
    t = torch.from_numpy(arr)
    t = t.pin_memory().to(device, non_blocking=True) if device.type == "cuda" else t.to(device)
    x = t.permute(2, 0, 1)[None].float().div_(255.0 if image.dtype == np.uint8 else 65535.0)
    x = x.expand(-1, 3, -1, -1) if x.shape[1] == 1 else x
    x = x.half() if half else x
    return x.contiguous(memory_format=torch.channels_last), info


def download(y: torch.Tensor, info: dict) -> np.ndarray:
    """(B,3,H,W) float -> B images shaped and typed like the input `info` describes (grey gets the channel mean);
    rounding happens on the device, so only the final integers travel back."""
    shape, dtype = info["shape"], info["dtype"]
    scale = 255.0 if dtype == np.uint8 else 65535.0
    y = y.float().clamp(0, 1)  # a new tensor: never scribble on the caller's (a CUDA graph's static output)
    if len(shape) == 2 or shape[2] == 1:
        y = y.mean(dim=1, keepdim=True)
    y = torch.round(y.mul_(scale)).to(torch.uint8 if dtype == np.uint8 else torch.int32)
    out = y.permute(0, 2, 3, 1).cpu().numpy().astype(dtype, copy=False)
    return out[..., 0] if len(shape) == 2 else out


def _autocast_bf16(forward, device_type: str):
    """Convolutions in bfloat16, input and output in float32: the net adds its correction to the float32 input,
    so bf16 rounding touches only the (small) correction, never the picture itself."""
    def run(x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        with torch.autocast(device_type, dtype=torch.bfloat16):
            return forward(x, q)
    return run


class ModelRestorer(Restorer):
    supports_quality_map = True

    def __init__(self, spec: ModelSpec, device: str = "auto", tile: int | None = None, overlap: int = 64,
                 on_notice: NoticeFn | None = None, accelerate: str = "auto", precision: str = "auto",
                 ensemble: int = 1) -> None:
        self.spec = spec
        self.name, self.title = spec.name, spec.title
        self.has_blind_head = spec.blind_head
        self._device = resolve_device(device)
        self.tile = tile if tile is not None else DEFAULT_TILE.get(self._device.type, 1024)
        self.overlap = overlap
        self.on_notice = on_notice or (lambda msg: None)
        self._model = build_model(spec)
        # Only a refiner trained through exactly these weights (see engine/models/refiners.py).
        self._refiner = load_refiner(spec.name, spec.path)
        self.has_strength_refiner = self._refiner is not None
        self.accelerate = accelerate
        self.wanted_precision = precision
        self.ensemble = check_ensemble(ensemble)  # forward passes per frame, averaged (see ensemble.py)
        self._place()

    def _place(self) -> None:
        self.precision = choose_precision(self._device, self.spec.fp16, self.wanted_precision)
        self.half = self.precision == "fp16"
        self._model = self._model.to(self._device, memory_format=torch.channels_last)
        self._model = self._model.half() if self.half else self._model.float()
        forward, self.acceleration = make_forward(self._model, self._device, self.accelerate)
        if self.precision == "bf16":
            forward = _autocast_bf16(forward, self._device.type)
        self._forward = ensembled(forward, self.ensemble)
        if self._refiner is not None:  # tiny and run once per frame: float32 everywhere
            self._refiner = self._refiner.to(self._device).float()

    @property
    def device(self) -> str:
        return self._device.type

    @property
    def model(self) -> torch.nn.Module:
        return self._model

    def _to_tensor(self, image: np.ndarray) -> tuple[torch.Tensor, dict]:
        return upload(image, self._device, self.half)

    def _quality_tensor(self, quality: Quality, like: torch.Tensor) -> torch.Tensor:
        if np.ndim(quality) == 0:
            return torch.full((1, 1, 1, 1), float(quality), device=like.device, dtype=like.dtype)
        q = np.asarray(quality, dtype=np.float32)
        if q.shape != tuple(like.shape[-2:]):
            raise ValueError(f"quality map {q.shape} does not match image {tuple(like.shape[-2:])}")
        return torch.from_numpy(q)[None, None].to(like.device, like.dtype)

    @torch.inference_mode()
    def restore(self, image: np.ndarray, quality: Quality, cancel: CancelToken | None = None) -> np.ndarray:
        while True:
            try:
                x, info = self._to_tensor(image)
                q = self._quality_tensor(quality, x)
                y = run_tiled(self._forward, x, q, self.tile, self.overlap, cancel, align=MULTIPLE)
                return download(y, info)[0]
            except torch.cuda.OutOfMemoryError:
                self._shrink_after_oom()

    @torch.inference_mode()
    def restore_batch(self, images: list[np.ndarray], qualities: list[Quality],
                      cancel: CancelToken | None = None) -> list[np.ndarray]:
        """Restore same-sized frames in one forward pass (GPU export); tiled or mixed sizes go one by one."""
        shapes = {(im.shape, im.dtype) for im in images}
        h, w = images[0].shape[:2]
        if len(images) == 1 or len(shapes) > 1 or (self.tile > 0 and max(h, w) > self.tile):
            return [self.restore(im, q, cancel) for im, q in zip(images, qualities)]
        check(cancel)
        try:
            pairs = [self._to_tensor(im) for im in images]
            x = torch.cat([p[0] for p in pairs]).contiguous(memory_format=torch.channels_last)
            # Mixed scalars and maps: scalars become constant maps so the batch shares one quality shape.
            q_shape = (h, w) if any(np.ndim(qv) for qv in qualities) else (1, 1)
            q = torch.cat([self._quality_tensor(qv, x[:1]).expand(1, 1, *q_shape) for qv in qualities])
            y = download(self._forward(x, q), pairs[0][1])  # same shapes, so one info fits all
        except torch.cuda.OutOfMemoryError:
            self._shrink_after_oom()
            return [self.restore(im, q, cancel) for im, q in zip(images, qualities)]
        return list(y)

    def _shrink_after_oom(self) -> None:
        """Halve the tile until MIN_TILE, then move to the CPU; each step is announced, never a crash."""
        torch.cuda.empty_cache()
        current = self.tile if self.tile > 0 else 2048
        if current // 2 >= MIN_TILE:
            self.tile = current // 2
            self.on_notice(f"GPU out of memory: retrying with {self.tile}px tiles")
        else:
            self._device = torch.device("cpu")
            self.tile = DEFAULT_TILE["cpu"]
            self._place()
            self.on_notice("GPU out of memory: continuing on the CPU")

    @torch.inference_mode()
    def estimate_quality(self, image: np.ndarray) -> float | None:
        if not self.has_blind_head:
            return None
        x, _ = self._to_tensor(image)
        # The head sees a centred crop: global statistics, bounded cost (a 256px crop costs ~45 ms on 2 CPU
        # cores, 512px ~260 ms) and the crop sizes the head was fitted on (96-264 px).
        h, w = x.shape[-2:]
        ch, cw = min(h, HEAD_CROP), min(w, HEAD_CROP)
        y0, x0 = (h - ch) // 2, (w - cw) // 2
        return float(self._model.predict_quality(x[..., y0:y0 + ch, x0:x0 + cw]).float().item())

    @torch.inference_mode()
    def refine_quality_map(self, image: np.ndarray, quality_map: np.ndarray,
                           frame_quality: float | None = None) -> np.ndarray:
        if self._refiner is None:
            return quality_map
        x, _ = self._to_tensor(image)
        q = np.asarray(quality_map, dtype=np.float32)
        if q.shape != tuple(x.shape[-2:]):
            raise ValueError(f"quality map {q.shape} does not match image {tuple(x.shape[-2:])}")
        level = None
        if frame_quality is not None and self._refiner.frame_level:  # only a refiner trained around it uses it
            level = torch.tensor([float(frame_quality)], device=self._device)
        refined = self._refiner(x.float(), torch.from_numpy(q)[None, None].to(self._device), level)
        return refined[0, 0].cpu().numpy()

    def close(self) -> None:
        self._model = self._model.cpu()
        if self._device.type == "cuda":
            torch.cuda.empty_cache()

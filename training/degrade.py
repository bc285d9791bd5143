"""On-the-fly degradations for training: JPEG through libjpeg (Pillow) and H.264/HEVC through PyAV.

Every sample comes with the quality label the model is steered by (JPEG scale). H.264 frames are labelled per
macroblock with what Auto will feed the model at run time: the decoder's exported QP map through the model-free
"psnr" calibration curve (QP -> JPEG quality of equal PSNR, resources/calibration/qp_to_quality.json), so the model
learns to follow a spatial strength map (CRF with adaptive quantisation varies QP across the frame). HEVC exports no
QP, so its frames get the JPEG quality of equal PSNR on the same patch, one value per frame.
"""
from __future__ import annotations

import io
from fractions import Fraction

import av
import numpy as np
from PIL import Image

from engine.auto.qp import MACROBLOCK, qp_to_quality
from engine.media.video_reader import frame_qp_map

JPEG_GRID = np.arange(5, 100, 5)


def jpeg(rgb: np.ndarray, quality: int, subsampling: int = 2, grey: bool = False) -> np.ndarray:
    """Encode+decode with libjpeg. subsampling: 0 = 4:4:4, 2 = 4:2:0."""
    buf = io.BytesIO()
    img = Image.fromarray(rgb)
    if grey:
        img = img.convert("L")
        img.save(buf, "JPEG", quality=int(quality))
    else:
        img.save(buf, "JPEG", quality=int(quality), subsampling=subsampling)
    buf.seek(0)
    return np.asarray(Image.open(buf).convert("RGB"))


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float32) - b.astype(np.float32)) ** 2)
    return 99.0 if mse == 0 else float(10 * np.log10(255.0 ** 2 / mse))


def equivalent_jpeg_quality(clean: np.ndarray, degraded: np.ndarray) -> float:
    """JPEG quality (4:2:0) whose PSNR on `clean` equals the PSNR of `degraded` (interpolated on a grid)."""
    target = psnr(clean, degraded)
    curve = np.array([psnr(clean, jpeg(clean, q)) for q in JPEG_GRID])
    curve = np.maximum.accumulate(curve)  # PSNR vs quality is monotone up to noise
    if target <= curve[0]:
        return float(max(1.0, JPEG_GRID[0] * target / max(curve[0], 1e-6)))
    if target >= curve[-1]:
        return float(min(100.0, JPEG_GRID[-1] + (target - curve[-1]) * 2.0))
    return float(np.interp(target, curve, JPEG_GRID))


def camera_clip(rgb: np.ndarray, size: int, frames: int, rng: np.random.Generator) -> list[np.ndarray]:
    """Crops of `size` that drift and zoom slightly across `rgb`, like a handheld pan."""
    h, w = rgb.shape[:2]
    margin = size // 4
    span = size + 2 * margin
    y0 = rng.integers(0, max(1, h - span))
    x0 = rng.integers(0, max(1, w - span))
    dy, dx = rng.uniform(-2.5, 2.5, size=2)
    zoom = rng.uniform(-0.01, 0.01)
    out = []
    for t in range(frames):
        s = int(round(size * (1 + zoom * t)))
        cy = int(np.clip(y0 + margin + dy * t, 0, h - s))
        cx = int(np.clip(x0 + margin + dx * t, 0, w - s))
        crop = rgb[cy:cy + s, cx:cx + s]
        if s != size:
            crop = np.asarray(Image.fromarray(crop).resize((size, size), Image.BICUBIC))
        out.append(crop)
    return out


def codec_roundtrip(frames: list[np.ndarray], codec: str, qp: int, intra_only: bool, crf: bool = False,
                    with_qp: bool = False, preset: str | None = None) -> list:
    """Encode a short clip with libx264/libx265 at constant QP (or CRF, x264's adaptive quantisation on) and decode
    it back: RGB frames, or (RGB, per-macroblock QP or None) pairs with `with_qp` (H.264 exports QP maps).
    `preset`: the encoder preset (default veryfast for x264, ultrafast for x265: cheap for on-the-fly training)."""
    h, w = frames[0].shape[:2]
    buf = io.BytesIO()
    with av.open(buf, "w", format="matroska") as out:
        stream = out.add_stream(codec, rate=25)
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv420p"
        if codec == "libx264":
            rate = {"crf": str(qp)} if crf else {"qp": str(qp)}
            stream.options = {**rate, "preset": preset or "veryfast", "threads": "1",
                              "keyint": "1" if intra_only else "30", "bframes": "0" if intra_only else "2"}
        else:
            rate = f"crf={qp}" if crf else f"qp={qp}"
            params = f"{rate}:keyint={1 if intra_only else 30}:log-level=error:pools=1:frame-threads=1"
            stream.options = {"x265-params": params, "preset": preset or "ultrafast"}
        stream.time_base = Fraction(1, 25)
        for i, f in enumerate(frames):
            vf = av.VideoFrame.from_ndarray(f, format="rgb24")
            vf.pts = i
            for p in stream.encode(vf):
                out.mux(p)
        for p in stream.encode(None):
            out.mux(p)
    buf.seek(0)
    with av.open(buf) as inp:
        if with_qp:
            inp.streams.video[0].codec_context.options = {"export_side_data": "venc_params"}
        decoded = [(fr.to_ndarray(format="rgb24"), frame_qp_map(fr) if with_qp else None)
                   for fr in inp.decode(video=0)]
    return decoded if with_qp else [rgb for rgb, _ in decoded]


def h264_label_map(qp_map: np.ndarray, h: int, w: int) -> np.ndarray:
    """Per-macroblock QP -> HxW quality labels on the model-free "psnr" curve (what training steers by)."""
    per_block = qp_to_quality(qp_map[: -(-h // MACROBLOCK), : -(-w // MACROBLOCK)], "h264", method="psnr")
    full = np.repeat(np.repeat(per_block.astype(np.float32), MACROBLOCK, 0), MACROBLOCK, 1)
    return np.ascontiguousarray(full[:h, :w])


def sample_quality(rng: np.random.Generator) -> int:
    """Mostly the damaging range, with some near-lossless so the model learns to leave clean images alone."""
    r = rng.random()
    if r < 0.75:
        return int(rng.integers(5, 71))
    if r < 0.85:
        return int(rng.integers(1, 5))
    return int(rng.integers(71, 101))


class Degrader:
    """Makes (degraded, clean, quality_map) training triples from clean RGB crops."""

    def __init__(self, patch: int, codec_fraction: float = 0.2, seed: int = 0, frames_per_clip: int = 1,
                 aligned_fraction: float = 0.0) -> None:
        """frames_per_clip > 1: each encoded clip gives that many training frames (handed out on the next codec
        draws). Encoding dominates a codec sample's cost, so this is what keeps a GPU's CPU workers up with it."""
        self.patch = patch
        self.codec_fraction = codec_fraction
        # Share of JPEG patches cut on the 8-px block grid. Real inputs are almost always aligned (a JPEG's grid
        # starts at its corner; the engine's tiles and crops keep it); a random cut spends capacity on 63 phases
        # of 64 that rarely occur.
        self.aligned_fraction = aligned_fraction
        self.frames_per_clip = max(1, int(frames_per_clip))
        self.rng = np.random.default_rng(seed)
        self._pending: list = []

    def __call__(self, image: np.ndarray):
        rng, p = self.rng, self.patch
        if rng.random() < self.codec_fraction:
            if self._pending:
                return self._pending.pop()
            samples = self._codec(image)
            self._pending = samples[1:]
            return samples[0]
        return self._jpeg(image)

    def _crop(self, image: np.ndarray, size: int) -> np.ndarray:
        h, w = image.shape[:2]
        y, x = rng_int(self.rng, h - size), rng_int(self.rng, w - size)
        crop = image[y:y + size, x:x + size]
        if self.rng.random() < 0.5:
            crop = crop[:, ::-1]
        return np.ascontiguousarray(crop)

    def _jpeg(self, image: np.ndarray):
        rng, p = self.rng, self.patch
        # Encode a larger crop, then cut the patch at a random offset: block grids land anywhere, as in tiles.
        big = self._crop(image, p + 16)
        grey = rng.random() < 0.12
        if grey:
            big = np.repeat(np.asarray(Image.fromarray(big).convert("L"))[:, :, None], 3, axis=2)
        sub = 0 if rng.random() < 0.2 else 2
        q = sample_quality(rng)
        if rng.random() < 0.15:  # spatially varying quality: teaches the per-pixel map (aligned to 16 px)
            q2 = sample_quality(rng)
            a, b = jpeg(big, q, sub, grey), jpeg(big, q2, sub, grey)
            mask = np.zeros(big.shape[:2], bool)
            cut = 16 * rng.integers(1, big.shape[0] // 16)
            if rng.random() < 0.5:
                mask[:cut] = True
            else:
                mask[:, :cut] = True
            degraded = np.where(mask[:, :, None], a, b)
            qmap = np.where(mask, q, q2).astype(np.float32)
        else:
            degraded = jpeg(big, q, sub, grey)
            if rng.random() < 0.1:  # double compression: Auto reads the last tables, so the label is the last q
                q_last = sample_quality(rng)
                degraded = jpeg(degraded, q_last, sub, grey)
                q = q_last
            qmap = np.full(big.shape[:2], q, np.float32)
        if rng.random() < self.aligned_fraction:
            oy, ox = 8 * rng_int(rng, 2), 8 * rng_int(rng, 2)
        else:
            oy, ox = rng_int(rng, 16), rng_int(rng, 16)
        sl = (slice(oy, oy + p), slice(ox, ox + p))
        return degraded[sl], big[sl], qmap[sl]

    def _frames(self, count: int) -> list[int]:
        """Which decoded frames become samples: one drawn as always, or several distinct ones."""
        if self.frames_per_clip == 1:
            return [int(self.rng.integers(0, count))]
        return [int(i) for i in self.rng.choice(count, size=min(self.frames_per_clip, count), replace=False)]

    def _codec(self, image: np.ndarray) -> list:
        """(degraded, clean, quality map) triples from one encoded clip."""
        rng, p = self.rng, self.patch
        n = int(rng.integers(3, 7))
        clean = camera_clip(image, p, n, rng)
        intra = rng.random() < 0.3
        if rng.random() < 0.3:
            qp = int(rng.integers(20, 48))
            decoded = codec_roundtrip(clean, "libx265", qp, intra)
            return [(decoded[i], clean[i], np.full((p, p), equivalent_jpeg_quality(clean[i], decoded[i]), np.float32))
                    for i in self._frames(min(len(decoded), len(clean)))]
        crf = rng.random() < 0.5
        decoded = codec_roundtrip(clean, "libx264", int(rng.integers(18, 46) if crf else rng.integers(20, 48)),
                                  intra, crf=crf, with_qp=True)
        picks = self._frames(min(len(decoded), len(clean)))
        if any(decoded[i][1] is None for i in picks):  # cannot happen with libx264: never train on a made-up label
            return [self._jpeg(image)]
        return [(decoded[i][0], clean[i], h264_label_map(decoded[i][1], p, p)) for i in picks]


def rng_int(rng: np.random.Generator, high: int) -> int:
    return int(rng.integers(0, high + 1)) if high > 0 else 0

"""Classical baseline: FFmpeg's `deblock` filter through PyAV's filter graph, strength from the quality.

Kept as a comparison point for the learned model and as a restorer that needs no weights.
"""
from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from ..cancel import CancelToken, check
from .base import Quality, Restorer


# JPEG's quantiser steps scale with the IJG factor (5000/Q below 50, 200-2Q above); the filter thresholds follow
# it. Constants fitted for RGB PSNR on 9 LIVE1/BSDS500 images at Q10..75 (the evaluate harness; see
# engine/evaluation): edge threshold alpha grows with the step, the smoothness tests (beta/gamma) and the clamp
# (delta) more slowly.
DEBLOCK_ALPHA, DEBLOCK_BETA, DEBLOCK_GAMMA, DEBLOCK_DELTA = 0.04, 0.022, 0.018, 0.027


def _ijg_scale(quality: float) -> float:
    q = float(np.clip(quality, 1.0, 100.0))
    return (5000.0 / q if q < 50 else 200.0 - 2.0 * q) / 100.0


def deblock_options(quality: float) -> str:
    """Map JPEG-scale quality to deblock thresholds: low quality -> large quantiser steps -> strong filtering."""
    s = _ijg_scale(quality)
    root = float(np.sqrt(s))
    alpha = min(1.0, DEBLOCK_ALPHA * s)
    beta, gamma, delta = (min(1.0, k * root) for k in (DEBLOCK_BETA, DEBLOCK_GAMMA, DEBLOCK_DELTA))
    return f"filter=strong:block=8:alpha={alpha:.4f}:beta={beta:.4f}:gamma={gamma:.4f}:delta={delta:.4f}"


def _mix_channels(x: np.ndarray, matrix: np.ndarray) -> np.ndarray:
    """x @ matrix.T written as element-wise sums: a BLAS matmul may pick its summation order by thread count and
    size, which flips rounded values between runs and made exports (and so resume) non-reproducible."""
    return np.stack([x[..., 0] * m[0] + x[..., 1] * m[1] + x[..., 2] * m[2] for m in matrix], axis=-1)


def _rgb_to_ycbcr16(rgb: np.ndarray) -> np.ndarray:
    """RGB -> full-range BT.601 YCbCr (JPEG's own colour space) as 16-bit: filtering there costs no 8-bit
    round-trip loss (an 8-bit YUV round trip alone lost 0.05-0.09 dB PSNR)."""
    x = rgb.astype(np.float64) / (65535.0 if rgb.dtype == np.uint16 else 255.0)
    out = _mix_channels(x, _RGB_TO_YCC) + np.array([0.0, 0.5, 0.5])
    return np.clip(np.rint(out * 65535.0), 0, 65535).astype(np.uint16)


def _ycbcr16_to_rgb(ycc: np.ndarray, dtype) -> np.ndarray:
    x = ycc.astype(np.float64) / 65535.0 - np.array([0.0, 0.5, 0.5])
    scale = 65535.0 if dtype == np.uint16 else 255.0
    return np.clip(np.rint(_mix_channels(x, _YCC_TO_RGB) * scale), 0, scale).astype(dtype)


_RGB_TO_YCC = np.array([[0.299, 0.587, 0.114], [-0.168736, -0.331264, 0.5], [0.5, -0.418688, -0.081312]])
_YCC_TO_RGB = np.linalg.inv(_RGB_TO_YCC)


def _filter_plane_image(frame: av.VideoFrame, options: str) -> av.VideoFrame:
    graph = av.filter.Graph()
    src = graph.add_buffer(width=frame.width, height=frame.height, format=frame.format.name,
                           time_base=Fraction(1, 25))
    flt = graph.add("deblock", options)
    sink = graph.add("buffersink")
    src.link_to(flt)
    flt.link_to(sink)
    graph.configure()
    graph.push(frame)
    return graph.pull()


class DeblockRestorer(Restorer):
    name = "deblock"
    title = "FFmpeg deblock (classical baseline)"

    def restore(self, image: np.ndarray, quality: Quality, cancel: CancelToken | None = None) -> np.ndarray:
        check(cancel)
        if np.ndim(quality) != 0:
            quality = float(np.mean(quality))  # the filter takes one strength per frame
        if quality >= 99.5:
            return image.copy()
        grey = image.ndim == 2 or image.shape[2] == 1
        wide = image.dtype == np.uint16
        if grey:
            plane = image.reshape(image.shape[0], image.shape[1])
            frame = av.VideoFrame.from_ndarray(plane, format="gray16le" if wide else "gray")
        else:
            # Filter in YCbCr 4:4:4 like a codec's loop filter would see it.
            frame = av.VideoFrame.from_ndarray(_rgb_to_ycbcr16(image), format="yuv444p16le")
        out = _filter_plane_image(frame, deblock_options(float(quality)))
        if grey:
            return out.to_ndarray().reshape(image.shape)
        return _ycbcr16_to_rgb(out.to_ndarray(), image.dtype)

"""Classical baseline: FFmpeg's `deblock` filter through PyAV's filter graph, strength from the quality.

Kept as a comparison point for the learned model and as a restorer that needs no weights.
"""
from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from ..cancel import CancelToken, check
from .base import Quality, Restorer


def deblock_options(quality: float) -> str:
    """Map JPEG-scale quality to deblock thresholds: low quality -> strong filter, high alpha/beta."""
    s = float(np.clip((100.0 - quality) / 100.0, 0.0, 1.0))
    mode = "strong" if quality < 50 else "weak"
    alpha, beta = 0.02 + 0.18 * s, 0.02 + 0.10 * s
    gamma, delta = 0.02 + 0.10 * s, 0.02 + 0.10 * s
    return f"filter={mode}:block=8:alpha={alpha:.4f}:beta={beta:.4f}:gamma={gamma:.4f}:delta={delta:.4f}"


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
            frame = av.VideoFrame.from_ndarray(image, format="rgb48le" if wide else "rgb24")
            # Filter in YUV 4:4:4 like a codec's loop filter would see it.
            frame = frame.reformat(format="yuv444p16le" if wide else "yuv444p")
        out = _filter_plane_image(frame, deblock_options(float(quality)))
        if grey:
            return out.to_ndarray().reshape(image.shape)
        return out.reformat(format="rgb48le" if wide else "rgb24").to_ndarray()

"""Speed paths for fixed-shape inference (a clip's frames all have one size).

CUDA: half precision + channels-last are set by ModelRestorer; here we add CUDA-graph replay per input shape
(graphs remove the per-kernel launch cost that dominates small, fast networks) or `torch.compile`, whichever the
caller picks. Everything falls back to the eager model on any failure, and on CPU/MPS eager is used unless
compile is asked for explicitly (compiling costs tens of seconds of start-up, which a desktop app cannot hide).
"""
from __future__ import annotations

import logging
from typing import Callable

import torch

log = logging.getLogger(__name__)
Forward = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
MODES = ("eager", "graphs", "compile", "auto")


class GraphedForward:
    """Replays one captured CUDA graph per (input shape, quality shape); captures lazily on first sight."""

    def __init__(self, model: torch.nn.Module, max_graphs: int = 4) -> None:
        self.model = model
        self.max_graphs = max_graphs
        self._graphs: dict = {}
        self.failed = False

    def _capture(self, x: torch.Tensor, q: torch.Tensor):
        static_x, static_q = x.clone(), q.clone()
        stream = torch.cuda.Stream()
        stream.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(stream):  # warm-up on a side stream, as the CUDA-graph docs require
            for _ in range(2):
                self.model(static_x, static_q)
        torch.cuda.current_stream().wait_stream(stream)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph):
            static_y = self.model(static_x, static_q)
        return graph, static_x, static_q, static_y

    def __call__(self, x: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
        if self.failed:
            return self.model(x, q)
        key = (tuple(x.shape), tuple(q.shape), x.dtype)
        entry = self._graphs.get(key)
        if entry is None:
            if len(self._graphs) >= self.max_graphs:
                self._graphs.pop(next(iter(self._graphs)))
            try:
                entry = self._graphs[key] = self._capture(x, q)
            except Exception as exc:  # unsupported driver/op: stay correct, just slower
                log.warning("CUDA graph capture failed (%s); using eager mode", exc)
                self.failed = True
                return self.model(x, q)
        graph, static_x, static_q, static_y = entry
        static_x.copy_(x, non_blocking=True)
        static_q.copy_(q, non_blocking=True)
        graph.replay()
        return static_y.clone()


def make_forward(model: torch.nn.Module, device: torch.device, mode: str = "auto") -> tuple[Forward, str]:
    """Return (forward, mode actually used). 'auto' = CUDA graphs on CUDA, eager elsewhere."""
    if mode not in MODES:
        raise ValueError(f"unknown acceleration mode {mode!r}; choose from {', '.join(MODES)}")
    if mode == "auto":
        mode = "graphs" if device.type == "cuda" else "eager"
    if mode == "graphs":
        if device.type != "cuda":
            return model, "eager"
        return GraphedForward(model), "graphs"
    if mode == "compile":
        try:
            return torch.compile(model, dynamic=False), "compile"
        except Exception as exc:
            log.warning("torch.compile unavailable (%s); using eager mode", exc)
            return model, "eager"
    return model, "eager"

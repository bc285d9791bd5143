"""An exponential moving average of a network's weights, for export.

Why: the CPU trains with 16 patches a step, so every step's update is noisy and the live weights wander around
the optimum (a fresh optimiser on the shipped weights first *lowers* validation). The average over the last
~1/(1-decay) steps sits nearer the optimum than any single step, at the cost of one extra copy of the weights.
"""
from __future__ import annotations

import copy

import torch


class WeightAverage:
    def __init__(self, model: torch.nn.Module, decay: float) -> None:
        if not 0.0 < decay < 1.0:
            raise ValueError(f"an average's decay lies strictly between 0 and 1, not {decay}")
        self.decay = decay
        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(False)

    @torch.no_grad()
    def update(self, model: torch.nn.Module) -> None:
        mine = [p for p in self.model.parameters()]
        theirs = [p.detach() for p in model.parameters()]
        torch._foreach_lerp_(mine, theirs, 1.0 - self.decay)
        for b_mine, b_theirs in zip(self.model.buffers(), model.buffers()):
            b_mine.copy_(b_theirs)

    def state_dict(self) -> dict:
        return self.model.state_dict()

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state)

"""Grow a trained RestoraNet into a wider/deeper one that computes exactly the same function at step 0.

Why: on the 2-core CPU a bigger network trained from scratch needs many hours just to catch up with the shipped
weights; started from them it only has to learn what the extra capacity adds (Net2Net idea). Rules:
- every old weight is copied to the same place (channel i stays channel i; a modulation's scale and shift halves
  are copied separately, since widening moves where the shift half starts);
- weights from new input channels to old output channels are zero, so new channels cannot change old outputs;
- weights into new channels keep their random init, so the new channels carry signal and get gradients;
- appended residual blocks start as identity (their second conv and modulation are zero).
Only the restoration trunk grows; the blind quality head is copied unchanged.
"""
from __future__ import annotations

import torch

from engine.models.restora_net import RestoraNet


def _old_rows(name: str, old_rows: int, new_rows: int) -> torch.Tensor:
    """Where each old output channel lands in the new tensor."""
    if name.endswith("modulation.weight") or name.endswith("modulation.bias"):
        half_old, half_new = old_rows // 2, new_rows // 2  # (scale, shift) = chunk(2)
        return torch.cat([torch.arange(half_old), half_new + torch.arange(half_old)])
    return torch.arange(old_rows)


def grow(old: RestoraNet, **changes) -> RestoraNet:
    """A RestoraNet with old.config updated by `changes` (c1, c2, blocks1..3), equal to `old` as a function."""
    config = {**old.config, **changes}
    for key in ("c1", "c2", "blocks1", "blocks2", "blocks3"):
        if config[key] < old.config[key]:
            raise ValueError(f"grow only adds capacity: {key} {old.config[key]} -> {config[key]}")
    if config["embed"] != old.config["embed"] or config["head"] != old.config["head"]:
        raise ValueError("grow keeps the quality embedding and the blind head as they are")
    new = RestoraNet(**config)
    state = new.state_dict()
    old_state = old.state_dict()
    with torch.no_grad():
        for name, target in state.items():
            if name not in old_state:
                continue  # a parameter of an appended block
            source = old_state[name]
            rows = _old_rows(name, source.shape[0], target.shape[0]) if source.dim() else None
            if source.dim() <= 1:
                target[rows] = source
                continue
            cols_old = source.shape[1]
            target[rows, :cols_old] = source
            target[rows, cols_old:] = 0  # new inputs -> old outputs: zero keeps the function unchanged
        for level, key in (("level1", "blocks1"), ("level2", "blocks2"), ("level3", "blocks3")):
            for index in range(old.config[key], config[key]):
                for part in ("conv2.weight", "conv2.bias"):
                    state[f"{level}.{index}.{part}"].zero_()  # with the zero modulation: an identity block
    new.load_state_dict(state)
    return new

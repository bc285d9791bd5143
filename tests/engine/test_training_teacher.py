"""Selective distillation targets (training/teacher.py): the teacher counts only where it beats the student."""
import pytest
import torch
from torch import nn

from engine.evaluation.peer_archs import HalfResEDSR
from training.teacher import SelectiveTeacher


class _Fixed(nn.Module):
    """A 'teacher' whose output is a given batch, whatever it is shown."""

    def __init__(self, output):
        super().__init__()
        self.output = output
        self.unused = nn.Parameter(torch.zeros(()))

    def forward(self, x):
        return self.output


def test_target_takes_the_teachers_share_only_where_it_is_closer_to_the_photo():
    photo = torch.full((2, 3, 8, 8), 0.5)
    x = torch.zeros_like(photo)
    # Sample 0: teacher off by 0.1, student by 0.2 -> blended. Sample 1: teacher off by 0.3 -> the photo alone.
    taught = torch.stack([torch.full((3, 8, 8), 0.6), torch.full((3, 8, 8), 0.2)])
    student = torch.stack([torch.full((3, 8, 8), 0.3), torch.full((3, 8, 8), 0.45)])
    target, share = SelectiveTeacher(_Fixed(taught), mix=0.5).targets(x, photo, student)
    assert torch.allclose(target[0], torch.full((3, 8, 8), 0.55))
    assert torch.equal(target[1], photo[1])
    assert float(share) == 0.5


def test_targets_carry_no_gradient_to_the_student_or_teacher():
    teacher = HalfResEDSR(blocks=1, channels=4)
    student_out = torch.rand(2, 3, 10, 10, requires_grad=True)
    target, _ = SelectiveTeacher(teacher, mix=0.5).targets(torch.rand(2, 3, 10, 10), torch.rand(2, 3, 10, 10),
                                                         student_out)
    assert not target.requires_grad
    assert not any(p.requires_grad for p in teacher.parameters())


def test_mix_outside_its_range_is_refused():
    with pytest.raises(ValueError):
        SelectiveTeacher(HalfResEDSR(blocks=1, channels=4), mix=0.0)

"""Knowledge distillation of the association: a teacher's 9-neighbour association (e.g. the
shipped SCN, run on the full-resolution crop) as a soft target for the student's (PCNet's)."""

from __future__ import annotations

import torch
from torch import nn

from pcnet._checks import check, check_shape

__all__ = ["distillation_loss", "DistillationLoss"]

_EPS = 1e-8


def distillation_loss(
    student: torch.Tensor, teacher: torch.Tensor, scale: float = 0.005, reduction: str = "sum"
) -> torch.Tensor:
    """``scale · Σ_p KL(teacher_p ‖ student_p)`` over the 9 association channels.

    Args:
        student, teacher: associations ``(B, 9, H, W)`` (softmax over the 9 neighbour cells, the
            same grid and cell size).
        scale: factor on the loss (0.005, L_SP's scale, so a weight of 1 weighs it like L_SP).
        reduction: ``"sum"`` (summed over pixels, divided by the batch size, as L_SP) or
            ``"mean"`` (divided by the number of pixels).

    Example:
        >>> q = torch.softmax(torch.randn(2, 9, 4, 4), 1)
        >>> float(distillation_loss(q, q))
        0.0
    """
    check_shape(student, ["B", 9, "H", "W"], "student association")
    check(
        teacher.shape == student.shape,
        f"teacher association {tuple(teacher.shape)} must match the student's {tuple(student.shape)}: "
        "run the teacher on the full-resolution crop whose association the student predicts",
    )
    check(reduction in ("sum", "mean"), f"reduction must be 'sum' or 'mean'; got {reduction!r}")
    teacher = teacher.detach().to(student.dtype)
    kl = (teacher * (torch.log(teacher + _EPS) - torch.log(student + _EPS))).sum()
    norm = student.shape[0] if reduction == "sum" else student[:, 0].numel()
    return scale * kl / norm


class DistillationLoss(nn.Module):
    """Module twin of :func:`distillation_loss`; ``forward(student, teacher)``."""

    def __init__(self, scale: float = 0.005, reduction: str = "sum") -> None:
        super().__init__()
        self.scale, self.reduction = scale, reduction

    def forward(self, student: torch.Tensor, teacher: torch.Tensor) -> torch.Tensor:
        """:func:`distillation_loss` of two ``(B, 9, H, W)`` associations."""
        return distillation_loss(student, teacher, self.scale, self.reduction)

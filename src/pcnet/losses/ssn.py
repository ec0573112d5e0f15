"""SSN's training loss: task-specific reconstruction through Q plus compactness.

- Label reconstruction: one-hot labels are mapped to the superpixels and back through the soft
  association (``reconstruct``) and scored with the cross-entropy, averaged over labelled pixels.
- Compactness: pixel positions are mapped to the superpixels with the soft Q, then back with the
  HARD association (every pixel takes the centre of its most associated cell); the loss is
  ``λ · mean_p ‖p − p̃‖²``. Following the SSN paper, only the way back is hard, so the centres
  still carry gradients to Q.
- Optional task-specific reconstruction (SSN §4, e.g. optical flow or depth): L1 between a
  per-pixel target and its reconstruction through Q.
"""

from __future__ import annotations

import torch
from torch import nn

from pcnet._checks import check, check_shape
from pcnet.losses._common import (
    check_labels,
    compact_labels,
    cross_entropy_map,
    one_hot,
    pixel_coordinates,
)
from pcnet.ops import hard_labels, pool, reconstruct

__all__ = ["ssn_loss", "SSNLoss"]


def _check_pixel_map(x: torch.Tensor, assoc: torch.Tensor, name: str) -> None:
    check_shape(x, ["B", "C", "H", "W"], name)
    check(
        x.shape[0] == assoc.shape[0] and x.shape[-2:] == assoc.shape[-2:],
        f"{name} {tuple(x.shape)} must match assoc {tuple(assoc.shape)} in B, H and W",
    )


def ssn_loss(
    assoc: torch.Tensor,
    labels: torch.Tensor,
    cell_size: int,
    pixel_features_xy: torch.Tensor | None = None,
    compactness_weight: float = 1e-5,
    ignore_index: int = 255,
    task_target: torch.Tensor | None = None,
    task_weight: float = 1.0,
) -> dict[str, torch.Tensor]:
    """SSN loss: ``recon + compact + task`` (each term already weighted).

    Args:
        assoc: association ``(B, 9, H, W)`` (SSN's final soft assignment).
        labels: class ids ``(B, H, W)``; ``ignore_index`` pixels are left out of ``recon``.
        cell_size: superpixel grid cell size ``S``.
        pixel_features_xy: positions ``(B, P, H, W)`` used for compactness; default: pixel
            coordinates (x, y) divided by ``S``.
        compactness_weight: λ (SSN: 1e-5).
        ignore_index: label of pixels that belong to no class.
        task_target: optional pixel properties ``(B, T, H, W)`` to reconstruct (flow, depth, …).
        task_weight: weight of the task L1 term.

    Returns:
        ``{"total", "recon", "compact", "task"}``: ``recon`` the mean CE over labelled pixels,
        ``compact = λ · mean ‖p − p̃‖²`` over all pixels, ``task = task_weight · mean |t − t'|``
        (0 without ``task_target``), ``total`` their sum.

    Example:
        >>> q = torch.zeros(1, 9, 4, 4); q[:, 4] = 1           # every pixel fully in its own cell
        >>> labels = torch.tensor([[0, 0, 1, 1]]).repeat(4, 1)[None]
        >>> out = ssn_loss(q, labels, cell_size=2, compactness_weight=1.0)
        >>> out["recon"].item() < 1e-6, out["compact"].item()   # 2·(0.5² / 2²) per pixel
        (True, 0.125)
    """
    check_shape(assoc, ["B", 9, "H", "W"], "assoc")
    check(int(cell_size) >= 1, f"cell_size must be a positive integer; got {cell_size}")
    labels = check_labels(labels, ignore_index, like=assoc)
    if pixel_features_xy is None:
        pixel_features_xy = pixel_coordinates(assoc) / cell_size
    _check_pixel_map(pixel_features_xy, assoc, "pixel_features_xy")
    ids, classes = compact_labels(labels, ignore_index)
    onehot = one_hot(ids, classes.shape[1], assoc.dtype)
    extra = [] if task_target is None else [task_target]
    if task_target is not None:
        _check_pixel_map(task_target, assoc, "task_target")
    recon = reconstruct(torch.cat([onehot, *extra], dim=1), assoc, cell_size)
    n_classes = onehot.shape[1]
    recon_loss = cross_entropy_map(onehot, recon[:, :n_classes]).sum() / (ids >= 0).sum().clamp_min(1)
    centres = pool(pixel_features_xy, assoc, cell_size)  # soft: the centres keep their gradient
    owner = hard_labels(assoc, cell_size).flatten(1)
    channels = pixel_features_xy.shape[1]
    hard_back = centres.flatten(2).gather(2, owner[:, None].expand(-1, channels, -1))
    offset = pixel_features_xy - hard_back.view_as(pixel_features_xy)
    compact = compactness_weight * offset.pow(2).sum(dim=1).mean()
    if task_target is None:
        task = assoc.new_zeros(())
    else:
        task = task_weight * (recon[:, n_classes:] - task_target).abs().mean()
    return {"total": recon_loss + compact + task, "recon": recon_loss, "compact": compact, "task": task}


class SSNLoss(nn.Module):
    """Module twin of :func:`ssn_loss`;
    ``forward(assoc, labels, pixel_features_xy=None, task_target=None)`` returns its dict."""

    def __init__(
        self,
        cell_size: int,
        compactness_weight: float = 1e-5,
        ignore_index: int = 255,
        task_weight: float = 1.0,
    ) -> None:
        super().__init__()
        self.cell_size = cell_size
        self.compactness_weight = compactness_weight
        self.ignore_index = ignore_index
        self.task_weight = task_weight

    def forward(
        self,
        assoc: torch.Tensor,
        labels: torch.Tensor,
        pixel_features_xy: torch.Tensor | None = None,
        task_target: torch.Tensor | None = None,
    ) -> dict[str, torch.Tensor]:
        """:func:`ssn_loss` with this module's settings: ``{"total", "recon", "compact", "task"}``."""
        return ssn_loss(
            assoc,
            labels,
            self.cell_size,
            pixel_features_xy,
            self.compactness_weight,
            self.ignore_index,
            task_target,
            self.task_weight,
        )

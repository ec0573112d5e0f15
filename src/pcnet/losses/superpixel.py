"""SCN's superpixel loss L_SP (eq. 3 of PCNet): labels and positions reconstructed through Q.

One-hot labels and pixel coordinates are pooled into the grid cells with the association and
unpooled back (eqs. 1–2, :func:`pcnet.ops.reconstruct`); the loss is the cross-entropy of the
reconstructed labels plus the distance between reconstructed and true positions. This is exactly
SCN's ``compute_semantic_pos_loss``: both terms are summed over pixels and divided by the batch
size, the position term is weighted by ``m / S`` and the whole loss is scaled by 0.005.
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
from pcnet.ops import reconstruct

__all__ = ["superpixel_loss", "SuperpixelLoss"]


def superpixel_loss(
    assoc: torch.Tensor,
    labels: torch.Tensor,
    cell_size: int = 16,
    pos_weight: float = 0.003,
    scale: float = 0.005,
    ignore_index: int = 255,
    reduction: str = "sum",
) -> dict[str, torch.Tensor]:
    """L_SP of SCN/PCNet: ``scale · (CE(f'_label, label) + pos_weight/S · ‖p' − p‖₂)``.

    Classes are renumbered per sample, so the one-hot has as many channels as the largest number
    of distinct classes in one sample (not the largest label value). Pixels labelled
    ``ignore_index`` get an all-zero one-hot row and count in neither term (they still carry
    association weight into the pooling, like every pixel).

    Args:
        assoc: association ``(B, 9, H, W)`` (softmax over the 9 neighbour cells).
        labels: class ids ``(B, H, W)``, any non-negative integers.
        cell_size: grid cell size ``S`` in pixels.
        pos_weight: ``m``, weight of the position term (it is further divided by ``S``).
        scale: factor on the whole loss (SCN's 0.005).
        ignore_index: label of pixels to leave out.
        reduction: ``"sum"`` (SCN: sums over pixels divided by the batch size, so the loss grows
            with the crop area) or ``"mean"`` (divided by the number of labelled pixels instead:
            per-pixel values that other per-pixel terms can be weighed against).

    Returns:
        ``{"total", "ce", "pos"}`` scalars with ``total = scale · (ce + pos)``; ``ce`` is
        ``−Σ onehot·log(recon + 1e-8) / B`` and ``pos`` is ``Σ ‖p' − p‖₂ · pos_weight / S / B``
        (coordinates in pixels, sums over valid pixels).

    Example:
        >>> q = torch.zeros(1, 9, 4, 4); q[:, 4] = 1           # every pixel fully in its own cell
        >>> labels = torch.tensor([[0, 0, 1, 1]]).repeat(4, 1)[None]
        >>> out = superpixel_loss(q, labels, cell_size=2)
        >>> round(out["ce"].item(), 6), round(out["pos"].item(), 6)   # 16·√0.5 · 0.003 / 2
        (0.0, 0.016971)
    """
    check_shape(assoc, ["B", 9, "H", "W"], "assoc")
    check(int(cell_size) >= 1, f"cell_size must be a positive integer; got {cell_size}")
    check(reduction in ("sum", "mean"), f"reduction must be 'sum' or 'mean'; got {reduction!r}")
    labels = check_labels(labels, ignore_index, like=assoc)
    ids, classes = compact_labels(labels, ignore_index)
    onehot = one_hot(ids, classes.shape[1], assoc.dtype)
    coords = pixel_coordinates(assoc)
    recon = reconstruct(torch.cat([onehot, coords], dim=1), assoc, cell_size)
    norm = assoc.shape[0] if reduction == "sum" else (ids >= 0).sum().clamp_min(1)
    ce = cross_entropy_map(onehot, recon[:, :-2]).sum() / norm
    distance = torch.linalg.vector_norm(recon[:, -2:] - coords, dim=1)
    pos = (distance * (ids >= 0)).sum() / norm * pos_weight / cell_size
    return {"total": scale * (ce + pos), "ce": ce, "pos": pos}


class SuperpixelLoss(nn.Module):
    """Module twin of :func:`superpixel_loss`; ``forward(assoc, labels)`` returns its dict."""

    def __init__(
        self,
        cell_size: int = 16,
        pos_weight: float = 0.003,
        scale: float = 0.005,
        ignore_index: int = 255,
        reduction: str = "sum",
    ) -> None:
        super().__init__()
        self.cell_size = cell_size
        self.pos_weight = pos_weight
        self.scale = scale
        self.ignore_index = ignore_index
        self.reduction = reduction

    def forward(self, assoc: torch.Tensor, labels: torch.Tensor) -> dict[str, torch.Tensor]:
        """:func:`superpixel_loss` (L_SP) of association ``(B, 9, H, W)`` and labels ``(B, H, W)``: its dict."""
        return superpixel_loss(
            assoc, labels, self.cell_size, self.pos_weight, self.scale, self.ignore_index, self.reduction
        )

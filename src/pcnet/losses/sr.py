"""Masked super-resolution loss L_SR (eq. 5 of PCNet): L1 on a band around the GT boundaries."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pcnet._checks import check, check_shape
from pcnet.losses._common import check_labels
from pcnet.ops.boundaries import boundary_counts

__all__ = ["boundary_band", "sr_loss", "SRLoss"]


def _thick_boundaries(labels: torch.Tensor, ignore_index: int) -> torch.Tensor:
    """``(B, H, W)`` bool: pixels with a 4-neighbour of another, non-ignored label (2 px thick)."""
    return boundary_counts(labels, ignore_index) > 0


def boundary_band(labels: torch.Tensor, band_size: int = 16, ignore_index: int = 255) -> torch.Tensor:
    """The mask B of eq. 5: GT boundaries dilated once with a ``band_size × band_size`` square.

    Boundaries are the pixels with a 4-neighbour of another label (2 px thick, the definition of
    :func:`pcnet.ops.find_boundaries`); a label change to or from ``ignore_index`` is no boundary.
    The kernel is anchored like OpenCV's ``cv2.dilate`` (anchor at ``k // 2``), which also covers
    even sizes: a boundary pixel at column ``b`` marks columns ``b − (k−1)//2 … b + k//2`` (and
    likewise rows).

    Args:
        labels: class ids ``(B, H, W)``.
        band_size: side ``k`` of the square dilation kernel (1: the boundaries themselves).
        ignore_index: label of pixels that belong to no class.

    Returns:
        ``(B, 1, H, W)`` float mask of 0 and 1.

    Example:
        >>> labels = torch.tensor([[0, 0, 0, 0, 1, 1, 1, 1]]).repeat(2, 1)[None]
        >>> boundary_band(labels, band_size=4)[0, 0, 0]
        tensor([0., 0., 1., 1., 1., 1., 1., 0.])
    """
    labels = check_labels(labels, ignore_index)
    check(int(band_size) >= 1, f"band_size must be a positive integer; got {band_size}")
    edges = _thick_boundaries(labels, ignore_index)[:, None].float()
    before, after = band_size // 2, (band_size - 1) // 2
    padded = F.pad(edges, (before, after, before, after))
    # a square max filter is separable: rows then columns, 2k instead of k² comparisons per pixel
    return F.max_pool2d(F.max_pool2d(padded, (band_size, 1), stride=1), (1, band_size), stride=1)


def sr_loss(pred: torch.Tensor, target: torch.Tensor, band: torch.Tensor) -> torch.Tensor:
    """Masked L1 of eq. 5: ``Σ |band ⊙ (target − pred)| / (C · Σ band)``.

    The paper writes the normaliser as ``|B|``; here it counts every channel of every band pixel,
    so the value is the mean absolute error per masked element (an RGB pixel counts 3 times).
    With an empty band the loss is 0 and still connected to ``pred``'s graph.

    Args:
        pred: reconstruction ``(B, C, H, W)`` (the SR head's output).
        target: high-resolution image ``(B, C, H, W)``.
        band: mask ``(B, 1, H, W)`` (from :func:`boundary_band`; non-negative weights also work).

    Returns:
        Scalar loss.

    Example:
        >>> pred, target = torch.zeros(1, 3, 2, 2), torch.ones(1, 3, 2, 2)
        >>> band = torch.tensor([[[[1., 0.], [0., 0.]]]])
        >>> sr_loss(pred, target, band)
        tensor(1.)
    """
    check_shape(pred, ["B", "C", "H", "W"], "pred")
    check(
        pred.shape == target.shape,
        f"pred {tuple(pred.shape)} and target {tuple(target.shape)} must have the same shape",
    )
    check_shape(band, ["B", 1, "H", "W"], "band")
    check(
        band.shape[0] == pred.shape[0] and band.shape[-2:] == pred.shape[-2:],
        f"band {tuple(band.shape)} must match pred {tuple(pred.shape)} in B, H and W",
    )
    band = band.to(pred.dtype)
    total = (band * (target - pred)).abs().sum()
    # an empty band makes both sums 0: 0 / tiny = 0, with a zero gradient instead of NaN
    return total / (pred.shape[1] * band.sum()).clamp_min(1e-12)


class SRLoss(nn.Module):
    """Module twin of :func:`sr_loss` that builds the band itself from the GT labels.

    ``forward(pred, target, labels)`` = ``sr_loss(pred, target, boundary_band(labels, …))``.
    """

    def __init__(self, band_size: int = 16, ignore_index: int = 255) -> None:
        super().__init__()
        self.band_size = band_size
        self.ignore_index = ignore_index

    def forward(self, pred: torch.Tensor, target: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """L1 between ``pred`` and ``target`` inside the boundary band of ``labels`` (a scalar)."""
        return sr_loss(pred, target, boundary_band(labels, self.band_size, self.ignore_index))

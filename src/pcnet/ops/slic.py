"""Differentiable SLIC (SSN) over the 9-neighbourhood, in plain PyTorch.

Each pixel is softly assigned to the 9 superpixel centres around its cell,
``Q(p, i) = softmax_i(−‖F_p − S_i‖²)``, and the centres are updated as
``S_i = Σ_p Q(p, i) F_p / Σ_p Q(p, i)`` (eq. 1, :func:`~pcnet.ops.association.pool`). Memory stays
O(9·H·W + C·H·W): distances are computed one neighbour at a time from shifted centre maps; no
pixels × superpixels matrix is built. Runs on CPU and CUDA alike.
"""

from __future__ import annotations

import torch

from pcnet._checks import check, check_shape
from pcnet.ops.association import from_cells, neighbor_cells, pool, to_cells
from pcnet.ops.grid import OWN_CELL, pixel_neighbor_cells

__all__ = ["neighbor_sq_distances", "soft_slic"]


def neighbor_sq_distances(features: torch.Tensor, centres: torch.Tensor, cell_size: int) -> torch.Tensor:
    """Squared distance of every pixel to its 9 candidate centres, ``(B, 9, H, W)``.

    Neighbours outside the grid get ``+inf`` (zero weight after a softmax of ``−distance``).
    Memory is O((9 + C)·H·W); the distances come from one small matrix product per cell.
    """
    check_shape(features, ["B", "C", "H", "W"], "features")
    check_shape(centres, ["B", "C", "gh", "gw"], "centres")
    height, width = features.shape[-2:]
    # ‖f − s‖² = ‖f‖² − 2 f·s + ‖s‖², the cross term as one small matrix product per cell
    candidates = neighbor_cells(centres)  # (B, 9, C, gh, gw)
    cross = torch.einsum("bcyixj,bkcyx->bkyixj", to_cells(features, cell_size), candidates)
    dist = from_cells(cross, height, width).mul(-2.0)
    dist = dist + features.pow(2).sum(dim=1, keepdim=True)
    own_norm = candidates.pow(2).sum(dim=2)  # (B, 9, gh, gw)
    dist = dist + own_norm.repeat_interleave(cell_size, -2).repeat_interleave(cell_size, -1)[..., :height, :width]
    outside = pixel_neighbor_cells(height, width, cell_size, features.device) < 0
    return dist.clamp_min(0.0).masked_fill(outside[None], float("inf"))


def soft_slic(features: torch.Tensor, cell_size: int, n_iter: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """Run ``n_iter`` differentiable SLIC iterations from grid-cell means.

    Args:
        features: pixel features ``(B, C, H, W)`` (SSN: scaled XYLab + CNN features).
        cell_size: superpixel grid cell size ``S``.
        n_iter: number of assignment/update iterations (SSN: 5 to train, 10 to test).

    Returns:
        ``(assoc, centres)``: the soft association ``(B, 9, H, W)`` of the last iteration and
        the centres ``(B, C, ceil(H/S), ceil(W/S))`` it was computed against.

    Example:
        >>> f = torch.zeros(1, 1, 4, 8); f[..., 4:] = 10.0       # two flat halves
        >>> q, c = soft_slic(f, cell_size=4, n_iter=3)
        >>> c.flatten().round().tolist()
        [0.0, 10.0]
    """
    check_shape(features, ["B", "C", "H", "W"], "features")
    check(n_iter >= 1, f"n_iter must be >= 1; got {n_iter}")
    own = torch.zeros(features.shape[0], 9, *features.shape[-2:], dtype=features.dtype, device=features.device)
    own[:, OWN_CELL] = 1.0
    centres = pool(features, own, cell_size)
    assoc = own
    for _ in range(n_iter):
        assoc = torch.softmax(-neighbor_sq_distances(features, centres, cell_size), dim=1)
        centres = pool(features, assoc, cell_size)
    return assoc, centres

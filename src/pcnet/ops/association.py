"""Pixel–superpixel association over the 9-neighbourhood: pooling (eq. 1) and unpooling (eq. 2).

An association map ``Q`` of shape ``(B, 9, H, W)`` gives, for every pixel, a weight for each of the
9 cells around its own (channel order :data:`~pcnet.ops.grid.NEIGHBOR_OFFSETS`). Both operations
run in O(9·C·H·W) time and memory with sum-pooling and shifts on the cell grid; no dense
pixels × superpixels matrix is ever built: the image is viewed as cells of S×S pixels and every
cell does one small matrix product with its 9 neighbours. Weight given to a neighbour outside the
grid is dropped.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pcnet._checks import check, check_shape
from pcnet.ops.grid import NEIGHBOR_OFFSETS, grid_shape

__all__ = ["from_cells", "neighbor_cells", "pool", "unpool", "reconstruct", "to_cells"]


def _check_pair(features: torch.Tensor, assoc: torch.Tensor, cell_size: int) -> None:
    check_shape(features, ["B", "C", "H", "W"], "features")
    check_shape(assoc, ["B", 9, "H", "W"], "assoc")
    check(
        features.shape[0] == assoc.shape[0] and features.shape[-2:] == assoc.shape[-2:],
        f"features {tuple(features.shape)} and assoc {tuple(assoc.shape)} must share B, H and W",
    )
    check(int(cell_size) >= 1, f"cell_size must be a positive integer; got {cell_size}")


def _shift(cells: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """``out[..., r, c] = cells[..., r + dy, c + dx]``, zero where that lies outside the grid."""
    padded = F.pad(cells, (1, 1, 1, 1))
    h, w = cells.shape[-2:]
    return padded[..., 1 + dy : 1 + dy + h, 1 + dx : 1 + dx + w]


def to_cells(x: torch.Tensor, cell_size: int) -> torch.Tensor:
    """View ``(B, C, H, W)`` as ``(B, C, gh, S, gw, S)``: pixel ``(i, j)`` of cell ``(y, x)``.

    Partial border cells are padded with zeros (zero association: they contribute nothing).
    """
    height, width = x.shape[-2:]
    gh, gw = grid_shape(height, width, cell_size)
    if (gh * cell_size, gw * cell_size) != (height, width):
        x = F.pad(x, (0, gw * cell_size - width, 0, gh * cell_size - height))
    return x.reshape(*x.shape[:2], gh, cell_size, gw, cell_size)


def from_cells(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Inverse of :func:`to_cells`: ``(B, C, gh, S, gw, S)`` → ``(B, C, H, W)``."""
    b, c, gh, s, gw, _ = x.shape
    return x.reshape(b, c, gh * s, gw * s)[..., :height, :width]


def neighbor_cells(cells: torch.Tensor) -> torch.Tensor:
    """The 9 candidate cells of every cell: ``(B, C, gh, gw)`` → ``(B, 9, C, gh, gw)``, channel
    ``k`` holding the cell at offset :data:`NEIGHBOR_OFFSETS` ``[k]`` (zero outside the grid)."""
    return torch.stack([_shift(cells, dy, dx) for dy, dx in NEIGHBOR_OFFSETS], dim=1)


def _gather_to_cells(per_cell: torch.Tensor) -> torch.Tensor:
    """Sum ``(B, 9, C, gh, gw)`` contributions, computed at each pixel's own cell for its ``k``-th
    neighbour, into the neighbour cells they belong to: ``(B, C, gh, gw)``."""
    return sum(_shift(per_cell[:, k], -dy, -dx) for k, (dy, dx) in enumerate(NEIGHBOR_OFFSETS))


def pool(features: torch.Tensor, assoc: torch.Tensor, cell_size: int, eps: float = 1e-8) -> torch.Tensor:
    """Superpixel (cell) features from pixel features, eq. 1 of PCNet/SCN.

    ``h(s) = Σ_{p: s ∈ N(p)} f(p)·Q(p, s) / Σ_{p: s ∈ N(p)} Q(p, s)``

    Args:
        features: pixel features ``(B, C, H, W)``.
        assoc: association ``(B, 9, H, W)``, typically a softmax over dim 1.
        cell_size: grid cell size ``S`` in pixels.
        eps: added to the denominator; a cell no pixel is associated with gets 0.

    Returns:
        Cell features ``(B, C, ceil(H/S), ceil(W/S))``.

    Example:
        >>> q = torch.zeros(1, 9, 4, 4); q[:, 4] = 1           # every pixel fully in its own cell
        >>> f = torch.arange(16.).reshape(1, 1, 4, 4)
        >>> pool(f, q, 2)
        tensor([[[[ 2.5000,  4.5000],
                  [10.5000, 12.5000]]]])
    """
    _check_pair(features, assoc, cell_size)
    q = to_cells(assoc, cell_size)
    # one batched matrix product per cell: Σ_pixels f(p)·Q_k(p) for the 9 neighbours k at once
    sums = torch.einsum("bcyixj,bkyixj->bkcyx", to_cells(features, cell_size), q)
    num = _gather_to_cells(sums)
    den = _gather_to_cells(q.sum(dim=(3, 5))[:, :, None])
    return num / (den + eps)


def unpool(cells: torch.Tensor, assoc: torch.Tensor, cell_size: int) -> torch.Tensor:
    """Pixel features from cell features, eq. 2: ``f'(p) = Σ_{s ∈ N(p)} h(s)·Q(p, s)``.

    Args:
        cells: cell features ``(B, C, gh, gw)`` on the grid of ``assoc``.
        assoc: association ``(B, 9, H, W)``.
        cell_size: grid cell size ``S``.

    Returns:
        Pixel features ``(B, C, H, W)``.

    Example:
        >>> q = torch.zeros(1, 9, 4, 4); q[:, 4] = 1
        >>> unpool(torch.tensor([[[[1., 2.], [3., 4.]]]]), q, 2)[0, 0]
        tensor([[1., 1., 2., 2.],
                [1., 1., 2., 2.],
                [3., 3., 4., 4.],
                [3., 3., 4., 4.]])
    """
    check_shape(cells, ["B", "C", "gh", "gw"], "cells")
    check_shape(assoc, ["B", 9, "H", "W"], "assoc")
    height, width = assoc.shape[-2:]
    grid = grid_shape(height, width, cell_size)
    check(
        tuple(cells.shape[-2:]) == grid and cells.shape[0] == assoc.shape[0],
        f"cells {tuple(cells.shape)} must have batch {assoc.shape[0]} and grid {grid} "
        f"(an {height}×{width} image with cell_size={cell_size})",
    )
    # per cell: (C × 9 neighbour features) @ (9 × S² pixel weights)
    out = torch.einsum("bkcyx,bkyixj->bcyixj", neighbor_cells(cells), to_cells(assoc, cell_size))
    return from_cells(out, height, width)


def reconstruct(features: torch.Tensor, assoc: torch.Tensor, cell_size: int) -> torch.Tensor:
    """``unpool(pool(features))``: the pixel features as the superpixels can represent them."""
    return unpool(pool(features, assoc, cell_size), assoc, cell_size)

"""Hard superpixel labels from a soft 9-neighbour association."""

from __future__ import annotations

import torch

from pcnet._checks import check, check_shape
from pcnet.ops.grid import NEIGHBOR_OFFSETS, OWN_CELL, cell_index_map, grid_shape

__all__ = ["hard_labels"]

# argmax scans channels in this order and keeps the first maximum: ties go to the pixel's own
# cell, then to the neighbours in row-major order. A uniform association thus gives the grid.
_TIE_ORDER = [OWN_CELL] + [k for k in range(len(NEIGHBOR_OFFSETS)) if k != OWN_CELL]


def hard_labels(assoc: torch.Tensor, cell_size: int) -> torch.Tensor:
    """Global cell id of the most associated cell for every pixel.

    Neighbours outside the grid are never chosen. Ties are broken deterministically: the pixel's
    own cell first, then the others in :data:`~pcnet.ops.grid.NEIGHBOR_OFFSETS` order.

    Args:
        assoc: association ``(B, 9, H, W)`` (probabilities or logits; only the order matters).
        cell_size: grid cell size ``S``.

    Returns:
        ``(B, H, W)`` int64 cell ids in ``[0, ceil(H/S)·ceil(W/S))``. The ids are not yet
        connected superpixels: run :func:`~pcnet.ops.connectivity.enforce_connectivity` for that.

    Example:
        >>> hard_labels(torch.zeros(1, 9, 3, 4), 2)     # uniform association -> the grid itself
        tensor([[[0, 0, 1, 1],
                 [0, 0, 1, 1],
                 [2, 2, 3, 3]]])
    """
    check_shape(assoc, ["B", 9, "H", "W"], "assoc")
    check(int(cell_size) >= 1, f"cell_size must be a positive integer; got {cell_size}")
    height, width = assoc.shape[-2:]
    grid_h, grid_w = grid_shape(height, width, cell_size)
    device = assoc.device
    scores = assoc.detach()[:, _TIE_ORDER]
    # neighbours beyond the grid border: only pixels of the outer cell rows/columns have them
    last_row, last_col = (grid_h - 1) * cell_size, (grid_w - 1) * cell_size
    for channel, k in enumerate(_TIE_ORDER):
        dy, dx = NEIGHBOR_OFFSETS[k]
        view = scores[:, channel]
        if dy < 0:
            view[:, :cell_size] = float("-inf")
        if dy > 0:
            view[:, last_row:] = float("-inf")
        if dx < 0:
            view[:, :, :cell_size] = float("-inf")
        if dx > 0:
            view[:, :, last_col:] = float("-inf")
    # the chosen cell is the own cell moved by (dy, dx): id + dy·grid_w + dx
    delta = torch.tensor([dy * grid_w + dx for dy, dx in (NEIGHBOR_OFFSETS[k] for k in _TIE_ORDER)])
    choice = scores.max(dim=1).indices  # first maximum on ties, like argmax
    del scores
    own = cell_index_map(height, width, cell_size, device)
    return own + delta.to(device)[choice]

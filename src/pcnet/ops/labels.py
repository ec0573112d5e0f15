"""Hard superpixel labels from a soft 9-neighbour association."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from pcnet._checks import check, check_shape
from pcnet.ops.grid import NEIGHBOR_OFFSETS, OWN_CELL, grid_shape

__all__ = ["TIE_ORDER", "hard_labels", "hard_labels_subpixel", "relabel_sequential"]

# argmax scans channels in this order and keeps the first maximum: ties go to the pixel's own
# cell, then to the neighbours in row-major order. A uniform association thus gives the grid.
_TIE_ORDER = [OWN_CELL] + [k for k in range(len(NEIGHBOR_OFFSETS)) if k != OWN_CELL]
#: the neighbour order of the channels :func:`hard_labels_subpixel` expects (and of its ties)
TIE_ORDER = tuple(_TIE_ORDER)


def hard_labels(
    assoc: torch.Tensor,
    cell_size: int,
    origin: tuple[int, int] = (0, 0),
    image_size: tuple[int, int] | None = None,
) -> torch.Tensor:
    """Global cell id of the most associated cell for every pixel.

    Neighbours outside the grid are never chosen. Ties are broken deterministically: the pixel's
    own cell first, then the others in :data:`~pcnet.ops.grid.NEIGHBOR_OFFSETS` order.

    Args:
        assoc: association ``(B, 9, h, w)`` (probabilities or logits; only the order matters).
        cell_size: grid cell size ``S``.
        origin: ``(row, col)`` of ``assoc``'s first pixel when it is a tile of a larger image;
            ids then refer to the whole image's grid, so tiles agree with each other.
        image_size: ``(H, W)`` of that whole image (default: the tile itself).

    Returns:
        ``(B, h, w)`` int64 cell ids in ``[0, ceil(H/S)·ceil(W/S))``. The ids are not yet
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
    top, left = origin
    full_h, full_w = image_size or (height, width)
    check(
        0 <= top and 0 <= left and top + height <= full_h and left + width <= full_w,
        f"a {height}×{width} tile at {origin} does not fit in an image of {full_h}×{full_w}",
    )
    grid_h, grid_w = grid_shape(full_h, full_w, cell_size)
    device = assoc.device
    scores = assoc.detach()[:, _TIE_ORDER]
    # neighbours beyond the grid border: only pixels of the outer cell rows/columns have them
    rows = torch.arange(top, top + height, device=device)[:, None] // cell_size
    cols = torch.arange(left, left + width, device=device)[None, :] // cell_size
    first_row, last_row = rows[:, 0] == 0, rows[:, 0] == grid_h - 1
    first_col, last_col = cols[0] == 0, cols[0] == grid_w - 1
    for channel, k in enumerate(_TIE_ORDER):
        dy, dx = NEIGHBOR_OFFSETS[k]
        view = scores[:, channel]
        for outside in (first_row if dy < 0 else None, last_row if dy > 0 else None):
            if outside is not None and bool(outside.any()):
                view[:, outside] = float("-inf")
        for outside in (first_col if dx < 0 else None, last_col if dx > 0 else None):
            if outside is not None and bool(outside.any()):
                view[:, :, outside] = float("-inf")
    # the chosen cell is the own cell moved by (dy, dx): id + dy·grid_w + dx
    delta = torch.tensor([dy * grid_w + dx for dy, dx in (NEIGHBOR_OFFSETS[k] for k in _TIE_ORDER)], device=device)
    choice = scores.max(dim=1).indices  # first maximum on ties, like argmax
    del scores
    return rows * grid_w + cols + delta[choice]


def hard_labels_subpixel(
    scores: torch.Tensor,
    upscale: int,
    cell_size: int,
    origin: tuple[int, int] = (0, 0),
    image_size: tuple[int, int] | None = None,
) -> torch.Tensor:
    """:func:`hard_labels` of ``pixel_shuffle(scores)`` without shuffling the scores: the 9-way
    choice is taken at input resolution and only the uint8 choice map is shuffled (9× less memory
    traffic than shuffling float logits, no int64 map). Same ids, same ties.

    Args:
        scores: ``(B, 9·u², h, w)`` sub-pixel scores whose 9 neighbour groups of ``u²`` channels
            come in :data:`TIE_ORDER` (PCNet's inference head is permuted once into it); may be
            overwritten (out-of-grid neighbours are set to −inf in place).
        upscale: ``u``; ``cell_size`` must be a multiple of it.
        (On the CPU one compiled pass; elsewhere PyTorch ops. Same ids.)
        cell_size, origin, image_size: as :func:`hard_labels`, at output resolution.

    Returns:
        ``(B, u·h, u·w)`` int32 cell ids.

    Example:
        >>> scores = torch.zeros(1, 9 * 4, 3, 4)             # uniform: the grid itself
        >>> hard_labels_subpixel(scores, 2, 4)[0, ::2, ::2]
        tensor([[0, 0, 1, 1],
                [0, 0, 1, 1],
                [2, 2, 3, 3]], dtype=torch.int32)
    """
    u = int(upscale)
    check_shape(scores, ["B", 9 * u * u, "H", "W"], "scores")
    check(u >= 1 and cell_size % u == 0, f"cell_size {cell_size} must be a multiple of the upscale factor {u}")
    batch, _, h, w = scores.shape
    height, width = u * h, u * w
    top, left = origin
    full_h, full_w = image_size or (height, width)
    check(
        0 <= top and 0 <= left and top % u == 0 and left % u == 0 and top + height <= full_h and left + width <= full_w,
        f"a {height}×{width} tile at {origin} does not fit in an image of {full_h}×{full_w} on a {u}-px raster",
    )
    grid_h, grid_w = grid_shape(full_h, full_w, cell_size)
    if scores.device.type == "cpu":
        return _subpixel_cells_compiled(scores, u, cell_size, origin, grid_h, grid_w)
    return _subpixel_cells_torch(scores, u, cell_size, origin, grid_h, grid_w)


def _subpixel_cells_compiled(
    scores: torch.Tensor, u: int, cell_size: int, origin: tuple[int, int], grid_h: int, grid_w: int
) -> torch.Tensor:
    """The CPU path of :func:`hard_labels_subpixel`: one compiled pass (``pcnet.ops.kernels.cells``)."""
    from pcnet.ops.kernels.cells import subpixel_cells

    batch, _, h, w = scores.shape
    values = scores.detach()
    if values.dtype != torch.float32:
        values = values.float()
    values = values.numpy()
    out = np.empty((batch, u * h, u * w), np.int32)
    dy = np.array([NEIGHBOR_OFFSETS[k][0] for k in _TIE_ORDER], np.int64)
    dx = np.array([NEIGHBOR_OFFSETS[k][1] for k in _TIE_ORDER], np.int64)
    for b in range(batch):
        subpixel_cells(values[b], u, cell_size, origin[0], origin[1], grid_h, grid_w, dy, dx, out[b])
    return torch.from_numpy(out)


def _subpixel_cells_torch(
    scores: torch.Tensor, u: int, cell_size: int, origin: tuple[int, int], grid_h: int, grid_w: int
) -> torch.Tensor:
    """:func:`hard_labels_subpixel` in PyTorch ops (any device; overwrites out-of-grid scores)."""
    batch, _, h, w = scores.shape
    height, width = u * h, u * w
    top, left = origin
    device = scores.device
    view = scores.detach().view(batch, 9, u * u, h, w)
    per_cell = cell_size // u  # input pixels per cell side: a whole cell row shares its outer-row status
    rows = torch.arange(top // u, top // u + h, device=device) // per_cell
    cols = torch.arange(left // u, left // u + w, device=device) // per_cell
    first_row, last_row, first_col, last_col = rows == 0, rows == grid_h - 1, cols == 0, cols == grid_w - 1
    for channel, k in enumerate(_TIE_ORDER):
        dy, dx = NEIGHBOR_OFFSETS[k]
        for outside in (first_row if dy < 0 else None, last_row if dy > 0 else None):
            if outside is not None and bool(outside.any()):
                view[:, channel, :, outside] = float("-inf")
        for outside in (first_col if dx < 0 else None, last_col if dx > 0 else None):
            if outside is not None and bool(outside.any()):
                view[:, channel, :, :, outside] = float("-inf")
    choice = view.max(dim=1).indices.to(torch.uint8)  # first maximum on ties (max, not argmax: faster here)
    choice = F.pixel_shuffle(choice, u)[:, 0]
    out_rows = torch.arange(top, top + height, device=device, dtype=torch.int32)[:, None] // cell_size
    out_cols = torch.arange(left, left + width, device=device, dtype=torch.int32)[None, :] // cell_size
    delta = torch.tensor(
        [dy * grid_w + dx for dy, dx in (NEIGHBOR_OFFSETS[k] for k in _TIE_ORDER)], device=device, dtype=torch.int32
    )
    return (out_rows * grid_w + out_cols) + delta.index_select(0, choice.reshape(-1).int()).view_as(choice)


def relabel_sequential(labels: np.ndarray) -> tuple[np.ndarray, int]:
    """Renumber labels to 0..n-1, order preserved: ``(int32 ids, n)``.

    Example:
        >>> relabel_sequential(np.array([[7, 3], [3, 9]]))
        (array([[1, 0],
               [0, 2]], dtype=int32), 3)
    """
    top = int(labels.max())
    if top < 4 * labels.size + 1024:  # small label range: a lookup table, O(N)
        present = np.bincount(labels.ravel(), minlength=top + 1) > 0
        lut = np.cumsum(present, dtype=np.int64) - 1
        return lut[labels].astype(np.int32), int(present.sum())
    uniq, inverse = np.unique(labels, return_inverse=True)
    return inverse.reshape(labels.shape).astype(np.int32), int(uniq.size)

"""The regular grid of superpixel cells that SCN/PCNet/SSN associate pixels with.

An H×W image is covered by ``ceil(H/S) × ceil(W/S)`` cells of ``S`` pixels; cells on the bottom and
right border may be partial. Cells are numbered in raster order, ``id = row * grid_w + col``. Every
pixel is associated with the 9 cells around (and including) its own, in the fixed order of
:data:`NEIGHBOR_OFFSETS` (row-major over ``dy, dx ∈ {-1, 0, 1}``; index 4 is the pixel's own cell).
"""

from __future__ import annotations

import math

import torch

from pcnet._checks import check, check_n_segments

__all__ = [
    "NEIGHBOR_OFFSETS",
    "OWN_CELL",
    "grid_shape",
    "cell_size_for",
    "n_segments_for",
    "cell_index_map",
    "cell_neighbors",
    "pixel_neighbor_cells",
]

#: ``(dy, dx)`` of the 9 neighbour cells, row-major; the channel order of every association map.
NEIGHBOR_OFFSETS: tuple[tuple[int, int], ...] = tuple((dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1))
#: Channel of the pixel's own cell in an association map.
OWN_CELL = 4


def _check_size(height: int, width: int, cell_size: int | None = None) -> None:
    check(
        int(height) >= 1 and int(width) >= 1,
        f"image size must be at least 1×1; got {height}×{width}",
    )
    if cell_size is not None:
        check(int(cell_size) >= 1, f"cell_size must be a positive integer; got {cell_size}")


def grid_shape(height: int, width: int, cell_size: int) -> tuple[int, int]:
    """Number of cell rows and columns covering an image (partial border cells included).

    Example:
        >>> grid_shape(321, 481, 16)
        (21, 31)
    """
    _check_size(height, width, cell_size)
    return math.ceil(height / cell_size), math.ceil(width / cell_size)


def cell_size_for(n_segments: int, height: int, width: int) -> int:
    """Cell size ``S`` whose grid has about ``n_segments`` cells on an H×W image.

    ``S = round(sqrt(H·W / n_segments))``, at least 1. The grid then has
    :func:`n_segments_for` ``(S, H, W)`` cells, which is close to but not always exactly
    ``n_segments`` (cells are square and partial border cells count).

    Example:
        >>> cell_size_for(600, 321, 481)
        16
        >>> n_segments_for(16, 321, 481)
        651
    """
    _check_size(height, width)
    n_segments = check_n_segments(n_segments, height * width)
    return max(1, round(math.sqrt(height * width / n_segments)))


def n_segments_for(cell_size: int, height: int, width: int) -> int:
    """Number of grid cells (the inverse of :func:`cell_size_for`)."""
    rows, cols = grid_shape(height, width, cell_size)
    return rows * cols


def cell_index_map(height: int, width: int, cell_size: int, device: torch.device | str | None = None) -> torch.Tensor:
    """Global id of the cell each pixel lies in, shape ``(H, W)``, int64.

    Example:
        >>> cell_index_map(3, 5, 2)
        tensor([[0, 0, 1, 1, 2],
                [0, 0, 1, 1, 2],
                [3, 3, 4, 4, 5]])
    """
    _, cols = grid_shape(height, width, cell_size)
    rows_idx = torch.arange(height, device=device) // cell_size
    cols_idx = torch.arange(width, device=device) // cell_size
    return rows_idx[:, None] * cols + cols_idx[None, :]


def cell_neighbors(grid_h: int, grid_w: int, device: torch.device | str | None = None) -> torch.Tensor:
    """The 9 neighbour cell ids of every cell, shape ``(grid_h·grid_w, 9)``; -1 outside the grid.

    Example:
        >>> cell_neighbors(2, 2)[0].tolist()
        [-1, -1, -1, -1, 0, 1, -1, 2, 3]
    """
    check(grid_h >= 1 and grid_w >= 1, f"grid must be at least 1×1; got {grid_h}×{grid_w}")
    r = torch.arange(grid_h, device=device)[:, None].expand(grid_h, grid_w).reshape(-1)
    c = torch.arange(grid_w, device=device)[None, :].expand(grid_h, grid_w).reshape(-1)
    out = []
    for dy, dx in NEIGHBOR_OFFSETS:
        rr, cc = r + dy, c + dx
        valid = (rr >= 0) & (rr < grid_h) & (cc >= 0) & (cc < grid_w)
        out.append(torch.where(valid, rr * grid_w + cc, torch.full_like(rr, -1)))
    return torch.stack(out, dim=1)


def pixel_neighbor_cells(
    height: int, width: int, cell_size: int, device: torch.device | str | None = None
) -> torch.Tensor:
    """Global id of each of the 9 candidate cells of every pixel, shape ``(9, H, W)``; -1 outside.

    Channel ``k`` holds the cell at offset :data:`NEIGHBOR_OFFSETS` ``[k]`` from the pixel's own.
    """
    rows, cols = grid_shape(height, width, cell_size)
    own = cell_index_map(height, width, cell_size, device)
    return cell_neighbors(rows, cols, device)[own].permute(2, 0, 1)

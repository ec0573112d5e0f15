"""Numba kernel of :func:`pcnet.ops.labels.hard_labels_subpixel`: the 9-way choice of every
sub-pixel, the pixel shuffle and the global cell id in one pass, straight to int32."""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["subpixel_cells"]


@nb.njit(cache=True, nogil=True, parallel=True)
def subpixel_cells(
    scores: np.ndarray, u: int, cell_size: int, top: int, left: int, grid_h: int, grid_w: int,
    dy: np.ndarray, dx: np.ndarray, out: np.ndarray,
) -> None:  # fmt: skip
    """Cell ids of ``pixel_shuffle(scores)`` into ``out`` (``(u·h, u·w)`` int32).

    ``scores``: ``(9·u², h, w)`` float, 9 groups of ``u²`` sub-pixel channels whose neighbour
    offsets are ``(dy[g], dx[g])`` (the first group, the own cell, wins ties; then the others in
    order); ``(top, left)``: the output position of the first pixel in the whole image, whose grid
    is ``grid_h × grid_w`` cells of ``cell_size``. Neighbours outside the grid are never chosen."""
    _, h, w = scores.shape
    uu = u * u
    for y in nb.prange(h):
        best = np.empty((uu, w), np.float32)
        pick = np.zeros((uu, w), np.int8)
        for i in range(u):
            crow = (top + y * u + i) // cell_size
            for j in range(u):
                ch = i * u + j
                row = scores[ch, y]  # group 0: the own cell, always inside the grid
                for x in range(w):
                    best[ch, x] = row[x]
                for g in range(1, 9):
                    ny = crow + dy[g]
                    if ny < 0 or ny >= grid_h:
                        continue
                    row = scores[g * uu + ch, y]
                    for x in range(w):
                        nx = (left + x * u + j) // cell_size + dx[g]
                        if nx >= 0 and nx < grid_w and row[x] > best[ch, x]:
                            best[ch, x] = row[x]
                            pick[ch, x] = g
        for i in range(u):
            crow = (top + y * u + i) // cell_size
            for x in range(w):
                for j in range(u):
                    g = pick[i * u + j, x]
                    ccol = (left + x * u + j) // cell_size
                    out[y * u + i, x * u + j] = (crow + dy[g]) * grid_w + ccol + dx[g]

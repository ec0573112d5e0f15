"""Numba kernels of :func:`pcnet.ops.enforce_connectivity`: 4-connected components in one raster
pass (union-find on provisional ids), the borders of the components to merge, and the relabelling.

Components are numbered in raster order of their first pixel, as ``skimage.measure.label`` does;
a pixel with a negative label (outside a mask) belongs to none and gets −1.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["border_codes", "components", "relabel"]


@nb.njit(cache=True, nogil=True)
def _root(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving
        i = parent[i]
    return i


@nb.njit(cache=True, nogil=True)
def _union(parent: np.ndarray, a: int, b: int) -> None:
    """Join the sets of ``a`` and ``b`` under the smaller root (the earlier provisional id)."""
    a, b = _root(parent, a), _root(parent, b)
    if a < b:
        parent[b] = a
    elif b < a:
        parent[a] = b


@nb.njit(cache=True, nogil=True)
def components(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """4-connected components of equal labels.

    Returns ``(comp, sizes, owner)``: ``(H, W)`` int32 ids 0..n-1 in raster order of first pixel
    (−1 where the label is negative), the pixel count and the label of each component."""
    height, width = labels.shape
    comp = np.empty((height, width), np.int32)
    parent = np.empty(max(16, (height * width) // 16), np.int32)
    n = 0
    for row in range(height):
        for col in range(width):
            v = labels[row, col]
            if v < 0:
                comp[row, col] = -1
                continue
            same_left = col > 0 and labels[row, col - 1] == v
            same_up = row > 0 and labels[row - 1, col] == v
            if same_left:
                i = comp[row, col - 1]
                if same_up and comp[row - 1, col] != i:
                    _union(parent, i, comp[row - 1, col])
            elif same_up:
                i = comp[row - 1, col]
            else:
                if n == parent.size:
                    grown = np.empty(2 * parent.size, np.int32)
                    grown[:n] = parent[:n]
                    parent = grown
                parent[n] = n
                i = n
                n += 1
            comp[row, col] = i
    # roots are the smallest provisional id of their set, created in raster order: number them so
    final = np.empty(n, np.int32)
    count = 0
    for i in range(n):
        if parent[i] == i:
            final[i] = count
            count += 1
        else:
            final[i] = final[_root(parent, i)]
    sizes = np.zeros(count, np.int64)
    owner = np.zeros(count, np.int64)
    for row in range(height):
        for col in range(width):
            i = comp[row, col]
            if i >= 0:
                c = final[i]
                comp[row, col] = c
                sizes[c] += 1
                owner[c] = labels[row, col]
    return comp, sizes, owner


@nb.njit(cache=True, nogil=True)
def border_codes(comp: np.ndarray, flagged: np.ndarray) -> np.ndarray:
    """``a · n + b`` (int64) for every pixel edge between a flagged component ``a`` and another
    component ``b`` (both directions where both are flagged); ``n`` = ``flagged.size``. Pixels
    with a negative id border nobody."""
    height, width = comp.shape
    n = np.int64(flagged.size)
    out = np.empty(1024, np.int64)
    m = 0
    for row in range(height):
        for col in range(width):
            a = comp[row, col]
            if a < 0:
                continue
            for step in range(2):
                if step == 0:
                    if col + 1 >= width:
                        continue
                    b = comp[row, col + 1]
                else:
                    if row + 1 >= height:
                        continue
                    b = comp[row + 1, col]
                if b < 0 or b == a or not (flagged[a] or flagged[b]):
                    continue
                if m + 2 > out.size:
                    grown = np.empty(2 * out.size, np.int64)
                    grown[:m] = out[:m]
                    out = grown
                if flagged[a]:
                    out[m] = a * n + b
                    m += 1
                if flagged[b]:
                    out[m] = b * n + a
                    m += 1
    return out[:m]


@nb.njit(cache=True, nogil=True, parallel=True)
def relabel(comp: np.ndarray, table: np.ndarray, outside: int) -> np.ndarray:
    """``table[comp]`` as int32, ``outside`` where ``comp`` is negative (rows in parallel)."""
    height, width = comp.shape
    out = np.empty((height, width), np.int32)
    for row in nb.prange(height):
        for col in range(width):
            i = comp[row, col]
            out[row, col] = table[i] if i >= 0 else outside
    return out

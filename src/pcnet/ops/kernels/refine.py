"""Numba kernels of :func:`pcnet.ops.refine_labels`: label statistics and checkerboard sweeps.

The colour is CIELAB in OpenCV's 8-bit encoding (``L·255/100``, ``a + 128``, ``b + 128``: 3 bytes
a pixel, made once by ``cv2.cvtColor``), so every statistic is a sum of integers: exact, and the
same whatever the order or the thread count. A value is decoded as ``code · scale + offset`` in
float32; the cost is computed in float32 in the order of the NumPy reference
(``tests/reference_ops.py``), which gives the same labels.
"""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["label_sums", "sweeps"]


@nb.njit(cache=True, nogil=True, parallel=True)
def label_sums(lab: np.ndarray, labels: np.ndarray, n_labels: int, n_parts: int, row_offset: int) -> np.ndarray:
    """``(n_labels, 8)`` int64 sums per label: pixel count, L, a, b codes, row (+ ``row_offset``:
    the map's first row in a larger image), col, then two working columns (a label's row is one
    cache line) (over ``n_parts`` row blocks in parallel: integer sums, the same for any count)."""
    height, width = labels.shape
    n_parts = max(1, min(n_parts, height))
    partial = np.zeros((n_parts, n_labels, 8), np.int64)
    for part in nb.prange(n_parts):
        acc = partial[part]
        for row in range(part * height // n_parts, (part + 1) * height // n_parts):
            for col in range(width):
                k = labels[row, col]
                if k < 0:  # outside a mask
                    continue
                acc[k, 0] += 1
                acc[k, 1] += lab[row, col, 0]
                acc[k, 2] += lab[row, col, 1]
                acc[k, 3] += lab[row, col, 2]
                acc[k, 4] += row + row_offset
                acc[k, 5] += col
    out = np.zeros((n_labels, 8), np.int64)
    for part in range(n_parts):
        out += partial[part]
    return out


@nb.njit(cache=True, nogil=True)
def _means(sums: np.ndarray, scale: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """``(n, 8)`` float32 means: L, a, b decoded (``mean code · scale + offset``), row, col
    (and 3 columns of padding: a label's means are one half cache line)."""
    n = sums.shape[0]
    stats = np.zeros((n, 8), np.float32)
    for k in range(n):
        count = max(sums[k, 0], 1)
        for c in range(3):
            stats[k, c] = np.float32(sums[k, 1 + c] / count * scale[c] + offset[c])
        stats[k, 3] = np.float32(sums[k, 4] / count)
        stats[k, 4] = np.float32(sums[k, 5] / count)
    return stats


@nb.njit(cache=True, nogil=True, parallel=True)
def _boundary(labels: np.ndarray) -> np.ndarray:
    """``(H, W)`` uint8: 1 where a 4-neighbour has another label (never outside a mask, −1)."""
    height, width = labels.shape
    edge = np.zeros((height, width), np.uint8)
    for row in nb.prange(height):
        for col in range(width):
            k = labels[row, col]
            if k >= 0 and (
                (row > 0 and labels[row - 1, col] != k)
                or (row < height - 1 and labels[row + 1, col] != k)
                or (col > 0 and labels[row, col - 1] != k)
                or (col < width - 1 and labels[row, col + 1] != k)
            ):
                edge[row, col] = 1
    return edge


@nb.njit(cache=True, nogil=True)
def _boundary_queues(labels: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The boundary pixels (flat indices) of each checkerboard colour, and a ``(H·W,)`` uint8
    map that is 1 on them (the pixels queued)."""
    height, width = labels.shape
    edge = _boundary(labels)
    count = np.zeros(2, np.int64)
    for row in range(height):
        for col in range(width):
            count[(row + col) & 1] += edge[row, col]
    queues = [np.empty(count[0], np.int32), np.empty(count[1], np.int32)]
    fill = np.zeros(2, np.int64)
    for row in range(height):
        for col in range(width):
            if edge[row, col]:
                parity = (row + col) & 1
                queues[parity][fill[parity]] = row * width + col
                fill[parity] += 1
    return queues, edge.reshape(-1)


@nb.njit(cache=True, nogil=True)
def _cost(
    k: int, up: int, down: int, left: int, right: int, l_: np.float32, a_: np.float32, b_: np.float32,
    row: float, col: float, stats: np.ndarray, pos_weight: np.float32, smoothness: np.float32,
) -> np.float32:  # fmt: skip
    """The reference's float32 cost of label ``k`` for one pixel (same operations, same order)."""
    d = stats[k, 0] - l_
    cost = d * d
    d = stats[k, 1] - a_
    cost += d * d
    d = stats[k, 2] - b_
    cost += d * d
    d = stats[k, 3] - np.float32(row)
    cost += d * d * pos_weight
    d = stats[k, 4] - np.float32(col)
    cost += d * d * pos_weight
    agree = (up == k) + (down == k) + (left == k) + (right == k)
    return cost - smoothness * np.float32(agree)


@nb.njit(cache=True, nogil=True, parallel=True)
def _decide(
    lab: np.ndarray, flat: np.ndarray, width: int, height: int, todo: np.ndarray, n: int, stats: np.ndarray,
    scale: np.ndarray, offset: np.ndarray, pos_weight: np.float32, smoothness: np.float32, best: np.ndarray,
    row_offset: int,
) -> None:  # fmt: skip
    """``best[i]``: the cheapest of pixel ``todo[i]``'s own label and up to two neighbouring ones."""
    for i in nb.prange(n):
        p = todo[i]
        own = flat[p]
        row = p // width
        col = p - row * width
        up = flat[p - width] if row > 0 else own
        down = flat[p + width] if row < height - 1 else own
        left = flat[p - 1] if col > 0 else own
        right = flat[p + 1] if col < width - 1 else own
        first = own
        second = own
        for q in (up, down, left, right):  # the first two other labels (not outside a mask), in this order
            if q != own and q >= 0:
                if first == own:
                    first = q
                elif q != first:
                    second = q
                    break
        l_ = np.float32(lab[p, 0]) * scale[0] + offset[0]
        a_ = np.float32(lab[p, 1]) * scale[1] + offset[1]
        b_ = np.float32(lab[p, 2]) * scale[2] + offset[2]
        choice = own
        y = row + row_offset  # the position term in the whole image's rows
        low = _cost(own, up, down, left, right, l_, a_, b_, y, col, stats, pos_weight, smoothness)
        for k in (first, second):
            if k != own:
                cost = _cost(k, up, down, left, right, l_, a_, b_, y, col, stats, pos_weight, smoothness)
                if cost < low:  # ties keep the earlier candidate (own first), as argmin does
                    low, choice = cost, k
        best[i] = choice


@nb.njit(cache=True, nogil=True)
def _apply(
    lab: np.ndarray, flat: np.ndarray, width: int, height: int, todo: np.ndarray, n: int, best: np.ndarray,
    sizes: np.ndarray, floor: np.ndarray, sums: np.ndarray, losses: np.ndarray,
    other: np.ndarray, n_other: int, queued: np.ndarray, row_offset: int,
) -> tuple[np.ndarray, int, int]:  # fmt: skip
    """Move the pixels whose label keeps ``floor`` pixels after this half-sweep's losses; update
    ``sums`` (``sizes`` is its count row); queue the moved pixels' neighbours (the other colour).
    Returns the other queue, its length and the number of moves."""
    changed = 0
    for i in range(n):  # unqueue the visited pixels; the changes to the front of todo / best
        p = todo[i]
        queued[p] = 0
        new = best[i]
        if new != flat[p]:
            losses[flat[p]] += 1
            todo[changed], best[changed] = p, new
            changed += 1
    for i in range(changed):  # decided before any move, on this half-sweep's totals: -1 blocks a label
        own = flat[todo[i]]
        if losses[own] > 0 and sizes[own] - losses[own] < floor[own]:
            losses[own] = -1
    moves = 0
    for i in range(changed):
        p = todo[i]
        own = flat[p]
        if losses[own] < 0:
            continue
        losses[own] = 0  # still >= 0: the label's other pixels move too
        new = best[i]
        moves += 1
        row = p // width
        col = p - row * width
        sizes[own] -= 1
        sizes[new] += 1
        for c in range(3):
            sums[own, 1 + c] -= lab[p, c]
            sums[new, 1 + c] += lab[p, c]
        sums[own, 4] -= row + row_offset
        sums[new, 4] += row + row_offset
        sums[own, 5] -= col
        sums[new, 5] += col
        flat[p] = new
        if n_other + 4 > other.size:  # room for the 4 neighbours
            grown = np.empty(max(64, 2 * other.size), other.dtype)
            grown[:n_other] = other[:n_other]
            other = grown
        for q, inside in (
            (p - width, row > 0),
            (p + width, row < height - 1),
            (p - 1, col > 0),
            (p + 1, col < width - 1),
        ):
            if inside and not queued[q] and flat[q] >= 0:
                queued[q] = 1
                other[n_other] = q
                n_other += 1
    for i in range(changed):  # the blocked labels (their pixels did not move)
        losses[flat[todo[i]]] = 0
    return other, n_other, moves


@nb.njit(cache=True, nogil=True)
def sweeps(
    lab: np.ndarray, labels: np.ndarray, sums: np.ndarray, floor: np.ndarray, scale: np.ndarray,
    offset: np.ndarray, pos_weight: float, smoothness: float, n_iter: int, rounds: int, row_offset: int,
) -> None:  # fmt: skip
    """``rounds`` × (means from ``sums``, then ``2 · n_iter`` checkerboard half-sweeps over the
    boundary pixels of ``labels``), in place; ``sums`` (:func:`label_sums`) follow the moves.

    ``lab``: ``(H, W, 3)`` uint8 codes; ``floor``: the size below which no label may shrink;
    ``row_offset``: the map's first row in the whole image (a window's: positions, and the
    float32 rounding of their means, are the whole image's).
    Pixels labelled −1 (outside a mask) never move and are never a candidate."""
    height, width = labels.shape
    flat = labels.reshape(-1)
    codes = lab.reshape(-1, 3)
    sizes = sums[:, 0]  # views: the counts follow the moves; the losses of a half-sweep
    losses = sums[:, 6]
    pw = np.float32(pos_weight)
    lam = np.float32(smoothness)
    for _ in range(rounds):
        stats = _means(sums, scale, offset)
        queues, queued = _boundary_queues(labels)
        lengths = [queues[0].size, queues[1].size]
        best = np.empty(max(lengths[0], lengths[1], 16), np.int32)
        for step in range(2 * n_iter):
            parity = step % 2
            todo, n = queues[parity], lengths[parity]
            if n == 0:
                if lengths[1 - parity] == 0:
                    break
                continue
            lengths[parity] = 0
            if best.size < n:
                best = np.empty(n, np.int32)
            _decide(codes, flat, width, height, todo, n, stats, scale, offset, pw, lam, best, row_offset)
            other, n_other, _moves = _apply(
                codes, flat, width, height, todo, n, best, sizes, floor, sums, losses,
                queues[1 - parity], lengths[1 - parity], queued, row_offset,
            )  # fmt: skip
            queues[1 - parity], lengths[1 - parity] = other, n_other

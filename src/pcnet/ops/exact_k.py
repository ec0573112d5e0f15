"""Exactly K superpixels from any 4-connected label map: merge from above, split from below.

* **Merge** (K too high): adjacent superpixels are merged in order of Ward's cost on their mean
  CIELAB colour, ``|a|·|b| / (|a| + |b|) · ‖μa − μb‖²`` (small, similar neighbours first; a
  region-adjacency graph with a priority queue), until K is reached. Two 4-adjacent regions make
  one 4-connected region.
* **Split** (K too low): the largest superpixel is cut through its centroid, across its major
  axis (the two halves' 4-connected pieces become superpixels); repeated until K is at least the
  request, then merging takes off any excess.

Pixels labelled −1 (outside a mask) are left alone and never merged into. The result is numbered
``0..K-1`` in raster order of first appearance, as :func:`~pcnet.ops.enforce_connectivity` does.
"""

from __future__ import annotations

import heapq

import numpy as np

from pcnet._checks import check, check_int

__all__ = ["exact_k"]


def exact_k(labels: np.ndarray, n_segments: int, image: np.ndarray) -> np.ndarray:
    """``labels`` (4-connected superpixels, −1 outside a mask) changed into exactly ``n_segments``
    4-connected superpixels, using the colours of ``image`` (``(H, W, 3)`` uint8 RGB) to merge.

    Example:
        >>> labels = np.repeat(np.arange(4, dtype=np.int32), 4)[None].repeat(3, 0)  # 4 stripes
        >>> image = np.zeros((3, 16, 3), np.uint8); image[:, 8:] = 255
        >>> exact_k(labels, 2, image)[0].tolist()                                   # merged by colour
        [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1]
    """
    from pcnet.ops.connectivity import enforce_connectivity
    from pcnet.ops.refine import lab_codes

    labels = np.asarray(labels)
    inside = labels >= 0
    n_inside = int(np.count_nonzero(inside))
    n_segments = check_int(n_segments, "n_segments", minimum=1)
    check(n_segments <= n_inside, f"exactly {n_segments} superpixels need as many pixels; there are {n_inside}")
    out = labels.astype(np.int32, copy=True)
    k = int(out.max()) + 1
    while k < n_segments:
        out, k = _split(out, n_segments)
    if k > n_segments:
        out = _merge(out, k - n_segments, lab_codes(image).astype(np.float64), inside)
    mask = None if inside.all() else inside
    return enforce_connectivity(out, 0.0, mask=mask)


def _split(labels: np.ndarray, target: int) -> tuple[np.ndarray, int]:
    """Split the largest superpixels across their major axes, one each, until ``target`` labels
    (or every superpixel of more than one pixel is split once)."""
    from scipy import ndimage
    from skimage.measure import label as components

    k = int(labels.max()) + 1
    sizes = np.bincount(labels[labels >= 0], minlength=k)
    boxes = ndimage.find_objects(labels + 1)  # label i is value i + 1 there: its box at index i
    for big in np.argsort(sizes)[::-1]:
        if k >= target or sizes[big] < 2:
            break
        box = boxes[big]
        region = labels[box] == big
        ys, xs = np.nonzero(region)
        coords = np.stack([ys, xs], 1).astype(np.float64)
        centred = coords - coords.mean(0)
        _, vectors = np.linalg.eigh(centred.T @ centred)
        side = centred @ vectors[:, -1] > 0  # across the major axis, through the centroid
        if side.all() or not side.any():
            side = np.arange(side.size) >= side.size // 2
        half = np.zeros(region.shape, np.int32)
        half[ys, xs] = np.where(side, 2, 1)
        pieces = components(half, connectivity=1, background=0)
        view = labels[box]
        for piece in range(2, int(pieces.max()) + 1):  # piece 1 keeps the label
            view[pieces == piece] = k
            k += 1
    return labels, k


def _merge(labels: np.ndarray, n_merges: int, lab: np.ndarray, inside: np.ndarray) -> np.ndarray:
    """``n_merges`` merges of adjacent superpixels by Ward's cost (module docstring)."""
    k = int(labels.max()) + 1
    flat = np.where(inside, labels, k).ravel()  # outside: label k, never merged
    size = np.bincount(flat, minlength=k + 1)[:k].astype(np.float64)
    colour = np.stack([np.bincount(flat, weights=lab[..., c].ravel(), minlength=k + 1)[:k] for c in range(3)], 1)
    mean = colour / np.maximum(size, 1)[:, None]
    pairs = set()
    grid = flat.reshape(labels.shape)
    for a, b in ((grid[:, :-1], grid[:, 1:]), (grid[:-1], grid[1:])):
        differ = (a != b) & (a < k) & (b < k)
        lo, hi = np.minimum(a[differ], b[differ]), np.maximum(a[differ], b[differ])
        pairs.update(np.unique(lo.astype(np.int64) * k + hi).tolist())
    neighbours: list[set[int]] = [set() for _ in range(k)]
    for code in pairs:
        a, b = divmod(code, k)
        neighbours[a].add(b)
        neighbours[b].add(a)

    def cost(a: int, b: int) -> float:
        d = mean[a] - mean[b]
        return float(size[a] * size[b] / (size[a] + size[b]) * (d @ d))

    version = [0] * k
    heap = [(cost(a, b), a, b, 0, 0) for a, b in (divmod(c, k) for c in pairs)]
    heapq.heapify(heap)
    parent = np.arange(k)
    alive = [True] * k
    done = 0
    while done < n_merges and heap:
        _, a, b, va, vb = heapq.heappop(heap)
        if not (alive[a] and alive[b]) or version[a] != va or version[b] != vb:
            continue
        if size[a] < size[b]:
            a, b = b, a
        mean[a] = (mean[a] * size[a] + mean[b] * size[b]) / (size[a] + size[b])
        size[a] += size[b]
        alive[b] = False
        parent[b] = a
        version[a] += 1
        neighbours[a] |= neighbours[b]
        neighbours[a] -= {a, b}
        for c in neighbours[b] - {a}:
            neighbours[c].discard(b)
            neighbours[c].add(a)
        neighbours[b] = set()
        for c in neighbours[a]:
            heapq.heappush(heap, (cost(a, c), a, c, version[a], version[c]))
        done += 1
    for i in range(k):  # path compression: every label to its final root
        root = i
        while parent[root] != root:
            root = parent[root]
        parent[i] = root
    return np.where(inside, parent[np.maximum(labels, 0)], -1).astype(np.int32)

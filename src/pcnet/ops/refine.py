"""Full-resolution boundary refinement of a superpixel label map (SLIC-style, boundary pixels only).

A learned method predicts its association from a smaller image (PCNet: ×4 smaller; any method
below its native grid: a reduced working resolution whose cell map is upscaled), so its
boundaries are staircases a few pixels off the true edges. :func:`refine_labels` moves them on
the original image:

1. Per superpixel, the mean CIELAB colour and the centroid (one streaming pass over row strips;
   later rounds update them from the moved pixels alone).
2. Boundary-pixel sweeps: every pixel with a differently labelled 4-neighbour may take the label
   of one of its 4 neighbours, whichever minimises

       ‖lab_p − μ_k‖² + (m / S)² ‖p − c_k‖² − λ · #{4-neighbours of p labelled k}

   (SLIC's colour + position distance, ``S`` the mean superpixel side, plus a Potts smoothness
   term that keeps boundaries straight and fragments out on texture). Sweeps alternate the two
   colours of a checkerboard, so no two adjacent pixels change at once; each sweep moves a
   boundary by at most one pixel, and only pixels next to a change are revisited. A label never
   shrinks below a quarter of its input size, so no superpixel vanishes.
3. ``rounds`` times: means and centroids of the refined map, then the sweeps again.

Cost: O(H·W) for the statistics, O(boundary pixels) per sweep; memory: the label map plus a
chunk of boundary pixels (the colour of a pixel is converted when it is visited, so no
full-size float image is made). Connectivity is *not* enforced here (see
:func:`~pcnet.ops.enforce_connectivity` with ``keep_largest``), so labels keep their ids.
"""

from __future__ import annotations

import contextlib
import functools
import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import cv2
import numpy as np

from pcnet._checks import check, check_int, check_label_map
from pcnet.ops.connectivity import enforce_connectivity

__all__ = ["refine_labels", "refine_superpixels"]

#: rows per strip of the statistics pass (~40 B/px of temporaries)
STRIP_ROWS = 1024
#: boundary pixels evaluated at once in a sweep (~150 B each)
CHUNK = 1 << 20


def _lab(rgb: np.ndarray) -> np.ndarray:
    """``(h, w, 3)`` uint8 sRGB → float32 CIELAB (L in [0, 100])."""
    return cv2.cvtColor(rgb.astype(np.float32) * np.float32(1 / 255), cv2.COLOR_RGB2LAB)


def _label_sums(rgb: np.ndarray, labels: np.ndarray, n_labels: int, strip: int = STRIP_ROWS) -> np.ndarray:
    """``(6, n)`` float64 sums per label: pixel count, CIELAB L, a, b, row, col (over row strips)."""
    sums = np.zeros((6, n_labels), dtype=np.float64)
    width = labels.shape[1]
    cols = np.arange(width, dtype=np.float64)
    for top in range(0, labels.shape[0], strip):
        ids = labels[top : top + strip].ravel()
        rows = ids.size // width
        lab = _lab(rgb[top : top + rows]).reshape(-1, 3)
        sums[0] += np.bincount(ids, minlength=n_labels)
        for c in range(3):
            sums[1 + c] += np.bincount(ids, weights=lab[:, c], minlength=n_labels)
        sums[4] += np.bincount(
            ids, weights=np.repeat(np.arange(top, top + rows, dtype=np.float64), width), minlength=n_labels
        )
        sums[5] += np.bincount(ids, weights=np.tile(cols, rows), minlength=n_labels)
    return sums


def _means(sums: np.ndarray) -> np.ndarray:
    """``(5, n)`` float32 means (L, a, b, row, col) from :func:`_label_sums`."""
    return (sums[1:] / np.maximum(sums[0], 1)).astype(np.float32)


def _neighbours(flat_idx: np.ndarray, height: int, width: int) -> np.ndarray:
    """Flat indices ``(4, n)`` of the 4 neighbours (up, down, left, right) of ``flat_idx``; a
    neighbour outside the image is the pixel itself."""
    row, col = np.divmod(flat_idx, width)
    return np.stack(
        [
            np.where(row > 0, flat_idx - width, flat_idx),
            np.where(row < height - 1, flat_idx + width, flat_idx),
            np.where(col > 0, flat_idx - 1, flat_idx),
            np.where(col < width - 1, flat_idx + 1, flat_idx),
        ]
    )


def _boundary_pixels(labels: np.ndarray) -> np.ndarray:
    """Flat indices of the pixels with a differently labelled 4-neighbour."""
    edge = np.zeros(labels.shape, dtype=bool)
    vertical = labels[1:] != labels[:-1]
    horizontal = labels[:, 1:] != labels[:, :-1]
    edge[1:] |= vertical
    edge[:-1] |= vertical
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    index = np.flatnonzero(edge)
    return index.astype(np.int32) if edge.size < 2**31 else index  # int32: half the memory


def _best_labels(
    rgb: np.ndarray,
    flat: np.ndarray,
    idx: np.ndarray,
    *,
    shape: tuple[int, int],
    stats: np.ndarray,
    pos_weight: float,
    smoothness: float,
) -> tuple[np.ndarray, np.ndarray]:
    """For pixels ``idx``: their current label, the cheapest of it and their neighbours', and
    their CIELAB colour.

    ``stats`` is ``(5, n_labels)``: mean L, a, b and centroid row, col (1-D gathers are fast)."""
    nbr = flat[_neighbours(idx, *shape)]  # (4, n) neighbour labels
    own = flat[idx]
    # candidates: the own label (first: it wins ties) and up to two other labels among the
    # neighbours (a pixel touching three other superpixels is rare; it chooses among two of them)
    other = nbr != own
    cols = np.arange(idx.size)
    first = nbr[np.argmax(other, axis=0), cols]
    first = np.where(other.any(axis=0), first, own)
    other &= nbr != first
    second = np.where(other.any(axis=0), nbr[np.argmax(other, axis=0), cols], own)
    cand = np.stack([own, first, second])  # (3, n)
    colour = _lab(rgb[idx][:, None]).reshape(-1, 3)
    row, col = np.divmod(idx, shape[1])
    cost = np.zeros(cand.shape, np.float32)
    for c, (value, weight) in enumerate(zip((*colour.T, row, col), (1.0, 1.0, 1.0, pos_weight, pos_weight))):
        diff = np.take(stats[c], cand)
        diff -= value.astype(np.float32, copy=False)
        diff *= diff
        if weight != 1.0:
            diff *= np.float32(weight)
        cost += diff
    agree = (nbr[None] == cand[:, None]).sum(1, dtype=np.int8)
    cost -= np.float32(smoothness) * agree
    return own, np.take_along_axis(cand, np.argmin(cost, axis=0)[None], 0)[0], colour


def _sweeps(
    rgb: np.ndarray,
    labels: np.ndarray,
    stats: np.ndarray,
    pos_weight: float,
    smoothness: float,
    n_iter: int,
    chunk: int,
    floor: np.ndarray,
    sums: np.ndarray,
    pool: ThreadPoolExecutor | None = None,
) -> None:
    """``2 · n_iter`` checkerboard half-sweeps over the boundary pixels of ``labels`` (in place).

    Within a half-sweep every pixel decides on the labels of its 4 neighbours, which are of the
    other colour and do not change, so the decisions are independent (evaluated in chunks of
    ``chunk`` pixels: bounded memory, same result). A label never shrinks below ``floor``: a
    half-sweep that would take it lower keeps all its pixels. ``sums`` (:func:`_label_sums`) are
    kept up to date with the moves, so the next round needs no pass over the whole image.
    """
    height, width = labels.shape
    flat = labels.ravel()
    rgb = rgb.reshape(-1, 3)
    sizes = np.bincount(flat, minlength=stats.shape[1])
    active = _boundary_pixels(labels)
    row, col = np.divmod(active, width)
    todo = [active[(row + col) % 2 == parity] for parity in (0, 1)]  # pixels to (re)visit
    for step in range(2 * n_iter):
        parity = step % 2
        idx, todo[parity] = todo[parity], todo[parity][:0]
        if idx.size == 0:
            if todo[1 - parity].size == 0:
                break
            continue
        chunks = [idx[i : i + chunk] for i in range(0, idx.size, chunk)]
        evaluate = functools.partial(
            _best_labels, rgb, flat, shape=(height, width), stats=stats, pos_weight=pos_weight, smoothness=smoothness
        )
        # NumPy and OpenCV release the GIL in these kernels: the chunks run on `threads` cores
        parts = (
            list(pool.map(evaluate, chunks)) if pool is not None and len(chunks) > 1 else [evaluate(c) for c in chunks]
        )
        own, best, colour = (np.concatenate(x) for x in zip(*parts))
        change = best != own
        losses = np.bincount(own[change], minlength=sizes.size)
        change &= sizes[own] - losses[own] >= floor[own]
        if not change.any():
            continue
        moved = idx[change]
        sizes -= np.bincount(own[change], minlength=sizes.size)
        sizes += np.bincount(best[change], minlength=sizes.size)
        # the moved pixels' colour and position leave one label's sums for another's
        values = np.concatenate([np.ones((1, moved.size)), colour[change].T, np.stack(np.divmod(moved, width))]).astype(
            np.float64
        )
        for c, weights in enumerate(values):
            sums[c] += np.bincount(best[change], weights, minlength=sizes.size) - np.bincount(
                own[change], weights, minlength=sizes.size
            )
        flat[moved] = best[change]
        # only the neighbours of a changed pixel (the other colour) can decide differently now
        nbrs = _neighbours(moved, height, width)
        nbrs = nbrs[nbrs != moved[None]]  # at the border a missing neighbour is the pixel itself
        todo[1 - parity] = np.unique(np.concatenate([todo[1 - parity], nbrs]))


def refine_labels(
    image: np.ndarray,
    labels: np.ndarray,
    n_iter: int = 4,
    rounds: int = 2,
    compactness: float = 5.0,
    smoothness: float = 30.0,
    min_size: int = 1,
    strip: int = STRIP_ROWS,
    chunk: int = CHUNK,
    threads: int | None = None,
) -> np.ndarray:
    """Move superpixel boundaries onto the edges of the full-resolution ``image``.

    Args:
        image: ``(H, W, 3)`` uint8 RGB at full resolution.
        labels: ``(H, W)`` non-negative integer labels (e.g. an upscaled cell map).
        n_iter: boundary sweeps per round: boundaries move at most ``n_iter`` pixels per round
            (choose about the staircase height, e.g. the upscaling factor).
        rounds: statistics + sweeps repetitions.
        compactness: SLIC's ``m``: weight of the distance to the centroid, relative to colour
            (default 5 and ``smoothness`` 30: selected on BSDS500 val, docs/refinement.md).
        smoothness: Potts weight λ per agreeing 4-neighbour (in squared Lab units).
        min_size: no label shrinks below ``min(its size, max(a quarter of it, min_size))`` pixels
            (so connectivity enforcement with a minimum size does not merge it away afterwards).
        strip: rows per strip of the statistics pass; chunk: pixels per chunk of a sweep (memory
            bounds; the result does not depend on them).
        threads: threads evaluating the chunks (default: the CPU count, at most 4); the result
            does not depend on it.

    Returns:
        ``(H, W)`` int32 labels with the same ids (a label may split: enforce connectivity
        afterwards; none vanishes).

    Example:
        >>> img = np.zeros((8, 8, 3), np.uint8); img[:, 5:] = 255          # edge between cols 4 | 5
        >>> lab = np.zeros((8, 8), np.int32); lab[:, 4:] = 1                # one px off
        >>> refine_labels(img, lab, compactness=0.0)[0]
        array([0, 0, 0, 0, 0, 1, 1, 1], dtype=int32)
    """
    labels = check_label_map(labels)
    check(
        isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3,
        "image must be an (H, W, 3) uint8 RGB array (pcnet.io.to_rgb_uint8 converts others)",
    )
    check(image.shape[:2] == labels.shape, f"image {image.shape[:2]} and labels {labels.shape} must have the same size")
    n_iter = check_int(n_iter, "refine n_iter", minimum=0)
    rounds = check_int(rounds, "refine rounds", minimum=0)
    strip = check_int(strip, "refine strip rows", minimum=1)
    chunk = check_int(chunk, "refine chunk", minimum=1)
    min_size = check_int(min_size, "refine min_size", minimum=1)
    threads = min(4, os.cpu_count() or 1) if threads is None else check_int(threads, "refine threads", minimum=1)
    for name, value in (("compactness", compactness), ("smoothness", smoothness)):
        check(
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0,
            f"refine {name} must be a finite number >= 0; got {value!r}",
        )
    out = labels.astype(np.int32, copy=True)
    if n_iter == 0 or rounds == 0 or out.size == 0:
        return out
    n_labels = int(out.max()) + 1
    sizes = np.bincount(out.ravel(), minlength=n_labels)
    present = max(1, int(np.count_nonzero(sizes)))
    floor = np.minimum(sizes, np.maximum(sizes // 4, min_size))  # no superpixel vanishes
    pos_weight = float(compactness**2 * present / out.size)  # (m / S)², S = sqrt(H·W / K)
    chunk = min(chunk, max(4096, -(-out.size // (8 * threads))))  # enough chunks for the threads
    with ThreadPoolExecutor(threads) if threads > 1 else contextlib.nullcontext() as pool:
        sums = _label_sums(image, out, n_labels, strip)
        for _ in range(rounds):
            stats = _means(sums)  # (5, n_labels): fixed during a round's sweeps
            _sweeps(
                np.ascontiguousarray(image), out, stats, pos_weight, float(smoothness), n_iter, chunk, floor, sums, pool
            )
    return out


def refine_superpixels(
    image: np.ndarray, labels: np.ndarray, n_segments: int, min_size_fraction: float, **options: Any
) -> np.ndarray:
    """:func:`refine_labels` of 4-connected superpixels, then connectivity again: the step the
    learned methods run after their network. Labels keep twice the size below which connectivity
    would merge them (a split piece too); pieces a label splits into join a neighbour, so K stays
    put. ``n_segments`` sets the mean superpixel size; ``options`` go to :func:`refine_labels`.
    Returns ``(H, W)`` int32 labels 0..K-1."""
    min_size = math.ceil(2 * min_size_fraction * labels.size / n_segments) + 1
    refined = refine_labels(image, labels, min_size=min_size, **options)
    return enforce_connectivity(refined, min_size_fraction, n_segments=n_segments, keep_largest=True)

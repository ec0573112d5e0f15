"""Resampling that a band of an image can do alone: area averaging by any factor and nearest
upscaling, both defined pixel by pixel from global positions, so that resizing a window of rows
gives exactly the rows of the whole image's resize (the streamed path relies on it).

* :func:`area_downsample`: output pixel ``(y, x)`` is the mean of the source over
  ``[y·sy, (y+1)·sy) × [x·sx, (x+1)·sx)`` (``s = source / output`` per axis), partial pixels
  weighted by their overlap: OpenCV's ``INTER_AREA`` for shrinking, summed in float64 in one fixed
  order by a compiled kernel (:mod:`pcnet.ops.kernels.resample`; OpenCV rounds differently: ±1 in
  about 10⁻⁵ of the values).
* :func:`nearest_rows` / :func:`upscale_nearest`: pixel ``r`` of the output takes source pixel
  ``floor(r · (source / output))``, as OpenCV's ``INTER_NEAREST`` (tested equal).
"""

from __future__ import annotations

import math

import numpy as np

from pcnet._checks import check

__all__ = ["area_downsample", "area_source_rows", "area_weights", "nearest_rows", "upscale_nearest"]


def area_weights(n_src: int, n_dst: int, start: int = 0, stop: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """``(index, weight)``, each ``(stop - start, taps)``: the source pixels of output pixels
    ``start..stop`` of an area shrink from ``n_src`` to ``n_dst`` pixels and their weights (each
    row sums to 1; unused taps have weight 0 and a valid index)."""
    check(0 < n_dst <= n_src, f"area_downsample shrinks: {n_src} -> {n_dst} pixels")
    stop = n_dst if stop is None else stop
    scale = n_src / n_dst
    taps = math.ceil(scale) + 1
    dst = np.arange(start, stop, dtype=np.float64)
    lo, hi = dst * scale, (dst + 1) * scale
    first = np.floor(lo).astype(np.int64)
    index = first[:, None] + np.arange(taps)[None, :]
    overlap = np.minimum(hi[:, None], index + 1.0) - np.maximum(lo[:, None], index.astype(np.float64))
    weight = np.clip(overlap, 0.0, None) / scale
    weight[index >= n_src] = 0.0
    return np.minimum(index, n_src - 1), weight


def area_source_rows(n_src: int, n_dst: int, start: int, stop: int) -> tuple[int, int]:
    """The source rows ``[r0, r1)`` that output rows ``start..stop`` of an area shrink read."""
    scale = n_src / n_dst
    return int(math.floor(start * scale)), min(n_src, int(math.ceil(stop * scale)) + 1)


def area_downsample(
    rgb: np.ndarray, height: int, width: int, rows: tuple[int, int] | None = None, src_rows: int | None = None
) -> np.ndarray:
    """Area-average ``rgb`` (``(h, w, c)`` uint8) down to ``height × width`` (uint8).

    With ``rows = (start, stop)``, only output rows ``start..stop`` of the shrink of an image of
    ``src_rows`` rows, of which ``rgb`` holds rows :func:`area_source_rows` ``(...)`` (a band of
    a larger image): the very rows the whole image's shrink has there."""
    n_src = rgb.shape[0] if src_rows is None else src_rows
    start, stop = (0, height) if rows is None else rows
    offset = 0 if rows is None else area_source_rows(n_src, height, start, stop)[0]
    from pcnet.ops.kernels.resample import area_sum

    c_index, c_weight = area_weights(rgb.shape[1], width)
    r_index, r_weight = area_weights(n_src, height, start, stop)
    check(
        r_index.size == 0 or (r_index.min() >= offset and r_index.max() - offset < rgb.shape[0]),
        f"area_downsample: the {rgb.shape[0]} source rows from {offset} do not cover output rows {start}..{stop}",
    )
    out = np.empty((stop - start, width, rgb.shape[2]), np.uint8)
    area_sum(np.ascontiguousarray(rgb), offset, r_index, r_weight, c_index, c_weight, out)
    return out


def nearest_rows(n_src: int, n_dst: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Source index of output pixels ``start..stop`` of a nearest resize from ``n_src`` to ``n_dst``
    (OpenCV's ``INTER_NEAREST``: ``floor(i / (n_dst / n_src))``, clipped)."""
    stop = n_dst if stop is None else stop
    inverse = 1.0 / (n_dst / n_src)
    return np.minimum(np.floor(np.arange(start, stop, dtype=np.float64) * inverse).astype(np.int64), n_src - 1)


def upscale_nearest(
    cells: np.ndarray,
    height: int,
    width: int,
    rows: tuple[int, int] | None = None,
    src_rows: int | None = None,
    offset: int = 0,
) -> np.ndarray:
    """``cells`` resized to ``height × width`` by nearest neighbour; with ``rows = (start, stop)``
    only those output rows of the resize of a map of ``src_rows`` rows, of which ``cells`` holds
    the rows from ``offset`` on."""
    n_src = cells.shape[0] if src_rows is None else src_rows
    start, stop = (0, height) if rows is None else rows
    index = nearest_rows(n_src, height, start, stop) - offset
    check(
        index.size == 0 or (index.min() >= 0 and index.max() < cells.shape[0]),
        f"upscale_nearest: {cells.shape[0]} rows from {offset} do not cover output rows {start}..{stop}",
    )
    return cells[np.ix_(index, nearest_rows(cells.shape[1], width))]

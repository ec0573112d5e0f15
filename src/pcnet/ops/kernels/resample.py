"""Numba kernel of :func:`pcnet.ops.resample.area_downsample`: every output pixel the weighted
sum of its source pixels, in one fixed order (rows' taps, then columns'), so that a band of rows
gives the whole image's values there."""

from __future__ import annotations

import numba as nb
import numpy as np

__all__ = ["area_sum"]


@nb.njit(cache=True, nogil=True, parallel=True)
def area_sum(
    src: np.ndarray, offset: int, r_index: np.ndarray, r_weight: np.ndarray, c_index: np.ndarray,
    c_weight: np.ndarray, out: np.ndarray,
) -> None:  # fmt: skip
    """``out[y, x] = rint(Σ r_weight[y, a] · c_weight[x, b] · src[r_index[y, a] - offset,
    c_index[x, b]])`` (uint8; ``src`` ``(h, w, c)`` uint8 holds the image's rows from ``offset``)."""
    n_out, taps_r = r_index.shape
    width, taps_c = c_index.shape
    channels = src.shape[2]
    for y in nb.prange(n_out):
        acc = np.zeros((width, channels), np.float64)
        for a in range(taps_r):
            wr = r_weight[y, a]
            if wr == 0.0:
                continue
            row = r_index[y, a] - offset
            for x in range(width):
                for b in range(taps_c):
                    w = wr * c_weight[x, b]
                    if w != 0.0:
                        col = c_index[x, b]
                        for c in range(channels):
                            acc[x, c] += w * src[row, col, c]
        for x in range(width):
            for c in range(channels):
                value = acc[x, c]
                low = np.floor(value)
                if value - low > 0.5 or (value - low == 0.5 and low % 2 == 1.0):  # half to even, as np.rint
                    low += 1.0
                out[y, x, c] = 255 if low >= 255.0 else (0 if low < 0.0 else np.uint8(low))

"""A quick-look of a streamed segmentation: the whole image downsampled to at most
:data:`QUICKLOOK_SIDE` pixels on its long side, with the superpixel boundaries drawn over it.

Bands of labels arrive top to bottom (:func:`pcnet.methods.streaming.segment_file`); each adds
its image rows and its boundary pixels to block sums of ``f × f`` pixels (``f`` the smallest
integer factor that fits the long side), so the quick-look never holds more than itself and one
band. A quick-look pixel shows the mean colour of its block, tinted towards the boundary colour
by the fraction of boundary pixels in the block: at a low K the boundaries are lines, at the
native grid of a gigapixel image (superpixels smaller than a block) a uniform tint where there
are superpixels. Pixels outside a mask (−1) are shown darkened.
"""

from __future__ import annotations

import math
import os

import numpy as np

__all__ = ["QUICKLOOK_SIDE", "QuickLook"]

#: the longest side of a quick-look, in pixels
QUICKLOOK_SIDE = 4096


class QuickLook:
    """Block sums of colour, boundary pixels and outside pixels, band by band."""

    def __init__(
        self, height: int, width: int, side: int = QUICKLOOK_SIDE, color: tuple[int, int, int] = (255, 255, 0)
    ):
        self.factor = max(1, math.ceil(max(height, width) / side))
        self.height, self.width = height, width
        shape = (-(-height // self.factor), -(-width // self.factor))
        self.sums = np.zeros((*shape, 5), np.float64)  # R, G, B, boundary, outside
        self.counts = np.zeros(shape, np.int64)
        self.color = np.array(color, np.float64)
        self._last_row: np.ndarray | None = None  # the labels of the row above the next band
        self._next_top = 0

    def add(self, top: int, rgb: np.ndarray, labels: np.ndarray) -> None:
        """Add the rows ``top : top + len(labels)`` (bands in order, top to bottom)."""
        assert top == self._next_top, f"quick-look bands out of order: {top} after {self._next_top}"
        n = labels.shape[0]
        edge = np.zeros(labels.shape, bool)
        edge[:, 1:] |= labels[:, 1:] != labels[:, :-1]
        edge[1:] |= labels[1:] != labels[:-1]
        if self._last_row is not None:
            edge[0] |= labels[0] != self._last_row
        edge &= labels >= 0
        values = np.concatenate([rgb.astype(np.float64), edge[..., None], (labels < 0)[..., None]], axis=2)  # (n, W, 5)
        f = self.factor
        col_starts = np.arange(0, self.width, f)
        rows = np.arange(top, top + n) // f
        row_starts = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
        block = np.add.reduceat(np.add.reduceat(values, row_starts, axis=0), col_starts, axis=1)
        heights = np.diff(np.r_[row_starts, n])
        widths = np.diff(np.r_[col_starts, self.width])
        self.sums[rows[row_starts]] += block
        self.counts[rows[row_starts]] += heights[:, None] * widths[None, :]
        self._last_row = labels[-1].copy()
        self._next_top = top + n

    def image(self, strength: float = 0.6) -> np.ndarray:
        """The quick-look, ``(ceil(H / f), ceil(W / f), 3)`` uint8 RGB."""
        count = np.maximum(self.counts, 1)[..., None]
        mean = self.sums[..., :3] / count
        boundary = np.clip(strength * self.sums[..., 3:4] / count * self.factor, 0, 1)  # a line's share of a block
        outside = self.sums[..., 4:5] / count
        out = mean * (1 - boundary) + self.color * boundary
        out *= 1 - 0.6 * outside
        return np.clip(np.round(out), 0, 255).astype(np.uint8)

    def write(self, path: str | os.PathLike) -> None:
        """Write :meth:`image` (atomically; the format follows the suffix, e.g. ``.png``)."""
        from pcnet.io import write_image

        write_image(path, self.image())

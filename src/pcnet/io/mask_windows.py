"""A mask of a large image, read window by window at the image's resolution.

The mask may be smaller than the image (a tissue mask drawn or computed on a thumbnail): it is
scaled up by nearest neighbour, image pixel ``(r, c)`` taking mask pixel
``(r · mh // H, c · mw // W)`` (OpenCV's ``INTER_NEAREST``), so any window of the image gets the
same mask pixels as the whole. A full-size mask in a tiled TIFF is read tile by tile, like the
image; other files (PNG, JPEG, NPY, small TIFFs) are read whole.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from pcnet._checks import check, describe
from pcnet.io.tiff import MAX_WHOLE_PIXELS, TiffWindows, is_tiff

__all__ = ["MaskWindows"]

#: how far a smaller mask's aspect ratio may differ from the image's (relative) before it is refused
ASPECT_TOLERANCE = 0.02


class MaskWindows:
    """``read(r0, r1, c0, c1)``: the ``bool`` mask (``True`` inside) of an image window.

    Args:
        mask: a boolean (or 0/1, or nonzero-inside) 2-D array, or a mask file (nonzero inside).
        height, width: the image's size; the mask is that size or smaller with the same aspect.
    """

    def __init__(self, mask: Any, height: int, width: int) -> None:
        self._windows: TiffWindows | None = None
        self._array: np.ndarray | None = None
        if isinstance(mask, (str, os.PathLike)):
            path = Path(mask).expanduser()
            check(path.is_file(), f"mask file {path} does not exist; pass a mask image of the slide (nonzero inside)")
            windows = TiffWindows(path, rgb=False) if is_tiff(path) else None
            if windows is not None and windows.shape[0] * windows.shape[1] > MAX_WHOLE_PIXELS:
                self._windows = windows
                shape = windows.shape
            else:
                if windows is not None:
                    windows.close()
                from pcnet.io import read_label_map

                self._array = read_label_map(path) > 0
                shape = self._array.shape
            name = str(path)
        else:
            if hasattr(mask, "detach"):  # a tensor, without importing PyTorch
                mask = mask.detach().cpu().numpy()
            check(
                isinstance(mask, np.ndarray) and mask.ndim == 2 and mask.size > 0,
                f"mask must be a 2-D array (True inside) or a mask file; got {describe(mask)}",
            )
            self._array = mask if mask.dtype == np.bool_ else mask != 0
            shape = mask.shape
            name = "the mask"
        mh, mw = int(shape[0]), int(shape[1])
        check(
            mh <= height and mw <= width and abs((height / mh) / (width / mw) - 1) <= ASPECT_TOLERANCE,
            f"{name} is {mh}×{mw} but the image is {height}×{width}; pass a mask of the image's size "
            "or a smaller one of the same aspect ratio (scaled up by nearest neighbour)",
        )
        self.shape = (mh, mw)
        self.height, self.width = height, width

    def read(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """The ``(r1 - r0, c1 - c0)`` bool mask of image rows ``r0:r1`` and columns ``c0:c1``."""
        mh, mw = self.shape
        rows = np.arange(r0, r1, dtype=np.int64) * mh // self.height
        cols = np.arange(c0, c1, dtype=np.int64) * mw // self.width
        if rows.size == 0 or cols.size == 0:
            return np.zeros((rows.size, cols.size), bool)
        if self._windows is not None:
            window = self._windows.read(int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1)
            window = window if window.ndim == 2 else window[..., 0]
            return window[np.ix_(rows - rows[0], cols - cols[0])] != 0
        assert self._array is not None
        if (mh, mw) == (self.height, self.width):
            return self._array[r0:r1, c0:c1]
        return self._array[np.ix_(rows, cols)]

    def close(self) -> None:
        """Close the mask file, if one is open."""
        if self._windows is not None:
            self._windows.close()

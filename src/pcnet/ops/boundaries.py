"""Superpixel boundaries as the superpixel-benchmark defines them (4-neighbour, thick)."""

from __future__ import annotations

import numpy as np

from pcnet._checks import check_label_map

__all__ = ["find_boundaries"]


def find_boundaries(labels: np.ndarray, ignore_index: int | None = None) -> np.ndarray:
    """Boolean map of pixels with a 4-neighbour (inside the image) that carries another label.

    Boundaries are therefore 2 px thick, exactly like
    ``skimage.segmentation.find_boundaries(labels, connectivity=1, mode="thick")``. With
    ``ignore_index``, pixel pairs involving that label (padding, unlabelled areas) are no boundary.

    Example:
        >>> find_boundaries(np.array([[0, 0, 1], [0, 0, 1]])).astype(int)
        array([[0, 1, 1],
               [0, 1, 1]])
    """
    labels = check_label_map(labels)
    out = np.zeros(labels.shape, dtype=bool)
    vertical = labels[1:] != labels[:-1]
    horizontal = labels[:, 1:] != labels[:, :-1]
    if ignore_index is not None:
        valid = labels != ignore_index
        vertical &= valid[1:] & valid[:-1]
        horizontal &= valid[:, 1:] & valid[:, :-1]
    out[1:] |= vertical
    out[:-1] |= vertical
    out[:, 1:] |= horizontal
    out[:, :-1] |= horizontal
    return out

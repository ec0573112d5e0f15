"""Superpixel boundaries as the superpixel-benchmark defines them (4-neighbour, thick), and the
4-neighbour label pairs every boundary computation builds on (NumPy arrays or torch tensors)."""

from __future__ import annotations

import sys
from typing import TypeVar

import numpy as np

from pcnet._checks import check_label_map, is_tensor

__all__ = ["boundary_counts", "find_boundaries", "neighbour_pairs"]

A = TypeVar("A")  # a NumPy array or a torch tensor


def neighbour_pairs(labels: A, ignore_index: int | None = None) -> list[tuple[A, A, A]]:
    """The horizontal and the vertical 4-neighbour pixel pairs of a ``(..., H, W)`` label map.

    Returns:
        ``[(first, second, differs), …]`` for horizontal then vertical pairs: the labels of both
        pixels and whether the pair crosses a boundary (different labels, neither ``ignore_index``).

    Example:
        >>> [d.astype(int).tolist() for _, _, d in neighbour_pairs(np.array([[0, 1], [0, 0]]))]
        [[[1], [0]], [[0, 1]]]
    """
    pairs = ((labels[..., :, :-1], labels[..., :, 1:]), (labels[..., :-1, :], labels[..., 1:, :]))
    out = []
    for a, b in pairs:
        differs = a != b
        if ignore_index is not None:
            differs &= (a != ignore_index) & (b != ignore_index)
        out.append((a, b, differs))
    return out


def boundary_counts(labels: A, ignore_index: int | None = None) -> A:
    """Per pixel, how many of its 4-neighbours (inside the image) carry another label (int32)."""
    (_, _, horizontal), (_, _, vertical) = neighbour_pairs(labels, ignore_index)
    if is_tensor(labels):
        counts = labels.new_zeros(labels.shape, dtype=sys.modules["torch"].int32)
    else:
        counts = np.zeros(labels.shape, dtype=np.int32)
    counts[..., :, 1:] += horizontal
    counts[..., :, :-1] += horizontal
    counts[..., 1:, :] += vertical
    counts[..., :-1, :] += vertical
    return counts


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
    return boundary_counts(check_label_map(labels), ignore_index) > 0

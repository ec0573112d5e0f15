"""Visualising superpixels: boundary overlays and mean-colour images."""

from __future__ import annotations

import numpy as np

from pcnet._checks import check, check_label_map
from pcnet.io import to_rgb_uint8
from pcnet.ops.boundaries import find_boundaries

__all__ = ["draw_boundaries", "mean_color"]


def _pair(image: np.ndarray, labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    image, labels = to_rgb_uint8(image), check_label_map(labels)
    check(
        image.shape[:2] == labels.shape,
        f"image {image.shape[:2]} and labels {labels.shape} must have the same height and width",
    )
    return image, labels


def draw_boundaries(image: np.ndarray, labels: np.ndarray, color: tuple[int, int, int] = (255, 255, 0)) -> np.ndarray:
    """RGB uint8 copy of ``image`` with superpixel boundaries (4-neighbour, thick) in ``color``."""
    image, labels = _pair(image, labels)
    out = image.copy()
    out[find_boundaries(labels)] = color
    return out


def mean_color(image: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Every superpixel filled with its mean colour (RGB uint8)."""
    image, labels = _pair(image, labels)
    flat = labels.ravel()
    counts = np.bincount(flat)
    means = (
        np.stack([np.bincount(flat, weights=image[..., c].ravel()) for c in range(3)], axis=1)
        / np.maximum(counts, 1)[:, None]
    )
    return np.round(means[labels]).astype(np.uint8)

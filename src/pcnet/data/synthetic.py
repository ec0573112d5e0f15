"""Synthetic images with known segmentations, generated on the fly from a seed.

Regions are the cells of a random Voronoi diagram (or overlapping ellipses: curved boundaries),
each with its own colour, a linear gradient and
a texture; thin curved structures (a few pixels wide) cross the image as classes of their own.
The label map is exact by construction, so boundary metrics have a known ground truth.
"""

from __future__ import annotations

import cv2
import numpy as np
from scipy.spatial import cKDTree

from pcnet._checks import check

__all__ = ["synthetic_image"]


def _voronoi_labels(height: int, width: int, n_regions: int, rng: np.random.Generator) -> np.ndarray:
    seeds = rng.uniform(0, 1, size=(n_regions, 2)) * (height, width)
    yy, xx = np.mgrid[:height, :width]
    _, nearest = cKDTree(seeds).query(np.stack([yy.ravel(), xx.ravel()], axis=1), workers=-1)
    return nearest.reshape(height, width).astype(np.int32)


def _blob_labels(height: int, width: int, n_regions: int, rng: np.random.Generator) -> np.ndarray:
    """Curved boundaries: ``n_regions - 1`` random ellipses painted over a background, later over earlier."""
    labels = np.zeros((height, width), np.int32)
    scale = max(height, width)
    for i in range(1, n_regions):
        centre = (int(rng.uniform(0, width)), int(rng.uniform(0, height)))
        axes = tuple(int(scale * a) for a in rng.uniform(0.02, 0.12, size=2))
        cv2.ellipse(labels, centre, axes, float(rng.uniform(0, 180)), 0, 360, i, thickness=-1)
    return labels


def _thin_structures(labels: np.ndarray, n_lines: int, rng: np.random.Generator) -> None:
    height, width = labels.shape
    scale = max(height, width)
    for _ in range(n_lines):
        # a quadratic Bezier curve from one border region to another
        pts = rng.uniform(0, 1, size=(3, 2)) * (width, height)
        t = np.linspace(0, 1, 64)[:, None]
        curve = (1 - t) ** 2 * pts[0] + 2 * (1 - t) * t * pts[1] + t**2 * pts[2]
        thickness = max(2, int(round(scale * rng.uniform(0.003, 0.008))))
        cv2.polylines(labels, [np.round(curve).astype(np.int32)], False, int(labels.max()) + 1, thickness)


def _render(labels: np.ndarray, rng: np.random.Generator, noise: float) -> np.ndarray:
    height, width = labels.shape
    n = int(labels.max()) + 1
    colours = rng.uniform(20, 235, size=(n, 3))
    slopes = rng.uniform(-40, 40, size=(n, 2, 3))
    yy = np.linspace(-0.5, 0.5, height, dtype=np.float32)[:, None, None]
    xx = np.linspace(-0.5, 0.5, width, dtype=np.float32)[None, :, None]
    image = colours[labels] + slopes[labels, 0] * yy + slopes[labels, 1] * xx
    # a per-region texture: stripes of random frequency and orientation
    freq = rng.uniform(0.02, 0.15, size=n)
    angle = rng.uniform(0, np.pi, size=n)
    amp = rng.uniform(0, 18, size=n)
    py, px = np.mgrid[:height, :width].astype(np.float32)
    phase = (np.cos(angle)[labels] * px + np.sin(angle)[labels] * py) * freq[labels] * 2 * np.pi
    image += (amp[labels] * np.sin(phase))[..., None]
    image += rng.normal(0, noise, size=image.shape)
    return np.clip(np.round(image), 0, 255).astype(np.uint8)


def synthetic_image(
    height: int = 512,
    width: int = 512,
    n_regions: int = 24,
    n_lines: int = 3,
    noise: float = 6.0,
    seed: int = 0,
    shapes: str = "voronoi",
) -> tuple[np.ndarray, np.ndarray]:
    """A seeded synthetic RGB image and its exact label map.

    Args:
        height, width: image size in pixels.
        n_regions: number of Voronoi regions.
        n_lines: number of thin curved structures, each a class of its own.
        noise: standard deviation of the Gaussian pixel noise (0-255 scale).
        seed: the same seed always gives the same image.
        shapes: ``"voronoi"`` (polygonal regions, straight boundaries) or ``"blobs"`` (overlapping
            ellipses over a background: curved boundaries).

    Returns:
        ``(image, labels)``: ``(H, W, 3)`` uint8 RGB and ``(H, W)`` int32 labels 0..n-1.

    Example:
        >>> image, labels = synthetic_image(64, 96, n_regions=5, n_lines=1, seed=1)
        >>> image.shape, labels.shape, int(labels.max()) + 1 <= 6
        ((64, 96, 3), (64, 96), True)
    """
    check(height >= 1 and width >= 1, f"image size must be at least 1×1; got {height}×{width}")
    check(n_regions >= 1, f"n_regions must be a positive integer; got {n_regions}")
    check(n_lines >= 0 and noise >= 0, f"n_lines and noise must be >= 0; got {n_lines}, {noise}")
    check(shapes in ("voronoi", "blobs"), f"shapes must be 'voronoi' or 'blobs'; got {shapes!r}")
    rng = np.random.default_rng(seed)
    labels = (_voronoi_labels if shapes == "voronoi" else _blob_labels)(height, width, n_regions, rng)
    _thin_structures(labels, n_lines, rng)
    # drop ids that no pixel kept (a region fully covered by a line), renumber 0..n-1
    present = np.bincount(labels.ravel()) > 0
    labels = (np.cumsum(present) - 1).astype(np.int32)[labels]
    return _render(labels, rng, noise), labels

"""Full-resolution boundary refinement of a superpixel label map (SLIC-style, boundary pixels only).

A learned method predicts its association from a smaller image (PCNet: ×4 smaller; any method
below its native grid: a reduced working resolution whose cell map is upscaled), so its
boundaries are staircases a few pixels off the true edges. :func:`refine_labels` moves them on
the original image:

1. Per superpixel, the mean CIELAB colour and the centroid (one pass; later rounds update them
   from the moved pixels alone).
2. Boundary-pixel sweeps: every pixel with a differently labelled 4-neighbour may take the label
   of one of its 4 neighbours, whichever minimises

       ‖lab_p − μ_k‖² + (m / S)² ‖p − c_k‖² − λ · #{4-neighbours of p labelled k}

   (SLIC's colour + position distance, ``S`` the mean superpixel side, plus a Potts smoothness
   term that keeps boundaries straight and fragments out on texture). Sweeps alternate the two
   colours of a checkerboard, so no two adjacent pixels change at once; each sweep moves a
   boundary by at most one pixel, and only pixels next to a change are revisited. A label never
   shrinks below a quarter of its input size, so no superpixel vanishes.
3. ``rounds`` times: means and centroids of the refined map, then the sweeps again.

The per-pixel work is compiled (:mod:`pcnet.ops.kernels.refine`, numba; the decisions of a
half-sweep run on all threads, the result is the same for any thread count). The colour is
OpenCV's 8-bit CIELAB (3 bytes a pixel, made once), so the statistics are exact integer sums.
Cost: O(H·W) for the statistics, O(boundary pixels) per sweep; memory: the label map, the 8-bit
CIELAB image and two queues of boundary pixels. Connectivity is *not* enforced here (see
:func:`~pcnet.ops.enforce_connectivity` with ``keep_largest``), so labels keep their ids.
"""

from __future__ import annotations

import math
from typing import Any

import cv2
import numpy as np

from pcnet._checks import check, check_int, check_label_map
from pcnet.ops.connectivity import enforce_connectivity
from pcnet.ops.masks import OUTSIDE

__all__ = ["LAB_OFFSET", "LAB_SCALE", "lab_codes", "refine_labels", "refine_settings", "refine_superpixels"]

#: OpenCV's 8-bit CIELAB codes decode as ``code · LAB_SCALE + LAB_OFFSET`` (L in [0, 100])
LAB_SCALE = np.array([100 / 255, 1, 1], np.float32)
LAB_OFFSET = np.array([0, -128, -128], np.float32)


def lab_codes(rgb: np.ndarray) -> np.ndarray:
    """``(h, w, 3)`` uint8 sRGB → OpenCV's 8-bit CIELAB codes (see :data:`LAB_SCALE`)."""
    return cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2LAB)


def refine_labels(
    image: np.ndarray,
    labels: np.ndarray,
    n_iter: int = 4,
    rounds: int = 2,
    compactness: float = 5.0,
    smoothness: float = 30.0,
    min_size: int = 1,
    threads: int | None = None,
    spacing: float | None = None,
    row_offset: int = 0,
) -> np.ndarray:
    """Move superpixel boundaries onto the edges of the full-resolution ``image``.

    Args:
        image: ``(H, W, 3)`` uint8 RGB at full resolution.
        labels: ``(H, W)`` non-negative integer labels (e.g. an upscaled cell map); −1
            (:data:`~pcnet.ops.masks.OUTSIDE`) outside a mask: those pixels never move, and no
            label moves onto them.
        n_iter: boundary sweeps per round: boundaries move at most ``n_iter`` pixels per round
            (choose about the staircase height, e.g. the upscaling factor).
        rounds: statistics + sweeps repetitions.
        compactness: SLIC's ``m``: weight of the distance to the centroid, relative to colour
            (default 5 and ``smoothness`` 30: selected on BSDS500 val, docs/refinement.md).
        smoothness: Potts weight λ per agreeing 4-neighbour (in squared Lab units).
        min_size: no label shrinks below ``min(its size, max(a quarter of it, min_size))`` pixels
            (so connectivity enforcement with a minimum size does not merge it away afterwards).
        threads: numba threads of the sweeps (default: all; the result does not depend on it).
        spacing: ``S`` of the position term, in pixels; ``None``: ``sqrt(H·W / labels present)``.
            A window of a larger image passes the whole image's, so that S does not depend on
            the window.
        row_offset: the first row of ``image`` in a larger image it is a window of: the
            positions are the whole image's (the same float32 rounding, so the same labels).
    Returns:
        ``(H, W)`` int32 labels with the same ids (a label may split: enforce connectivity
        afterwards; none vanishes).

    Example:
        >>> img = np.zeros((8, 8, 3), np.uint8); img[:, 5:] = 255          # edge between cols 4 | 5
        >>> lab = np.zeros((8, 8), np.int32); lab[:, 4:] = 1                # one px off
        >>> refine_labels(img, lab, compactness=0.0)[0]
        array([0, 0, 0, 0, 0, 1, 1, 1], dtype=int32)
    """
    outside = isinstance(labels, np.ndarray) and labels.size > 0 and labels.min() == OUTSIDE
    if outside:
        given = labels
        labels = check_label_map(np.where(given == OUTSIDE, 0, given))
        labels = np.where(given == OUTSIDE, OUTSIDE, labels)  # the checked map, −1 outside again
    else:
        labels = check_label_map(labels)
    check(
        isinstance(image, np.ndarray) and image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3,
        "image must be an (H, W, 3) uint8 RGB array (pcnet.io.to_rgb_uint8 converts others)",
    )
    check(image.shape[:2] == labels.shape, f"image {image.shape[:2]} and labels {labels.shape} must have the same size")
    n_iter = check_int(n_iter, "refine n_iter", minimum=0)
    rounds = check_int(rounds, "refine rounds", minimum=0)
    min_size = check_int(min_size, "refine min_size", minimum=1)
    if threads is not None:
        threads = check_int(threads, "refine threads", minimum=1)
    checked = (
        ("compactness", compactness),
        ("smoothness", smoothness),
        ("spacing", 1.0 if spacing is None else spacing),
    )
    for name, value in checked:
        check(
            isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value) and value >= 0,
            f"refine {name} must be a finite number >= 0; got {value!r}",
        )
    out = labels.astype(np.int32, copy=True)
    n_labels = int(out.max()) + 1 if out.size else 0
    if n_iter == 0 or rounds == 0 or n_labels == 0:
        return out
    sizes = np.bincount(out[out >= 0] if outside else out.ravel(), minlength=n_labels)
    floor = np.minimum(sizes, np.maximum(sizes // 4, min_size))  # no superpixel vanishes
    if spacing is None:
        spacing = math.sqrt(int(sizes.sum()) / max(1, int(np.count_nonzero(sizes))))  # S = sqrt(H·W / K), inside
    check(spacing > 0, f"refine spacing must be > 0 pixels; got {spacing!r}")
    pos_weight = float((compactness / spacing) ** 2)  # (m / S)²
    from pcnet.ops.kernels import refine as kernels
    from pcnet.ops.kernels import set_threads

    lab = lab_codes(image)
    row_offset = check_int(row_offset, "refine row_offset", minimum=0)
    sums = kernels.label_sums(lab, out, n_labels, set_threads(threads), row_offset)
    kernels.sweeps(
        lab, out, sums, floor, LAB_SCALE, LAB_OFFSET, pos_weight, float(smoothness), n_iter, rounds, row_offset
    )
    return out


def refine_settings(n_pixels: int, n_segments: int, min_size_fraction: float) -> dict[str, Any]:
    """The ``min_size`` and ``spacing`` of :func:`refine_labels` for an image of ``n_pixels`` and
    a grid of ``n_segments`` cells: a label keeps twice the size below which connectivity would
    merge it, plus one pixel; ``S = sqrt(n_pixels / n_segments)``."""
    return {
        "min_size": math.ceil(2 * min_size_fraction * n_pixels / n_segments) + 1,
        "spacing": math.sqrt(n_pixels / n_segments),
    }


def refine_superpixels(
    image: np.ndarray, labels: np.ndarray, n_segments: int, min_size_fraction: float, **options: Any
) -> np.ndarray:
    """:func:`refine_labels` of 4-connected superpixels, then connectivity again: the step the
    learned methods run after their network. Labels keep twice the size below which connectivity
    would merge them (a split piece too); pieces a label splits into join a neighbour, so K stays
    put. ``n_segments`` (the grid's K) sets the mean superpixel size and the spacing ``S``, so
    that a streamed window of the image refines with the same numbers (:func:`refine_settings`);
    ``options`` go to :func:`refine_labels`. Returns ``(H, W)`` int32 labels 0..K-1."""
    refined = refine_labels(image, labels, **refine_settings(labels.size, n_segments, min_size_fraction), **options)
    return enforce_connectivity(refined, min_size_fraction, n_segments=n_segments, keep_largest=True)

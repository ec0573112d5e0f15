"""Superpixel metrics with the definitions of the superpixel benchmark (Stutz et al.).

All functions take ``labels`` (the superpixels) and ``gt`` (one annotator's segmentation) as 2-D
non-negative integer maps of the same shape (NumPy arrays or tensors).

* Boundary pixel: a pixel with a 4-neighbour inside the image carrying another label (2 px thick,
  :func:`pcnet.ops.find_boundaries`).
* Tolerance ``r = round(0.0025 · diagonal)`` (half rounded up, like C++ ``std::round``; r = 1 on
  BSDS500) with a square ``(2r+1)²`` window clipped at the image border.
* BR = TP / (TP + FN) over GT boundary pixels: a GT boundary pixel is a TP when a superpixel
  boundary pixel lies within the window. 0 when the GT has no boundary.
* BP = TP / (TP + FP) over superpixel boundary pixels: a TP when a GT boundary pixel lies within
  the window. 0 when there is no superpixel boundary. (This is the definition in the benchmark
  paper; the benchmark's C++ code instead counts TP on the GT side, which can exceed this BP.)
* ASA = (1/N) Σ_j max_i |S_j ∩ G_i|.
* UE (Neubert & Protzel) = (1/N) Σ_j Σ_{i: n_ij > 0} min(n_ij, |S_j| − n_ij).
* CO = (1/N) Σ_j |S_j| · 4π|S_j| / P_j², with P_j the number of pixel sides of S_j that face
  another superpixel or the image border.
* K (``n_superpixels``) is the number of 4-connected superpixels actually present. Superpixels
  are split into their 4-connected components before ASA, UE and CO are computed; GT regions are
  used as given.
* Unlabelled GT pixels (``ignore``: the dataset's value for them, e.g. Mapillary's void class;
  :func:`pcnet.data.readers.unlabelled_value`) are skipped: they are no GT boundary (nor is a
  border between them and a region), superpixel boundary pixels on them are not scored by BP,
  and ASA and UE count only labelled pixels (``N`` is their number, ``|S_j|`` the labelled part
  of a superpixel). CO and K describe the superpixels alone and do not change.
* Ignored superpixel pixels (``ignore_index``: e.g. −1, :data:`pcnet.ops.OUTSIDE`, outside the
  mask of masked superpixels) are left out of every metric, as if the image were cropped to the
  kept pixels: superpixels are the 4-connected components inside them; a boundary pixel (of
  the superpixels and of the GT alike) needs a kept 4-neighbour with another label, so the mask
  edge is no boundary and GT boundaries in the ignored area are not scored; ASA and UE count
  kept pixels only; CO's ``N`` is the number of kept pixels, and a superpixel side facing the
  ignored area is on its perimeter (like the image border). K counts the kept superpixels.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from pcnet._checks import check, check_label_map, is_int, is_tensor
from pcnet.ops.boundaries import boundary_counts, find_boundaries
from pcnet.ops.connectivity import connected_components, enforce_connectivity
from pcnet.ops.labels import relabel_sequential
from pcnet.ops.masks import OUTSIDE

__all__ = [
    "METRIC_NAMES",
    "PreparedSegmentation",
    "achievable_segmentation_accuracy",
    "boundary_precision",
    "boundary_recall",
    "boundary_tolerance",
    "compactness",
    "n_superpixels",
    "prepare",
    "score_prepared",
    "superpixel_scores",
    "undersegmentation_error",
]

#: Keys of :func:`superpixel_scores`, in reporting order.
METRIC_NAMES: tuple[str, ...] = ("br", "bp", "asa", "ue", "co", "n_superpixels")


def boundary_tolerance(height: int, width: int) -> int:
    """The benchmark's tolerance ``round(0.0025 · sqrt(H² + W²))``.

    Example:
        >>> boundary_tolerance(321, 481)
        1
    """
    return math.floor(0.0025 * math.hypot(height, width) + 0.5)


@dataclass(frozen=True)
class PreparedSegmentation:
    """A segmentation with everything the metrics need, computed once and reused.

    Scoring one superpixel map against several annotators (or one annotator against several
    superpixel maps) prepares each side once.
    """

    labels: np.ndarray  #: (H, W) int32 ids 0..n-1 of the pixels that count, n on the others
    n: int  #: number of segments (ignored pixels not included)
    sizes: np.ndarray  #: pixels per segment
    boundary: np.ndarray  #: (H, W) bool boundary pixels
    near_boundary: np.ndarray  #: boundary dilated by the tolerance window
    tolerance: int
    valid: np.ndarray | None = None  #: (H, W) bool pixels that count (``None``: all); see ``prepare(ignore=)``

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of the label map."""
        return self.labels.shape


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    if radius == 0:
        return mask
    kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
    return cv2.dilate(mask.view(np.uint8), kernel).view(bool)


def _resolve_tolerance(tolerance: int | None, shape: tuple[int, int]) -> int:
    if tolerance is None:
        return boundary_tolerance(*shape)
    check(
        isinstance(tolerance, (int, np.integer)) and not isinstance(tolerance, bool) and tolerance >= 0,
        f"tolerance must be a non-negative integer number of pixels or None; got {tolerance!r}",
    )
    return int(tolerance)


def _checked_labels(
    labels: np.ndarray, name: str, ignore: int | None, ignore_name: str = "ignore"
) -> tuple[np.ndarray, np.ndarray | None]:
    """``labels`` as a checked 2-D integer map, non-negative where it is not ``ignore`` (which may
    be negative), and the mask of the other pixels (``None``: every pixel counts)."""
    check(
        ignore is None or is_int(ignore),
        f"{ignore_name} must be an integer label value or None; got {ignore!r}",
    )
    if is_tensor(labels):
        labels = labels.detach().cpu().numpy()
    valid = labels != ignore if ignore is not None and isinstance(labels, np.ndarray) else None
    if valid is None or np.all(valid):
        check(
            ignore is not None or not isinstance(labels, np.ndarray) or labels.size == 0 or labels.min() != -1,
            f"{name} must hold non-negative labels; it holds -1, as a masked map does outside its mask: "
            f"pass {ignore_name}=-1 to leave those pixels out of the metrics",
        )
        return check_label_map(labels, name), None
    check_label_map(np.where(valid, labels, 0), name)  # the ignored pixels may hold any value
    return labels, valid


def prepare(
    labels: np.ndarray,
    tolerance: int | None = None,
    connected: bool = True,
    name: str = "labels",
    ignore: int | None = None,
) -> PreparedSegmentation:
    """Validate and precompute a segmentation for scoring.

    ``connected=True`` (superpixels) splits labels into 4-connected components; ``False``
    (ground truth) keeps the regions as given. ``ignore``: the label of pixels the metrics skip
    (module docstring), ``None``: every pixel counts. For ground truth, the value of unlabelled
    pixels; for superpixels, the ``ignore_index`` of pixels outside a mask (e.g. −1).
    """
    labels, valid = _checked_labels(labels, name, ignore, "ignore_index" if connected else "ignore")
    if valid is None:
        ids = connected_components(labels) if connected else relabel_sequential(labels)[0]
    elif connected:  # components inside the kept pixels, OUTSIDE elsewhere
        ids = enforce_connectivity(labels, min_size_fraction=0.0, mask=valid)
    else:
        ids = np.full(labels.shape, OUTSIDE, dtype=np.int32)
        if valid.any():
            ids[valid] = relabel_sequential(labels[valid])[0]
    n = int(ids.max()) + 1
    check(
        n > 0 or not connected,
        f"every pixel of {name} is ignore_index={ignore}: there are no superpixels to score",
    )
    if valid is not None:
        ids[~valid] = n  # one id for the skipped pixels, never a boundary
    radius = _resolve_tolerance(tolerance, labels.shape)
    boundary = find_boundaries(ids, ignore_index=None if valid is None else n)
    return PreparedSegmentation(
        labels=ids,
        n=n,
        sizes=np.bincount(ids.ravel(), minlength=n + 1)[:n],
        boundary=boundary,
        near_boundary=_dilate(boundary, radius),
        tolerance=radius,
        valid=valid,
    )


def _ratio(num: int, den: int) -> float:
    return float(num) / float(den) if den > 0 else 0.0


def _kept(sp: PreparedSegmentation, gt: PreparedSegmentation) -> np.ndarray | None:
    """Pixels that both sides count (``None``: all)."""
    if sp.valid is None or gt.valid is None:
        return gt.valid if sp.valid is None else sp.valid
    return sp.valid & gt.valid


def _boundary_within(gt: PreparedSegmentation, kept: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """GT boundary and its dilation with only ``kept`` pixels in the image (``None``: all), so the
    edge of a superpixel mask is no GT boundary either."""
    if kept is None or kept is gt.valid:
        return gt.boundary, gt.near_boundary
    boundary = find_boundaries(np.where(kept, gt.labels, gt.n), ignore_index=gt.n)
    return boundary, _dilate(boundary, gt.tolerance)


def _intersections(
    sp: PreparedSegmentation, gt: PreparedSegmentation, kept: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
    """Non-zero overlaps ``n_ij`` as ``(j, n_ij)``: superpixel j has n_ij pixels in GT region i
    (``kept`` pixels only; ``None``: all)."""
    if kept is None:
        codes = sp.labels.ravel().astype(np.int64) * gt.n + gt.labels.ravel()
    else:
        codes = sp.labels[kept].astype(np.int64) * gt.n + gt.labels[kept]
    if sp.n * gt.n <= 4 * codes.size:  # dense counting is O(N) and fast
        counts = np.bincount(codes, minlength=sp.n * gt.n)
        codes = np.flatnonzero(counts)
        counts = counts[codes]
    else:  # many superpixels and regions: count only the pairs that occur
        codes, counts = np.unique(codes, return_counts=True)
    return codes // gt.n, counts


def _compactness(sp: PreparedSegmentation) -> float:
    ids = sp.labels
    sides = boundary_counts(ids)  # pixel sides on a superpixel's perimeter: label changes + the image border
    sides[0] += 1
    sides[-1] += 1
    sides[:, 0] += 1
    sides[:, -1] += 1
    perimeter = np.bincount(ids.ravel(), weights=sides.ravel(), minlength=sp.n + 1)[: sp.n]  # ignored: id n
    area = sp.sizes.astype(np.float64)
    return float(np.sum(area * 4.0 * np.pi * area / perimeter**2) / area.sum())


def score_prepared(
    sp: PreparedSegmentation, gt: PreparedSegmentation, metrics: Iterable[str] = METRIC_NAMES
) -> dict[str, float]:
    """Metrics of prepared superpixels ``sp`` against a prepared ground truth ``gt``."""
    metrics = tuple(metrics)
    unknown = sorted(set(metrics) - set(METRIC_NAMES))
    check(not unknown, f"unknown metrics {unknown}; valid names: {list(METRIC_NAMES)}")
    check(
        sp.shape == gt.shape,
        f"superpixels {sp.shape} and ground truth {gt.shape} must have the same shape",
    )
    check(
        sp.tolerance == gt.tolerance,
        f"superpixels and ground truth were prepared with different tolerances ({sp.tolerance}, {gt.tolerance})",
    )
    out: dict[str, float] = {}
    kept = _kept(sp, gt)
    if "br" in metrics or "bp" in metrics:
        gt_boundary, gt_near = _boundary_within(gt, kept)
        if "br" in metrics:
            out["br"] = _ratio(np.count_nonzero(gt_boundary & sp.near_boundary), np.count_nonzero(gt_boundary))
        if "bp" in metrics:
            scored = sp.boundary if gt.valid is None else sp.boundary & gt.valid
            out["bp"] = _ratio(np.count_nonzero(scored & gt_near), np.count_nonzero(scored))
    if "asa" in metrics or "ue" in metrics:
        j, overlap = _intersections(sp, gt, kept)
        if kept is None:
            total, sizes = sp.labels.size, sp.sizes
        else:  # kept pixels only: N and the kept part of each superpixel
            total = int(np.count_nonzero(kept))
            sizes = np.bincount(sp.labels[kept], minlength=sp.n)
        if "asa" in metrics:
            best = np.zeros(sp.n, dtype=np.int64)
            np.maximum.at(best, j, overlap)
            out["asa"] = _ratio(int(best.sum()), total)
        if "ue" in metrics:
            out["ue"] = _ratio(int(np.minimum(overlap, sizes[j] - overlap).sum()), total)
    if "co" in metrics:
        out["co"] = _compactness(sp)
    if "n_superpixels" in metrics:
        out["n_superpixels"] = float(sp.n)
    return {k: out[k] for k in METRIC_NAMES if k in out}


def superpixel_scores(
    labels: np.ndarray,
    gt: np.ndarray,
    tolerance: int | None = None,
    metrics: Sequence[str] = METRIC_NAMES,
    ignore: int | None = None,
    ignore_index: int | None = None,
) -> dict[str, float]:
    """All benchmark metrics of superpixels ``labels`` against one ground truth ``gt``.

    Args:
        labels: ``(H, W)`` superpixel labels (non-negative integers).
        gt: ``(H, W)`` ground-truth segmentation (non-negative integers).
        tolerance: boundary tolerance in pixels; ``None`` uses :func:`boundary_tolerance`.
        metrics: subset of :data:`METRIC_NAMES` to compute.
        ignore: the GT value of unlabelled pixels, skipped by the metrics (module docstring).
        ignore_index: the superpixel label of pixels left out of every metric, e.g. −1 outside
            the mask of masked superpixels (module docstring).

    Returns:
        ``{"br", "bp", "asa", "ue", "co", "n_superpixels"}`` (those requested) as floats.

    Example:
        >>> gt = np.zeros((8, 8), int); gt[:, 4:] = 1
        >>> superpixel_scores(gt, gt, tolerance=1)
        {'br': 1.0, 'bp': 1.0, 'asa': 1.0, 'ue': 0.0, 'co': 0.6981317007977318, 'n_superpixels': 2.0}
    """
    labels, _ = _checked_labels(labels, "labels", ignore_index, "ignore_index")
    gt, _ = _checked_labels(gt, "gt", ignore)
    check(
        labels.shape == gt.shape,
        f"labels {labels.shape} and gt {gt.shape} must have the same shape (H, W)",
    )
    radius = _resolve_tolerance(tolerance, labels.shape)
    return score_prepared(
        prepare(labels, radius, connected=True, name="labels", ignore=ignore_index),
        prepare(gt, radius, connected=False, name="gt", ignore=ignore),
        metrics,
    )


def _single(metric: str, labels: np.ndarray, gt: np.ndarray, tolerance: int | None = None) -> float:
    return superpixel_scores(labels, gt, tolerance, metrics=(metric,))[metric]


def boundary_recall(labels: np.ndarray, gt: np.ndarray, tolerance: int | None = None) -> float:
    """Fraction of GT boundary pixels with a superpixel boundary within the tolerance window."""
    return _single("br", labels, gt, tolerance)


def boundary_precision(labels: np.ndarray, gt: np.ndarray, tolerance: int | None = None) -> float:
    """Fraction of superpixel boundary pixels with a GT boundary within the tolerance window."""
    return _single("bp", labels, gt, tolerance)


def achievable_segmentation_accuracy(labels: np.ndarray, gt: np.ndarray) -> float:
    """ASA: pixel accuracy when every superpixel takes its majority GT label."""
    return _single("asa", labels, gt)


def undersegmentation_error(labels: np.ndarray, gt: np.ndarray) -> float:
    """Neubert–Protzel undersegmentation error (leakage of superpixels across GT regions)."""
    return _single("ue", labels, gt)


def compactness(labels: np.ndarray) -> float:
    """Schick et al.'s compactness: area-weighted isoperimetric quotient of the superpixels."""
    return _compactness(prepare(labels, tolerance=0))


def n_superpixels(labels: np.ndarray) -> int:
    """Number of 4-connected superpixels (a label split in two parts counts twice)."""
    return prepare(labels, tolerance=0).n

"""Superpixels inside a mask: :func:`segment_in_mask` runs any method's pipeline on the mask's
bounding box at the density that puts K inside, then connectivity inside the mask. It sits above
both :mod:`pcnet.ops.masks` (the mask check, box and request) and
:mod:`pcnet.ops.connectivity` (which checks its masks with the former), so imports flow one way."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from pcnet._checks import check, describe
from pcnet.ops.connectivity import enforce_connectivity
from pcnet.ops.masks import OUTSIDE, check_mask, mask_box, masked_request

__all__ = ["MASK_K_TOLERANCE", "MASK_MAX_RUNS", "segment_in_mask"]

#: a masked call reruns its method while K inside the mask misses the request by more than this
#: fraction (:func:`segment_in_mask`), at most :data:`MASK_MAX_RUNS` runs in all
MASK_K_TOLERANCE = 0.05
MASK_MAX_RUNS = 3


def segment_in_mask(
    segment: Callable[[np.ndarray, int | None], np.ndarray],
    image: np.ndarray,
    n_segments: int | None,
    mask: np.ndarray,
    min_size_fraction: float,
    tolerance: float = MASK_K_TOLERANCE,
    max_runs: int = MASK_MAX_RUNS,
) -> np.ndarray:
    """Superpixels inside ``mask`` only, from a method's whole pipeline ``segment(image, n) ->
    4-connected labels 0..K-1`` (``pcnet.superpixels`` and the ``Segmenter`` use it).

    1. ``segment`` runs on the mask's bounding box, asked for :func:`masked_request`
       ``(n_segments, mask)`` superpixels: the density that puts about ``n_segments`` inside.
    2. :func:`enforce_connectivity` with the ``mask`` and ``keep_largest``: −1 outside, every
       superpixel one 4-connected region inside; pieces the mask border cuts off (and superpixels
       mostly outside) join their inside neighbours, never the outside; renumbered 0..K-1.
    3. While K inside misses ``n_segments`` by more than ``tolerance`` (a fraction of it), the
       request is scaled by ``n_segments / K`` and 1-2 run again, ``max_runs`` runs in all; the
       labels with K closest to ``n_segments`` win (ties: the earlier run). A method's own K
       differs from its request (skimage SLIC gives 24 for 40 on a 96×128 image, OpenCV's SLIC
       rounds its region size) and the mask border adds to that: the measured correction makes
       ``n_segments`` mean superpixels inside the mask, whatever the method.

    An all-``True`` mask returns ``segment(image, n_segments)`` itself (identical to no mask); an
    all-``False`` one all −1 (K = 0, ``segment`` is not called). ``n_segments=None`` asks
    ``segment`` for its own default on the box, once.
    """
    mask = check_mask(mask, image.shape)
    inside = int(np.count_nonzero(mask))
    check(
        n_segments is None or inside == 0 or n_segments <= inside,
        f"n_segments={n_segments} exceeds the number of pixels inside the mask ({inside}); ask for fewer superpixels",
    )
    if not inside:
        return np.full(mask.shape, OUTSIDE, dtype=np.int32)
    if mask.all():
        return segment(image, n_segments)
    box = mask_box(mask)
    inner = mask[box]
    crop = np.ascontiguousarray(image[box])
    request = None if n_segments is None else masked_request(n_segments, inner)
    runs: dict[int | None, tuple[int, np.ndarray]] = {}  # request -> (K inside, labels)
    while True:
        labels = np.asarray(segment(crop, request))
        check(
            labels.shape == inner.shape,
            f"superpixels of the mask's {inner.shape[0]}×{inner.shape[1]} box came back as {describe(labels)}",
        )
        labels = enforce_connectivity(labels, min_size_fraction, n_segments, keep_largest=True, mask=inner)
        runs[request] = (int(labels.max()) + 1, labels)
        if n_segments is None or len(runs) >= max_runs or abs(runs[request][0] - n_segments) <= tolerance * n_segments:
            break
        request = _next_request(runs, n_segments, inner.size)
        if request in runs:
            break
    out = np.full(mask.shape, OUTSIDE, dtype=np.int32)
    out[box] = min(runs.values(), key=lambda run: abs(run[0] - (n_segments or run[0])))[1]
    return out


def _next_request(runs: dict, n_segments: int, n_pixels: int) -> int:
    """The next request for :func:`segment_in_mask`: interpolated between the closest runs below
    and above ``n_segments`` when there are both, else the closest run's scaled by ``n / K``."""
    below = [(k, r) for r, (k, _) in runs.items() if k < n_segments]
    above = [(k, r) for r, (k, _) in runs.items() if k > n_segments]
    if below and above:
        (k0, r0), (k1, r1) = max(below), min(above)
        request = r0 + (r1 - r0) * (n_segments - k0) / (k1 - k0)
    else:
        k, r = min(below + above, key=lambda run: abs(run[0] - n_segments))
        request = r * n_segments / max(k, 1)
    return max(1, min(n_pixels, round(request)))


#: the least threshold :func:`tissue_mask` applies on its 0..255 feature, whatever Otsu says: a

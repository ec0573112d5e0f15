"""Connectivity enforcement: every superpixel one 4-connected region of a sensible size.

Runs in NumPy/Cython at O(H·W): connected components come from ``skimage.measure.label`` (union
find), and the merge of small components works on a list of component adjacencies, never on a
Python loop over pixels or regions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from skimage.measure import label as _label_components

from pcnet._checks import check, check_label_map, describe

__all__ = [
    "MASK_K_TOLERANCE",
    "MASK_MAX_RUNS",
    "MIN_SIZE_FRACTION",
    "OUTSIDE",
    "check_mask",
    "connected_components",
    "enforce_connectivity",
    "mask_box",
    "masked_request",
    "segment_in_mask",
]

#: components below this fraction of the mean superpixel size join a neighbour (SCN's 0.06): the
#: one default of every method (``pcnet.superpixels``, the Segmenter, predict and evaluate)
MIN_SIZE_FRACTION = 0.06
#: the label of every pixel outside a mask (see :func:`enforce_connectivity` and ``pcnet.superpixels``)
OUTSIDE = -1
#: a masked call reruns its method while K inside the mask misses the request by more than this
#: fraction (:func:`segment_in_mask`), at most :data:`MASK_MAX_RUNS` runs in all
MASK_K_TOLERANCE = 0.05
MASK_MAX_RUNS = 3


def connected_components(labels: np.ndarray) -> np.ndarray:
    """Split every label into its 4-connected components, numbered 0..n-1 (int32) in raster order.

    Example:
        >>> connected_components(np.array([[1, 2, 1], [1, 2, 1]]))
        array([[0, 1, 2],
               [0, 1, 2]], dtype=int32)
    """
    labels = check_label_map(labels)
    comp = _label_components(labels.astype(np.int64, copy=False), connectivity=1, background=-1)
    comp -= 1
    return comp.astype(np.int32)  # < 2**31 components for any image below 2 gigapixels


def _border_counts(comp: np.ndarray, small: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shared border length of every (small component, neighbour) pair.

    Returns ``(a, b, length)``: component ``a`` is small, ``b`` is a 4-adjacent component, and
    ``length`` counts the pixel edges between them. Pixels with a negative id (outside a mask)
    are nobody's neighbour.
    """
    width = comp.shape[1]
    flat = comp.ravel()
    firsts, seconds = [], []
    for step in (1, width):  # horizontal, then vertical neighbours in the flattened map
        cut = flat[:-step] != flat[step:]
        if step == 1:
            cut[width - 1 :: width] = False  # last column has no right neighbour
        idx = np.flatnonzero(cut)
        a, b = flat[idx], flat[idx + step]
        if a.size and (a.min() < 0 or b.min() < 0):  # a mask: no border with the outside
            inside = (a >= 0) & (b >= 0)
            a, b = a[inside], b[inside]
        for x, y in ((a, b), (b, a)):
            keep = small[x]
            firsts.append(x[keep])
            seconds.append(y[keep])
    n = np.int64(small.size)
    codes = np.concatenate(firsts).astype(np.int64) * n + np.concatenate(seconds)
    codes, length = np.unique(codes, return_counts=True)
    return codes // n, codes % n, length


def _merge_rounds(
    parent: np.ndarray,
    sizes: np.ndarray,
    a: np.ndarray,
    b: np.ndarray,
    length: np.ndarray,
    may_merge: Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray],
) -> np.ndarray:
    """Merge groups along component adjacencies ``(a, b, length)`` until none may merge:
    each round, every root ``ra`` with an allowed neighbour root ``rb``
    (``may_merge(ra, rb, group_sizes)``) joins the one it shares the longest border with."""
    n_comp = parent.size
    while True:
        root_a, root_b = parent[a], parent[b]
        size = np.bincount(parent, weights=sizes, minlength=n_comp)
        live = (root_a != root_b) & may_merge(root_a, root_b, size)
        if not live.any():
            return parent
        ra, rb = root_a[live], root_b[live]
        # total border between root pairs, then the longest border per merging root
        n = np.int64(n_comp)
        codes, inv = np.unique(ra * n + rb, return_inverse=True)
        border = np.bincount(inv, weights=length[live])
        pa, pb = codes // n, codes % n
        order = np.lexsort((pb, -border, pa))
        first = np.ones(order.size, dtype=bool)
        first[1:] = pa[order][1:] != pa[order][:-1]
        parent[pa[order][first]] = pb[order][first]
        while True:  # pointer jumping to the roots
            nxt = parent[parent]
            if np.array_equal(nxt, parent):
                break
            parent = nxt


def check_mask(mask: object, shape: tuple[int, ...], of: str = "image") -> np.ndarray:
    """``mask`` as a boolean ``(H, W)`` array (``True`` inside) for an ``of`` of ``shape``
    ``(H, W, ...)``: bool, or numbers that are all 0 or 1 (NumPy array or tensor).

    Example:
        >>> check_mask(np.ones((10, 12), bool), (20, 30))  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pcnet._checks.InputError: mask is 10×12 but the image is 20×30; pass a boolean (H, W) mask ...
    """
    if hasattr(mask, "detach"):  # a tensor, without importing PyTorch
        mask = mask.detach().cpu().numpy()
    check(
        isinstance(mask, np.ndarray),
        f"mask must be a boolean (H, W) array (True inside) or None; got {describe(mask)}",
    )
    height, width = shape[:2]
    check(
        mask.shape == (height, width),
        f"mask is {'×'.join(map(str, mask.shape)) or 'a scalar'} but the {of} is {height}×{width}; "
        f"pass a boolean (H, W) mask of the {of}'s size (True inside)",
    )
    if mask.dtype != np.bool_:
        numeric = np.issubdtype(mask.dtype, np.integer) or np.issubdtype(mask.dtype, np.floating)
        values = np.unique(mask) if numeric else np.zeros(0)
        shown = f" with values {values[:6].tolist()}{'...' if values.size > 6 else ''}" if numeric else ""
        check(
            numeric and bool(np.isin(values, (0, 1)).all()),
            f"mask must be boolean (True inside) or hold only 0 and 1; got {describe(mask)}{shown}; pass e.g. mask > 0",
        )
        mask = mask.astype(bool)
    return mask


def mask_box(mask: np.ndarray) -> tuple[slice, slice]:
    """The bounding box of the ``True`` pixels of a non-empty ``(H, W)`` mask, as two slices.

    Example:
        >>> mask_box(np.array([[0, 0, 0], [0, 1, 0], [0, 1, 1]], bool))
        (slice(1, 3, None), slice(1, 3, None))
    """
    rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
    check(rows.size > 0, "mask_box needs a mask with at least one True pixel")
    return slice(int(rows[0]), int(rows[-1]) + 1), slice(int(cols[0]), int(cols[-1]) + 1)


def masked_request(n_segments: int, mask: np.ndarray) -> int:
    """How many superpixels to ask of a method on the whole of ``mask``'s image (or crop) so that
    about ``n_segments`` fall inside the mask: ``n_segments`` scaled by the inverse of the mask's
    area fraction (the same density of superpixels), at most one per pixel.

    Example:
        >>> mask = np.zeros((10, 10), bool); mask[:, :4] = True           # 40 % of the image
        >>> masked_request(20, mask)
        50
    """
    inside = int(np.count_nonzero(mask))
    check(inside > 0, "masked_request needs a mask with at least one True pixel")
    return max(1, min(mask.size, round(n_segments * mask.size / inside)))


def enforce_connectivity(
    labels: np.ndarray,
    min_size_fraction: float = MIN_SIZE_FRACTION,
    n_segments: int | None = None,
    keep_largest: bool = False,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """Make every superpixel 4-connected and merge tiny ones, as SCN/SSN do after the argmax.

    1. Every label is split into its 4-connected components.
    2. Components smaller than ``min_size_fraction · H·W / n_segments`` pixels are merged into the
       adjacent component they share the longest border with. A component only merges into a
       neighbour that is larger (ties: lower raster id), so merges never form cycles; rounds repeat
       until no small component with a neighbour is left.
    3. Labels are renumbered 0..K-1 in raster order of first appearance.

    Args:
        labels: ``(H, W)`` non-negative integer labels (NumPy array or tensor); with a ``mask``,
            any integers outside it (e.g. :data:`OUTSIDE`).
        min_size_fraction: fraction of the mean superpixel size below which a component is merged
            (SCN uses 0.06). ``0`` only splits and renumbers.
        n_segments: the intended number of superpixels for the mean size (inside the mask, with
            one); defaults to the number of distinct labels in ``labels`` (inside the mask).
        keep_largest: also merge every component that is not the largest of its label, whatever
            its size, so a label split in pieces (e.g. by :func:`~pcnet.ops.refine_labels`)
            stays one superpixel and K does not grow.
        mask: ``(H, W)`` boolean, ``True`` inside. Pixels outside never join a component, nor
            border one, and come back as :data:`OUTSIDE` (−1); components are 4-connected inside
            the mask, small ones merge only into neighbouring inside components, the mean size is
            the mask's area ``/ n_segments``, and ``0..K-1`` number the superpixels inside. With
            ``keep_largest``, a label whose pixels lie mostly outside the mask (its labels there
            are read for this only; a negative label there belongs to no superpixel) has no
            largest piece: all its inside pieces merge into neighbours, so a superpixel the mask
            border cuts counts where most of it lies and K inside the mask follows its area.
            Pieces with no neighbour to merge into (a small island of the mask covered only by
            such cut-off pieces) join each other into one superpixel per island. An all-``False``
            mask gives all −1 (K = 0).

    Returns:
        ``(H, W)`` int32 labels 0..K-1, each a single 4-connected region (−1 outside the mask).

    Example:
        >>> lab = np.array([[0, 0, 0, 1], [0, 2, 0, 1], [0, 0, 0, 1]])
        >>> enforce_connectivity(lab, min_size_fraction=0.5)   # the 1-pixel island joins label 0
        array([[0, 0, 0, 1],
               [0, 0, 0, 1],
               [0, 0, 0, 1]], dtype=int32)
        >>> inside = np.array([[1, 0, 1, 1], [1, 0, 1, 1], [0, 0, 0, 1]], bool)
        >>> enforce_connectivity(lab, 0.0, mask=inside)         # the mask cuts label 0 in two
        array([[ 0, -1,  1,  2],
               [ 0, -1,  1,  2],
               [-1, -1, -1,  2]], dtype=int32)
        >>> enforce_connectivity(lab, 0.0, keep_largest=True, mask=inside)  # one piece stays label 0
        array([[ 0, -1,  1,  1],
               [ 0, -1,  1,  1],
               [-1, -1, -1,  1]], dtype=int32)
    """
    check(
        0.0 <= float(min_size_fraction) < 1.0,
        f"min_size_fraction must lie in [0, 1); got {min_size_fraction}",
    )
    if mask is None:
        labels = check_label_map(labels)
        comp = connected_components(labels)
        inside_labels = labels.ravel()
        area = labels.size
    else:
        if hasattr(labels, "detach"):
            labels = labels.detach().cpu().numpy()
        check(
            isinstance(labels, np.ndarray) and labels.ndim == 2 and labels.size > 0,
            f"labels must be a non-empty 2-D integer array (H, W); got {describe(labels)}",
        )
        mask = check_mask(mask, labels.shape, "label map")
        if not mask.any():
            return np.full(labels.shape, OUTSIDE, dtype=np.int32)
        inside_labels = check_label_map(labels[mask][None], "labels inside the mask").ravel()
        work = np.zeros(labels.shape, dtype=np.int64)
        work[mask] = inside_labels.astype(np.int64) + 1  # 0: outside, the background
        comp = (_label_components(work, connectivity=1, background=0) - 1).astype(np.int32)
        area = inside_labels.size
    inside_comp = comp.ravel() if mask is None else comp[mask]
    sizes = np.bincount(inside_comp)
    n_comp = sizes.size
    parent = np.arange(n_comp)
    if n_segments is None:
        n_segments = int(np.count_nonzero(np.bincount(inside_labels)))
    check(n_segments >= 1, f"n_segments must be a positive integer; got {n_segments}")
    min_size = min_size_fraction * area / n_segments

    small = sizes < min_size
    fragment = np.zeros(n_comp, dtype=bool)
    if keep_largest:
        owner = np.zeros(n_comp, dtype=np.int64)
        owner[inside_comp] = inside_labels
        order = np.lexsort((-sizes, owner))  # by label, largest component first
        first = np.ones(n_comp, dtype=bool)
        first[1:] = owner[order][1:] != owner[order][:-1]
        fragment[order[~first]] = True
        if mask is not None:  # labels mostly outside the mask: every inside piece is a fragment
            every = labels.ravel()
            every = every[every >= 0] if np.issubdtype(every.dtype, np.signedinteger) else every
            total = np.bincount(every, minlength=int(inside_labels.max()) + 1)
            inside = np.bincount(inside_labels, minlength=total.size)
            fragment |= 2 * inside[owner] < total[owner]
    if (small.any() or fragment.any()) and n_comp > 1:
        a, b, length = _border_counts(comp, small | fragment)
        if fragment.any():
            # fragments join a neighbouring group whose root is a label's main component (never
            # a fragment, so no cycles), by the longest border
            parent = _merge_rounds(parent, sizes, a, b, length, lambda ra, rb, size: fragment[ra] & ~fragment[rb])
            if mask is not None:
                # fragments with no main component beside them (an island of the mask covered by
                # cut-off pieces only): into a larger such neighbour, until one per island is left
                parent = _merge_rounds(
                    parent, sizes, a, b, length, lambda ra, rb, size: fragment[ra] & fragment[rb] & _up(ra, rb, size)
                )

        def into_larger(ra: np.ndarray, rb: np.ndarray, size: np.ndarray) -> np.ndarray:
            # only into a larger neighbour (ties: the lower id), so no cycles can form
            return (size[ra] < min_size) & _up(ra, rb, size)

        parent = _merge_rounds(parent, sizes, a, b, length, into_larger)

    # renumber roots by the raster position of their group's first pixel
    first_member = np.full(n_comp, n_comp, dtype=np.int64)
    np.minimum.at(first_member, parent, np.arange(n_comp))
    roots = np.flatnonzero(first_member < n_comp)
    lut = np.empty(n_comp, dtype=np.int32)
    lut[roots[np.argsort(first_member[roots], kind="stable")]] = np.arange(roots.size, dtype=np.int32)
    if mask is None:
        return lut[parent][comp]
    table = np.append(lut[parent], np.int32(OUTSIDE))  # comp -1 (outside) reads the last entry
    return table[comp]


def _up(ra: np.ndarray, rb: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Whether group ``rb`` is larger than ``ra`` (ties: the lower id): merges along it form no cycles."""
    return (size[rb] > size[ra]) | ((size[rb] == size[ra]) & (rb < ra))


def segment_in_mask(
    segment: Callable[[np.ndarray, int | None], np.ndarray],
    image: np.ndarray,
    n_segments: int | None,
    mask: np.ndarray,
    min_size_fraction: float = MIN_SIZE_FRACTION,
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

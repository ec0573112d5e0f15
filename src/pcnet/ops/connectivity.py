"""Connectivity enforcement: every superpixel one 4-connected region of a sensible size.

O(H·W) in compiled kernels (:mod:`pcnet.ops.kernels.components`, numba): the 4-connected
components in one raster pass (union-find), the borders of the components to merge in a second,
and the relabelling; the merge itself works on the list of those borders (NumPy), never on a
Python loop over pixels or regions. A call that only splits and renumbers (``min_size_fraction=0``,
no ``keep_largest``, no mask: the classical methods') uses skimage's components and imports no
numba. Masks: :mod:`pcnet.ops.masks`.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from skimage.measure import label as _label_components

from pcnet._checks import check, check_label_map, describe
from pcnet.ops.masks import OUTSIDE, check_mask

__all__ = ["MIN_SIZE_FRACTION", "connected_components", "enforce_connectivity"]

#: components below this fraction of the mean superpixel size join a neighbour (SCN's 0.06): the
#: learned methods' default (``pcnet.superpixels``, the Segmenter, predict and evaluate)
MIN_SIZE_FRACTION = 0.06


def _kernel_labels(labels: np.ndarray) -> np.ndarray:
    """``labels`` as int32 when its values fit (the kernels' usual type), else int64: one
    compiled variant each instead of one per integer type."""
    if labels.dtype in (np.int32, np.int64):
        return np.ascontiguousarray(labels)
    wide = labels.dtype.itemsize > 4 or labels.dtype == np.uint32
    if wide and labels.size and int(labels.max()) >= 2**31:
        return np.ascontiguousarray(labels, dtype=np.int64)
    return np.ascontiguousarray(labels, dtype=np.int32)


def _components(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from pcnet.ops.kernels.components import components

    return components(_kernel_labels(labels))


def connected_components(labels: np.ndarray) -> np.ndarray:
    """Split every label into its 4-connected components, numbered 0..n-1 (int32) in raster order.

    Example:
        >>> connected_components(np.array([[1, 2, 1], [1, 2, 1]]))
        array([[0, 1, 2],
               [0, 1, 2]], dtype=int32)
    """
    return _components(check_label_map(labels))[0]


def _border_counts(comp: np.ndarray, small: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Shared border length of every (small component, neighbour) pair.

    Returns ``(a, b, length)``: component ``a`` is small, ``b`` is a 4-adjacent component, and
    ``length`` counts the pixel edges between them. Pixels with a negative id (outside a mask)
    are nobody's neighbour.
    """
    from pcnet.ops.kernels.components import border_codes

    n = np.int64(small.size)
    codes, length = np.unique(border_codes(comp, small), return_counts=True)
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
    if mask is None and float(min_size_fraction) == 0.0 and not keep_largest:
        # split and renumber only (the classical methods' call): skimage's components, which
        # those methods have loaded already, are the answer (same raster order; no numba import)
        labels = check_label_map(labels)
        comp = _label_components(labels.astype(np.int64, copy=False), connectivity=1, background=-1)
        return (comp - 1).astype(np.int32)
    if mask is None:
        labels = check_label_map(labels)
        comp, sizes, owner = _components(labels)
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
        work = _kernel_labels(labels).copy()
        work[~mask] = -1  # outside: no component, nobody's neighbour
        comp, sizes, owner = _components(work)
        area = inside_labels.size
    n_comp = sizes.size
    parent = np.arange(n_comp)
    if n_segments is None:
        n_segments = int(np.count_nonzero(np.bincount(inside_labels)))
    check(n_segments >= 1, f"n_segments must be a positive integer; got {n_segments}")
    min_size = min_size_fraction * area / n_segments

    small = sizes < min_size
    fragment = np.zeros(n_comp, dtype=bool)
    if keep_largest:
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
    from pcnet.ops.kernels.components import relabel

    return relabel(comp, lut[parent].astype(np.int32), OUTSIDE)


def _up(ra: np.ndarray, rb: np.ndarray, size: np.ndarray) -> np.ndarray:
    """Whether group ``rb`` is larger than ``ra`` (ties: the lower id): merges along it form no cycles."""
    return (size[rb] > size[ra]) | ((size[rb] == size[ra]) & (rb < ra))

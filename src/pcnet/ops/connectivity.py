"""Connectivity enforcement: every superpixel one 4-connected region of a sensible size.

Runs in NumPy/Cython at O(H·W): connected components come from ``skimage.measure.label`` (union
find), and the merge of small components works on a list of component adjacencies, never on a
Python loop over pixels or regions.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from skimage.measure import label as _label_components

from pcnet._checks import check, check_label_map

__all__ = ["MIN_SIZE_FRACTION", "connected_components", "enforce_connectivity"]

#: components below this fraction of the mean superpixel size join a neighbour (SCN's 0.06): the
#: one default of every method (``pcnet.superpixels``, the Segmenter, predict and evaluate)
MIN_SIZE_FRACTION = 0.06


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
    ``length`` counts the pixel edges between them.
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


def enforce_connectivity(
    labels: np.ndarray,
    min_size_fraction: float = MIN_SIZE_FRACTION,
    n_segments: int | None = None,
    keep_largest: bool = False,
) -> np.ndarray:
    """Make every superpixel 4-connected and merge tiny ones, as SCN/SSN do after the argmax.

    1. Every label is split into its 4-connected components.
    2. Components smaller than ``min_size_fraction · H·W / n_segments`` pixels are merged into the
       adjacent component they share the longest border with. A component only merges into a
       neighbour that is larger (ties: lower raster id), so merges never form cycles; rounds repeat
       until no small component with a neighbour is left.
    3. Labels are renumbered 0..K-1 in raster order of first appearance.

    Args:
        labels: ``(H, W)`` non-negative integer labels (NumPy array or tensor).
        min_size_fraction: fraction of the mean superpixel size below which a component is merged
            (SCN uses 0.06). ``0`` only splits and renumbers.
        n_segments: the intended number of superpixels for the mean size; defaults to the number
            of distinct labels in ``labels``.
        keep_largest: also merge every component that is not the largest of its label, whatever
            its size, so a label split in pieces (e.g. by :func:`~pcnet.ops.refine_labels`)
            stays one superpixel and K does not grow.

    Returns:
        ``(H, W)`` int32 labels 0..K-1, each a single 4-connected region.

    Example:
        >>> lab = np.array([[0, 0, 0, 1], [0, 2, 0, 1], [0, 0, 0, 1]])
        >>> enforce_connectivity(lab, min_size_fraction=0.5)   # the 1-pixel island joins label 0
        array([[0, 0, 0, 1],
               [0, 0, 0, 1],
               [0, 0, 0, 1]], dtype=int32)
    """
    labels = check_label_map(labels)
    check(
        0.0 <= float(min_size_fraction) < 1.0,
        f"min_size_fraction must lie in [0, 1); got {min_size_fraction}",
    )
    comp = connected_components(labels)
    sizes = np.bincount(comp.ravel())
    n_comp = sizes.size
    parent = np.arange(n_comp)
    if n_segments is None:
        n_segments = int(np.count_nonzero(np.bincount(labels.ravel())))
    check(n_segments >= 1, f"n_segments must be a positive integer; got {n_segments}")
    min_size = min_size_fraction * labels.size / n_segments

    small = sizes < min_size
    fragment = np.zeros(n_comp, dtype=bool)
    if keep_largest:
        owner = np.zeros(n_comp, dtype=np.int64)
        owner[comp.ravel()] = labels.ravel()
        order = np.lexsort((-sizes, owner))  # by label, largest component first
        first = np.ones(n_comp, dtype=bool)
        first[1:] = owner[order][1:] != owner[order][:-1]
        fragment[order[~first]] = True
    if (small.any() or fragment.any()) and n_comp > 1:
        a, b, length = _border_counts(comp, small | fragment)
        if fragment.any():
            # fragments join a neighbouring group whose root is a label's main component (never
            # a fragment, so no cycles), by the longest border
            parent = _merge_rounds(parent, sizes, a, b, length, lambda ra, rb, size: fragment[ra] & ~fragment[rb])

        def into_larger(ra: np.ndarray, rb: np.ndarray, size: np.ndarray) -> np.ndarray:
            # only into a larger neighbour (ties: the lower id), so no cycles can form
            up = (size[rb] > size[ra]) | ((size[rb] == size[ra]) & (rb < ra))
            return (size[ra] < min_size) & up

        parent = _merge_rounds(parent, sizes, a, b, length, into_larger)

    # renumber roots by the raster position of their group's first pixel
    first_member = np.full(n_comp, n_comp, dtype=np.int64)
    np.minimum.at(first_member, parent, np.arange(n_comp))
    roots = np.flatnonzero(first_member < n_comp)
    lut = np.empty(n_comp, dtype=np.int32)
    lut[roots[np.argsort(first_member[roots], kind="stable")]] = np.arange(roots.size, dtype=np.int32)
    return lut[parent][comp]

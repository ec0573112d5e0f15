"""Plain NumPy reference implementations of the compiled kernels (``pcnet.ops.kernels``).

These are the package's earlier vectorised NumPy versions, kept here so that every kernel is
tested against an independent implementation of the same algorithm: the refinement sweeps
(:func:`refine_labels`, on the same 8-bit CIELAB codes), connectivity enforcement
(:func:`enforce_connectivity`, skimage's union-find components) and hard labels.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import numpy as np
from skimage.measure import label as _label_components

from pcnet._checks import check, check_label_map, describe
from pcnet.ops.masks import OUTSIDE, check_mask
from pcnet.ops.refine import LAB_OFFSET, LAB_SCALE, lab_codes

STRIP_ROWS = 1024
CHUNK = 1 << 20


def _decode(codes: np.ndarray) -> np.ndarray:
    """``(n, 3)`` uint8 CIELAB codes → float32 L, a, b (the kernels' decoding, same operations)."""
    return codes.astype(np.float32) * LAB_SCALE + LAB_OFFSET


def _label_sums(
    codes: np.ndarray, labels: np.ndarray, n_labels: int, strip: int = STRIP_ROWS, row_offset: int = 0
) -> np.ndarray:
    """``(6, n)`` float64 sums per label: pixel count, CIELAB L, a, b, row, col (over row strips;
    pixels labelled −1, outside a mask, count for none)."""
    sums = np.zeros((6, n_labels + 1), dtype=np.float64)  # the last column: outside
    labels = np.where(labels < 0, n_labels, labels)
    n_labels += 1
    width = labels.shape[1]
    cols = np.arange(width, dtype=np.float64)
    for top in range(0, labels.shape[0], strip):
        ids = labels[top : top + strip].ravel()
        rows = ids.size // width
        lab = codes[top : top + rows].reshape(-1, 3).astype(np.float64)
        sums[0] += np.bincount(ids, minlength=n_labels)
        for c in range(3):
            sums[1 + c] += np.bincount(ids, weights=lab[:, c], minlength=n_labels)
        sums[4] += np.bincount(
            ids, weights=np.repeat(np.arange(top, top + rows, dtype=np.float64) + row_offset, width), minlength=n_labels
        )
        sums[5] += np.bincount(ids, weights=np.tile(cols, rows), minlength=n_labels)
    return sums[:, :-1]


def _means(sums: np.ndarray) -> np.ndarray:
    """``(5, n)`` float32 means (L, a, b, row, col) from :func:`_label_sums` (of codes)."""
    means = sums[1:] / np.maximum(sums[0], 1)
    means[:3] = means[:3] * LAB_SCALE[:, None].astype(np.float64) + LAB_OFFSET[:, None].astype(np.float64)
    return means.astype(np.float32)


def _neighbours(flat_idx: np.ndarray, height: int, width: int) -> np.ndarray:
    """Flat indices ``(4, n)`` of the 4 neighbours (up, down, left, right) of ``flat_idx``; a
    neighbour outside the image is the pixel itself."""
    row, col = np.divmod(flat_idx, width)
    return np.stack(
        [
            np.where(row > 0, flat_idx - width, flat_idx),
            np.where(row < height - 1, flat_idx + width, flat_idx),
            np.where(col > 0, flat_idx - 1, flat_idx),
            np.where(col < width - 1, flat_idx + 1, flat_idx),
        ]
    )


def _boundary_pixels(labels: np.ndarray) -> np.ndarray:
    """Flat indices of the pixels with a differently labelled 4-neighbour (not outside a mask)."""
    edge = np.zeros(labels.shape, dtype=bool)
    vertical = labels[1:] != labels[:-1]
    horizontal = labels[:, 1:] != labels[:, :-1]
    edge[1:] |= vertical
    edge[:-1] |= vertical
    edge[:, 1:] |= horizontal
    edge[:, :-1] |= horizontal
    edge &= labels >= 0
    index = np.flatnonzero(edge)
    return index.astype(np.int32) if edge.size < 2**31 else index  # int32: half the memory


def _best_labels(
    rgb: np.ndarray,
    flat: np.ndarray,
    idx: np.ndarray,
    *,
    shape: tuple[int, int],
    stats: np.ndarray,
    pos_weight: float,
    smoothness: float,
    row_offset: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """For pixels ``idx``: their current label, the cheapest of it and their neighbours', and
    their CIELAB colour.

    ``stats`` is ``(5, n_labels)``: mean L, a, b and centroid row, col (1-D gathers are fast)."""
    nbr = flat[_neighbours(idx, *shape)]  # (4, n) neighbour labels
    own = flat[idx]
    # candidates: the own label (first: it wins ties) and up to two other labels among the
    # neighbours (a pixel touching three other superpixels is rare; it chooses among two of them)
    other = (nbr != own) & (nbr >= 0)  # a pixel outside a mask is no candidate
    cols = np.arange(idx.size)
    first = nbr[np.argmax(other, axis=0), cols]
    first = np.where(other.any(axis=0), first, own)
    other &= nbr != first
    second = np.where(other.any(axis=0), nbr[np.argmax(other, axis=0), cols], own)
    cand = np.stack([own, first, second])  # (3, n)
    colour = _decode(rgb[idx])
    row, col = np.divmod(idx, shape[1])
    row = row + row_offset
    cost = np.zeros(cand.shape, np.float32)
    for c, (value, weight) in enumerate(zip((*colour.T, row, col), (1.0, 1.0, 1.0, pos_weight, pos_weight))):
        diff = np.take(stats[c], cand)
        diff -= value.astype(np.float32, copy=False)
        diff *= diff
        if weight != 1.0:
            diff *= np.float32(weight)
        cost += diff
    agree = (nbr[None] == cand[:, None]).sum(1, dtype=np.int8)
    cost -= np.float32(smoothness) * agree
    return own, np.take_along_axis(cand, np.argmin(cost, axis=0)[None], 0)[0], rgb[idx].astype(np.float64)


def _sweeps(
    rgb: np.ndarray,
    labels: np.ndarray,
    stats: np.ndarray,
    pos_weight: float,
    smoothness: float,
    n_iter: int,
    chunk: int,
    floor: np.ndarray,
    sums: np.ndarray,
    row_offset: int = 0,
) -> None:
    """``2 · n_iter`` checkerboard half-sweeps over the boundary pixels of ``labels`` (in place).

    Within a half-sweep every pixel decides on the labels of its 4 neighbours, which are of the
    other colour and do not change, so the decisions are independent (evaluated in chunks of
    ``chunk`` pixels: bounded memory, same result). A label never shrinks below ``floor``: a
    half-sweep that would take it lower keeps all its pixels. ``sums`` (:func:`_label_sums`) are
    kept up to date with the moves, so the next round needs no pass over the whole image.
    """
    height, width = labels.shape
    flat = labels.ravel()
    rgb = rgb.reshape(-1, 3)
    sizes = np.bincount(flat[flat >= 0], minlength=stats.shape[1])
    active = _boundary_pixels(labels)
    row, col = np.divmod(active, width)
    todo = [active[(row + col) % 2 == parity] for parity in (0, 1)]  # pixels to (re)visit
    for step in range(2 * n_iter):
        parity = step % 2
        idx, todo[parity] = todo[parity], todo[parity][:0]
        if idx.size == 0:
            if todo[1 - parity].size == 0:
                break
            continue
        chunks = [idx[i : i + chunk] for i in range(0, idx.size, chunk)]
        evaluate = functools.partial(
            _best_labels,
            rgb,
            flat,
            shape=(height, width),
            stats=stats,
            pos_weight=pos_weight,
            smoothness=smoothness,
            row_offset=row_offset,
        )
        parts = [evaluate(c) for c in chunks]
        own, best, colour = (np.concatenate(x) for x in zip(*parts))
        change = best != own
        losses = np.bincount(own[change], minlength=sizes.size)
        change &= sizes[own] - losses[own] >= floor[own]
        if not change.any():
            continue
        moved = idx[change]
        sizes -= np.bincount(own[change], minlength=sizes.size)
        sizes += np.bincount(best[change], minlength=sizes.size)
        # the moved pixels' colour and position leave one label's sums for another's
        position = np.stack(np.divmod(moved, width)) + np.array([[row_offset], [0]])
        values = np.concatenate([np.ones((1, moved.size)), colour[change].T, position]).astype(np.float64)
        for c, weights in enumerate(values):
            sums[c] += np.bincount(best[change], weights, minlength=sizes.size) - np.bincount(
                own[change], weights, minlength=sizes.size
            )
        flat[moved] = best[change]
        # only the neighbours of a changed pixel (the other colour) can decide differently now
        nbrs = _neighbours(moved, height, width)
        nbrs = nbrs[(nbrs != moved[None]) & (flat[nbrs] >= 0)]  # at the border a missing neighbour is the pixel
        todo[1 - parity] = np.unique(np.concatenate([todo[1 - parity], nbrs]))


def refine_labels(
    image: np.ndarray,
    labels: np.ndarray,
    n_iter: int = 4,
    rounds: int = 2,
    compactness: float = 5.0,
    smoothness: float = 30.0,
    min_size: int = 1,
    strip: int = STRIP_ROWS,
    chunk: int = CHUNK,
    spacing: float | None = None,
    row_offset: int = 0,
) -> np.ndarray:
    """The NumPy refinement (``strip`` / ``chunk`` bound its memory; the result does not depend on
    them). Pixels labelled −1 (outside a mask) never move and are never a candidate."""
    out = labels.astype(np.int32, copy=True)
    n_labels = int(out.max()) + 1 if out.size else 0
    if n_iter == 0 or rounds == 0 or n_labels == 0:
        return out
    sizes = np.bincount(out[out >= 0], minlength=n_labels)
    present = max(1, int(np.count_nonzero(sizes)))
    floor = np.minimum(sizes, np.maximum(sizes // 4, min_size))
    if spacing is None:
        spacing = np.sqrt(sizes.sum() / present)
    pos_weight = float((compactness / spacing) ** 2)
    codes = lab_codes(image)
    sums = _label_sums(codes, out, n_labels, strip, row_offset)
    for _ in range(rounds):
        stats = _means(sums)
        _sweeps(codes, out, stats, pos_weight, float(smoothness), n_iter, chunk, floor, sums, row_offset)
    return out


# ---------------------------------------------------------------- connectivity


def connected_components(labels: np.ndarray) -> np.ndarray:
    """skimage's union-find components, numbered 0..n-1 in raster order."""
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
    for step, horizontal in ((1, True), (width, False)):  # neighbours in the flattened map
        cut = flat[:-step] != flat[step:]
        if horizontal:  # (the package's version tested step == 1: no vertical pairs at width 1)
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


def enforce_connectivity(
    labels: np.ndarray,
    min_size_fraction: float = 0.06,
    n_segments: int | None = None,
    keep_largest: bool = False,
    mask: np.ndarray | None = None,
) -> np.ndarray:
    """The NumPy + skimage connectivity enforcement (same arguments and result as the package's)."""
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


# ---------------------------------------------------------------- area resampling


def area_downsample(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """The NumPy area shrink (separable: columns, then rows, in float64; rounding half to even)."""
    from pcnet.ops.resample import area_weights

    c_index, c_weight = area_weights(rgb.shape[1], width)
    cols = np.zeros((rgb.shape[0], width, rgb.shape[2]), np.float64)
    for t in range(c_index.shape[1]):
        cols += rgb[:, c_index[:, t]] * c_weight[None, :, t, None]
    r_index, r_weight = area_weights(rgb.shape[0], height)
    out = np.zeros((height, width, rgb.shape[2]), np.float64)
    for t in range(r_index.shape[1]):
        out += cols[r_index[:, t]] * r_weight[:, t, None, None]
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)

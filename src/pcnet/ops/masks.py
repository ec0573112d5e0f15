"""Masks: the mask check, its bounding box and the request that puts K inside (what
:mod:`pcnet.ops.inside_mask` runs a method with, and what connectivity checks its masks with).
Labels are :data:`OUTSIDE` (−1) outside a mask, 0..K-1 inside.

Masks of slides: :func:`tissue_mask` finds the tissue on a low-resolution image of a whole-slide
image (Otsu on saturation or darkness, as slide tools do; no-data pixels are never tissue);
:class:`pcnet.io.mask_windows.MaskWindows` reads it window by window at full resolution."""

from __future__ import annotations

import numpy as np

from pcnet._checks import check, describe

__all__ = [
    "OUTSIDE",
    "check_mask",
    "mask_box",
    "masked_request",
    "tissue_mask",
]

#: the label of every pixel outside a mask (see :func:`~pcnet.ops.enforce_connectivity` and ``pcnet.superpixels``)
OUTSIDE = -1


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


#: slide of bare glass (saturation of a few units, JPEG noise) has no tissue rather than half
TISSUE_MIN_THRESHOLD = {"saturation": 20, "darkness": 25}


def tissue_mask(
    rgb: np.ndarray,
    method: str = "saturation",
    min_threshold: float | None = None,
    radius: int | None = None,
    min_area_fraction: float = 1e-3,
    no_data_below: int = 20,
) -> np.ndarray:
    """Where the tissue is on a low-resolution RGB image of a slide (a thumbnail, e.g.
    :func:`pcnet.io.tiff.read_thumbnail`), as a boolean ``(h, w)`` mask, ``True`` on tissue.

    Tissue is darker and more saturated than the bright glass around it. The steps:

    1. the feature, 0..255: ``"saturation"`` (HSV saturation, the default: stained tissue against
       white or gray glass, and black no-data is not saturated) or ``"darkness"`` (255 - gray);
       after a 5×5 Gaussian blur that evens out JPEG noise;
    2. no-data pixels are never tissue: all three channels below ``no_data_below`` (black fill of
       a scanner outside its scan area; pure white fill is glass anyway), and alpha 0 of an RGBA image;
    3. Otsu's threshold (cv2) over the data pixels, raised to at least ``min_threshold``
       (:data:`TISSUE_MIN_THRESHOLD` of the method by default), so bare glass gives no tissue;
    4. a morphological close then open with a disk of ``radius`` pixels (default: the long side
       / 400, at least 1): joins the pieces of a tissue fragment and drops hairline specks;
    5. connected pieces of tissue (8-connected) smaller than ``min_area_fraction`` of the image
       are removed, and holes in the tissue smaller than that (not touching the border) filled.

    Example:
        >>> rgb = np.full((100, 150, 3), 235, np.uint8)                       # glass
        >>> yy, xx = np.mgrid[:100, :150]
        >>> disk = (yy - 50) ** 2 + (xx - 60) ** 2 < 30**2
        >>> rgb[disk] = (190, 100, 170)                                      # stained tissue
        >>> rgb[5:8, 140:143] = (150, 60, 140)                               # a speck of dust
        >>> mask = tissue_mask(rgb)
        >>> round(float((mask & disk).sum() / (mask | disk).sum()), 3), bool(mask[5:8, 140:143].any())
        (1.0, False)
        >>> tissue_mask(np.full((100, 150, 3), 235, np.uint8)).any()         # bare glass
        np.False_
    """
    import cv2

    check(
        isinstance(rgb, np.ndarray) and rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] in (3, 4),
        f"tissue_mask needs an (h, w, 3) uint8 RGB (or RGBA) image; got {describe(rgb)}",
    )
    check(method in TISSUE_MIN_THRESHOLD, f"method must be one of {sorted(TISSUE_MIN_THRESHOLD)}; got {method!r}")
    height, width = rgb.shape[:2]
    colour = np.ascontiguousarray(rgb[..., :3])
    valid = colour.max(axis=2) >= no_data_below
    if rgb.shape[2] == 4:
        valid &= rgb[..., 3] > 0
    if method == "saturation":
        feature = cv2.cvtColor(colour, cv2.COLOR_RGB2HSV)[..., 1]
    else:
        feature = 255 - cv2.cvtColor(colour, cv2.COLOR_RGB2GRAY)
    feature = cv2.GaussianBlur(feature, (5, 5), 0)
    if not valid.any():
        return np.zeros((height, width), bool)
    otsu = cv2.threshold(feature[valid].reshape(-1, 1), 0, 255, cv2.THRESH_BINARY | cv2.THRESH_OTSU)[0]
    threshold = max(otsu, TISSUE_MIN_THRESHOLD[method] if min_threshold is None else min_threshold)
    mask = ((feature > threshold) & valid).astype(np.uint8)
    radius = max(1, round(max(height, width) / 400)) if radius is None else int(radius)
    disk = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, disk)
    mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, disk)
    min_area = min_area_fraction * height * width
    mask = _drop_small(mask, min_area, keep_border=True)
    return ~_drop_small(1 - mask, min_area, keep_border=False).astype(bool) if min_area > 0 else mask.astype(bool)


def _drop_small(mask: np.ndarray, min_area: float, keep_border: bool) -> np.ndarray:
    """``mask`` (uint8 0/1) without its 8-connected pieces smaller than ``min_area`` pixels; with
    ``keep_border=False`` the pieces touching the image border are kept whatever their size (the
    background around the tissue is no hole)."""
    import cv2

    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    keep = stats[:, cv2.CC_STAT_AREA] >= min_area
    if not keep_border:
        x, y, w, h = (stats[:, k] for k in (cv2.CC_STAT_LEFT, cv2.CC_STAT_TOP, cv2.CC_STAT_WIDTH, cv2.CC_STAT_HEIGHT))
        keep |= (x == 0) | (y == 0) | (x + w == mask.shape[1]) | (y + h == mask.shape[0])
    keep[0] = False  # cv2's label 0 is the zeros of ``mask``
    return keep[labels].astype(np.uint8)

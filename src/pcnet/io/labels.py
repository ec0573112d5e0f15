"""Label maps: read them from PNG/TIFF/NPY/colour-coded files and write them (16-bit PNG or NPY)."""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from pcnet._checks import check, check_label_map, describe
from pcnet.io.files import atomic_path, encode
from pcnet.io.images import existing_file

__all__ = ["OUTSIDE", "read_label_map", "write_label_map"]

#: the label outside a mask (``pcnet.superpixels(..., mask=...)``): label maps holding it are
#: ``.npy`` files (int32), since a 16-bit PNG has no −1
OUTSIDE = -1


def _check_labels(labels: np.ndarray, name: str) -> tuple[np.ndarray, bool]:
    """:func:`check_label_map`, but −1 (:data:`OUTSIDE`) is allowed; returns ``(labels, masked)``."""
    if isinstance(labels, np.ndarray) and np.issubdtype(labels.dtype, np.signedinteger) and labels.size:
        if int(labels.min()) == OUTSIDE:
            check_label_map(np.maximum(labels, 0), name)  # everything else as for any label map
            return labels, True
    return check_label_map(labels, name), False


def _colour_ids(pixels: np.ndarray) -> np.ndarray:
    """Turn an ``(H, W, C)`` colour-coded label image into integer labels (see read_label_map).

    Example:
        >>> _colour_ids(np.array([[[0, 0, 255], [255, 0, 0], [0, 0, 255]]], dtype=np.uint8))
        array([[0, 1, 0]], dtype=int32)
    """
    if pixels.shape[2] in (2, 4) and bool((pixels[..., -1] == 255).all()):
        pixels = pixels[..., :-1]  # an opaque alpha channel carries no label information
    if bool((pixels == pixels[..., :1]).all()):
        return np.ascontiguousarray(pixels[..., 0])  # grey stored as colour: keep the values
    packed = np.zeros(pixels.shape[:2], dtype=np.uint32)
    for channel in range(pixels.shape[2]):
        packed = (packed << np.uint32(8)) | pixels[..., channel].astype(np.uint32)
    _, ids = np.unique(packed, return_inverse=True)
    return ids.reshape(packed.shape).astype(np.int32)


def read_label_map(path: str | os.PathLike) -> np.ndarray:
    """Read a label map from ``.png``, ``.csv``, ``.npy`` or ``.tif`` (and other OpenCV formats).

    * ``.png`` is decoded with Pillow: palette ("P") images give their raw palette indices (as in
      Mapillary Vistas), 8/16/32-bit grey images their values, 1-bit images 0/1. Colour-coded RGB(A)
      images become compact ids: every distinct colour is one label, numbered 0, 1, ... in the
      order of its packed ``0xRRGGBB`` value (so black is 0 when present); an opaque alpha channel
      is ignored, and an image whose colour channels are all equal is a grey map (values kept).
    * ``.csv``: comma-separated integers, one row per image row (the superpixel-benchmark format).
    * ``.npy``: a 2-D integer array; anything else is decoded by OpenCV (single channel only).
      An ``.npy`` map may hold −1 (:data:`OUTSIDE`: outside a mask, as :func:`write_label_map`
      writes masked superpixels); it comes back as is, with −1.

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the file is empty, corrupt, not a label map or holds negative/non-integer labels.
    """
    path = existing_file(path)
    suffix, labels, reason = path.suffix.lower(), None, "the file is empty, corrupt or not an image"
    if suffix in (".npy", ".png", ".csv") and path.stat().st_size == 0:
        reason = "the file is empty"
    elif suffix == ".npy":
        try:
            labels = np.load(path, allow_pickle=False)
        except (ValueError, EOFError) as err:  # EOFError: a truncated file
            raise ValueError(f"cannot read label map {path}: {err}") from None
    elif suffix == ".csv":
        try:
            labels = np.loadtxt(path, delimiter=",", dtype=np.int64, ndmin=2)
        except ValueError as err:
            reason = f"expected comma-separated integers, one row per image row ({err})"
    elif suffix == ".png":
        from PIL import (  # on first use: most runs read no PNG labels
            Image,
            UnidentifiedImageError,
        )

        try:
            with Image.open(path) as image:
                labels = np.array(image, dtype=np.uint8) if image.mode == "1" else np.array(image)
        except UnidentifiedImageError:
            reason = "the file is not a PNG image"
        except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError) as err:
            reason = f"the file is corrupt or not a PNG image ({err})"
        if labels is not None and labels.ndim == 3 and labels.dtype == np.uint8:
            labels = _colour_ids(labels)
        if labels is not None and not labels.dtype.isnative:
            labels = labels.astype(labels.dtype.newbyteorder("="))
    else:
        data = np.fromfile(path, dtype=np.uint8)
        labels = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    check(labels is not None, f"cannot read label map {path}: {reason}")
    check(
        labels.ndim == 2,
        f"label map {path} must be a single-channel (H, W) image; got {describe(labels)}",
    )
    if suffix == ".npy":
        return _check_labels(labels, f"label map {path}")[0]
    return check_label_map(labels, f"label map {path}")


def write_label_map(path: str | os.PathLike, labels: np.ndarray) -> Path:
    """Write labels atomically: 16-bit PNG when they fit (0 <= labels < 65536), else ``.npy``
    (int32).

    Labels with −1 (:data:`OUTSIDE`: superpixels inside a mask, ``pcnet.superpixels(...,
    mask=...)``) do not fit a 16-bit PNG either: they are written as ``.npy``, and
    :func:`read_label_map` gives the −1 back. Returns the path actually written: a ``.png``
    request for labels that do not fit is written next to it as ``.npy`` instead.

    Example:
        >>> import tempfile
        >>> folder = Path(tempfile.mkdtemp())
        >>> written = write_label_map(folder / "a_labels.png", np.array([[0, 1], [-1, -1]]))
        >>> written.name, read_label_map(written).tolist()
        ('a_labels.npy', [[0, 1], [-1, -1]])
    """
    if hasattr(labels, "detach"):
        labels = labels.detach().cpu().numpy()
    labels, masked = _check_labels(labels, "labels")
    path = Path(path)
    if path.suffix.lower() == ".png" and (masked or int(labels.max()) >= 2**16):
        path = path.with_suffix(".npy")
    if path.suffix.lower() == ".npy":
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, labels.astype(np.int32, copy=False))
        return path
    check(path.suffix.lower() == ".png", f"label maps are written as .png or .npy; got {path}")
    data = encode(path, labels.astype(np.uint16))
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path

"""Reading and writing images and label maps, with the conversions every entry point shares.

Images inside pcnet are NumPy arrays in RGB order (like skimage), ``(H, W, 3)`` uint8 once
normalised by :func:`to_rgb_uint8`. Files are written atomically: to a temporary file in the target
folder, then renamed, so an interrupted run never leaves a half-written file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from pcnet._checks import check, check_finite, check_label_map, describe

__all__ = [
    "ImageLike",
    "atomic_path",
    "ensure_writable_dir",
    "read_image",
    "read_label_map",
    "to_rgb_uint8",
    "write_image",
    "write_label_map",
]

#: What every image argument accepts: an array or a path to an image file.
ImageLike = np.ndarray | str | os.PathLike


def _existing_file(path: str | os.PathLike) -> Path:
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    check(path.is_file(), f"expected a file but {path} is a directory")
    return path


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as RGB(A) or grayscale, keeping its bit depth (8/16-bit, float).

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the file is a directory, empty, truncated or not an image.
    """
    path = _existing_file(path)
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    check(image is not None, f"cannot read image {path}: the file is empty, corrupt or not an image")
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    return image


def to_rgb_uint8(image: ImageLike, name: str = "image") -> np.ndarray:
    """Normalise an image (array or path) to ``(H, W, 3)`` uint8 RGB.

    Conversion rules:

    * ``uint8`` is kept; ``uint16`` is scaled by 255/65535; other integer types must lie in 0..255.
    * floating point images must lie in [0, 1] (as in skimage) and are scaled by 255.
    * ``(H, W)`` and ``(H, W, 1)`` grayscale is replicated to 3 channels; ``(H, W, 2)`` is
      grayscale + alpha; ``(H, W, 4)`` RGBA drops the alpha channel.

    Example:
        >>> to_rgb_uint8(np.full((2, 2), 0.5)).shape
        (2, 2, 3)
    """
    if isinstance(image, (str, os.PathLike)):
        image = read_image(image)
    if hasattr(image, "detach"):  # a torch tensor: accept (H, W[, C]) on any device
        image = image.detach().cpu().numpy()
    check(isinstance(image, np.ndarray), f"{name} must be a NumPy array or a file path; got {describe(image)}")
    check(
        image.ndim in (2, 3) and image.shape[0] >= 1 and image.shape[1] >= 1,
        f"{name} must be (H, W) or (H, W, C) with H, W >= 1; got {describe(image)}",
    )
    if image.ndim == 3:
        channels = image.shape[2]
        check(
            channels in (1, 2, 3, 4),
            f"{name} must have 1 (gray), 2 (gray+alpha), 3 (RGB) or 4 (RGBA) channels; got {describe(image)}"
            " (channels-first arrays need .transpose(1, 2, 0))",
        )
        image = image[..., :1] if channels in (1, 2) else image[..., :3]
    if image.dtype == np.bool_:
        image = image.astype(np.uint8) * 255
    elif image.dtype == np.uint16:
        image = np.round(image * (255.0 / 65535.0)).astype(np.uint8)
    elif np.issubdtype(image.dtype, np.floating):
        check_finite(image, name)
        lo, hi = float(image.min()), float(image.max())
        check(
            lo >= 0.0 and hi <= 1.0,
            f"float {name} must lie in [0, 1]; got values in [{lo:g}, {hi:g}] (divide 0-255 data by 255)",
        )
        image = np.round(image * 255.0).astype(np.uint8)
    elif image.dtype != np.uint8:
        check(
            np.issubdtype(image.dtype, np.integer) and image.min() >= 0 and image.max() <= 255,
            f"{name} of dtype {image.dtype} must hold values in 0..255; got {describe(image)}",
        )
        image = image.astype(np.uint8)
    if image.ndim == 2:
        image = image[..., None]
    if image.shape[2] == 1:
        image = np.repeat(image, 3, axis=2)
    return np.ascontiguousarray(image)


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

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the file is empty, corrupt, not a label map or holds negative/non-integer labels.
    """
    path = _existing_file(path)
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
    return check_label_map(labels, f"label map {path}")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _not_writable(folder: Path, err: OSError) -> PermissionError:
    reason = (
        "it or a parent of it is a file, not a folder"
        if isinstance(err, (FileExistsError, NotADirectoryError))
        else err.strerror or str(err)
    )
    return PermissionError(f"cannot write into {folder}: {reason}; choose a writable folder")


def ensure_writable_dir(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and check that files can be written into it (before any long
    work starts). Raises :class:`PermissionError` naming the folder otherwise."""
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".pcnet_write_test.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise _not_writable(folder, err) from None
    return folder


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as err:
        raise _not_writable(path.parent, err) from None
    os.close(fd)
    tmp = Path(tmp)
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600 files; outputs get the usual permissions
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _encode(path: Path, array: np.ndarray) -> bytes:
    ok, buffer = cv2.imencode(path.suffix, array)
    check(ok, f"OpenCV cannot encode {describe(array)} as {path.suffix} for {path}")
    return buffer.tobytes()


def write_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write an RGB(A) or grayscale image atomically; the format follows the suffix."""
    path = Path(path)
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    data = _encode(path, image)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


def write_label_map(path: str | os.PathLike, labels: np.ndarray) -> Path:
    """Write labels atomically: 16-bit PNG when they fit (max < 65536), else ``.npy``.

    Returns the path actually written: a ``.png`` request for labels that do not fit 16 bits is
    written next to it as ``.npy`` instead.
    """
    labels = check_label_map(labels)
    path = Path(path)
    if path.suffix.lower() == ".png" and int(labels.max()) >= 2**16:
        path = path.with_suffix(".npy")
    if path.suffix.lower() == ".npy":
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.save(fh, labels.astype(np.int32, copy=False))
        return path
    check(path.suffix.lower() == ".png", f"label maps are written as .png or .npy; got {path}")
    data = _encode(path, labels.astype(np.uint16))
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path

"""Images: read a file or normalise an array to ``(H, W, 3)`` uint8 RGB, and write images.

Images inside pcnet are NumPy arrays in RGB order (like skimage), ``(H, W, 3)`` uint8 once
normalised by :func:`to_rgb_uint8`.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from pcnet._checks import check, check_finite, describe
from pcnet.io.files import atomic_path, encode

__all__ = ["ImageLike", "exif_orientation", "existing_file", "read_image", "to_rgb_uint8", "write_image"]

#: What every image argument accepts: an array or a path to an image file.
ImageLike = np.ndarray | str | os.PathLike


def existing_file(path: str | os.PathLike) -> Path:
    """``path`` as a ``Path`` if it is an existing file; ``FileNotFoundError`` / a clear error otherwise."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"no such file: {path}")
    check(path.is_file(), f"expected a file but {path} is a directory")
    return path


#: formats besides JPEG that may carry an EXIF orientation
_EXIF_SUFFIXES = (".tif", ".tiff", ".webp", ".png", ".heic")
#: EXIF orientation (tag 0x0112) -> how to turn the stored pixels upright, as every viewer shows them
_ORIENT = {
    2: lambda a: a[:, ::-1],  # mirrored left-right
    3: lambda a: a[::-1, ::-1],  # rotated 180°
    4: lambda a: a[::-1],  # mirrored top-bottom
    5: lambda a: a.swapaxes(0, 1),  # transposed
    6: lambda a: np.rot90(a, -1),  # stored 90° counter-clockwise: turn clockwise (portrait phone photos)
    7: lambda a: a[::-1, ::-1].swapaxes(0, 1),  # transversed
    8: lambda a: np.rot90(a, 1),  # stored 90° clockwise: turn counter-clockwise
}


def exif_orientation(path: str | os.PathLike) -> int:
    """The EXIF orientation of an image file (1..8; 1 when the file has none or no EXIF)."""
    from PIL import Image, UnidentifiedImageError  # only the header is read

    try:
        with Image.open(path) as image:
            value = image.getexif().get(0x0112, 1)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return 1
    return int(value) if isinstance(value, int) and 1 <= value <= 8 else 1


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as RGB(A) or grayscale, keeping its bit depth (8/16-bit, float), upright:
    an EXIF orientation tag (a portrait phone photo stores its pixels sideways) is applied, as
    OpenCV's ``IMREAD_COLOR`` and PIL's ``ImageOps.exif_transpose`` do, so labels and overlays
    match what a viewer shows. Ground-truth maps are PNGs without the tag: they are read as
    stored, and must be drawn on the upright photo (a sideways map of a non-square photo then
    fails the size check of :func:`pcnet.data.readers.load_sample`, naming both files).

    Raises:
        FileNotFoundError: the path does not exist.
        ValueError: the file is a directory, empty, truncated or not an image.
    """
    path = existing_file(path)
    data = np.fromfile(path, dtype=np.uint8)
    image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED) if data.size else None
    check(image is not None, f"cannot read image {path}: the file is empty, corrupt or not an image")
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA)
    orientation = (
        exif_orientation(path) if data[:2].tobytes() == b"\xff\xd8" or path.suffix.lower() in _EXIF_SUFFIXES else 1
    )
    return np.ascontiguousarray(_ORIENT[orientation](image)) if orientation != 1 else image


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


def write_image(path: str | os.PathLike, image: np.ndarray) -> Path:
    """Write an RGB(A) or grayscale image atomically; the format follows the suffix."""
    path = Path(path)
    if image.ndim == 3 and image.shape[2] == 3:
        image = cv2.cvtColor(image, cv2.COLOR_RGB2BGR)
    elif image.ndim == 3 and image.shape[2] == 4:
        image = cv2.cvtColor(image, cv2.COLOR_RGBA2BGRA)
    data = encode(path, image)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path

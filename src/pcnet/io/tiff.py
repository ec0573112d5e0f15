"""Images and label maps too large for memory: windows of tiled (Big)TIFF files, decoded tile by
tile, and tiled compressed BigTIFF written from a stream of tiles.

* :func:`open_windows` opens an image for reading in windows: a tiled or stripped TIFF / BigTIFF
  (only the tiles or strips a window overlaps are read and decoded, through ``tifffile`` alone: no
  zarr needed), or a small image of any other format read whole. A JPEG, PNG, ... above
  :data:`MAX_WHOLE_PIXELS` pixels (or a TIFF whose strips/tiles are that large) cannot be read in
  windows and is refused with a message saying how to convert it to a tiled TIFF.
* :func:`write_tiled` writes a tiled, compressed BigTIFF from an iterator of tiles in row-major
  order, without ever holding the whole array.
* :func:`partial_path`: where a writer puts a file until it is complete (``<out>.partial``), so a
  killed run never leaves a file that looks finished.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from pcnet._checks import check

__all__ = [
    "MAX_WHOLE_PIXELS",
    "ArrayWindows",
    "TiffWindows",
    "image_size",
    "is_tiff",
    "iter_tiles",
    "open_windows",
    "partial_path",
    "write_tiled",
]

#: images above this many pixels must be readable in windows (a tiled or stripped TIFF); the
#: same bound applies to a single TIFF tile or strip (e.g. an untiled TIFF stored in one strip)
MAX_WHOLE_PIXELS = 64_000_000

_TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8", ".ome.tif")


def is_tiff(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a TIFF / BigTIFF by its suffix (read window by window)."""
    return Path(path).name.lower().endswith(_TIFF_SUFFIXES)


def _convert_hint(path: Path) -> str:
    return (
        f"convert it to a tiled TIFF, e.g. `vips tiffsave {path} {path.with_suffix('.tif')} --tile --bigtiff "
        f"--compression deflate` or with tifffile (tifffile.imwrite(out, image, tile=(512, 512), bigtiff=True))"
    )


def _to_rgb(window: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A decoded window ``(h, w[, c])`` as ``(h, w, 3)`` uint8: the rules of
    :func:`pcnet.io.to_rgb_uint8`, applied per pixel so that every window converts alike."""
    if window.ndim == 2:
        window = window[..., None]
    channels = window.shape[2]
    window = window[..., :1] if channels in (1, 2) else window[..., :3]
    if dtype == np.uint16:
        window = np.round(window * (255.0 / 65535.0)).astype(np.uint8)
    elif dtype == np.bool_:
        window = window.astype(np.uint8) * 255
    if window.shape[2] == 1:
        window = np.repeat(window, 3, axis=2)
    return np.ascontiguousarray(window)


class TiffWindows:
    """Windows of the first image of a TIFF / BigTIFF, decoding only the tiles (or strips) each
    window overlaps. ``read(r0, r1, c0, c1)`` gives ``(r1-r0, c1-c0, 3)`` uint8 RGB
    (``rgb=False``: the stored samples, e.g. an int32 label map, as ``(h, w)`` or ``(h, w, c)``)."""

    def __init__(self, path: str | os.PathLike, rgb: bool = True) -> None:
        import tifffile

        self.path = Path(path)
        self.rgb = rgb
        try:
            self._tif = tifffile.TiffFile(self.path)
        except (tifffile.TiffFileError, OSError) as err:
            check(False, f"cannot read {self.path} as TIFF: {err}")
        page = self._tif.pages.first
        self._page = page
        check(
            page.planarconfig == 1 or page.samplesperpixel == 1,
            f"{self.path} stores its colour planes separately (planar configuration 2); {_convert_hint(self.path)}",
        )
        check(
            page.imagedepth == 1 and len(page.shape) in (2, 3),
            f"{self.path} is not a 2-D image (shape {page.shape}); pass an (H, W) or (H, W, C) TIFF",
        )
        self.height, self.width = int(page.imagelength), int(page.imagewidth)
        self.samples = int(page.samplesperpixel)
        self.dtype = np.dtype(page.dtype)
        if rgb:
            check(
                self.dtype in (np.uint8, np.uint16) and self.samples in (1, 2, 3, 4),
                f"{self.path} holds {self.samples} samples of {self.dtype} per pixel; "
                "streaming needs 8- or 16-bit gray, gray+alpha, RGB or RGBA",
            )
        if page.is_tiled:
            self.seg_h, self.seg_w = int(page.tilelength), int(page.tilewidth)
        else:
            self.seg_h, self.seg_w = min(int(page.rowsperstrip), self.height), self.width
        check(
            self.seg_h * self.seg_w <= MAX_WHOLE_PIXELS,
            f"{self.path} is stored in {self.seg_h}×{self.seg_w}-pixel {'tiles' if page.is_tiled else 'strips'}, "
            f"too large to read in windows; {_convert_hint(self.path)}",
        )
        self._cols = -(-self.width // self.seg_w)

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of the image."""
        return self.height, self.width

    def read(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """Pixels ``[r0, r1) × [c0, c1)`` (clipped to the image)."""
        r0, r1, c0, c1 = max(r0, 0), min(r1, self.height), max(c0, 0), min(c1, self.width)
        out = np.empty((r1 - r0, c1 - c0, self.samples), dtype=self.dtype)
        page, fh = self._page, self._tif.filehandle
        for tr in range(r0 // self.seg_h, -(-r1 // self.seg_h)):
            for tc in range(c0 // self.seg_w, -(-c1 // self.seg_w)):
                index = tr * self._cols + tc
                offset, count = page.dataoffsets[index], page.databytecounts[index]
                if count == 0:  # a tile never written: zeros, as tifffile reads it
                    segment = np.zeros((self.seg_h, self.seg_w, self.samples), self.dtype)
                else:
                    fh.seek(offset)
                    segment = page.decode(fh.read(count), index, jpegtables=page.jpegtables)[0]
                    segment = segment.reshape(-1, segment.shape[-2], segment.shape[-1])
                top, left = tr * self.seg_h, tc * self.seg_w
                y0, y1 = max(r0, top), min(r1, top + segment.shape[0], self.height)
                x0, x1 = max(c0, left), min(c1, left + segment.shape[1], self.width)
                out[y0 - r0 : y1 - r0, x0 - c0 : x1 - c0] = segment[y0 - top : y1 - top, x0 - left : x1 - left]
        if self.rgb:
            return _to_rgb(out, self.dtype)
        return out[..., 0] if self.samples == 1 else out

    def close(self) -> None:
        """Close the file."""
        self._tif.close()

    def __enter__(self) -> TiffWindows:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


class ArrayWindows:
    """The :class:`TiffWindows` interface over an image already in memory (a small image)."""

    def __init__(self, image: np.ndarray) -> None:
        self.image = image
        self.height, self.width = image.shape[:2]

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of the image."""
        return self.height, self.width

    def read(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """Pixels ``[r0, r1) × [c0, c1)`` (clipped to the image)."""
        return self.image[max(r0, 0) : r1, max(c0, 0) : c1]

    def close(self) -> None:
        """Nothing to close: the image is in memory."""

    def __enter__(self) -> ArrayWindows:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()


def image_size(path: str | os.PathLike) -> tuple[int, int]:
    """``(H, W)`` of an image file from its header only (TIFF through tifffile, others through PIL)."""
    path = Path(path)
    if is_tiff(path):
        import tifffile

        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            return int(page.imagelength), int(page.imagewidth)
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # a header read only: no decompression bomb is decoded here
    with Image.open(path) as image:
        width, height = image.size
    return int(height), int(width)


def open_windows(path: str | os.PathLike) -> TiffWindows | ArrayWindows:
    """An image file opened for reading in windows (``.shape``, ``.read(r0, r1, c0, c1)`` →
    ``(h, w, 3)`` uint8, ``.close()``): :class:`TiffWindows` for a TIFF, else the whole image read
    once when it has at most :data:`MAX_WHOLE_PIXELS` pixels; a larger JPEG, PNG, ... is refused
    (its decoders cannot read a window without decoding the whole image)."""
    path = Path(path).expanduser()
    check(path.is_file(), f"no such image file: {path}")
    if is_tiff(path):
        return TiffWindows(path)
    try:
        height, width = image_size(path)
    except Exception as err:  # noqa: BLE001 - PIL raises many types for unreadable files
        check(False, f"cannot read the header of {path}: {err}")
    check(
        height * width <= MAX_WHOLE_PIXELS,
        f"{path} is {height}×{width} ({height * width / 1e6:.0f} MP), too large to read whole, and "
        f"{path.suffix or 'this format'} cannot be read in windows; {_convert_hint(path)}",
    )
    from pcnet.io.images import read_image

    return ArrayWindows(read_image(path))


def partial_path(path: str | os.PathLike) -> Path:
    """Where a streamed file is written until complete: ``<path>.partial`` (renamed onto ``path``
    only at the end, so ``path`` exists only when finished)."""
    path = Path(path)
    return path.with_name(path.name + ".partial")


def write_tiled(
    path: str | os.PathLike,
    tiles: Iterable[np.ndarray],
    shape: tuple[int, int],
    dtype: Any = np.int32,
    tile: int = 512,
    compression: str = "zlib",
    level: int | None = 1,
    description: str | None = None,
) -> Path:
    """Write a tiled, compressed BigTIFF of ``shape`` from ``tiles`` (``tile × tile`` arrays in
    row-major order; the ones on the right and bottom edges may be smaller) to ``path`` directly.
    Callers that need atomicity write to :func:`partial_path` and rename.

    ``compression``: ``"zlib"`` (always available) or ``"zstd"`` (needs imagecodecs), with the
    horizontal-differencing predictor for integer data (label maps shrink several-fold more)."""
    import tifffile

    check(tile % 16 == 0 and tile >= 16, f"tile must be a positive multiple of 16; got {tile}")
    dtype = np.dtype(dtype)
    predictor = bool(np.issubdtype(dtype, np.integer))
    args = {"level": level} if level is not None else None
    path = Path(path)
    with tifffile.TiffWriter(path, bigtiff=True) as writer:
        writer.write(
            iter(tiles),
            shape=tuple(shape),
            dtype=dtype,
            tile=(tile, tile),
            compression=compression,
            compressionargs=args,
            predictor=predictor,
            photometric="minisblack" if len(shape) == 2 else "rgb",
            description=description,
            metadata=None,
        )
    return path


def iter_tiles(band: np.ndarray, tile: int) -> Iterator[np.ndarray]:
    """The ``tile × tile`` pieces of a band of rows, row-major (edge pieces smaller)."""
    for r in range(0, band.shape[0], tile):
        for c in range(0, band.shape[1], tile):
            yield band[r : r + tile, c : c + tile]

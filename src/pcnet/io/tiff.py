"""Images and label maps too large for memory: windows of tiled (Big)TIFF files, decoded tile by
tile, and tiled compressed BigTIFF written from a stream of tiles.

* :func:`open_windows` opens an image for reading in windows: a tiled or stripped TIFF / BigTIFF
  (only the tiles or strips a window overlaps are read and decoded, through ``tifffile`` alone: no
  zarr needed), or a small image of any other format read whole. A JPEG, PNG, ... above
  :data:`MAX_WHOLE_PIXELS` pixels (or a TIFF whose strips/tiles are that large) cannot be read in
  windows and is refused with a message saying how to convert it to a tiled TIFF.
* Compressed tiles (JPEG, YCbCr-subsampled as in Aperio SVS included, JPEG 2000, LZW,
  deflate/zlib, zstd, ...) are decoded by ``imagecodecs`` (tifffile's codec package, a
  dependency); a file whose codec is missing is refused when opened, with one line naming the
  codec and the fix.
* Pyramids (whole-slide images): :func:`image_levels` lists the levels of a pyramidal TIFF as
  tifffile models them (``series[0].levels``: the SubIFDs of an OME-TIFF or of tifffile's own
  pyramids, the tiled pages after the thumbnail of an Aperio SVS, the reduced-resolution pages of a
  generic pyramid), level 0 the full resolution. ``level=`` of :class:`TiffWindows` /
  :func:`open_windows` / :func:`image_size` picks one (negative counts from the smallest);
  :func:`read_level` reads a whole small level and :func:`read_thumbnail` the smallest level at
  least ``min_side`` pixels on its long side, neither touching level 0 (unless it is the one).
* :func:`write_tiled` writes a tiled, compressed BigTIFF from an iterator of tiles in row-major
  order, without ever holding the whole array.
* :func:`partial_path`: where a writer puts a file until it is complete (``<out>.partial``), so a
  killed run never leaves a file that looks finished.
"""

from __future__ import annotations

import collections
import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from pcnet._checks import check, is_int

__all__ = [
    "GEOTIFF_TAGS",
    "MAX_WHOLE_PIXELS",
    "ArrayWindows",
    "ImageLevel",
    "TiffWindows",
    "image_levels",
    "image_size",
    "is_tiff",
    "geotiff_tags",
    "iter_tiles",
    "open_windows",
    "partial_path",
    "read_level",
    "read_thumbnail",
    "write_tiled",
]

#: images above this many pixels must be readable in windows (a tiled or stripped TIFF); the
#: same bound applies to a single TIFF tile or strip (e.g. an untiled TIFF stored in one strip)
MAX_WHOLE_PIXELS = 64_000_000

_TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8", ".svs")


def is_tiff(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a TIFF / BigTIFF by its suffix (``.tif``, ``.tiff``, ``.btf``,
    ``.tf8``, Aperio's ``.svs``; read window by window)."""
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


#: the usual names of the TIFF compressions (Compression tag values) in messages and
#: :attr:`ImageLevel.compression`; others go by tifffile's name
_CODEC_NAMES = {
    1: "uncompressed",
    5: "LZW",
    6: "old-style JPEG",
    7: "JPEG",
    8: "deflate",
    32946: "deflate",
    50013: "deflate",
    32773: "PackBits",
    33003: "JPEG 2000",
    33004: "JPEG 2000",
    33005: "JPEG 2000",
    34712: "JPEG 2000",
    34925: "LZMA",
    34926: "zstd",
    50000: "zstd",
    34927: "WebP",
    50001: "WebP",
    50002: "JPEG XL",
    52546: "JPEG XL",
}


def _codec_name(compression: Any) -> str:
    value = int(compression)
    return _CODEC_NAMES.get(value, getattr(compression, "name", f"compression {value}"))


#: the compressions tifffile decodes without imagecodecs (zlib, PackBits, LZMA: Python's own)
_BUILTIN_CODECS = {1, 8, 32946, 50013, 32773, 34925}
_CODEC_HINT = "comes with the imagecodecs package, which is not installed; pip install imagecodecs"


def _imagecodecs_missing() -> bool:
    """Whether tifffile runs on its fallback codecs (imagecodecs not installed): the module
    tifffile imported as ``imagecodecs``, else whether imagecodecs can be imported at all."""
    import importlib.util

    import tifffile.tifffile

    codecs = getattr(tifffile.tifffile, "imagecodecs", None)
    if codecs is not None:
        return codecs.__name__.endswith("_imagecodecs")  # tifffile's pure-Python fallbacks
    return importlib.util.find_spec("imagecodecs") is None


def _check_codecs(page: Any, where: str) -> None:
    """Refuse, in one line, a page whose compression (or predictor) tifffile cannot decode here:
    every codec but zlib/deflate, PackBits and LZMA comes with imagecodecs (tifffile's fallback
    zstd needs Python 3.14's ``compression.zstd``, so it is refused too without imagecodecs)."""
    import tifffile

    name = _codec_name(page.compression)
    compressed = f"it is {name}-compressed, and the {name} codec"
    check(
        int(page.compression) in _BUILTIN_CODECS or not _imagecodecs_missing(),
        f"cannot decode {where}: {compressed} {_CODEC_HINT}",
    )
    predictor = getattr(page.predictor, "name", str(page.predictor))
    for table, value, what in (
        (tifffile.TIFF.DECOMPRESSORS, page.compression, compressed),
        (tifffile.TIFF.UNPREDICTORS, page.predictor, f"it is stored with the {predictor} predictor, which"),
    ):
        if int(value) == 1:
            continue
        try:
            table[int(value)]
        except KeyError as err:
            reason = str(err.args[0]) if err.args else str(err)
            check("imagecodecs" not in reason, f"cannot decode {where}: {what} {_CODEC_HINT}")
            check(False, f"cannot decode {where}: tifffile cannot decode it ({reason})")


def _level_pages(tif: Any) -> list[Any]:
    """The first page of each pyramid level of a TIFF, full resolution first, as tifffile models
    them: ``series[0].levels`` (OME and tifffile SubIFDs, the SVS baseline and its reduced tiled
    pages after the thumbnail, generic reduced-resolution pages). A file whose first series does
    not start at its first page (or that tifffile cannot parse into series) has one level: that page."""
    first = tif.pages.first
    try:
        levels = [level.keyframe for level in tif.series[0].levels]
    except Exception:  # noqa: BLE001 - a series tifffile cannot parse: the first page alone
        return [first]
    if not levels or levels[0].offset != first.offset:
        return [first]
    return levels


def _is_zero(level: Any) -> bool:
    return isinstance(level, (int, np.integer)) and not isinstance(level, (bool, np.bool_)) and level == 0


def _describe_levels(sizes: list[tuple[int, int]]) -> str:
    shown = ", ".join(f"{i}: {h}×{w}" for i, (h, w) in enumerate(sizes))
    if len(sizes) == 1:
        return f"its only level is {shown} (level=0)"
    return f"its levels are {shown} (level=0..{len(sizes) - 1}, or -1 for the smallest)"


def _resolve_level(level: Any, sizes: list[tuple[int, int]], path: Path) -> int:
    """``level`` as an index into ``sizes`` (negative counts from the smallest), or a one-line
    :class:`InputError` listing the levels with their sizes."""
    count = len(sizes)
    check(
        is_int(level) and -count <= int(level) < count,
        f"level={level!r} is not a level of {path}; {_describe_levels(sizes)}",
    )
    return int(level) % count


@dataclass(frozen=True)
class ImageLevel:
    """One resolution level of an image file (:func:`image_levels`): ``index`` (0 = full
    resolution), ``height`` × ``width``, ``downsample`` (level 0's width over this width),
    ``tile`` (``(h, w)`` of its tiles; ``None`` for strips or a non-TIFF) and ``compression``
    (e.g. ``"JPEG"``, ``"JPEG 2000"``, ``"LZW"``, ``"deflate"``, ``"zstd"``; a non-TIFF: its
    format, e.g. ``"PNG"``)."""

    index: int
    height: int
    width: int
    downsample: float
    tile: tuple[int, int] | None
    compression: str

    @property
    def shape(self) -> tuple[int, int]:
        """``(height, width)`` of the level."""
        return self.height, self.width


class TiffWindows:
    """Windows of one level of the first image of a TIFF / BigTIFF, decoding only the tiles (or
    strips) each window overlaps. ``read(r0, r1, c0, c1)`` gives ``(r1-r0, c1-c0, 3)`` uint8 RGB
    (``rgb=False``: the stored samples, e.g. an int32 label map, as ``(h, w)`` or ``(h, w, c)``).

    ``level``: the pyramid level (:func:`image_levels`; 0, the default, is the full resolution;
    negative counts from the smallest); a level the file lacks is refused with the list of its
    levels. Compressed tiles are decoded by tifffile through imagecodecs; a codec missing here is
    refused when the file is opened. ``.level`` is the level's index and ``.downsample`` level 0's
    width over its width."""

    def __init__(self, path: str | os.PathLike, rgb: bool = True, level: int = 0, cache_rows: int = 0) -> None:
        import tifffile

        #: decoded tiles of the last ``cache_rows`` tile rows read (overlapping windows read a
        #: tile once); 0: none
        self._cache: collections.OrderedDict[int, np.ndarray] = collections.OrderedDict()
        self._cache_rows = max(0, int(cache_rows))

        self.path = Path(path)
        self.rgb = rgb
        try:
            self._tif = tifffile.TiffFile(self.path)
        except (tifffile.TiffFileError, OSError) as err:
            check(False, f"cannot read {self.path} as TIFF: {err}")
        try:
            self._open(level)
        except BaseException:
            self._tif.close()
            raise

    def _open(self, level: int) -> None:
        first = self._tif.pages.first
        # level 0 is the first page: no series to parse (a flat TIFF of many pages opens as fast as before)
        pages = [first] if _is_zero(level) else _level_pages(self._tif)
        self.level = _resolve_level(level, [(int(p.imagelength), int(p.imagewidth)) for p in pages], self.path)
        page = pages[self.level]
        self._page = page
        where = f"{self.path}" if self.level == 0 else f"level {self.level} of {self.path}"
        check(
            page.planarconfig == 1 or page.samplesperpixel == 1,
            f"{where} stores its colour planes separately (planar configuration 2); {_convert_hint(self.path)}",
        )
        check(
            page.imagedepth == 1 and len(page.shape) in (2, 3),
            f"{where} is not a 2-D image (shape {page.shape}); pass an (H, W) or (H, W, C) TIFF",
        )
        self.height, self.width = int(page.imagelength), int(page.imagewidth)
        self.downsample = int(first.imagewidth) / self.width
        self.samples = int(page.samplesperpixel)
        self.dtype = np.dtype(page.dtype)
        if self.rgb:
            check(
                self.dtype in (np.uint8, np.uint16) and self.samples in (1, 2, 3, 4),
                f"{where} holds {self.samples} samples of {self.dtype} per pixel; "
                "streaming needs 8- or 16-bit gray, gray+alpha, RGB or RGBA",
            )
        if page.is_tiled:
            self.seg_h, self.seg_w = int(page.tilelength), int(page.tilewidth)
        else:
            self.seg_h, self.seg_w = min(int(page.rowsperstrip), self.height), self.width
        check(
            self.seg_h * self.seg_w <= MAX_WHOLE_PIXELS,
            f"{where} is stored in {self.seg_h}×{self.seg_w}-pixel {'tiles' if page.is_tiled else 'strips'}, "
            f"too large to read in windows; {_convert_hint(self.path)}",
        )
        self._cols = -(-self.width // self.seg_w)
        self._where = where
        self._codec = _codec_name(page.compression)
        _check_codecs(page, where)
        self._decode = page.decode  # tifffile's decoder of this page's tiles (a closure, cached per file)

    @property
    def shape(self) -> tuple[int, int]:
        """``(H, W)`` of the level."""
        return self.height, self.width

    def _segment(self, index: int) -> np.ndarray:
        """Tile (or strip) ``index`` decoded, ``(h, w, samples)`` (from the cache if it is there)."""
        if self._cache_rows:
            segment = self._cache.get(index)
            if segment is None:
                segment = self._cache[index] = self._decoded(index)
                while len(self._cache) > self._cache_rows * self._cols:
                    self._cache.popitem(last=False)
            else:
                self._cache.move_to_end(index)
            return segment
        return self._decoded(index)

    def _decoded(self, index: int) -> np.ndarray:
        offset, count = self._page.dataoffsets[index], self._page.databytecounts[index]
        if count == 0:  # a tile never written: zeros, as tifffile reads it
            return np.zeros((self.seg_h, self.seg_w, self.samples), self.dtype)
        fh = self._tif.filehandle
        fh.seek(offset)
        try:
            segment = self._decode(fh.read(count), index, jpegtables=self._page.jpegtables)[0]
        except ImportError as err:  # a codec imagecodecs was built without, or tifffile's fallback lacks
            check(False, f"cannot decode {self._codec} tile {index} of {self._where}: {err}; pip install imagecodecs")
        except (RuntimeError, ValueError, OSError) as err:  # imagecodecs' errors are RuntimeErrors
            check(False, f"cannot decode {self._codec} tile {index} of {self._where}: {err}")
        check(segment is not None, f"tile {index} of {self._where} decoded to nothing")
        return segment.reshape(-1, segment.shape[-2], segment.shape[-1])

    def read(self, r0: int, r1: int, c0: int, c1: int) -> np.ndarray:
        """Pixels ``[r0, r1) × [c0, c1)`` (clipped to the image)."""
        r0, r1, c0, c1 = max(r0, 0), min(r1, self.height), max(c0, 0), min(c1, self.width)
        out = np.empty((max(r1 - r0, 0), max(c1 - c0, 0), self.samples), dtype=self.dtype)
        for tr in range(r0 // self.seg_h, -(-r1 // self.seg_h)):
            for tc in range(c0 // self.seg_w, -(-c1 // self.seg_w)):
                segment = self._segment(tr * self._cols + tc)
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
    """The :class:`TiffWindows` interface over an image already in memory (a small image; its
    one level is 0)."""

    level = 0
    downsample = 1.0

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


def _header_size(path: Path) -> tuple[int, int]:
    """``(H, W)`` of a non-TIFF image from its header (PIL)."""
    from PIL import Image

    Image.MAX_IMAGE_PIXELS = None  # a header read only: no decompression bomb is decoded here
    with Image.open(path) as image:
        width, height = image.size
    return int(height), int(width)


def image_levels(path: str | os.PathLike) -> list[ImageLevel]:
    """The resolution levels of an image file, full resolution (level 0) first, from the headers
    only: a pyramidal TIFF's levels as tifffile models them (OME-TIFF / tifffile SubIFDs, the
    Aperio SVS baseline and its reduced tiled pages, skipping the thumbnail, label and macro
    images; generic reduced-resolution pages); one level for a flat TIFF or any other image.

    Example:
        >>> import tempfile, tifffile
        >>> path = Path(tempfile.mkdtemp()) / "pyramid.tif"
        >>> with tifffile.TiffWriter(path) as tif:
        ...     tif.write(np.zeros((512, 768, 3), np.uint8), tile=(256, 256), subifds=1, compression="zlib")
        ...     tif.write(np.zeros((128, 192, 3), np.uint8), tile=(128, 128), subfiletype=1, compression="zlib")
        >>> [(level.index, level.shape, level.downsample, level.compression) for level in image_levels(path)]
        [(0, (512, 768), 1.0, 'deflate'), (1, (128, 192), 4.0, 'deflate')]
    """
    path = Path(path).expanduser()
    check(path.is_file(), f"no such image file: {path}")
    if not is_tiff(path):
        try:
            height, width = _header_size(path)
        except Exception as err:  # noqa: BLE001 - PIL raises many types for unreadable files
            check(False, f"cannot read the header of {path}: {err}")
        return [ImageLevel(0, height, width, 1.0, None, (path.suffix[1:] or "image").upper())]
    import tifffile

    try:
        tif = tifffile.TiffFile(path)
    except (tifffile.TiffFileError, OSError) as err:
        check(False, f"cannot read {path} as TIFF: {err}")
    with tif:
        pages = _level_pages(tif)
        width0 = int(pages[0].imagewidth)
        return [
            ImageLevel(
                index,
                int(page.imagelength),
                int(page.imagewidth),
                width0 / int(page.imagewidth),
                (int(page.tilelength), int(page.tilewidth)) if page.is_tiled else None,
                _codec_name(page.compression),
            )
            for index, page in enumerate(pages)
        ]


def image_size(path: str | os.PathLike, level: int = 0) -> tuple[int, int]:
    """``(H, W)`` of an image file (of pyramid ``level`` of a TIFF; see :func:`image_levels`) from
    its header only (TIFF through tifffile, others through PIL)."""
    path = Path(path)
    if _is_zero(level) and is_tiff(path):
        import tifffile

        with tifffile.TiffFile(path) as tif:
            page = tif.pages.first
            return int(page.imagelength), int(page.imagewidth)
    if _is_zero(level):
        return _header_size(path)
    levels = image_levels(path)
    return levels[_resolve_level(level, [lv.shape for lv in levels], path)].shape


def open_windows(path: str | os.PathLike, level: int = 0, cache_rows: int = 0) -> TiffWindows | ArrayWindows:
    """An image file opened for reading in windows (``.shape``, ``.read(r0, r1, c0, c1)`` →
    ``(h, w, 3)`` uint8, ``.close()``): :class:`TiffWindows` for a TIFF (at pyramid ``level``:
    0, the full resolution, by default; see :func:`image_levels`), else the whole image read
    once when it has at most :data:`MAX_WHOLE_PIXELS` pixels (its one level is 0); a larger JPEG,
    PNG, ... is refused (its decoders cannot read a window without decoding the whole image).
    ``cache_rows``: a TIFF keeps the decoded tiles of that many tile rows (overlapping windows)."""
    path = Path(path).expanduser()
    check(path.is_file(), f"no such image file: {path}")
    if is_tiff(path):
        return TiffWindows(path, level=level, cache_rows=cache_rows)
    try:
        height, width = _header_size(path)
    except Exception as err:  # noqa: BLE001 - PIL raises many types for unreadable files
        check(False, f"cannot read the header of {path}: {err}")
    _resolve_level(level, [(height, width)], path)
    check(
        height * width <= MAX_WHOLE_PIXELS,
        f"{path} is {height}×{width} ({height * width / 1e6:.0f} MP), too large to read whole, and "
        f"{path.suffix or 'this format'} cannot be read in windows; {_convert_hint(path)}",
    )
    from pcnet.io.images import read_image

    return ArrayWindows(read_image(path))


def read_level(path: str | os.PathLike, level: int = -1) -> np.ndarray:
    """A whole pyramid level of an image file as ``(h, w, 3)`` uint8 RGB (default ``-1``: the
    smallest; see :func:`image_levels`), decoding that level's tiles only. A level above
    :data:`MAX_WHOLE_PIXELS` pixels is refused (read it in windows with :func:`open_windows`)."""
    with open_windows(path, level=level) as reader:
        height, width = reader.shape
        check(
            height * width <= MAX_WHOLE_PIXELS,
            f"level {reader.level} of {path} is {height}×{width} ({height * width / 1e6:.0f} MP), too large to "
            "read whole; pick a smaller level (image_levels lists them) or read it in windows (open_windows)",
        )
        return np.ascontiguousarray(reader.read(0, height, 0, width))


def read_thumbnail(path: str | os.PathLike, min_side: int = 1024) -> np.ndarray:
    """A small ``(h, w, 3)`` uint8 RGB version of an image file whose long side is at least
    ``min_side`` (below ``2 * min_side``) pixels, or the whole image when that is smaller: the
    smallest pyramid level at least ``min_side`` px on its long side (:func:`image_levels`),
    block-averaged by the integer factor that keeps it so. Level 0 is read only when no smaller
    level is large enough (a flat TIFF), and then window by window, never whole. A mask made on it
    (:func:`pcnet.ops.masks.tissue_mask`) maps back to level 0 by the ratio of the shapes
    (:class:`pcnet.io.mask_windows.MaskWindows`)."""
    check(is_int(min_side) and min_side >= 1, f"min_side must be a positive int; got {min_side!r}")
    levels = image_levels(path)
    large = [lv for lv in levels if max(lv.shape) >= min_side]
    chosen = min(large, key=lambda lv: lv.height * lv.width) if large else levels[0]
    factor = max(1, max(chosen.shape) // min_side)
    if factor == 1:
        return read_level(path, chosen.index)
    with open_windows(path, level=chosen.index) as reader:
        return _block_mean(reader, factor)


def _block_mean(reader: TiffWindows | ArrayWindows, factor: int) -> np.ndarray:
    """The mean of every ``factor × factor`` block of a reader's image (the blocks on the bottom
    and right edges may be smaller), read in windows of about 2048² pixels."""
    height, width = reader.shape
    out = np.empty((-(-height // factor), -(-width // factor), 3), np.uint8)
    step = factor * max(1, 2048 // factor)
    for r0 in range(0, height, step):
        for c0 in range(0, width, step):
            window = reader.read(r0, r0 + step, c0, c0 + step)
            rows, cols = np.arange(0, window.shape[0], factor), np.arange(0, window.shape[1], factor)
            sums = np.add.reduceat(np.add.reduceat(window, rows, axis=0, dtype=np.uint64), cols, axis=1)
            counts = np.outer(np.diff(np.append(rows, window.shape[0])), np.diff(np.append(cols, window.shape[1])))
            out[r0 // factor : r0 // factor + rows.size, c0 // factor : c0 // factor + cols.size] = np.round(
                sums / counts[..., None]
            ).astype(np.uint8)
    return out


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
    extratags: Sequence[tuple] = (),
) -> Path:
    """Write a tiled, compressed BigTIFF of ``shape`` from ``tiles`` (``tile × tile`` arrays in
    row-major order; the ones on the right and bottom edges may be smaller) to ``path`` directly.
    Callers that need atomicity write to :func:`partial_path` and rename.

    ``compression``: ``"zlib"`` (always available) or ``"zstd"`` (needs imagecodecs), with the
    horizontal-differencing predictor for integer data (label maps shrink several-fold more);
    ``extratags``: tifffile's, e.g. :func:`geotiff_tags` of the image the labels are of."""
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
            extratags=list(extratags),
        )
    return path


#: the GeoTIFF tags: pixel scale, tie points, transformation, GeoKey directory, double and ASCII parameters
GEOTIFF_TAGS = (33550, 33922, 34264, 34735, 34736, 34737)


def geotiff_tags(path: str | os.PathLike) -> list[tuple]:
    """The GeoTIFF tags of a TIFF's first page as tifffile ``extratags`` (empty when it has none),
    so that a label map written with them (:func:`write_tiled`) has the image's georeferencing."""
    import tifffile

    if not is_tiff(path):
        return []
    with tifffile.TiffFile(path) as tif:
        tags = tif.pages.first.tags
        out = []
        for code in GEOTIFF_TAGS:
            tag = tags.get(code)
            if tag is not None:
                value = tag.value
                out.append(
                    (code, tag.dtype, tag.count, tuple(value) if isinstance(value, (tuple, list)) else value, True)
                )
        return out


def iter_tiles(band: np.ndarray, tile: int) -> Iterator[np.ndarray]:
    """The ``tile × tile`` pieces of a band of rows, row-major (edge pieces smaller)."""
    for r in range(0, band.shape[0], tile):
        for c in range(0, band.shape[1], tile):
            yield band[r : r + tile, c : c + tile]

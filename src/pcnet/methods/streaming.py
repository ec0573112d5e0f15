"""Superpixels of images too large for memory, band by band, with the in-memory labels.

:func:`segment_file` reads an image file in windows (a tiled TIFF / BigTIFF: :mod:`pcnet.io.tiff`),
runs a learned model's network tile by tile, enforces connectivity band by band and writes the
label map as a tiled, compressed BigTIFF, never holding the image or the labels whole. Peak memory
is set by the width of the image (a band of ``tile`` network-input rows) and not by its height.

What it reproduces: ``Segmenter(model, tile=tile, halo=halo, refine=False).superpixels(image)``,
pixel for pixel, ids included (see ``tests/test_streaming.py``):

1. **Network.** Bands are the rows of network tiles that the in-memory tiled path cuts
   (:func:`pcnet.methods.tiling.tiles`): each band reads its rows of the full-resolution image plus
   the halo, downsamples them by the integer factor ``d`` (INTER_AREA over aligned ``d × d``
   blocks: the same numbers as downsampling the whole image), and runs the very crops the
   in-memory path runs, so the cell ids (global) are the same.
2. **Connectivity.** With 9-neighbour association, the pixels of cell id ``c`` lie in the 3 × 3
   cells around cell ``c``: connectivity is local. Band ``b``'s core rows are decided on a window
   of the cell map that adds ``margin_cells`` cell rows (and columns: the window is also cut in
   column blocks) on every side, with :func:`pcnet.ops.enforce_connectivity` itself and the whole
   image's minimum size. A superpixel near the core has all its pixels, and its neighbours theirs,
   inside the window, so the window makes the same decisions as the whole image (exact unless a
   chain of merges runs further than the margin: never seen; ``seam_mismatch_pixels`` counts
   disagreements between neighbouring windows on the rows next to each seam).
3. **Ids.** Each superpixel is named by the global raster index of its first pixel, which every
   window that holds it whole computes alike; ids 0..K−1 are handed out in that order as bands are
   written top to bottom (a superpixel's first pixel lies in the first band it appears in): the
   raster order of first appearance of :func:`~pcnet.ops.enforce_connectivity`, so the ids, not
   only the partition, equal the in-memory ones.

4. **Refinement** (``refine=True``, the in-memory default). The connected labels are cut in
   chunks of ``chunk`` rows; each chunk is refined (:func:`pcnet.ops.refine_labels`, the
   Segmenter's sweeps, spacing and minimum size of the whole image: :func:`~pcnet.ops.refine.refine_settings`)
   on a window that adds ``refine_margin`` rows of the chunks above and below, with the image rows
   read again from the file, and only its own rows are kept. A sweep moves a boundary by at most one
   pixel, but a superpixel's statistics carry news across it, so a pixel's result depends on the
   superpixels within a few of its own; the margin covers that up to near-ties (measured in
   ``tests/test_streaming.py`` and docs/gigapixel.md). Connectivity is then enforced on the refined
   chunks as in step 2 (windows with margins, the whole image's minimum size, ``keep_largest``), and
   the ids are handed out as in step 3: the in-memory order.

Supported: learned methods whose network can be tiled (``pcnet``, ``scn``; not ``ssn``), the
native grid (``n_segments=None``: K = H·W / cell²) or a K whose working size divides the image by
a power of two, image sides that give an integer downsampling (PCNet's native grid: multiples of
4). No masks.
"""

from __future__ import annotations

import math
import os
import resource
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pcnet._checks import check, check_fraction, check_int, check_n_segments
from pcnet.io.mask_windows import MaskWindows
from pcnet.io.tiff import TiffWindows, geotiff_tags, iter_tiles, open_windows, partial_path, write_tiled
from pcnet.methods.quicklook import QuickLook
from pcnet.methods.resume import PartialRun, fingerprint
from pcnet.methods.tiling import AUTO_TILE, tiled_cells, tiles
from pcnet.ops import MIN_SIZE_FRACTION, enforce_connectivity, n_segments_for
from pcnet.ops.masks import OUTSIDE
from pcnet.ops.refine import refine_labels, refine_settings
from pcnet.ops.resample import area_downsample, area_source_rows, nearest_rows, upscale_nearest

__all__ = ["CHUNK_PIXELS", "STREAMING_THRESHOLD_PIXELS", "peak_rss_bytes", "segment_file"]

#: the default chunk is 1024 rows while 1024 rows hold at most this many pixels, else 512
CHUNK_PIXELS = 24_000_000
#: images above this many pixels are worth streaming (the in-memory path peaked at 36 B/px: 3.6 GB at 100 MP)
STREAMING_THRESHOLD_PIXELS = 64_000_000


def peak_rss_bytes() -> int:
    """Peak resident memory of this process so far (``ru_maxrss``), in bytes."""
    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss) * 1024


@dataclass
class _Grid:
    """The geometry shared by the network and connectivity passes."""

    height: int
    width: int
    in_h: int  # network input
    in_w: int
    upscale: int  # association-map pixels per network-input pixel
    cell_size: int  # at the association map's resolution
    n_cells: int
    min_size: float  # the whole image's minimum component size (pixels)
    #: full-resolution pixels per network-input pixel, when an integer power of two on both axes
    #: (exact cv2 block averaging per band); 0: a fractional factor (pcnet.ops.resample)
    down: int

    @property
    def map_h(self) -> int:
        """Rows of the association map (``upscale · in_h``)."""
        return self.upscale * self.in_h

    @property
    def map_w(self) -> int:
        return self.upscale * self.in_w

    @property
    def factor(self) -> float:
        """Full-resolution rows per network-input row: the staircase height of the labels."""
        return self.upscale * self.height / self.map_h

    @property
    def cell_pixels(self) -> float:
        """A grid cell's side in full-resolution pixels."""
        return self.cell_size * self.height / self.map_h

    def rows(self, start: int, stop: int) -> tuple[int, int]:
        """The full-resolution rows whose association-map row lies in input rows ``start..stop``."""
        return self._span(self.height, self.map_h, start, stop)

    def cols(self, start: int, stop: int) -> tuple[int, int]:
        """The same for columns."""
        return self._span(self.width, self.map_w, start, stop)

    def _span(self, n: int, n_map: int, start: int, stop: int) -> tuple[int, int]:
        if self.down:
            return min(n, self.down * start), min(n, self.down * stop)
        index = nearest_rows(n_map, n)  # cv2.INTER_NEAREST's source row of every output row
        u = self.upscale
        return int(np.searchsorted(index, u * start)), int(np.searchsorted(index, u * stop))


def _grid(model: Any, height: int, width: int, n_segments: int | None, min_size_fraction: float) -> _Grid:
    check(
        getattr(model, "tileable", False) and hasattr(model, "backbone"),
        f"streaming needs a tileable learned model (pcnet, scn); {type(model).__name__} clusters globally",
    )
    work_h, work_w = model.working_size(height, width, n_segments)
    u = int(model.upscale)
    in_h, in_w = work_h // u, work_w // u
    most = n_segments_for(model.cell_size, u * height, u * width)
    check(
        in_h <= height and in_w <= width,
        f"streaming shrinks the image for the network: n_segments={n_segments} would enlarge this "
        f"{height}×{width} image; pass n_segments <= {most}",
    )
    scale = height // work_h
    integer = (
        scale >= 1 and scale & (scale - 1) == 0 and (work_h * scale, work_w * scale) == (height, width)
        and work_h % u == 0 and work_w % u == 0
    )  # fmt: skip
    n_cells = n_segments_for(model.cell_size, u * in_h, u * in_w)
    return _Grid(
        height=height,
        width=width,
        in_h=in_h,
        in_w=in_w,
        upscale=u,
        cell_size=int(model.cell_size),
        n_cells=n_cells,
        # what enforce_connectivity computes on the whole (H, W) map
        min_size=min_size_fraction * (height * width) / n_cells,
        down=scale * u if integer else 0,
    )


def _band_cells(
    model: Any, reader: Any, grid: _Grid, rows: tuple[int, int, int, int], tile: int, halo: int, masks: Any = None
) -> np.ndarray:
    """Global cell ids (int32) of the full-resolution rows of one band, from the network crops
    of the in-memory tiled path (:func:`~pcnet.methods.tiling.tiled_cells`); with ``masks``
    (:class:`~pcnet.io.mask_windows.MaskWindows`), tiles with no pixel inside are not run."""
    y0, y1, cy0, cy1 = rows
    r0, r1 = grid.rows(cy0, cy1)
    skip = None
    if masks is not None:
        inside = masks.read(r0, r1, 0, grid.width)

        def skip(ty0: int, ty1: int, tx0: int, tx1: int) -> bool:
            c0, c1 = grid.cols(tx0, tx1)
            return not inside[:, c0:c1].any()

    d = grid.down
    if d:  # an integer factor: cv2's block means of aligned d × d blocks, exact per band
        rgb = reader.read(d * y0, d * y1, 0, grid.width)
        small = rgb if d == 1 else cv2.resize(rgb, (grid.in_w, y1 - y0), interpolation=cv2.INTER_AREA)
    else:  # the very rows of the whole image's area shrink (pcnet.ops.resample)
        s0, s1 = area_source_rows(grid.height, grid.in_h, y0, y1)
        rgb = reader.read(s0, s1, 0, grid.width)
        small = area_downsample(rgb, grid.in_h, grid.in_w, rows=(y0, y1), src_rows=grid.height)
    del rgb
    x = model.to_input(small)
    cells = tiled_cells(model, x, grid.cell_size, tile, halo, (grid.in_h, grid.in_w), rows=rows, skip=skip)
    u = grid.upscale
    if d == u:
        return cells
    if d:  # nearest upscaling by an integer factor: cv2.INTER_NEAREST's pixels
        scale = d // u
        return np.repeat(np.repeat(cells, scale, axis=0), scale, axis=1)
    return upscale_nearest(cells, grid.height, grid.width, rows=(r0, r1), src_rows=grid.map_h, offset=u * cy0)


def _window_threshold(min_size: float, area: int, n_cells_total: float, masked: bool = False) -> tuple[float, int]:
    """``(min_size_fraction, n_segments)`` that make :func:`enforce_connectivity` on a window of
    ``area`` pixels (inside the mask, when ``masked``) use the whole image's minimum size: the
    same set of integer sizes is small (the threshold is moved to the half-integer below the next
    integer, safe from rounding)."""
    if min_size <= 0:
        return 0.0, 1
    threshold = math.ceil(min_size) - 0.5  # sizes < min_size  <=>  sizes < threshold
    n_w = max(1, round(area * n_cells_total))
    fraction = threshold * n_w / area
    if masked and fraction >= 1.0:  # a speck of the mask: every piece inside is smaller than the minimum
        return 0.999, n_w
    check(fraction < 1.0, f"connectivity windows are too small for the minimum size {min_size:.1f} px; raise block")
    return fraction, n_w


def _first_pixels(labels: np.ndarray) -> np.ndarray:
    """Flat index of the first pixel of every label of a map numbered 0..k-1 in raster order of
    first appearance (what :func:`enforce_connectivity` returns; −1 outside a mask is no label)."""
    flat = labels.ravel()
    if flat.size and flat.min() < 0:
        index = np.flatnonzero(flat >= 0)
        return index[_first_pixels(flat[index])] if index.size else index
    running = np.maximum.accumulate(flat)
    new = np.empty(flat.size, dtype=bool)
    new[0] = True
    new[1:] = flat[1:] > running[:-1]
    return np.flatnonzero(new)


def _lookup(table: np.ndarray, labels: np.ndarray, outside: int) -> np.ndarray:
    """``table[labels]``, and ``outside`` where a label is −1 (outside a mask)."""
    if labels.size == 0 or labels.min() >= 0:
        return table[labels]
    return np.where(labels >= 0, table[np.maximum(labels, 0)] if table.size else outside, outside)


class _Connectivity:
    """Band-by-band connectivity with global ids (module docstring, steps 2 and 3)."""

    def __init__(self, grid: _Grid, margin: int, block: int, masks: Any = None) -> None:
        self.grid, self.margin, self.block, self.masks = grid, margin, block, masks
        self.next_id = 0
        self.keys = np.zeros(0, np.int64)  # gids present in the previous band, sorted
        self.values = np.zeros(0, np.int32)
        self.missing = 0  # superpixels first seen below their first pixel's band (none if exact)
        self.mismatch = 0  # seam-row pixels on which neighbouring windows disagree (0 if exact)
        self.seam_rows = min(margin // 2, math.ceil(grid.cell_pixels))
        self.last_gids: np.ndarray | None = None  # the previous band's gids on its last seam rows
        self.n_pixels_per_cell = grid.n_cells / (grid.height * grid.width)

    def state(self) -> dict[str, np.ndarray]:
        """What the next band needs of the bands before it (saved by a streamed run, :mod:`~pcnet.methods.resume`)."""
        counters = np.array([self.next_id, self.missing, self.mismatch], np.int64)
        last = np.zeros((0, 0), np.int64) if self.last_gids is None else self.last_gids
        return {"keys": self.keys, "values": self.values, "counters": counters, "last_gids": last}

    def restore(self, state: dict[str, np.ndarray]) -> None:
        """Go on from a :meth:`state`."""
        self.keys, self.values = state["keys"].astype(np.int64), state["values"].astype(np.int32)
        self.next_id, self.missing, self.mismatch = (int(v) for v in state["counters"])
        self.last_gids = state["last_gids"] if state["last_gids"].size else None

    def band(self, above: np.ndarray | None, cells: np.ndarray, below: np.ndarray | None, top: int) -> np.ndarray:
        """Final labels (int32) of the band ``cells`` (full-resolution rows from ``top``), given
        the bands above and below (``None`` at the image's borders)."""
        grid, m, width = self.grid, self.margin, self.grid.width
        up = 0 if above is None else min(m, above.shape[0])
        down = 0 if below is None else min(m, below.shape[0])
        rows = cells.shape[0]
        blocks = []
        for c0 in range(0, width, self.block):
            c1 = min(c0 + self.block, width)
            w0, w1 = max(c0 - m, 0), min(c1 + m, width)
            parts = ([above[above.shape[0] - up :, w0:w1]] if up else []) + [cells[:, w0:w1]]
            parts += [below[:down, w0:w1]] if down else []
            window = np.concatenate(parts) if len(parts) > 1 else np.ascontiguousarray(parts[0])
            inside = None if self.masks is None else self.masks.read(top - up, top + rows + down, w0, w1)
            area = window.size if inside is None else int(np.count_nonzero(inside))
            fraction, n_w = _window_threshold(grid.min_size, max(area, 1), self.n_pixels_per_cell, inside is not None)
            labels = enforce_connectivity(window, fraction, n_segments=n_w, keep_largest=True, mask=inside)
            first = _first_pixels(labels)
            ww = w1 - w0
            gid = (top - up + first // ww).astype(np.int64) * width + (w0 + first % ww)
            if self.last_gids is not None and up >= self.seam_rows:  # the rows just above the seam
                seam = labels[up - self.seam_rows : up, c0 - w0 : c1 - w0]
                self.mismatch += int(np.count_nonzero(_lookup(gid, seam, -1) != self.last_gids[:, c0:c1]))
            core = labels[up : up + rows, c0 - w0 : c1 - w0]
            present = np.flatnonzero(
                np.bincount(core[core >= 0] if inside is not None else core.ravel(), minlength=first.size)
            )
            blocks.append((c0, c1, core, gid, present))
        # ids: raster order of first pixels, continuing the numbering of the bands above
        gids = np.unique(np.concatenate([np.zeros(0, np.int64), *(gid[present] for *_, gid, present in blocks)]))
        values = np.empty(gids.size, np.int32)
        old = gids < top * width
        g_old = gids[old]
        if self.keys.size:
            where = np.minimum(np.searchsorted(self.keys, g_old), self.keys.size - 1)
            found = self.keys[where] == g_old
            old_values = np.where(found, self.values[where], -1).astype(np.int32)
        else:
            found = np.zeros(g_old.size, bool)
            old_values = np.full(g_old.size, -1, np.int32)
        n_missing = int(np.count_nonzero(~found))
        self.missing += n_missing
        old_values[~found] = self.next_id + np.arange(n_missing, dtype=np.int32)
        self.next_id += n_missing
        values[old] = old_values
        n_new = int(np.count_nonzero(~old))
        values[~old] = self.next_id + np.arange(n_new, dtype=np.int32)
        self.next_id += n_new
        self.keys, self.values = gids, values
        out = np.empty((rows, width), np.int32)
        last = np.empty((self.seam_rows, width), np.int64) if rows >= self.seam_rows else None
        for c0, c1, core, gid, _ in blocks:
            table = values[np.minimum(np.searchsorted(gids, gid), gids.size - 1)] if gids.size else values[:0]
            out[:, c0:c1] = _lookup(table, core, OUTSIDE)
            if last is not None:
                last[:, c0:c1] = _lookup(gid, core[rows - self.seam_rows :], -1)
        self.last_gids = last
        return out


def _run_key(input_path: Any, model: Any, mask: Any, settings: tuple) -> str:
    """The fingerprint of everything a streamed run's labels depend on (:mod:`~pcnet.methods.resume`)."""
    weights = b"".join(t.detach().cpu().numpy().tobytes() for t in model.state_dict().values())
    mask_part = np.asarray(mask.detach().cpu() if hasattr(mask, "detach") else mask) if mask is not None else None
    if isinstance(mask, (str, os.PathLike)):
        mask_part = mask
    return fingerprint(
        input=input_path, weights=np.frombuffer(weights, np.uint8), mask=repr(None) if mask is None else mask_part,
        settings=settings, version=_version(),
    )  # fmt: skip


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pcnet")
    except PackageNotFoundError:  # a source checkout that is not installed
        return "unknown"


#: a stream of ``(top row, labels)`` bands, top to bottom
Bands = Iterator[tuple[int, np.ndarray]]


def _with_neighbours(bands: Bands) -> Iterator[tuple[np.ndarray | None, int, np.ndarray, np.ndarray | None]]:
    """``(above, top, band, below)`` for every band of ``bands`` (``None`` at the image's borders):
    a band is handed on once the one below it is known."""
    above = current = None
    for item in bands:
        if current is not None:
            yield above, current[0], current[1], item[1]
            above = current[1]
        current = item
    if current is not None:
        yield above, current[0], current[1], None


def _chunks(bands: Bands, rows: int) -> Bands:
    """The same rows in chunks whose tops are the multiples of ``rows`` (a stream that starts
    between two, as a resumed one may, begins with a shorter chunk)."""
    pending: list[np.ndarray] = []
    top = n = 0
    for first, band in bands:
        if not pending:
            top = first
        pending.append(band)
        n += band.shape[0]
        while n and (top + n) // rows > top // rows:  # a multiple of rows is reached
            cut = (top // rows + 1) * rows - top
            joined = np.concatenate(pending) if len(pending) > 1 else pending[0]
            yield top, joined[:cut]
            pending = [joined[cut:]] if cut < n else []
            top, n = top + cut, n - cut
    if n:
        yield top, np.concatenate(pending) if len(pending) > 1 else pending[0]


def _connected(bands: Bands, connectivity: _Connectivity, start: int = 0) -> Bands:
    """Connectivity with global ids, band by band (module docstring, steps 2 and 3); bands above
    row ``start`` (a resumed run's context) are only the context of the next."""
    for above, top, band, below in _with_neighbours(bands):
        if top >= start:
            yield top, connectivity.band(above, band, below, top)


def _from_row(bands: Bands, start: int) -> Bands:
    """The bands from row ``start`` on."""
    return ((top, band) for top, band in bands if top >= start)


class _Refinement:
    """Band-by-band refinement with the whole image's settings (module docstring, step 4)."""

    def __init__(
        self, reader: Any, grid: _Grid, margin: int, n_iter: int, min_size_fraction: float, masks: Any = None
    ) -> None:
        self.reader, self.margin, self.n_iter, self.width, self.masks = reader, margin, n_iter, grid.width, masks
        self.settings = refine_settings(grid.height * grid.width, grid.n_cells, min_size_fraction)

    def band(self, above: np.ndarray | None, labels: np.ndarray, below: np.ndarray | None, top: int) -> np.ndarray:
        """Refined labels (the same ids) of the rows ``labels`` from row ``top``. With masks, only
        the pixels inside move (and only onto pixels inside); the others keep their labels, which
        connectivity then needs to tell where a superpixel the mask border cuts mostly lies."""
        up = 0 if above is None else min(self.margin, above.shape[0])
        down = 0 if below is None else min(self.margin, below.shape[0])
        parts = ([above[above.shape[0] - up :]] if up else []) + [labels] + ([below[:down]] if down else [])
        window = np.concatenate(parts) if len(parts) > 1 else labels
        r0, r1 = top - up, top + labels.shape[0] + down
        inside = None if self.masks is None else self.masks.read(r0, r1, 0, self.width)
        if inside is not None and not inside.any():
            return labels
        # ids of a window are a narrow range: statistics for that range only
        base = int(window.min() if inside is None else window[inside].min())
        local = window - base if inside is None else np.where(inside, window - base, OUTSIDE)
        rgb = self.reader.read(r0, r1, 0, self.width)
        refined = refine_labels(rgb, local, n_iter=self.n_iter, row_offset=r0, **self.settings)
        core = refined[up : up + labels.shape[0]]
        core += base
        if inside is not None:
            core = np.where(inside[up : up + labels.shape[0]], core, labels)
        return core


def _refined(bands: Bands, refinement: _Refinement, start: int = 0) -> Bands:
    """Refinement band by band, each with its neighbours' rows as context (from row ``start``)."""
    for above, top, band, below in _with_neighbours(bands):
        if top >= start:
            yield top, refinement.band(above, band, below, top)


def segment_file(
    input_path: str | os.PathLike,
    output_path: str | os.PathLike,
    method: str = "pcnet",
    n_segments: int | None = None,
    tile: int = AUTO_TILE,
    progress: bool = False,
    *,
    checkpoint: str | os.PathLike | None = None,
    device: str = "cpu",
    halo: int = 64,
    min_size_fraction: float = MIN_SIZE_FRACTION,
    refine: bool = True,
    refine_iter: int | None = None,
    refine_margin: int | None = None,
    chunk: int | None = None,
    margin_cells: int = 4,
    block: int = 4096,
    out_tile: int | None = None,
    compression: str = "zlib",
    segmenter: Any = None,
    mask: Any = None,
    quicklook: str | os.PathLike | None = None,
    level: int = 0,
) -> dict[str, Any]:
    """Superpixels of an image file too large for memory, written as a tiled BigTIFF label map.

    Args:
        input_path: a tiled or stripped TIFF / BigTIFF (read in windows), or any image small enough
            to read whole (:data:`pcnet.io.tiff.MAX_WHOLE_PIXELS`); a larger JPEG/PNG is refused
            with how to convert it.
        output_path: the label map: int32 ids 0..K-1, 4-connected, tiled (``out_tile``), compressed
            (``compression``) BigTIFF. Finished rows go to ``<output_path>.partial.rows`` with a
            state file, so that a rerun of a killed or failed run with the same input, model and
            settings resumes where it stopped, with the same labels (:mod:`pcnet.methods.resume`);
            the BigTIFF is written at the end (``<output_path>.partial``, then renamed):
            ``output_path`` exists only when complete.
        method: a tileable learned method (``pcnet``, ``scn``).
        n_segments: ``None``: the native grid (K = H·W / 256 for PCNet); else any K up to it (the
            working size as in memory; a fractional factor is resampled band by band exactly as the
            whole image would be: :mod:`pcnet.ops.resample`).
        tile: network tile (network-input pixels, a multiple of the stride): a band is one row of
            tiles (``tile · d`` image rows, d = 4 for PCNet at its native grid); the labels equal
            the in-memory ``Segmenter(tile=tile, halo=halo, refine=refine)``'s.
        progress: a progress bar over bands.
        checkpoint, device: the model file (default: the shipped one) and device.
        halo: network context around each tile (input pixels), as the Segmenter's.
        min_size_fraction: connectivity's minimum size (fraction of the mean superpixel size).
        refine: move the boundaries onto the full-resolution edges, as the in-memory default does
            (module docstring, step 4); ``False``: the network's labels.
        refine_iter: sweeps per refinement round; ``None``: the Segmenter's (the staircase height).
        refine_margin: rows of context above and below each refined chunk (≤ ``chunk``); ``None``:
            two rounds of sweeps plus three cells, ``2 · (2 · refine_iter + 3 · cell)`` rounded up to
            16 (128 at PCNet's native grid).
        chunk: rows refined (and made connected again) at a time; ``None``: the multiple of 1024
            rows that holds the margins (a window of 1024 + 2 · 112 rows refines 1024; measured
            against 512 at 32 MP: 16.6 s against 19.1 s, median of 3), or of 512 rows when 1024
            rows exceed :data:`CHUNK_PIXELS` (at 40 000 px wide, 1024 took the 1 GP peak from 3.5
            to 4.5 GB).
        margin_cells: cell rows/columns of context around each connectivity window (≥ 2).
        block: columns (full-resolution pixels) of one connectivity window's core.
        out_tile: TIFF tile side of the output; ``None``: 512 or the largest power of two that
            divides the band height.
        compression: ``"zlib"`` or ``"zstd"`` (needs imagecodecs).
        mask: superpixels inside a mask only (−1 outside, 0..K−1 inside, at the grid's density):
            a boolean array or a mask file (nonzero inside) of the image's size or a smaller one
            of the same aspect (a thumbnail's; scaled up by nearest neighbour,
            :class:`~pcnet.io.mask_windows.MaskWindows`), or ``"auto-tissue"``: the tissue of a
            slide, found on a thumbnail (:func:`pcnet.io.tiff.read_thumbnail`, a low pyramid
            level when the file has one) by :func:`pcnet.ops.masks.tissue_mask`. Network tiles with nothing inside are
            not run; refinement moves only pixels inside; connectivity is enforced inside.
        level: the pyramid level of a whole-slide image to segment (0: full resolution;
            :func:`pcnet.io.tiff.image_levels` lists them; negative counts from the smallest).
        quicklook: also write the image downsampled to a long side of at most 4096 px with the
            boundaries drawn (a PNG path: :mod:`pcnet.methods.quicklook`), to see the result
            without a slide viewer.
        segmenter: a loaded :class:`~pcnet.methods.learned.Segmenter` to use instead of loading
            ``method`` (its ``tile``, ``halo``, ``refine``, ``refine_iter`` and
            ``min_size_fraction`` are not read).

    Returns:
        ``{"k", "resumed_from_row", "shape", "n_cells", "refine", "masked", "bands", "seconds",
        "peak_rss_bytes", "output", "seam_mismatch_pixels", "seam_missing_ids"}``: K written (inside
        the mask), the first row computed (0 unless resumed), (H, W), grid cells, refined, masked, bands,
        wall time, the process's peak RSS, the output path, and two exactness checks (0 when every
        window agreed with its neighbours).
    """
    start = time.perf_counter()
    check(isinstance(refine, bool), f"refine must be true or false; got {refine!r}")
    check_fraction(min_size_fraction, "min_size_fraction")
    if refine_margin is not None:
        refine_margin = check_int(refine_margin, "refine_margin (rows)", minimum=0)
    if refine_iter is not None:
        refine_iter = check_int(refine_iter, "refine_iter", minimum=1)
    margin_cells = check_int(margin_cells, "margin_cells", minimum=2)
    block = check_int(block, "block (pixels)", minimum=16)
    check(compression in ("zlib", "zstd"), f"compression must be 'zlib' or 'zstd'; got {compression!r}")
    output_path = Path(output_path).expanduser()
    check(output_path.suffix.lower() in (".tif", ".tiff"), f"the output must be a .tif file; got {output_path}")
    if segmenter is None:
        from pcnet.methods.learned import load_segmenter

        segmenter = load_segmenter(checkpoint, method, device, refine=False)
    model = segmenter.model
    model.eval()
    check(
        mask is None or not isinstance(mask, str) or mask == "auto-tissue" or Path(mask).expanduser().is_file(),
        f"mask={mask!r} is neither a mask file nor 'auto-tissue'; pass an array, a mask image or 'auto-tissue'",
    )
    reader = open_windows(input_path, level=level, cache_rows=2)  # bands overlap by their halos
    masks = None
    rereader = None  # the refinement's own reader (its windows overlap each other, not the bands)
    try:
        height, width = reader.shape
        if n_segments is not None:
            n_segments = check_n_segments(n_segments, height * width)
        grid = _grid(model, height, width, n_segments, min_size_fraction)
        stride = model.backbone.stride
        tile = check_int(tile, "tile (network-input pixels)", minimum=stride, multiple_of=stride)
        halo = check_int(halo, "halo (network-input pixels)", minimum=0, multiple_of=stride)
        band_h = math.floor(grid.factor * tile)  # full-resolution rows of a band (the last may be fewer)
        margin = margin_cells * math.ceil(grid.cell_pixels)
        check(margin <= band_h, f"margin_cells={margin_cells} exceeds a band ({band_h} rows); raise tile")
        out_tile = 512 if out_tile is None else check_int(out_tile, "out_tile", minimum=16, multiple_of=16)
        n_iter = refine_iter or max(2, math.ceil(grid.factor))  # the Segmenter's: the staircase height
        if refine_margin is None:  # a pixel's result depends on the superpixels within two rounds of sweeps
            refine_margin = 16 * math.ceil(2 * (2 * n_iter + 3 * grid.cell_pixels) / 16)
        if chunk is None:
            # 1024 rows where a chunk's window stays within CHUNK_PIXELS, 512 on wider images (peak memory)
            rows = 1024 if 1024 * width <= CHUNK_PIXELS else 512
            chunk = rows * math.ceil(max(refine_margin if refine else 0, margin) / rows)
        chunk = check_int(chunk, "chunk (rows)", minimum=16)
        check(
            refine_margin <= chunk or not refine,
            f"refine_margin ({refine_margin}) must not exceed chunk ({chunk}): raise chunk",
        )
        check(
            not (refine or mask is not None) or margin <= chunk,
            f"chunk ({chunk} rows) must hold margin_cells={margin_cells} ({margin} rows); raise chunk",
        )
        bands = list(tiles(grid.in_h, tile, halo, stride))
        if isinstance(mask, str) and mask == "auto-tissue":
            from pcnet.io.tiff import read_thumbnail
            from pcnet.ops.masks import tissue_mask

            mask = tissue_mask(read_thumbnail(input_path, min_side=1024))
        if mask is not None:
            masks = MaskWindows(mask, height, width)
        connectivity = _Connectivity(grid, margin, block)
        reconnected = _Connectivity(grid, margin, block, masks)

        def cell_bands(first: int) -> Bands:
            from tqdm.auto import tqdm

            for rows in tqdm(bands[first:], desc="bands", unit="band", disable=not progress):
                with segmenter.autocast():  # the in-memory path's precision, so the labels match
                    yield grid.rows(rows[2], rows[3])[0], _band_cells(model, reader, grid, rows, tile, halo, masks)

        final = reconnected if refine or masks is not None else connectivity  # the stage that numbers the output
        settings = (method, n_segments, tile, halo, min_size_fraction, refine, refine_iter, refine_margin, chunk)
        settings += (margin_cells, block, out_tile, compression, getattr(segmenter, "precision", None), level)
        run = PartialRun(output_path, width, _run_key(input_path, model, mask, settings))
        output_path.parent.mkdir(parents=True, exist_ok=True)
        partial = partial_path(output_path)
        partial.unlink(missing_ok=True)  # a BigTIFF left half-written by a killed run
        saved = run.load()
        resume = run.rows_done
        if saved is not None:
            final.restore(saved)
        # a resumed run recomputes the context above its first row: the bands (network) and
        # chunks (refinement) that the next rows' windows read
        context = resume if final is connectivity else max(resume - (2 if refine else 1) * chunk, 0)
        first = max(0, next(i for i, rows in enumerate(bands) if grid.rows(rows[2], rows[3])[1] > context) - 1)
        if resume < height:
            labelled = _connected(cell_bands(first), connectivity, resume if final is connectivity else 0)
            if final is reconnected:
                kept = bands[first + (first > 0)]
                chunks = _chunks(_from_row(labelled, grid.rows(kept[2], kept[3])[0]), chunk)
                if refine:
                    rereader = (
                        open_windows(input_path, level=level, cache_rows=3)
                        if isinstance(reader, TiffWindows)
                        else reader
                    )
                    refinement = _Refinement(rereader, grid, refine_margin, n_iter, min_size_fraction, masks)
                    chunks = _refined(chunks, refinement, max(resume - chunk, 0))
                labelled = _connected(chunks, reconnected, resume)
            for _, labels in labelled:
                run.append(labels, final.state())
        look = None if quicklook is None else QuickLook(height, width)

        def tiles_out() -> Iterator[np.ndarray]:
            top = 0
            for labels in run.read(out_tile):
                if look is not None:
                    look.add(top, reader.read(top, top + labels.shape[0], 0, width), labels)
                top += labels.shape[0]
                yield from iter_tiles(labels, out_tile)

        try:
            write_tiled(
                partial,
                tiles_out(),
                (height, width),
                np.int32,
                tile=out_tile,
                compression=compression,
                description=f"pcnet superpixels ({method}, streaming, refine={refine}) of {Path(input_path).name}",
                extratags=geotiff_tags(input_path) if level == 0 else (),  # a GeoTIFF's georeferencing
            )
            if look is not None:
                look.write(Path(quicklook).expanduser())
            os.replace(partial, output_path)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
        run.remove()
    finally:
        reader.close()
        if rereader is not None and rereader is not reader:
            rereader.close()
        if masks is not None:
            masks.close()
    return {
        "k": int(final.next_id),
        "resumed_from_row": resume,
        "shape": (height, width),
        "n_cells": grid.n_cells,
        "refine": refine,
        "masked": mask is not None,
        "bands": len(bands),
        "seconds": time.perf_counter() - start,
        "peak_rss_bytes": peak_rss_bytes(),
        "output": str(output_path),
        "seam_mismatch_pixels": connectivity.mismatch + reconnected.mismatch,
        "seam_missing_ids": connectivity.missing + reconnected.missing,
    }

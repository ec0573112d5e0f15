"""Tiled inference: cut the network input into overlapping tiles aligned to the network's stride.

Tiled inference runs the network on overlapping tiles of the (low-resolution) input and keeps
only each tile's core, so peak memory is bounded by the tile size whatever the image size, and
cell ids are global: the label map is the same as the untiled one except where the halo is too
small for the network's receptive field (see ``tests/test_inference.py``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from typing import Any

import numpy as np

from pcnet._checks import check, is_int

__all__ = ["AUTO_TILE", "AUTO_TILE_INPUT", "AUTO_TILE_OUTPUT", "check_tile", "tiled_cells", "tiles"]

#: the network tile of ``tile="auto"`` (input pixels, + the halo): at 25 MP, 2 threads, the network
#: took 4.22 / 3.28 / 3.41 / 3.99 s with tiles of 256 / 512 / 768 / 1024 and peaked at 1.00 / 1.47 /
#: 1.65 / 2.09 GB (``python -m pcnet.benchmark stages --megapixels 25 --no-refine --tiles 256 512 768 1024``)
AUTO_TILE = 512
#: ``tile="auto"`` tiles when the association map exceeds this many pixels (its logits take 36 B/px)
AUTO_TILE_OUTPUT = 16_000_000
#: ... or when the network input does (activations at input resolution dominate SCN's memory)
AUTO_TILE_INPUT = 4_000_000


def tiles(length: int, tile: int, halo: int, align: int) -> Iterator[tuple[int, int, int, int]]:
    """Cut ``[0, length)`` into cores of ``tile`` with ``halo`` context on both sides.

    Yields ``(start, stop, core_start, core_stop)``: the crop to run and, inside the image, the
    core it is responsible for. Starts are multiples of ``align`` (the network's stride), so every
    tile sees the same convolution grid as the whole image.

    Example:
        >>> list(tiles(100, 48, 16, 16))
        [(0, 64, 0, 48), (32, 100, 48, 96), (80, 100, 96, 100)]
    """
    check(tile % align == 0 and halo % align == 0, f"tile {tile} and halo {halo} must be multiples of {align}")
    for core in range(0, length, tile):
        yield max(core - halo, 0), min(core + tile + halo, length), core, min(core + tile, length)


def check_tile(tile: Any) -> None:
    """Reject a ``tile`` setting other than ``None``, ``"auto"`` or a multiple of 16 ≥ 16."""
    check(
        tile is None or tile == "auto" or (is_int(tile) and tile >= 16 and tile % 16 == 0),
        f"tile must be null (whole image), 'auto' or a positive multiple of 16 (input pixels); got {tile!r}",
    )


def tiled_cells(
    model: Any,
    x: Any,
    cell_size: int,
    tile: int,
    halo: int,
    input_size: tuple[int, int],
    rows: tuple[int, int, int, int] | None = None,
    stage: Callable[[str], AbstractContextManager[Any]] | None = None,
    progress: bool = False,
    skip: Callable[[int, int, int, int], bool] | None = None,
) -> np.ndarray:
    """Global hard cell ids (int32) of a tileable model's association, tile by tile.

    ``x`` is the network input of the whole image (``input_size`` = its ``(h, w)``), or with
    ``rows = (y0, y1, core_y0, core_y1)`` (one row of :func:`tiles`, in whole-input rows) only
    rows ``y0:y1`` of it: then only the core rows' cells come back (a band of the streamed path).
    Each tile's scores are cut to its core and turned into ids of the whole image's grid, so the
    map is the same however it is cut. ``stage(name)`` wraps the ``"network"`` and ``"hard
    labels"`` steps (timing hooks). ``skip(cy0, cy1, cx0, cx1)`` (a tile's core, input pixels):
    true for a tile whose cells are not needed (outside a mask): the network does not run there and
    its pixels take the ids of the grid cells they lie in (superpixels as local as the network's,
    so that connectivity windows stay exact)."""
    import torch
    from tqdm.auto import tqdm

    from pcnet.ops.grid import grid_shape

    stage = stage or (lambda name: contextlib.nullcontext())
    stride, u, f = model.backbone.stride, model.upscale, model.scores_scale
    in_h, in_w = input_size
    out_size = (u * in_h, u * in_w)
    grid_cols = grid_shape(*out_size, cell_size)[1]
    row_boxes = [rows] if rows is not None else list(tiles(in_h, tile, halo, stride))
    first = row_boxes[0][0]  # the whole-input row of x's first row
    top_row = row_boxes[0][2]
    cells = np.empty((u * (row_boxes[-1][3] - top_row), out_size[1]), dtype=np.int32)
    boxes = [(r, c) for r in row_boxes for c in tiles(in_w, tile, halo, stride)]
    with torch.no_grad():
        for (y0, y1, cy0, cy1), (x0, x1, cx0, cx1) in tqdm(boxes, desc="tiles", disable=not progress, leave=False):
            if skip is not None and skip(cy0, cy1, cx0, cx1):  # the grid's own cells: local, like the network's
                top = u * (cy0 - top_row)
                rows = np.arange(u * cy0, u * cy1) // cell_size
                cols = np.arange(u * cx0, u * cx1) // cell_size
                cells[top : top + rows.size, u * cx0 : u * cx1] = rows[:, None] * grid_cols + cols[None, :]
                continue
            with stage("network"):
                scores = model.inference_scores(x[..., y0 - first : y1 - first, x0:x1], cell_size)
            core = scores[..., f * (cy0 - y0) : f * (cy1 - y0), f * (cx0 - x0) : f * (cx1 - x0)]
            with stage("hard labels"):
                ids = model.cells_from_scores(core, cell_size, origin=(u * cy0, u * cx0), image_size=out_size)[0]
                top = u * (cy0 - top_row)
                cells[top : top + ids.shape[0], u * cx0 : u * cx0 + ids.shape[1]] = ids.cpu().numpy()
    return cells

"""Tiled inference: cut the network input into overlapping tiles aligned to the network's stride.

Tiled inference runs the network on overlapping tiles of the (low-resolution) input and keeps
only each tile's core, so peak memory is bounded by the tile size whatever the image size, and
cell ids are global: the label map is the same as the untiled one except where the halo is too
small for the network's receptive field (see ``tests/test_inference.py``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from pcnet._checks import check, is_int

__all__ = ["AUTO_TILE_INPUT", "AUTO_TILE_OUTPUT", "check_tile", "tiles"]

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

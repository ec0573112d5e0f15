"""Superpixel operations: the cell grid, association pooling, hard labels, connectivity."""

from pcnet.ops.association import (
    from_cells,
    neighbor_cells,
    pool,
    reconstruct,
    to_cells,
    unpool,
)
from pcnet.ops.boundaries import find_boundaries
from pcnet.ops.color import rgb_to_lab
from pcnet.ops.connectivity import MIN_SIZE_FRACTION, connected_components, enforce_connectivity
from pcnet.ops.grid import (
    NEIGHBOR_OFFSETS,
    OWN_CELL,
    cell_index_map,
    cell_neighbors,
    cell_size_for,
    grid_shape,
    n_segments_for,
    pixel_neighbor_cells,
)
from pcnet.ops.labels import hard_labels
from pcnet.ops.refine import refine_labels, refine_superpixels
from pcnet.ops.slic import neighbor_sq_distances, soft_slic

__all__ = [
    "MIN_SIZE_FRACTION",
    "NEIGHBOR_OFFSETS",
    "OWN_CELL",
    "cell_index_map",
    "cell_neighbors",
    "cell_size_for",
    "connected_components",
    "enforce_connectivity",
    "from_cells",
    "find_boundaries",
    "grid_shape",
    "hard_labels",
    "n_segments_for",
    "neighbor_cells",
    "neighbor_sq_distances",
    "pixel_neighbor_cells",
    "pool",
    "reconstruct",
    "refine_labels",
    "refine_superpixels",
    "rgb_to_lab",
    "soft_slic",
    "to_cells",
    "unpool",
]

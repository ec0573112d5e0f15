"""Superpixel operations: the cell grid, association pooling, hard labels, connectivity, boundaries,
refinement, soft SLIC, colour and drawing. Names load on first use (NumPy-only ops never import PyTorch)."""

from pcnet._lazy import lazy_exports

#: public name -> the module that owns it
_EXPORTS = {
    "MIN_SIZE_FRACTION": "pcnet.ops.connectivity",
    "NEIGHBOR_OFFSETS": "pcnet.ops.grid",
    "OWN_CELL": "pcnet.ops.grid",
    "cell_index_map": "pcnet.ops.grid",
    "cell_neighbors": "pcnet.ops.grid",
    "cell_size_for": "pcnet.ops.grid",
    "connected_components": "pcnet.ops.connectivity",
    "enforce_connectivity": "pcnet.ops.connectivity",
    "find_boundaries": "pcnet.ops.boundaries",
    "from_cells": "pcnet.ops.association",
    "grid_shape": "pcnet.ops.grid",
    "hard_labels": "pcnet.ops.labels",
    "n_segments_for": "pcnet.ops.grid",
    "neighbor_cells": "pcnet.ops.association",
    "neighbor_sq_distances": "pcnet.ops.slic",
    "pixel_neighbor_cells": "pcnet.ops.grid",
    "pool": "pcnet.ops.association",
    "reconstruct": "pcnet.ops.association",
    "refine_labels": "pcnet.ops.refine",
    "refine_superpixels": "pcnet.ops.refine",
    "rgb_to_lab": "pcnet.ops.color",
    "soft_slic": "pcnet.ops.slic",
    "to_cells": "pcnet.ops.association",
    "unpool": "pcnet.ops.association",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

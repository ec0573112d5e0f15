"""Classical superpixel baselines (skimage and OpenCV) behind one signature.

Call them through :func:`pcnet.api.superpixels` (``method="slic"``, ``"slico"``, ...), which
validates the input and makes the output 4-connected and numbered 0..K-1.
"""

from pcnet.baselines.classical import (
    CLASSICAL_METHODS,
    HAS_XIMGPROC,
    OPENCV_FIX,
    felzenszwalb,
    grid_labels,
    lsc,
    require_ximgproc,
    seeds,
    seeds_grid,
    slic,
    slic_cv,
    slico,
    watershed,
)

__all__ = [
    "CLASSICAL_METHODS",
    "HAS_XIMGPROC",
    "OPENCV_FIX",
    "felzenszwalb",
    "grid_labels",
    "lsc",
    "require_ximgproc",
    "seeds",
    "seeds_grid",
    "slic",
    "slic_cv",
    "slico",
    "watershed",
]

"""Image → labels behind one signature: the registry behind :func:`pcnet.superpixels`, the
classical methods, and the learned ones (a :class:`Segmenter` per loaded model, tiled inference)."""

from pcnet.methods.learned import Segmenter, load_segmenter
from pcnet.methods.registry import (
    available_methods,
    check_options,
    is_connected,
    method_options,
    register_method,
    superpixels,
)

__all__ = [
    "Segmenter",
    "available_methods",
    "check_options",
    "is_connected",
    "load_segmenter",
    "method_options",
    "register_method",
    "superpixels",
]

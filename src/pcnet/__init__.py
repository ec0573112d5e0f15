"""pcnet: learned superpixels for high-resolution images.

``pcnet.superpixels(image, n_segments, method=...)`` is the one call for every method;
:mod:`pcnet.ops`, :mod:`pcnet.metrics`, :mod:`pcnet.models` and :mod:`pcnet.losses` hold the parts.
The names below load on first use, so ``import pcnet`` stays fast (PyTorch loads with them).
"""

from __future__ import annotations

from pcnet._lazy import lazy_exports

__version__ = "0.1.0"

#: public name -> the module that owns it
_EXPORTS = {
    "available_methods": "pcnet.methods.registry",
    "load_segmenter": "pcnet.methods.learned",
    "method_options": "pcnet.methods.registry",
    "register_method": "pcnet.methods.registry",
    "segment_file": "pcnet.methods.streaming",
    "superpixels": "pcnet.methods.registry",
}

__all__ = ["__version__", *sorted(_EXPORTS)]


__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

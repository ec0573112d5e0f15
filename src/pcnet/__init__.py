"""pcnet: learned superpixels for high-resolution images.

``pcnet.superpixels(image, n_segments, method=...)`` is the one call for every method;
:mod:`pcnet.ops`, :mod:`pcnet.metrics`, :mod:`pcnet.models` and :mod:`pcnet.losses` hold the parts.
"""

from pcnet.api import available_methods, method_options, register_method, superpixels
from pcnet.inference import load_segmenter

__version__ = "0.1.0"

__all__ = ["__version__", "available_methods", "load_segmenter", "method_options", "register_method", "superpixels"]

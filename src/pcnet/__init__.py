"""pcnet: learned superpixels for high-resolution images."""

__version__ = "0.1.0"

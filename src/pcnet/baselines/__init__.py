"""Classical superpixel baselines (skimage and OpenCV) behind one signature.

Call them through :func:`pcnet.api.superpixels` (``method="slic"``, ``"slico"``, ...), which
validates the input and makes the output 4-connected and numbered 0..K-1.
"""

from pcnet.baselines import classical
from pcnet.baselines.classical import *  # the public names: classical.__all__

__all__ = list(classical.__all__)

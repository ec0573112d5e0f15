"""Superpixel benchmark metrics: functional (NumPy) and torchmetrics classes (DDP-exact)."""

from pcnet.metrics import functional, metric
from pcnet.metrics.functional import *  # public names: functional.__all__
from pcnet.metrics.metric import *  # public names: metric.__all__

__all__ = [*functional.__all__, *metric.__all__]

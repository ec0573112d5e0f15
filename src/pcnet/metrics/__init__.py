"""Superpixel benchmark metrics: functional (NumPy) and torchmetrics classes (DDP-exact)."""

from pcnet.metrics.functional import (
    METRIC_NAMES,
    achievable_segmentation_accuracy,
    boundary_precision,
    boundary_recall,
    boundary_tolerance,
    compactness,
    n_superpixels,
    prepare,
    score_prepared,
    superpixel_scores,
    undersegmentation_error,
)
from pcnet.metrics.metric import (
    AchievableSegmentationAccuracy,
    BoundaryPrecision,
    BoundaryRecall,
    Compactness,
    NumberOfSuperpixels,
    SuperpixelMetrics,
    UndersegmentationError,
)

__all__ = [
    "METRIC_NAMES",
    "AchievableSegmentationAccuracy",
    "BoundaryPrecision",
    "BoundaryRecall",
    "Compactness",
    "NumberOfSuperpixels",
    "SuperpixelMetrics",
    "UndersegmentationError",
    "achievable_segmentation_accuracy",
    "boundary_precision",
    "boundary_recall",
    "boundary_tolerance",
    "compactness",
    "n_superpixels",
    "prepare",
    "score_prepared",
    "superpixel_scores",
    "undersegmentation_error",
]

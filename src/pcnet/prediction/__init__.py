"""Prediction: superpixels for folders of files (resumable, atomic writes) and the Lightning/DDP path."""

from pcnet.prediction.files import (
    IMAGE_SUFFIXES,
    PredictionResult,
    find_inputs,
    keep_earlier_rows,
    predict_files,
    predict_one,
    prepare_output,
)

__all__ = [
    "IMAGE_SUFFIXES",
    "PredictionResult",
    "find_inputs",
    "keep_earlier_rows",
    "predict_files",
    "predict_one",
    "prepare_output",
]

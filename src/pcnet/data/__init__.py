"""Datasets: benchmark readers and the synthetic high-resolution generator."""

from pcnet.data.bsds500 import Sample, bsds500_samples
from pcnet.data.synthetic import synthetic_image

__all__ = ["Sample", "bsds500_samples", "synthetic_image"]

"""Training losses: SCN's superpixel loss, PCNet's SR / guidance / discriminative terms and
composite loss, and SSN's loss. Functional first, each with an ``nn.Module`` twin."""

from pcnet.losses.composite import PCNetLoss
from pcnet.losses.discriminative import (
    LocalDiscriminativeLoss,
    local_discriminative_loss,
    two_class_windows,
)
from pcnet.losses.distill import DistillationLoss, distillation_loss
from pcnet.losses.guidance import binary_guidance_mask, longest_boundary_class
from pcnet.losses.sr import SRLoss, boundary_band, sr_loss
from pcnet.losses.ssn import SSNLoss, ssn_loss
from pcnet.losses.superpixel import SuperpixelLoss, superpixel_loss

__all__ = [
    "DistillationLoss",
    "LocalDiscriminativeLoss",
    "PCNetLoss",
    "SRLoss",
    "SSNLoss",
    "SuperpixelLoss",
    "binary_guidance_mask",
    "boundary_band",
    "distillation_loss",
    "local_discriminative_loss",
    "longest_boundary_class",
    "sr_loss",
    "ssn_loss",
    "superpixel_loss",
    "two_class_windows",
]

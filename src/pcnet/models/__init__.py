"""Learned superpixel models (PCNet, SCN, SSN) built through one registry, and their model files."""

from pcnet.models.base import SuperpixelModel
from pcnet.models.files import default_checkpoint, load_model, save_model
from pcnet.models.pcnet import PCNet
from pcnet.models.registry import build, list_models, model_class, register_model
from pcnet.models.scn import SCN
from pcnet.models.ssn import SSN

__all__ = [
    "PCNet",
    "SCN",
    "SSN",
    "SuperpixelModel",
    "build",
    "default_checkpoint",
    "list_models",
    "load_model",
    "model_class",
    "register_model",
    "save_model",
]

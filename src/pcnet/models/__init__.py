"""Learned superpixel models: PCNet, SCN and SSN, built through one registry."""

from pcnet.models.base import SuperpixelModel
from pcnet.models.pcnet import PCNet
from pcnet.models.registry import build, list_models, register_model
from pcnet.models.scn import SCN
from pcnet.models.ssn import SSN

__all__ = ["PCNet", "SCN", "SSN", "SuperpixelModel", "build", "list_models", "register_model"]

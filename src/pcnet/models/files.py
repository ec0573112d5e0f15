"""Model files: what inference needs of a trained network, and the files shipped with pcnet.

A *model file* (``.pt``) holds::

    {"format": "pcnet-model/1", "model": "pcnet", "config": {...constructor kwargs...},
     "state_dict": {...fp16 or fp32 tensors...}, "meta": {...training command, metrics...}}

Lightning checkpoints written by ``python -m pcnet.train`` load too (the module stores the
network's name and config in them). Shipped files live in ``pcnet/models/weights/<name>.pt``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from pcnet._checks import InputError, check
from pcnet.io import atomic_path
from pcnet.models.base import SuperpixelModel
from pcnet.models.registry import build, list_models

__all__ = ["FORMAT", "WEIGHTS", "default_checkpoint", "load_model", "save_model"]

FORMAT = "pcnet-model/1"
#: the folder of the model files shipped with pcnet
WEIGHTS = Path(__file__).parent / "weights"


def default_checkpoint(method: str) -> Path | None:
    """The model file shipped with the package for ``method``, if any."""
    path = WEIGHTS / f"{method}.pt"
    return path if path.is_file() else None


def save_model(
    path: str | os.PathLike, model: SuperpixelModel, meta: Mapping[str, Any] | None = None, half: bool = True
) -> Path:
    """Write a model file (fp16 weights by default: half the size, same superpixels)."""
    check(
        hasattr(model, "build_config"), "save_model needs a model built with pcnet.models.build (it records the config)"
    )
    state = {k: (v.half() if half and v.is_floating_point() else v).cpu() for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "model": model.model_name,
        "config": dict(model.build_config),
        "state_dict": state,
        "meta": dict(meta or {}),
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_model(
    path: str | os.PathLike, device: str | torch.device = "cpu", expect: str | None = None
) -> SuperpixelModel:
    """Load a model file or a ``pcnet.train`` Lightning checkpoint, in evaluation mode.

    A model name (``"scn"``) that is not a file names the model file shipped for it.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a pcnet model/checkpoint, corrupt, or of another model kind than ``expect``.
    """
    path = Path(path)
    shipped = default_checkpoint(str(path)) if not path.is_file() and str(path) in list_models() else None
    path = shipped or path
    if not path.is_file():
        raise FileNotFoundError(f"no such checkpoint: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a bad file
        raise InputError(
            f"cannot read checkpoint {path}: not a PyTorch file or corrupt ({type(err).__name__})"
        ) from None
    if isinstance(payload, dict) and payload.get("format") == FORMAT:
        name, config, state = payload["model"], payload["config"], payload["state_dict"]
    elif isinstance(payload, dict) and "pcnet_model" in payload:  # a Lightning checkpoint of SuperpixelModule
        name, config = payload["pcnet_model"]["name"], payload["pcnet_model"]["config"]
        state = {k[len("net.") :]: v for k, v in payload["state_dict"].items() if k.startswith("net.")}
    else:
        raise InputError(f"{path} is not a pcnet model file or pcnet.train checkpoint (expected format {FORMAT!r})")
    check(name in list_models(), f"{path} holds an unknown model {name!r}; valid models: {list_models()}")
    check(
        expect is None or name == expect,
        f"{path} holds a {name!r} model, not {expect!r}: pass method={name!r} or a {expect} checkpoint",
    )
    model = build(name, **config)
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as err:
        raise InputError(
            f"checkpoint {path} does not match a {name!r} model with config {config}: {str(err).splitlines()[0]}"
        ) from None
    return model.to(device).eval()

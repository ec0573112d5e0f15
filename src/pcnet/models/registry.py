"""A small model registry: ``build(name, **kwargs)`` is the one door to every learned method."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from torch import nn

from pcnet._checks import check

__all__ = ["build", "list_models", "model_class", "register_model"]

_MODELS: dict[str, type[nn.Module]] = {}
M = TypeVar("M", bound=type[nn.Module])


def register_model(name: str) -> Callable[[M], M]:
    """Class decorator adding a model to the registry under ``name``."""

    def add(cls: M) -> M:
        check(name not in _MODELS, f"a model named {name!r} is already registered")
        _MODELS[name] = cls
        cls.model_name = name
        return cls

    return add


def list_models() -> list[str]:
    """Names accepted by :func:`build`."""
    return sorted(_MODELS)


def model_class(name: str) -> type[nn.Module]:
    """The registered class of ``name``: its class attributes say what training needs
    (``loss_type``, ``crop_mode``) and how inference runs it (``upscale``, ``tileable``)."""
    check(name in _MODELS, f"unknown model {name!r}; valid models: {list_models()}")
    return _MODELS[name]


def build(name: str, **kwargs: Any) -> nn.Module:
    """Instantiate a registered model with its constructor arguments.

    The arguments are kept as ``model.build_config`` so that model files can rebuild it.

    Example:
        >>> build("pcnet").model_name
        'pcnet'
    """
    model = model_class(name)(**kwargs)
    # plain Python values (Hydra passes ListConfig), so checkpoints load with weights_only=True
    model.build_config = {
        key: list(v) if isinstance(v, Sequence) and not isinstance(v, str) else v for key, v in kwargs.items()
    }
    return model

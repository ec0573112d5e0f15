"""Shared behaviour of the command-line entry points."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from pcnet._checks import InputError, check

__all__ = ["USER_ERRORS", "config_mapping", "instantiate", "run_cli"]

T = TypeVar("T")

#: Exceptions that mean "the input is wrong", reported as one line instead of a traceback.
USER_ERRORS = (InputError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)

log = logging.getLogger("pcnet")


def instantiate(config: Any, **kwargs: Any) -> Any:
    """``hydra.utils.instantiate`` that lets a user error raised by the target surface as itself,
    not wrapped in Hydra's ``InstantiationException``."""
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate as hydra_instantiate

    try:
        return hydra_instantiate(config, **kwargs)
    except InstantiationException as err:
        cause = err.__cause__
        while isinstance(cause, InstantiationException):
            cause = cause.__cause__
        if isinstance(cause, USER_ERRORS):
            raise cause from None
        raise


def config_mapping(value: Any, name: str, example: str) -> dict[str, Any]:
    """A config value that must be a mapping (or null, read as empty), as a plain resolved dict."""
    from omegaconf import DictConfig, OmegaConf

    check(value is None or isinstance(value, DictConfig), f"{name} must be a mapping, e.g. {example}; got {value!r}")
    return OmegaConf.to_container(value, resolve=True) if value else {}


def run_cli(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn``; on a user error print ``error: <message>`` to stderr and exit with status 2."""
    try:
        return fn(*args, **kwargs)
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None

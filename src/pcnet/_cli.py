"""Shared behaviour of the command-line entry points."""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any, TypeVar

from pcnet._checks import InputError

__all__ = ["USER_ERRORS", "run_cli"]

T = TypeVar("T")

#: Exceptions that mean "the input is wrong", reported as one line instead of a traceback.
USER_ERRORS = (InputError, FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)

log = logging.getLogger("pcnet")


def run_cli(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Call ``fn``; on a user error print ``error: <message>`` to stderr and exit with status 2."""
    try:
        return fn(*args, **kwargs)
    except USER_ERRORS as err:
        print(f"error: {err}", file=sys.stderr)
        raise SystemExit(2) from None

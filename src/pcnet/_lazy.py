"""Lazy package exports: a package's public names load their module on first use, so importing
the package stays cheap (``import pcnet`` imports no PyTorch; the classical methods never do)."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, exports: Mapping[str, str]) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``__getattr__`` and ``__dir__`` for ``package`` whose ``exports`` map a public name to the
    module that owns it.

    Example:
        >>> getattr_, _ = lazy_exports("pcnet.ops", {"hard_labels": "pcnet.ops.labels"})
        >>> getattr_("hard_labels").__name__
        'hard_labels'
    """

    def __getattr__(name: str) -> Any:
        if name not in exports:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(exports[name]), name)
        setattr(importlib.import_module(package), name, value)  # the next lookup is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted({*vars(importlib.import_module(package)), *exports})

    return __getattr__, __dir__

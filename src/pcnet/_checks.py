"""Input checks with messages that name the argument, what it got and what it needs.

Every public entry point validates its inputs with these helpers before any heavy work runs, so a
user sees one readable ``ValueError`` instead of a traceback from deep inside NumPy, OpenCV or a
convolution.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

__all__ = [
    "InputError",
    "check",
    "check_finite",
    "check_fraction",
    "check_int",
    "check_label_map",
    "check_n_segments",
    "check_shape",
    "describe",
    "is_int",
    "is_tensor",
]


def is_tensor(x: Any) -> bool:
    """Whether ``x`` is a ``torch.Tensor``, without importing PyTorch (a tensor exists only once
    torch is imported, so ``import pcnet`` and the classical methods stay free of it)."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


class InputError(ValueError):
    """Bad user input: the message names the problem and the fix. CLIs print it as one line."""


def describe(x: Any) -> str:
    """Short ``shape``/``dtype`` description of an array-like for error messages."""
    if isinstance(x, np.ndarray) or is_tensor(x):
        return f"shape {tuple(x.shape)}, dtype {x.dtype}"
    return f"type {type(x).__name__}"


def check(condition: bool, message: str) -> None:
    """Raise :class:`InputError` (a ``ValueError``) with ``message`` when ``condition`` is false."""
    if not condition:
        raise InputError(message)


def is_int(value: Any) -> bool:
    """True for Python and NumPy integers, False for bools (``True`` is not a count)."""
    import numbers

    return isinstance(value, numbers.Integral) and not isinstance(value, (bool, np.bool_))


def check_int(value: Any, name: str, minimum: int = 0, multiple_of: int = 1) -> int:
    """An integer ``>= minimum`` and a multiple of ``multiple_of``, returned as ``int``."""
    rule = f"an integer >= {minimum}" + (f" and a multiple of {multiple_of}" if multiple_of > 1 else "")
    check(is_int(value) and value >= minimum and value % multiple_of == 0, f"{name} must be {rule}; got {value!r}")
    return int(value)


def check_fraction(value: Any, name: str) -> float:
    """A real number in ``[0, 1)``, returned as ``float``."""
    import numbers

    check(
        isinstance(value, numbers.Real) and not isinstance(value, (bool, np.bool_)) and 0.0 <= float(value) < 1.0,
        f"{name} must lie in [0, 1); got {value!r}",
    )
    return float(value)


def check_n_segments(n_segments: Any, n_pixels: int | None = None) -> int:
    """A requested number of superpixels: a positive integer (bools and floats rejected), at most
    the number of pixels when that is given. Returns it as ``int``."""
    check(
        is_int(n_segments) and n_segments >= 1,
        f"n_segments must be a positive integer; got {n_segments!r} ({type(n_segments).__name__})",
    )
    check(
        n_pixels is None or n_segments <= n_pixels,
        f"n_segments={n_segments} exceeds the number of pixels ({n_pixels}); ask for fewer superpixels",
    )
    return int(n_segments)


def check_shape(x: Any, dims: Sequence[str | int], name: str = "input") -> None:
    """Check the number of dimensions and any fixed sizes of ``x``.

    ``dims`` lists one entry per dimension: a letter for a free size (``"B"``, ``"H"``) or an int
    for a fixed one, e.g. ``["B", 9, "H", "W"]``.

    Example:
        >>> import torch
        >>> check_shape(torch.zeros(2, 9, 4, 4), ["B", 9, "H", "W"], "assoc")
        >>> check_shape(torch.zeros(2, 8, 4, 4), ["B", 9, "H", "W"], "assoc")
        Traceback (most recent call last):
        ...
        pcnet._checks.InputError: assoc must have shape (B, 9, H, W); got shape (2, 8, 4, 4), dtype torch.float32
    """
    expected = "(" + ", ".join(str(d) for d in dims) + ")"
    shape = tuple(getattr(x, "shape", ()))
    ok = len(shape) == len(dims) and all(isinstance(d, str) or s == d for s, d in zip(shape, dims))
    check(ok, f"{name} must have shape {expected}; got {describe(x)}")


def check_finite(x: np.ndarray | Any, name: str = "input") -> None:
    """Reject NaN or infinite values (integer arrays always pass)."""
    if is_tensor(x):
        finite = bool(x.isfinite().all()) if x.is_floating_point() else True
    else:
        finite = bool(np.isfinite(x).all()) if np.issubdtype(x.dtype, np.floating) else True
    check(finite, f"{name} contains NaN or infinite values ({describe(x)}); clean or mask them first")


def check_label_map(labels: Any, name: str = "labels") -> np.ndarray:
    """Validate a 2-D map of non-negative integer labels and return it as a NumPy array.

    Accepts NumPy arrays and CPU/GPU tensors of any integer dtype (and bool).
    """
    if is_tensor(labels):
        labels = labels.detach().cpu().numpy()
    check(
        isinstance(labels, np.ndarray),
        f"{name} must be a 2-D integer array (H, W); got {describe(labels)}",
    )
    check(
        labels.ndim == 2 and labels.size > 0,
        f"{name} must be a non-empty 2-D integer array (H, W); got {describe(labels)}",
    )
    check(
        np.issubdtype(labels.dtype, np.integer) or labels.dtype == np.bool_,
        f"{name} must hold integer labels; got {describe(labels)} (round or cast with .astype(np.int32))",
    )
    if np.issubdtype(labels.dtype, np.signedinteger):
        check(
            int(labels.min()) >= 0,
            f"{name} must hold non-negative labels; got minimum {int(labels.min())} ({describe(labels)})",
        )
    return labels

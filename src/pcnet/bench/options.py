"""Command-line pieces the benchmark suites share: argparse types that reject nonsense before
anything runs, and the options several suites take, each defined once.

Light on purpose (no NumPy, no PyTorch): suites that keep their heavy imports inside functions show
``--help`` without loading them.
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

__all__ = [
    "COUNT",
    "NON_NEGATIVE",
    "POSITIVE",
    "add_batch_size",
    "add_csv",
    "add_dataset",
    "add_limit",
    "add_models",
    "add_n_segments",
    "add_threads",
    "bounded",
]


def bounded(kind: type, low: float, *, strict: bool = False) -> Callable[[str], Any]:
    """argparse type: a ``kind`` (int or float) at least ``low`` (greater than it when ``strict``)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {low}; got {text}")
        return value

    parse.__name__ = kind.__name__
    parse.__doc__ = f"Parse {'an integer' if kind is int else 'a finite number'} {'>' if strict else '>='} {low}."
    return parse


#: an integer >= 1
COUNT = bounded(int, 1)
#: an integer >= 0
NON_NEGATIVE = bounded(int, 0)
#: a finite number > 0
POSITIVE = bounded(float, 0, strict=True)


def add_csv(parser: argparse.ArgumentParser, default: Path | None = None) -> None:
    """``--csv``: where the suite writes its table; without a default, only when given."""
    parser.add_argument("--csv", type=Path, default=default, help=None if default else "also write the table as CSV")


def add_threads(parser: argparse.ArgumentParser) -> None:
    """``--threads``: CPU threads of the measured runs (2)."""
    parser.add_argument("--threads", type=COUNT, default=2)


def add_batch_size(parser: argparse.ArgumentParser) -> None:
    """``--batch-size`` of the training steps (8)."""
    parser.add_argument("--batch-size", type=COUNT, default=8)


def add_models(parser: argparse.ArgumentParser) -> None:
    """``--models``: learned models to measure (all registered ones). Imports :mod:`pcnet.models`."""
    from pcnet.models import list_models

    parser.add_argument("--models", nargs="+", choices=list_models(), default=list(list_models()))


def add_dataset(parser: argparse.ArgumentParser, split: str) -> None:
    """``--root`` (required) and ``--split`` (default ``split``) of a BSDS500-layout folder."""
    parser.add_argument("--root", type=Path, required=True, help="BSDS500 or a make_synthetic folder")
    parser.add_argument("--split", default=split, choices=["train", "val", "test"])


def add_limit(parser: argparse.ArgumentParser, default: int | None) -> None:
    """``--limit``: only the first N images of the split (``None``: all)."""
    parser.add_argument("--limit", type=COUNT, default=default, help="only the first N images")


def add_n_segments(parser: argparse.ArgumentParser) -> None:
    """``--n-segments``: the number of superpixels asked of every method (600)."""
    parser.add_argument("--n-segments", type=COUNT, default=600)

"""Helpers shared by the benchmark suites: timing and CSV output."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from pcnet.io import write_csv

__all__ = ["best_time", "median_time", "write_rows"]

T = TypeVar("T")


def best_time(fn: Callable[[], T], repeat: int) -> tuple[float, T]:
    """Fastest of ``repeat`` runs of ``fn`` (seconds) and its last result."""
    best, out = math.inf, None
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def median_time(fn: Callable[[], Any], repeat: int, warmup: int = 1) -> float:
    """Median wall time of ``repeat`` runs of ``fn`` after ``warmup`` untimed runs."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(max(1, repeat)):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def write_rows(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write benchmark rows as CSV (atomically), creating the folder."""
    return write_csv(path, rows)

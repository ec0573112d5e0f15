"""Helpers shared by the benchmark suites: timing, row averages and CSV output."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from pcnet.io import write_csv

__all__ = ["best_time", "mean_rows", "median_time", "write_rows"]

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


def mean_rows(rows: list[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """One row per distinct value of ``keys``: the mean of every other column but ``id``."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for row in rows:
        groups.setdefault(tuple(row[k] for k in keys), []).append(row)
    out = []
    for key, members in groups.items():
        summary = dict(zip(keys, key))
        for name in members[0]:
            if name not in keys and name != "id":
                summary[name] = float(np.mean([m[name] for m in members]))
        out.append(summary)
    return out


def write_rows(path: str | Path, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write benchmark rows as CSV (atomically), creating the folder."""
    return write_csv(path, rows)

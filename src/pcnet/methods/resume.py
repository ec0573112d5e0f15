"""The on-disk state of a streamed run, so that a killed run resumes where it stopped.

While :func:`pcnet.methods.streaming.segment_file` runs, finished label rows are appended (raw
int32) to ``<output>.partial.rows``, and after each append a small state file
``<output>.partial.state.npz`` records how many rows are done, the id bookkeeping needed to go on
(the last connectivity stage's, :class:`~pcnet.methods.streaming._Connectivity`) and a fingerprint
of everything the labels depend on (the input file, the model's weights, every setting, the mask).
A rerun with the same fingerprint drops rows appended after the last state (a kill between the
two writes), recomputes the few bands of context above the resume row and continues; the labels
are the same as an uninterrupted run's. Only when every row is done is the BigTIFF written (from
the raw rows) and renamed onto the output; the partial files are then removed.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["PartialRun", "fingerprint"]


def fingerprint(**parts: Any) -> str:
    """A hex digest of ``parts``: arrays by their bytes, paths by name, size and modification
    time, everything else by its ``repr``."""
    digest = hashlib.sha256()
    for key in sorted(parts):
        value = parts[key]
        digest.update(key.encode())
        if isinstance(value, np.ndarray):
            digest.update(repr((value.shape, value.dtype.str)).encode())
            digest.update(np.ascontiguousarray(value).view(np.uint8).data)
        elif isinstance(value, (str, os.PathLike)) and Path(value).is_file():
            stat = Path(value).stat()
            digest.update(repr((str(Path(value).resolve()), stat.st_size, stat.st_mtime_ns)).encode())
        else:
            digest.update(repr(value).encode())
    return digest.hexdigest()


class PartialRun:
    """The partial files of one output: ``rows`` (raw int32 label rows) and ``state`` (npz)."""

    def __init__(self, output: str | os.PathLike, width: int, key: str) -> None:
        output = Path(output)
        self.rows_path = output.with_name(output.name + ".partial.rows")
        self.state_path = output.with_name(output.name + ".partial.state.npz")
        self.width, self.key = width, key
        self.rows_done = 0

    def load(self) -> dict[str, np.ndarray] | None:
        """The saved state of an earlier run with the same fingerprint (its rows file cut to the
        rows the state counts), or ``None`` (then any partial files are removed)."""
        state = None
        if self.state_path.is_file() and self.rows_path.is_file():
            try:
                with np.load(self.state_path, allow_pickle=False) as saved:
                    state = {name: saved[name] for name in saved.files}
            except (OSError, ValueError):
                state = None
        if state is None or str(state["key"]) != self.key:
            self.remove()
            return None
        self.rows_done = int(state["rows_done"])
        size = self.rows_done * self.width * 4
        if self.rows_path.stat().st_size < size:  # cannot happen unless the files were edited
            self.remove()
            return None
        with open(self.rows_path, "r+b") as fh:
            fh.truncate(size)
        return state

    def append(self, rows: np.ndarray, state: dict[str, Any]) -> None:
        """Append finished ``rows`` (int32, full width), then record ``state`` atomically."""
        with open(self.rows_path, "ab") as fh:
            fh.write(np.ascontiguousarray(rows, np.int32).data)
            fh.flush()
            os.fsync(fh.fileno())
        self.rows_done += rows.shape[0]
        tmp = self.state_path.with_name(self.state_path.name + ".tmp.npz")
        np.savez(tmp, key=np.array(self.key), rows_done=np.array(self.rows_done), **state)
        os.replace(tmp, self.state_path)

    def read(self, rows: int) -> Iterator[np.ndarray]:
        """The saved rows, ``rows`` at a time, top to bottom."""
        with open(self.rows_path, "rb") as fh:
            for top in range(0, self.rows_done, rows):
                n = min(rows, self.rows_done - top)
                yield np.fromfile(fh, np.int32, count=n * self.width).reshape(n, self.width)

    def remove(self) -> None:
        """Delete the partial files."""
        for path in (self.rows_path, self.state_path):
            path.unlink(missing_ok=True)

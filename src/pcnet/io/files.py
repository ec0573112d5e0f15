"""Files written atomically (to a temporary file in the target folder, then renamed, so an
interrupted run never leaves a half-written file behind), writable folders, CSV tables."""

from __future__ import annotations

import contextlib
import csv
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pcnet._checks import check, describe

__all__ = ["atomic_path", "encode", "ensure_writable_dir", "write_csv"]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _not_writable(folder: Path, err: OSError) -> PermissionError:
    reason = (
        "it or a parent of it is a file, not a folder"
        if isinstance(err, (FileExistsError, NotADirectoryError))
        else err.strerror or str(err)
    )
    return PermissionError(f"cannot write into {folder}: {reason}; choose a writable folder")


def ensure_writable_dir(folder: str | os.PathLike) -> Path:
    """Create ``folder`` if needed and check that files can be written into it (before any long
    work starts). Raises :class:`PermissionError` naming the folder otherwise."""
    folder = Path(folder).expanduser()
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".pcnet_write_test.", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except OSError as err:
        raise _not_writable(folder, err) from None
    return folder


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    except OSError as err:
        raise _not_writable(path.parent, err) from None
    os.close(fd)
    tmp = Path(tmp)
    tmp.chmod(0o666 & ~_umask())  # mkstemp makes 0600 files; outputs get the usual permissions
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def encode(path: Path, array: np.ndarray) -> bytes:
    """``array`` encoded by OpenCV in the format of ``path``'s suffix."""
    ok, buffer = cv2.imencode(path.suffix, array)
    check(ok, f"OpenCV cannot encode {describe(array)} as {path.suffix} for {path}")
    return buffer.tobytes()


def write_csv(path: str | os.PathLike, rows: Sequence[Mapping[str, Any]]) -> Path:
    """Write rows (dicts with the same keys) as CSV, atomically."""
    path = Path(path)
    check(bool(rows), f"nothing to write to {path}: no rows")
    with atomic_path(path) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path

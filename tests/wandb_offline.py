"""A reader of wandb offline run folders from their files alone (no network, no wandb service),
for the tests: it decodes wandb's private transaction-log format, so it lives here and not in
the package's API, where a wandb release could break a user's import."""

from __future__ import annotations

import glob
import json
import os
import struct
import time
import zlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

# wandb >= 0.2x writes history, config and summary of an offline
# run only to its transaction log ``run-<id>.wandb`` (no files/config.yaml nor
# wandb-summary.json). That log is the LevelDB log format after a 7-byte header
# (b":W&B", uint16 0xBEE1, uint8 0): 32 KiB blocks of chunks ``crc32 | length | type | data``
# (type 1 full, 2 first, 3 middle, 4 last; crc32 over type then data; a block tail under 7
# bytes is padding); each record is a ``wandb_internal_pb2.Record`` protobuf.

_HEADER, _CHUNK, _BLOCK = struct.Struct("<4sHB"), struct.Struct("<IHB"), 32768


def _log_records(path: str) -> Iterator[bytes]:
    """The raw records of a ``.wandb`` log; a truncated or corrupt tail ends them."""
    data = Path(path).read_bytes()
    if len(data) < _HEADER.size or _HEADER.unpack_from(data) != (b":W&B", 0xBEE1, 0):
        raise ValueError(f"{path} is not a wandb transaction log")
    pos, pending = _HEADER.size, bytearray()
    while pos < len(data):
        left = _BLOCK - pos % _BLOCK
        if left < _CHUNK.size or pos + _CHUNK.size > len(data):
            pos += left
            continue
        crc, length, kind = _CHUNK.unpack_from(data, pos)
        if crc == length == kind == 0:  # zero-filled rest of a block
            pos += left
            continue
        chunk = data[pos + _CHUNK.size : pos + _CHUNK.size + length]
        if kind not in (1, 2, 3, 4) or len(chunk) != length or zlib.crc32(chunk, zlib.crc32(bytes([kind]))) != crc:
            return
        pos += _CHUNK.size + length
        pending = bytearray(chunk) if kind in (1, 2) else pending + chunk
        if kind in (1, 4):
            yield bytes(pending)
            pending = bytearray()


def _value(item: Any) -> Any:
    """A history/config/summary item's value (JSON text, or a typed field in newer protobufs)."""
    oneofs = item.DESCRIPTOR.oneofs_by_name
    which = item.WhichOneof("value") if "value" in oneofs else None
    if which not in (None, "json"):
        return None if which == "none" else getattr(item, which)
    text = item.json if which == "json" else item.value_json
    try:
        return json.loads(text) if text else None  # wandb writes NaN/Infinity, which json reads
    except ValueError:
        return text


def _update(target: dict, items: Iterable[Any]) -> None:
    for item in items:
        keys = list(item.nested_key) or [item.key]
        node = target
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = _value(item)


def read_offline_run(run_dir: str | os.PathLike, wait: float = 0.0) -> dict[str, Any]:
    """Read a wandb offline run folder (``<save_dir>/wandb/offline-run-<time>-<id>``) from its
    files alone (no network, no wandb service).

    ``wandb.finish()`` returns before the log is complete: ``wait`` seconds are spent waiting
    for its exit record. Returns a dict with

    * ``history``: one dict per logged row (``trainer/global_step``, ``train/total``, ...;
      media as their JSON descriptors, e.g. ``{"_type": "images/separated", ...}``);
    * ``config``: the run config (wandb's own ``_wandb`` entry dropped);
    * ``summary``: the last value of every history key, updated by the explicit summary;
    * ``run``: ``name``, ``group``, ``job_type``, ``tags``, ``project``, ``id``;
    * ``exit_code``: ``None`` while the run is not finished;
    * ``images`` / ``tables``: the files under ``files/media/images`` / ``files/media/table``.
    """
    from wandb.proto import wandb_internal_pb2 as pb

    run_dir = Path(run_dir)
    deadline = time.monotonic() + wait
    while True:
        history, config, summary, run, exit_code = [], {}, {}, {}, None
        for path in sorted(glob.glob(str(run_dir / "*.wandb")))[-1:]:
            for raw in _log_records(path):
                record = pb.Record()
                record.ParseFromString(raw)
                kind = record.WhichOneof("record_type")
                if kind == "history":
                    history.append({})
                    _update(history[-1], record.history.item)
                elif kind == "config":
                    _update(config, record.config.update)
                elif kind == "summary":
                    _update(summary, record.summary.update)
                elif kind == "run":
                    r = record.run
                    run = {"id": r.run_id, "project": r.project, "name": r.display_name, "group": r.run_group}
                    run.update(job_type=r.job_type, tags=list(r.tags))
                    _update(config, r.config.update)
                elif kind == "exit":
                    exit_code = record.exit.exit_code
        if exit_code is not None or time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    config.pop("_wandb", None)
    last: dict[str, Any] = {}
    for row in history:
        last.update(row)
    media = run_dir / "files" / "media"
    return {
        "history": history,
        "config": config,
        "summary": {k: v for k, v in {**last, **summary}.items() if k != "_wandb"},
        "run": run,
        "exit_code": exit_code,
        "images": sorted(p for p in (media / "images").rglob("*") if p.is_file()),
        "tables": sorted(p for p in (media / "table").rglob("*") if p.is_file()),
    }

"""``python -m pcnet.export CHECKPOINT OUTPUT``: a small model file from a training checkpoint.

Keeps the network's weights (fp16 unless ``--fp32``) and its config, drops the optimizer state
and the loss, and records where it came from (the checkpoint's step and best validation score,
plus ``--meta key=value`` pairs), and writes ``OUTPUT`` with a ``.json`` suffix beside it: those
facts and the run's ``run_summary.json`` (command, commit, wall time, validation metrics). The
result loads with ``pcnet.load_segmenter(OUTPUT)`` and
``pcnet.superpixels(..., method=..., checkpoint=OUTPUT)``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import torch

from pcnet._checks import check
from pcnet._cli import run_cli
from pcnet.io import atomic_path
from pcnet.models import load_model, save_model


def checkpoint_meta(path: Path) -> dict[str, Any]:
    """Step, epoch and best monitored score stored in a Lightning checkpoint (if any)."""
    payload = torch.load(path, map_location="cpu", weights_only=True)
    meta: dict[str, Any] = {"source": path.name}
    for key in ("global_step", "epoch"):
        if key in payload:
            meta[key] = int(payload[key])
    for name, state in payload.get("callbacks", {}).items():
        if "ModelCheckpoint" in name and state.get("best_model_score") is not None:
            meta["monitor"] = state.get("monitor")
            meta["best_score"] = float(state["best_model_score"])
    return meta


def export(checkpoint: Path, output: Path, fp32: bool = False, extra: list[str] | None = None) -> Path:
    check(output.suffix == ".pt", f"the model file should end in .pt; got {output}")
    check(output.resolve() != checkpoint.resolve(), "OUTPUT must differ from CHECKPOINT (never overwrite the input)")
    model = load_model(checkpoint)
    meta = checkpoint_meta(checkpoint)
    for item in extra or []:
        key, sep, value = item.partition("=")
        check(bool(sep) and bool(key), f"--meta takes key=value pairs; got {item!r}")
        meta[key] = value
    written = save_model(output, model, meta, half=not fp32)
    print(f"wrote {written} ({written.stat().st_size / 1e6:.1f} MB, {model.model_name}, {meta})")
    card = write_card(written, model.model_name, meta, checkpoint.resolve().parent.parent / "run_summary.json")
    print(f"wrote {card}")
    return written


def write_card(model_file: Path, name: str, meta: dict[str, Any], run_summary: Path) -> Path:
    """``<model>.json`` beside the model file: its facts plus the training run's summary (if any)."""
    card: dict[str, Any] = {
        "method": name,
        "file": model_file.name,
        "size_mb": round(model_file.stat().st_size / 1e6, 2),
        **meta,
    }
    if run_summary.is_file():
        card["training"] = json.loads(run_summary.read_text())
    path = model_file.with_suffix(".json")
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(card, indent=2) + "\n")
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pcnet.export", description=__doc__.split("\n\n")[0])
    parser.add_argument("checkpoint", type=Path, help="a pcnet.train checkpoint (.ckpt) or model file")
    parser.add_argument("output", type=Path, help="the model file to write (.pt)")
    parser.add_argument("--fp32", action="store_true", help="keep fp32 weights (default fp16)")
    parser.add_argument(
        "--meta", nargs="+", action="extend", default=[], help="extra key=value facts to record (repeatable)"
    )
    args = parser.parse_args(argv)
    run_cli(export, args.checkpoint, args.output, args.fp32, args.meta)


if __name__ == "__main__":
    main()

"""Benchmark ``checkpoints``: checkpoints (or model files) re-scored side by side with the same
code, the network alone unless ``--refine``."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pcnet.bench.options import add_dataset, add_limit, add_n_segments

__all__ = ["add_arguments", "run", "score_checkpoints"]


def score_checkpoints(
    root: str | Path,
    split: str,
    limit: int | None,
    n_segments: int,
    checkpoints: Sequence[tuple[str, str]],
    refine: bool,
) -> list[dict[str, Any]]:
    """Mean scores over annotators of each ``(name, checkpoint)`` at ``n_segments``."""
    from pcnet.data.bsds500 import bsds500_samples
    from pcnet.io import read_image, read_label_map
    from pcnet.methods.learned import Segmenter
    from pcnet.metrics.functional import superpixel_scores
    from pcnet.models import load_model

    data = [
        (read_image(s.image), [read_label_map(p) for p in s.ground_truth]) for s in bsds500_samples(root, split)[:limit]
    ]
    table = []
    print("| checkpoint | BR | BP | ASA | UE | CO | K |\n|---|---:|---:|---:|---:|---:|---:|")
    for name, path in checkpoints:
        segmenter = Segmenter(load_model(path), tile=None, refine=refine)
        scores = []
        for image, gts in data:
            labels = segmenter.superpixels(image, n_segments)
            scores += [superpixel_scores(labels, gt) for gt in gts]
        row = {"checkpoint": name, **{k: float(np.mean([s[k] for s in scores])) for k in scores[0]}}
        table.append(row)
        print(
            f"| {name} | {row['br']:.4f} | {row['bp']:.4f} | {row['asa']:.4f} | {row['ue']:.4f} | {row['co']:.3f} "
            f"| {row['n_superpixels']:.0f} |",
            flush=True,
        )
    return table


def _named_path(text: str) -> tuple[str, str]:
    """argparse type for ``NAME=PATH``."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH; got {text!r}")
    return name, path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m pcnet.benchmark checkpoints``."""
    add_dataset(parser, "val")
    add_limit(parser, 20)
    add_n_segments(parser)
    parser.add_argument("--refine", action="store_true", help="score after the full-resolution refinement")
    parser.add_argument("checkpoints", nargs="+", type=_named_path, help="NAME=PATH (model file or checkpoint)")


def run(args: argparse.Namespace) -> None:
    """Run the suite with its parsed options."""
    score_checkpoints(args.root, args.split, args.limit, args.n_segments, args.checkpoints, args.refine)

"""Benchmark ``oracle``: the BR / ASA ceiling of boundaries placed on an f-pixel grid (the ground
truth seen at 1/f of the resolution), the best a method with an f× smaller input can do."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pcnet.bench.options import COUNT, add_dataset, add_limit

__all__ = ["add_arguments", "grid_ceiling", "run"]


def grid_ceiling(root: str | Path, split: str, limit: int | None, factors: Sequence[int]) -> list[dict[str, Any]]:
    """BR / ASA of the ground truth itself seen at 1/f of the resolution and nearest-upscaled:
    the best a method that places boundaries only at its input resolution (f× smaller) can do."""
    from pcnet.data.bsds500 import bsds500_samples
    from pcnet.io import read_label_map
    from pcnet.metrics.functional import superpixel_scores

    gts = [read_label_map(p).astype(np.int32) for s in bsds500_samples(root, split)[:limit] for p in s.ground_truth]
    table = []
    print("| boundaries on a grid of | BR | ASA |\n|---|---:|---:|")
    for f in factors:
        scores = []
        for gt in gts:
            h, w = gt.shape
            small = cv2.resize(gt, (-(-w // f), -(-h // f)), interpolation=cv2.INTER_NEAREST)
            scores.append(
                superpixel_scores(cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST), gt, metrics=("br", "asa"))
            )
        row = {
            "factor": f,
            "br": float(np.mean([s["br"] for s in scores])),
            "asa": float(np.mean([s["asa"] for s in scores])),
        }
        table.append(row)
        print(f"| {f} px | {row['br']:.3f} | {row['asa']:.3f} |")
    return table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m pcnet.benchmark oracle``."""
    add_dataset(parser, "val")
    add_limit(parser, 20)
    parser.add_argument("--factors", type=COUNT, nargs="+", default=[1, 2, 4])


def run(args: argparse.Namespace) -> None:
    """Run the suite with its parsed options."""
    grid_ceiling(args.root, args.split, args.limit, args.factors)

"""Benchmark ``refine-grid``: a learned method's scores refined with each of several refinement
settings (``n_iter, compactness, smoothness, rounds``) and unrefined, on a validation split: how
the defaults were chosen."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pcnet.bench.common import mean_rows
from pcnet.bench.options import add_dataset, add_limit, add_n_segments

__all__ = ["add_arguments", "refine_grid", "run"]


def refine_grid(
    root: str | Path,
    split: str,
    limit: int | None,
    method: str,
    n_segments: int,
    settings: Sequence[tuple[int, float, float, int]],
) -> list[dict[str, Any]]:
    """Scores of ``method`` at ``n_segments`` refined with each ``(n_iter, compactness,
    smoothness, rounds)`` setting (and unrefined), averaged over annotators: how the defaults were
    chosen (on a validation split)."""
    from pcnet.data.bsds500 import bsds500_samples
    from pcnet.io import read_image, read_label_map
    from pcnet.methods.learned import load_segmenter
    from pcnet.metrics.functional import superpixel_scores
    from pcnet.ops import refine_superpixels

    segmenter = load_segmenter(method=method, tile=None)
    data = []
    for sample in bsds500_samples(root, split)[:limit]:
        image = read_image(sample.image)
        raw = segmenter.superpixels(image, n_segments, refine=False)
        data.append((image, [read_label_map(p) for p in sample.ground_truth], raw))
    table = []
    for setting in [None, *settings]:
        rows, seconds = [], 0.0
        for image, gts, raw in data:
            start = time.perf_counter()
            labels = raw
            if setting is not None:
                n_iter, compactness, smoothness, rounds = setting
                labels = refine_superpixels(
                    image,
                    raw,
                    int(raw.max()) + 1,
                    segmenter.min_size_fraction,
                    n_iter=n_iter,
                    rounds=rounds,
                    compactness=compactness,
                    smoothness=smoothness,
                )
            seconds += time.perf_counter() - start
            rows += [dict(superpixel_scores(labels, gt), id="") for gt in gts]
        summary = {
            "setting": "none" if setting is None else ",".join(map(str, setting)),
            **mean_rows(rows, ())[0],
            "s_refine": seconds / len(data),
        }
        table.append(summary)
        print(
            f"| {summary['setting']} | {summary['br']:.3f} | {summary['bp']:.3f} | {summary['asa']:.3f} "
            f"| {summary['ue']:.3f} "
            f"| {summary['co']:.3f} | {summary['n_superpixels']:.0f} | {summary['s_refine']:.2f} |",
            flush=True,
        )
    return table


def _setting(text: str) -> tuple[int, float, float, int]:
    """argparse type for a refinement setting ``n_iter,compactness,smoothness,rounds``."""
    parts = text.split(",")
    try:
        n_iter, compactness, smoothness, rounds = int(parts[0]), float(parts[1]), float(parts[2]), int(parts[3])
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(
            f"expected n_iter,compactness,smoothness,rounds (e.g. 4,5,30,2); got {text!r}"
        ) from None
    return n_iter, compactness, smoothness, rounds


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m pcnet.benchmark refine-grid`` (``--method``'s choices import :mod:`pcnet.models`)."""
    from pcnet.models import list_models

    add_dataset(parser, "val")
    add_limit(parser, 20)
    parser.add_argument("--method", default="pcnet", choices=list_models())
    add_n_segments(parser)
    parser.add_argument(
        "--settings", type=_setting, nargs="+", default=[(4, 5.0, 30.0, 2)], help="n_iter,compactness,smoothness,rounds"
    )


def run(args: argparse.Namespace) -> None:
    """Run the suite with its parsed options."""
    refine_grid(args.root, args.split, args.limit, args.method, args.n_segments, args.settings)

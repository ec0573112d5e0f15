"""Benchmark ``refine``: learned methods with and without full-resolution refinement against
SLIC / SLICO, BR at several tolerances, on any BSDS500-layout folder (BSDS500 itself, or
``python -m pcnet.data.make_synthetic`` sets with exact labels)."""

from __future__ import annotations

import argparse
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from pcnet.bench.common import mean_rows, write_rows
from pcnet.bench.options import NON_NEGATIVE, add_csv, add_dataset, add_limit

__all__ = ["add_arguments", "bench_refinement", "run"]


def bench_refinement(
    root: str | Path,
    split: str,
    limit: int | None,
    methods: Sequence[str],
    n_segments: Sequence[str],
    tolerances: Sequence[int],
    csv: Path | None,
) -> list[dict[str, Any]]:
    """Score every (method, refine on/off, n_segments) on the images of ``root/<split>``.

    ``n_segments`` entries are integers or ``"area/<a>"`` (K = H·W / a, e.g. ``area/2500``) or
    ``"grid"`` (the native grid, H·W / 256). ``tolerances``: boundary tolerances in px, 0 for the
    benchmark's ``round(0.0025 · diagonal)``. Every annotator is one sample (as ``pcnet.evaluate``).
    """
    from pcnet.data.bsds500 import bsds500_samples
    from pcnet.methods.registry import superpixels
    from pcnet.models import list_models

    learned = list_models()
    from pcnet.io import read_image, read_label_map
    from pcnet.metrics.functional import superpixel_scores

    samples = bsds500_samples(root, split)[:limit]
    rows = []
    for sample in samples:
        image = read_image(sample.image)
        gts = [read_label_map(path) for path in sample.ground_truth]
        height, width = image.shape[:2]
        for request in n_segments:
            if request == "grid":
                k = round(height * width / 256)
            elif str(request).startswith("area/"):
                k = round(height * width / float(str(request)[5:]))
            else:
                k = int(request)
            for method in methods:
                variants = (True, False) if method in learned else (None,)
                for refine in variants:
                    options: dict[str, Any] = {} if refine is None else {"refine": refine}
                    if method in learned and request == "grid":
                        options["tile"] = "auto"
                    start = time.perf_counter()
                    labels = superpixels(image, k, method=method, **options)
                    seconds = time.perf_counter() - start
                    name = method if refine is None else f"{method}{'' if refine else ' (no refine)'}"
                    for gt in gts:
                        row: dict[str, Any] = {
                            "method": name,
                            "n_segments": str(request),
                            "id": sample.id,
                            "s": seconds,
                        }
                        for r in tolerances:
                            scores = superpixel_scores(labels, gt, tolerance=r or None)
                            tag = "bench" if r == 0 else str(r)
                            row[f"br_r{tag}"] = scores["br"]
                            if r == 0 or r == tolerances[-1]:
                                row.update({k2: scores[k2] for k2 in ("bp", "asa", "ue", "co", "n_superpixels")})
                        rows.append(row)
            print(f"{sample.id} {request}: done", flush=True)
    table = mean_rows(rows, ("method", "n_segments"))
    header = (
        ["method", "n_segments", "K"]
        + [f"BR r={t or 'bench'}" for t in tolerances]
        + ["BP", "ASA", "UE", "CO", "s/img"]
    )
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for row in table:
        cells = [row["method"], row["n_segments"], f"{row['n_superpixels']:.0f}"]
        cells += [f"{row['br_r' + str(t or 'bench')]:.3f}" for t in tolerances]
        cells += [f"{row[k]:.3f}" for k in ("bp", "asa", "ue", "co")] + [f"{row['s']:.2f}"]
        print("| " + " | ".join(cells) + " |")
    if csv is not None:
        write_rows(csv, table)
    return table


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m pcnet.benchmark refine``."""
    add_dataset(parser, "test")
    add_limit(parser, None)
    parser.add_argument("--methods", nargs="+", default=["pcnet", "scn", "slic", "slico"])
    parser.add_argument(
        "--n-segments", nargs="+", default=["area/2500", "grid"], help="integers, area/<px per superpixel> or grid"
    )
    parser.add_argument(
        "--tolerances", type=NON_NEGATIVE, nargs="+", default=[1, 2, 0], help="px; 0: the benchmark's r"
    )
    add_csv(parser, Path("logs/benchmark/refine.csv"))


def run(args: argparse.Namespace) -> None:
    """Run the suite with its parsed options."""
    bench_refinement(args.root, args.split, args.limit, args.methods, args.n_segments, args.tolerances, args.csv)

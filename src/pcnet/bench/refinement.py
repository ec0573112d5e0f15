"""Refinement benchmark: learned methods with and without full-resolution refinement against
SLIC / SLICO, BR at several tolerances, on any BSDS500-layout folder (BSDS500 itself, or
``python -m pcnet.data.make_synthetic`` sets with exact labels)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pcnet.bench.common import write_rows

__all__ = ["bench_refinement", "refine_grid"]


def _mean_rows(rows: list[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
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
    table = _mean_rows(rows, ("method", "n_segments"))
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
            **_mean_rows(rows, ())[0],
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

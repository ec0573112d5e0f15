"""Quality diagnostics of the training notes: the ceiling of boundaries placed on an f-pixel grid,
and checkpoints re-scored side by side with the same code (network alone, no refinement)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np

__all__ = ["grid_ceiling", "overlay_figure", "score_checkpoints"]


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


def overlay_figure(
    root: str | Path, split: str, ids: Sequence[str], n_segments: int, methods: Sequence[str], out: Path
) -> Path:
    """One row per image, one column per method (``pcnet-raw``: PCNet without refinement): the
    superpixel boundaries drawn on a 160×160 crop at the centre of the image (pixels as they are)."""
    from matplotlib.figure import Figure

    from pcnet.data.bsds500 import bsds500_samples
    from pcnet.io import atomic_path, read_image
    from pcnet.methods.registry import superpixels
    from pcnet.ops.draw import draw_boundaries

    samples = {s.id: s for s in bsds500_samples(root, split)}
    fig = Figure(figsize=(2.6 * len(methods), 2.7 * len(ids)), dpi=120)
    axes = fig.subplots(len(ids), len(methods), squeeze=False)
    for row, sample_id in enumerate(ids):
        image = read_image(samples[sample_id].image)
        h, w = image.shape[:2]
        top, left = max(0, h // 2 - 80), max(0, w // 2 - 80)
        for col, method in enumerate(methods):
            name = method.removesuffix("-raw")
            options = {"refine": False} if method.endswith("-raw") else {}
            labels = superpixels(image, n_segments, method=name, **options)
            crop = draw_boundaries(image, labels, (255, 40, 40))[top : top + 160, left : left + 160]
            ax = axes[row][col]
            ax.imshow(crop, interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if row == 0:
                ax.set_title(method.replace("-raw", " (no refine)"), fontsize=9)
            if col == 0:
                ax.set_ylabel(f"{sample_id}, K={int(labels.max()) + 1}", fontsize=8)
    fig.tight_layout()
    with atomic_path(out) as tmp:
        fig.savefig(tmp, format="png")
    print(f"wrote {out}")
    return out

"""Benchmark ``overlays``: the boundaries of several methods drawn on a few images, one PNG."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path

from pcnet.bench.options import add_dataset, add_n_segments

__all__ = ["add_arguments", "overlay_figure", "run"]


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


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m pcnet.benchmark overlays``."""
    add_dataset(parser, "test")
    parser.add_argument("--ids", nargs="+", required=True, help="image ids, e.g. 3063 8068")
    add_n_segments(parser)
    parser.add_argument("--methods", nargs="+", default=["pcnet-raw", "pcnet", "scn", "slic"])
    parser.add_argument("--out", type=Path, default=Path("docs/overlays_bsds500.png"))


def run(args: argparse.Namespace) -> None:
    """Run the suite with its parsed options."""
    overlay_figure(args.root, args.split, args.ids, args.n_segments, args.methods, args.out)

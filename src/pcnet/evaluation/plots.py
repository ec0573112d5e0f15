"""Benchmark plots (matplotlib, headless): BR–BP and every metric against measured K."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from pcnet.io import atomic_path

__all__ = ["CURVES", "plot_curves"]

#: (file stem, x key, y key, axis labels) of every plot written by :func:`plot_curves`.
CURVES = (
    ("br_bp", "br", "bp", "boundary recall", "boundary precision"),
    ("br_k", "n_superpixels", "br", "superpixels K (measured)", "boundary recall"),
    ("asa_k", "n_superpixels", "asa", "superpixels K (measured)", "achievable segmentation accuracy"),
    ("ue_k", "n_superpixels", "ue", "superpixels K (measured)", "undersegmentation error"),
    ("co_k", "n_superpixels", "co", "superpixels K (measured)", "compactness"),
)


def plot_curves(summary: Sequence[Mapping[str, Any]], out_dir: str | os.PathLike, title: str = "") -> list[Path]:
    """One PNG per curve in :data:`CURVES`, one line per method, points sorted by measured K."""
    out_dir = Path(out_dir)
    methods: dict[str, list[Mapping[str, Any]]] = {}
    for row in summary:
        methods.setdefault(row["method"], []).append(row)
    written = []
    for stem, x, y, xlabel, ylabel in CURVES:
        fig = Figure(figsize=(5, 4), dpi=110)
        ax = fig.add_subplot()
        for method, rows in methods.items():
            rows = sorted(rows, key=lambda r: r["n_superpixels"])
            ax.plot([r[x] for r in rows], [r[y] for r in rows], marker="o", markersize=3, label=method)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        if title:
            ax.set_title(title, fontsize=9)
        fig.tight_layout()
        path = out_dir / f"{stem}.png"
        with atomic_path(path) as tmp:
            fig.savefig(tmp, format="png")
        written.append(path)
    return written

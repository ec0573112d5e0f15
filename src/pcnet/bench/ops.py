"""Benchmark ``ops``: hard labels + connectivity enforcement on 1…20 MP label maps, against
skimage's SLIC connectivity step (Cython) measured in the same run; checks linear growth."""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import cv2
import numpy as np
import torch

from pcnet.bench.common import best_time, write_rows
from pcnet.bench.options import COUNT, POSITIVE, add_csv
from pcnet.ops import cell_index_map, enforce_connectivity, grid_shape, hard_labels


def wobbly_association(
    height: int, width: int, cell_size: int = 16, noise: float = 0.01, seed: int = 0
) -> torch.Tensor:
    """A realistic association: one-hot on the cell of a smoothly displaced pixel position.

    Superpixels look like a trained network's: cells whose borders wander by up to half a cell,
    and a fraction ``noise`` of pixels assigned to a random neighbour, leaving fragments that
    connectivity enforcement has to clean up.
    """
    rng = np.random.default_rng(seed)
    gh, gw = grid_shape(height, width, cell_size)
    shift = [
        cv2.resize(rng.uniform(-0.6, 0.6, (gh + 1, gw + 1)).astype(np.float32), (width, height)) * cell_size
        for _ in range(2)
    ]
    yy = np.arange(height, dtype=np.float32)[:, None] + shift[0]
    xx = np.arange(width, dtype=np.float32)[None, :] + shift[1]
    target_r = np.clip(yy // cell_size, 0, gh - 1).astype(np.int64)
    target_c = np.clip(xx // cell_size, 0, gw - 1).astype(np.int64)
    own = cell_index_map(height, width, cell_size).numpy()
    channel = (np.clip(target_r - own // gw, -1, 1) + 1) * 3 + np.clip(target_c - own % gw, -1, 1) + 1
    salt = rng.random(channel.shape) < noise
    channel[salt] = rng.integers(0, 9, int(salt.sum()))
    assoc = torch.zeros(1, 9, height, width)
    assoc.view(1, 9, -1).scatter_(1, torch.from_numpy(channel.reshape(1, 1, -1)), 1.0)
    return assoc


def bench_ops(megapixels: list[float], repeat: int, csv_path: Path | None) -> list[dict[str, float]]:
    from skimage.segmentation._slic import (
        _enforce_label_connectivity_cython as skimage_connectivity,
    )

    torch.set_num_threads(2)
    rows = []
    print(
        f"{'MP':>6} {'hard_labels s':>14} {'connectivity s':>15} {'s per 10 MP':>12} "
        f"{'skimage s':>10} {'ratio':>6} {'K':>8}"
    )
    for mp in megapixels:
        side = int(round(math.sqrt(mp * 1e6)))
        assoc = wobbly_association(side, side)
        t_hard, cells = best_time(lambda assoc=assoc: hard_labels(assoc, 16)[0].numpy(), repeat)
        n_cells = int(cells.max()) + 1
        t_conn, labels = best_time(lambda cells=cells: enforce_connectivity(cells, 0.06), repeat)
        mean = cells.size / n_cells
        t_peer, _ = best_time(
            lambda cells=cells, mean=mean: skimage_connectivity(
                cells[None].astype(np.intp), int(0.06 * mean), int(10 * mean), 0
            ),
            repeat,
        )
        row = {
            "megapixels": side * side / 1e6,
            "hard_labels_s": t_hard,
            "connectivity_s": t_conn,
            "connectivity_s_per_10mp": t_conn / (side * side / 1e7),
            "skimage_connectivity_s": t_peer,
            "ratio_skimage_over_pcnet": t_peer / t_conn,
            "k": int(labels.max()) + 1,
        }
        rows.append(row)
        print(
            f"{row['megapixels']:6.1f} {t_hard:14.3f} {t_conn:15.3f} {row['connectivity_s_per_10mp']:12.3f} "
            f"{t_peer:10.3f} {row['ratio_skimage_over_pcnet']:6.2f} {row['k']:8d}"
        )
    growth = rows[-1]["connectivity_s_per_10mp"] / rows[0]["connectivity_s_per_10mp"]
    print(f"time per pixel, largest vs smallest map: {growth:.2f}x (1.0 = linear growth)")
    if csv_path:
        print(f"wrote {write_rows(csv_path, rows)}")
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m pcnet.benchmark ops``."""
    parser.add_argument("--megapixels", type=POSITIVE, nargs="+", default=[1, 4, 10, 20])
    parser.add_argument("--repeat", type=COUNT, default=2, help="runs per size; the best is reported")
    add_csv(parser)


def run(args: argparse.Namespace) -> None:
    """Run the suite with its parsed options."""
    bench_ops(args.megapixels, args.repeat, args.csv)

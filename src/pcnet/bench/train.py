"""Benchmark ``train``: seconds per training iteration on CPU, and the share spent waiting for
data, for PCNet (paired 512² crops → 128² inputs, both branches, every loss term) vs SCN (208²
crops), measured in one run with the real DataModule and its worker processes."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch

from pcnet.bench.common import write_rows
from pcnet.bench.options import COUNT, NON_NEGATIVE, add_batch_size, add_csv
from pcnet.data.datamodule import SuperpixelDataModule
from pcnet.losses import PCNetLoss, SuperpixelLoss
from pcnet.models import build
from pcnet.training.module import SuperpixelModule

SETUPS = {
    "pcnet": {"patch_size": 512, "global_size": 768, "loss": PCNetLoss},
    "scn": {"patch_size": 208, "global_size": None, "loss": lambda: SuperpixelLoss(reduction="sum")},
}


def _iterate(name: str, steps: int, warmup: int, batch_size: int, workers: int, image_size: int) -> dict[str, float]:
    setup = SETUPS[name]
    dm = SuperpixelDataModule(
        model=name,
        patch_size=setup["patch_size"],
        global_size=setup["global_size"],
        batch_size=batch_size,
        num_workers=workers,
        synthetic={
            "train": {"length": max(64, batch_size * (steps + warmup)), "height": image_size, "width": image_size}
        },
    )
    dm.setup("fit")
    module = SuperpixelModule(build(name), setup["loss"](), optimizer=lambda params: torch.optim.Adam(params, lr=1e-4))
    optimizer = module.configure_optimizers()
    module.train()
    wait = compute = 0.0
    loader = iter(dm.train_dataloader())
    for step in range(steps + warmup):
        start = time.perf_counter()
        batch = next(loader)
        fetched = time.perf_counter()
        loss = module.losses(batch)["total"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        done = time.perf_counter()
        if step >= warmup:
            wait += fetched - start
            compute += done - fetched
    total = wait + compute
    return {
        "model": name,
        "batch_size": batch_size,
        "crop": setup["patch_size"],
        "s_per_iter": total / steps,
        "compute_s_per_iter": compute / steps,
        "data_wait_s_per_iter": wait / steps,
        "data_share": wait / total,
    }


def bench_train(
    steps: int, warmup: int, batch_size: int, workers: int, image_size: int, out: Path | None
) -> list[dict[str, float]]:
    torch.set_num_threads(2)
    rows = [_iterate(name, steps, warmup, batch_size, workers, image_size) for name in SETUPS]
    print(f"{'model':>6} {'batch':>5} {'crop':>5} {'s/iter':>8} {'compute':>8} {'data wait':>10} {'data share':>10}")
    for r in rows:
        print(
            f"{r['model']:>6} {r['batch_size']:>5} {r['crop']:>5} {r['s_per_iter']:>8.3f} "
            f"{r['compute_s_per_iter']:>8.3f} "
            f"{r['data_wait_s_per_iter']:>10.3f} {r['data_share']:>9.1%}"
        )
    print(f"PCNet / SCN time per iteration: {rows[0]['s_per_iter'] / rows[1]['s_per_iter']:.2f}")
    if out:
        print(f"wrote {write_rows(out, rows)}")
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m pcnet.benchmark train``."""
    parser.add_argument("--steps", type=COUNT, default=10, help="timed iterations per model")
    parser.add_argument("--warmup", type=NON_NEGATIVE, default=2)
    add_batch_size(parser)
    parser.add_argument("--workers", type=NON_NEGATIVE, default=2)
    parser.add_argument("--image-size", type=COUNT, default=1024, help="side of the synthetic training images")
    add_csv(parser, Path("logs/benchmark/train.csv"))


def run(args: argparse.Namespace) -> None:
    """Run the suite with its parsed options."""
    bench_train(args.steps, args.warmup, args.batch_size, args.workers, args.image_size, args.csv)

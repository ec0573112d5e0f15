"""Benchmark ``levers``: which CPU levers speed up a training step of the CPU recipes.

For each model at its recipe crop (PCNet paired 256² crops → 64² inputs with every loss term,
SCN 208², SSN 201², batch 8 of BSDS-like synthetic images) the median seconds of one
forward+backward+Adam step with: fp32 (baseline), bf16 autocast, channels-last memory format, and
both. Ratios are against fp32 measured in the same run; keep a lever only where it pays.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import torch

from pcnet.bench.common import median_time, write_rows
from pcnet.bench.options import COUNT, add_batch_size, add_csv, add_models, add_threads
from pcnet.data.datamodule import SuperpixelDataModule
from pcnet.losses import PCNetLoss, SSNLoss, SuperpixelLoss
from pcnet.models import build
from pcnet.training.module import SuperpixelModule

#: the crops of the CPU recipes (experiment=bsds500_cpu, scn_bsds500_cpu, ssn_bsds500_cpu)
RECIPES: dict[str, dict[str, Any]] = {
    "pcnet": {"patch_size": 256, "loss": PCNetLoss},
    "scn": {"patch_size": 208, "loss": lambda: SuperpixelLoss(reduction="sum")},
    "ssn": {"patch_size": 201, "loss": lambda: SSNLoss(cell_size=20)},
}
LEVERS = {
    "fp32": (False, False),
    "bf16": (True, False),
    "channels_last": (False, True),
    "bf16+channels_last": (True, True),
}


def _batch(name: str, batch_size: int) -> dict[str, torch.Tensor]:
    dm = SuperpixelDataModule(
        model=name,
        patch_size=RECIPES[name]["patch_size"],
        global_size=None,
        batch_size=batch_size,
        num_workers=0,
        synthetic={"train": {"length": batch_size, "height": 321, "width": 481}},
    )
    dm.setup("fit")
    return next(iter(dm.train_dataloader()))


def _step_time(name: str, bf16: bool, channels_last: bool, batch: dict[str, torch.Tensor], repeat: int) -> float:
    torch.manual_seed(0)
    module = SuperpixelModule(
        build(name), RECIPES[name]["loss"](), optimizer=lambda params: torch.optim.Adam(params, lr=1e-4)
    )
    optimizer = module.configure_optimizers()
    module.train()
    if channels_last:
        module.to(memory_format=torch.channels_last)
        batch = {k: v.contiguous(memory_format=torch.channels_last) if v.ndim == 4 else v for k, v in batch.items()}

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            loss = module.losses(batch)["total"]
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()

    return median_time(step, repeat, warmup=2)


def bench_levers(
    models: list[str], batch_size: int, repeat: int, threads: int, out: Path | None
) -> list[dict[str, Any]]:
    torch.set_num_threads(threads)
    rows: list[dict[str, Any]] = []
    print(f"{'model':>6} {'lever':>19} {'s/iter':>8} {'vs fp32':>8}")
    for name in models:
        batch = _batch(name, batch_size)
        base = None
        for lever, (bf16, cl) in LEVERS.items():
            seconds = _step_time(name, bf16, cl, batch, repeat)
            base = base or seconds
            rows.append(
                {
                    "model": name,
                    "lever": lever,
                    "batch_size": batch_size,
                    "s_per_iter": seconds,
                    "speedup": base / seconds,
                }
            )
            print(f"{name:>6} {lever:>19} {seconds:>8.3f} {base / seconds:>7.2f}x", flush=True)
    if out:
        print(f"wrote {write_rows(out, rows)}")
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m pcnet.benchmark levers``."""
    add_models(parser)
    add_batch_size(parser)
    parser.add_argument("--repeat", type=COUNT, default=5, help="timed steps per lever (median)")
    add_threads(parser)
    add_csv(parser, Path("logs/benchmark/levers.csv"))


def run(args: argparse.Namespace) -> None:
    """Run the suite with its parsed options."""
    bench_levers(args.models, args.batch_size, args.repeat, args.threads, args.csv)

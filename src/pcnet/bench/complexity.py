"""Benchmark ``complexity``: parameters, FLOPs and CPU latency of PCNet, SCN and SSN at the same
OUTPUT sizes (PCNet sees the ×4 downsampled input), measured side by side in one run.

FLOPs come from :mod:`torch.utils.flop_counter`, which counts convolutions and matrix products
(2 FLOPs per multiply–add); SSN's SLIC iterations are element-wise and not counted, so its FLOPs
are a lower bound. Latency is the median time of the inference path (``association_logits``: what
``superpixels()`` runs before hard labels) in evaluation mode without autograd.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

from pcnet.bench.common import median_time, write_rows
from pcnet.bench.options import COUNT, add_csv, add_models
from pcnet.models import build, list_models

MODELS = tuple(list_models())


def _input(name: str, model: torch.nn.Module, size: int) -> torch.Tensor:
    side = size // model.upscale
    return torch.rand(1, 3, side, side)


def _forward(name: str, model: torch.nn.Module, x: torch.Tensor) -> None:
    """The inference path superpixels() runs (association scores, no training heads)."""
    model.association_logits(x, cell_size=16)


def bench_complexity(
    sizes: list[int], repeat: int, out: Path | None, models: tuple[str, ...] = MODELS, threads: int = 2
) -> list[dict[str, float]]:
    torch.set_num_threads(threads)
    nets = {name: build(name).eval() for name in models}
    rows = []
    print(
        f"{'output':>7} {'model':>6} {'params':>9} {'GFLOPs':>9} {'latency s':>10} "
        f"{'FLOPs/PCNet':>12} {'latency/PCNet':>14}"
    )
    for size in sizes:
        measured = {}
        for name, model in nets.items():
            x = _input(name, model, size)
            with torch.no_grad():
                with FlopCounterMode(display=False) as counter:
                    _forward(name, model, x)
                latency = median_time(lambda name=name, model=model, x=x: _forward(name, model, x), repeat)
            measured[name] = (counter.get_total_flops() / 1e9, latency)
        base_flops, base_latency = measured.get("pcnet", next(iter(measured.values())))
        for name, (gflops, latency) in measured.items():
            row = {
                "output_size": size,
                "model": name,
                "input_size": _input(name, nets[name], size).shape[-1],
                "params": sum(p.numel() for p in nets[name].parameters()),
                "gflops": gflops,
                "latency_s": latency,
                "flops_ratio_to_pcnet": gflops / base_flops,
                "latency_ratio_to_pcnet": latency / base_latency,
            }
            rows.append(row)
            print(
                f"{size:>6}² {name:>6} {row['params']:>9,d} {gflops:>9.2f} {latency:>10.3f} "
                f"{row['flops_ratio_to_pcnet']:>12.1f} {row['latency_ratio_to_pcnet']:>14.1f}"
            )
    if out:
        print(f"wrote {write_rows(out, rows)}")
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m pcnet.benchmark complexity``."""
    parser.add_argument("--sizes", type=COUNT, nargs="+", default=[512, 1024, 2048], help="output sides in pixels")
    parser.add_argument("--repeat", type=COUNT, default=3, help="timed runs per model and size (median)")
    add_models(parser)
    add_csv(parser, Path("logs/benchmark/complexity.csv"))


def run(args: argparse.Namespace) -> None:
    """Run the suite with its parsed options."""
    bench_complexity(args.sizes, args.repeat, args.csv, tuple(args.models))

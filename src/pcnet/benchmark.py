"""``python -m pcnet.benchmark <suite>``: scripts that print speed figures and ratios against a
peer measured in the same run.

:data:`SUITES` is the one list of suites. Each is a module of :mod:`pcnet.bench` with
``add_arguments(parser)`` (its options) and ``run(args)``, imported only when that suite is named,
so ``--help`` lists every suite without loading PyTorch.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import NamedTuple


class Suite(NamedTuple):
    """Where a suite lives and its one-line help."""

    module: str
    help: str


#: suite name -> its module (``add_arguments(parser)``, ``run(args)``) and one-line help
SUITES: dict[str, Suite] = {
    "ops": Suite("pcnet.bench.ops", "hard labels + connectivity on 1-20 MP label maps vs skimage's connectivity step"),
    "complexity": Suite(
        "pcnet.bench.complexity", "parameters, FLOPs and CPU latency of PCNet vs SCN vs SSN at equal output sizes"
    ),
    "train": Suite("pcnet.bench.train", "seconds per training iteration and data-loading share, PCNet vs SCN"),
    "levers": Suite("pcnet.bench.levers", "training step time of the CPU recipes with bf16 / channels-last vs fp32"),
    "speed": Suite(
        "pcnet.bench.speed", "seconds and peak memory per image, 512² to 10000², each run in its own process"
    ),
    "refine": Suite(
        "pcnet.bench.refinement", "learned methods with / without full-resolution refinement vs SLIC / SLICO"
    ),
    "refine-grid": Suite(
        "pcnet.bench.refine_grid", "refinement settings on a validation split (how the defaults were chosen)"
    ),
    "oracle": Suite(
        "pcnet.bench.oracle", "BR / ASA ceiling of boundaries on an f-pixel grid (the ground truth at 1/f)"
    ),
    "checkpoints": Suite("pcnet.bench.checkpoints", "checkpoints re-scored side by side (network alone by default)"),
    "stages": Suite("pcnet.bench.stages", "PCNet's time and peak memory per stage (decode ... encode)"),
    "overlays": Suite("pcnet.bench.overlays", "boundary overlays of several methods on a few images (one PNG)"),
    "gigapixel": Suite("pcnet.bench.gigapixel", "streaming PCNet on a synthetic gigapixel image with exact labels"),
    "polygons": Suite("pcnet.bench.polygons", "GeoJSON export of a label map: seconds, file size, round trip"),
}


def load(suite: str) -> ModuleType:
    """The module of ``suite``, imported now."""
    return importlib.import_module(SUITES[suite].module)


def build_parser(suite: str | None = None) -> argparse.ArgumentParser:
    """One subcommand per suite; only ``suite``'s module is imported, to add its options."""
    parser = argparse.ArgumentParser(prog="python -m pcnet.benchmark", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="suite", required=True)
    for name, entry in SUITES.items():
        subparser = sub.add_parser(name, help=entry.help, description=entry.help)
        if name == suite:
            load(name).add_arguments(subparser)
    return parser


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The command line of one suite (argparse reports bad arguments with usage, exit 2)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    named = next((a for a in argv if not a.startswith("-")), None)  # the top level has no option values
    return build_parser(named if named in SUITES else None).parse_args(argv)


def run(args: argparse.Namespace) -> None:
    """Run the suite ``args.suite`` with its parsed arguments."""
    csv = getattr(args, "csv", None)
    if csv is not None:
        from pcnet.io import ensure_writable_dir

        ensure_writable_dir(csv.parent)  # fail now, not after minutes of timing
    load(args.suite).run(args)


def main(argv: Sequence[str] | None = None) -> None:
    """Parse the arguments and run one suite; a user error is one line on stderr, exit 2."""
    args = parse_args(argv)  # first: ``--help`` exits before anything heavier loads
    from pcnet._cli import run_cli

    run_cli(run, args)


if __name__ == "__main__":
    main()

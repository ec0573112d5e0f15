"""``python -m pcnet.benchmark <suite>``: scripts that print speed figures and ratios against a
peer measured in the same run.

Suites:
  ops         hard labels + connectivity on 1-20 MP label maps vs skimage's connectivity step
  complexity  parameters, FLOPs and CPU latency of PCNet vs SCN vs SSN at equal output sizes
  train       seconds per training iteration and data-loading share, PCNet vs SCN
  levers      training step time of the CPU recipes with bf16 / channels-last vs fp32
  speed       seconds and peak memory per image, 512² to 10000², every method in its own process
  refine      learned methods with / without full-resolution refinement vs SLIC / SLICO (quality)
  refine-grid refinement settings (n_iter, compactness, smoothness, rounds) on a validation split
  oracle      BR / ASA ceiling of boundaries on an f-pixel grid (the ground truth at 1/f resolution)
  checkpoints checkpoints re-scored side by side with the same code (network alone by default)
  overlays    boundary overlays of several methods on a few images (one PNG)
"""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pcnet.io import ensure_writable_dir
from pcnet.models import list_models


def _bounded(kind: type, low: float, *, strict: bool = False) -> Callable[[str], Any]:
    """argparse type: a ``kind`` (int or float) at least ``low`` (greater than it when ``strict``)."""

    def parse(text: str) -> Any:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {'an integer' if kind is int else 'a number'}") from None
        if not math.isfinite(value) or value < low or (strict and value == low):
            raise argparse.ArgumentTypeError(f"must be {'>' if strict else '>='} {low}; got {text}")
        return value

    parse.__name__ = kind.__name__
    return parse


def _setting(text: str) -> tuple[int, float, float, int]:
    """argparse type for a refinement setting ``n_iter,compactness,smoothness,rounds``."""
    parts = text.split(",")
    try:
        n_iter, compactness, smoothness, rounds = int(parts[0]), float(parts[1]), float(parts[2]), int(parts[3])
    except (ValueError, IndexError):
        raise argparse.ArgumentTypeError(
            f"expected n_iter,compactness,smoothness,rounds (e.g. 4,5,30,2); got {text!r}"
        ) from None
    return n_iter, compactness, smoothness, rounds


def _named_path(text: str) -> tuple[str, str]:
    """argparse type for ``NAME=PATH``."""
    name, sep, path = text.partition("=")
    if not sep or not name or not path:
        raise argparse.ArgumentTypeError(f"expected NAME=PATH; got {text!r}")
    return name, path


def _checkpoint_pair(text: str) -> tuple[str, str]:
    """argparse type for ``--checkpoint method=path``."""
    method, sep, path = text.partition("=")
    if not sep or method not in list_models() or not path:
        raise argparse.ArgumentTypeError(
            f"expected METHOD=PATH with METHOD one of {', '.join(list_models())}; got {text!r}"
        )
    return method, path


def main(argv: list[str] | None = None) -> None:
    """Parse the arguments (argparse reports bad ones with usage, exit 2) and run one suite."""
    from pcnet._cli import run_cli

    run_cli(run, parse_args(argv))


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command line of every suite, with types that reject nonsense before anything runs."""
    from pcnet.bench.speed import BYTES_PER_PIXEL

    count, non_negative, number = _bounded(int, 1), _bounded(int, 0), _bounded(float, 0, strict=True)
    parser = argparse.ArgumentParser(prog="python -m pcnet.benchmark", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="suite", required=True)
    ops = sub.add_parser("ops", help="hard labels and connectivity on large label maps")
    ops.add_argument("--megapixels", type=number, nargs="+", default=[1, 4, 10, 20])
    ops.add_argument("--repeat", type=count, default=2, help="runs per size; the best is reported")
    ops.add_argument("--csv", type=Path, help="also write the table as CSV")
    cx = sub.add_parser("complexity", help="parameters, FLOPs and latency of the learned models")
    cx.add_argument("--sizes", type=count, nargs="+", default=[512, 1024, 2048], help="output sides in pixels")
    cx.add_argument("--repeat", type=count, default=3, help="timed runs per model and size (median)")
    cx.add_argument("--models", nargs="+", choices=list_models(), default=list(list_models()))
    cx.add_argument("--csv", type=Path, default=Path("logs/benchmark/complexity.csv"))
    tr = sub.add_parser("train", help="training step time and data-loading share")
    tr.add_argument("--steps", type=count, default=10, help="timed iterations per model")
    tr.add_argument("--warmup", type=non_negative, default=2)
    tr.add_argument("--batch-size", type=count, default=8)
    tr.add_argument("--workers", type=non_negative, default=2)
    tr.add_argument("--image-size", type=count, default=1024, help="side of the synthetic training images")
    tr.add_argument("--csv", type=Path, default=Path("logs/benchmark/train.csv"))
    lv = sub.add_parser("levers", help="bf16 / channels-last training steps vs fp32")
    lv.add_argument("--models", nargs="+", choices=list_models(), default=list(list_models()))
    lv.add_argument("--batch-size", type=count, default=8)
    lv.add_argument("--repeat", type=count, default=5, help="timed steps per lever (median)")
    lv.add_argument("--threads", type=count, default=2)
    lv.add_argument("--csv", type=Path, default=Path("logs/benchmark/levers.csv"))
    sp = sub.add_parser("speed", help="inference time and peak memory vs image size")
    sp.add_argument(
        "--methods", nargs="+", choices=sorted(BYTES_PER_PIXEL), default=["pcnet", "scn", "ssn", "slico", "slic"]
    )
    sp.add_argument("--sizes", type=count, nargs="+", default=[512, 1024, 2048, 4096, 5000, 10000])
    sp.add_argument("--n-segments", type=count, help="K for every method and size (default: H·W/256)")
    sp.add_argument(
        "--checkpoint",
        nargs="*",
        type=_checkpoint_pair,
        default=[],
        help="method=path pairs (default: shipped weights, else random)",
    )
    sp.add_argument("--memory-gb", type=number, default=16.0, help="skip runs expected to need more")
    sp.add_argument("--time-s", type=number, default=600.0, help="skip runs expected to take longer")
    sp.add_argument("--threads", type=count, default=2)
    sp.add_argument("--csv", type=Path, default=Path("logs/benchmark/speed.csv"))
    rf = sub.add_parser("refine", help="refinement on/off vs SLIC/SLICO on a BSDS500-layout folder")
    rf.add_argument("--root", type=Path, required=True, help="BSDS500 or a make_synthetic folder")
    rf.add_argument("--split", default="test", choices=["train", "val", "test"])
    rf.add_argument("--limit", type=count, help="only the first N images")
    rf.add_argument("--methods", nargs="+", default=["pcnet", "scn", "slic", "slico"])
    rf.add_argument(
        "--n-segments", nargs="+", default=["area/2500", "grid"], help="integers, area/<px per superpixel> or grid"
    )
    rf.add_argument("--tolerances", type=non_negative, nargs="+", default=[1, 2, 0], help="px; 0: the benchmark's r")
    rf.add_argument("--csv", type=Path, default=Path("logs/benchmark/refine.csv"))
    rg = sub.add_parser("refine-grid", help="refinement settings on a validation split (how the defaults were chosen)")
    rg.add_argument("--root", type=Path, required=True)
    rg.add_argument("--split", default="val", choices=["train", "val", "test"])
    rg.add_argument("--limit", type=count, default=20)
    rg.add_argument("--method", default="pcnet", choices=list_models())
    rg.add_argument("--n-segments", type=count, default=600)
    rg.add_argument(
        "--settings", type=_setting, nargs="+", default=[(4, 5.0, 30.0, 2)], help="n_iter,compactness,smoothness,rounds"
    )
    rg.set_defaults(csv=None)
    orc = sub.add_parser("oracle", help="ceiling of boundaries placed on an f-pixel grid")
    orc.add_argument("--root", type=Path, required=True)
    orc.add_argument("--split", default="val", choices=["train", "val", "test"])
    orc.add_argument("--limit", type=count, default=20)
    orc.add_argument("--factors", type=count, nargs="+", default=[1, 2, 4])
    orc.set_defaults(csv=None)
    ck = sub.add_parser("checkpoints", help="checkpoints re-scored side by side (network alone)")
    ck.add_argument("--root", type=Path, required=True)
    ck.add_argument("--split", default="val", choices=["train", "val", "test"])
    ck.add_argument("--limit", type=count, default=20)
    ck.add_argument("--n-segments", type=count, default=600)
    ck.add_argument("--refine", action="store_true", help="score after the full-resolution refinement")
    ck.add_argument("checkpoints", nargs="+", type=_named_path, help="NAME=PATH (model file or checkpoint)")
    ck.set_defaults(csv=None)
    st = sub.add_parser("stages", help="PCNet's time and peak memory per stage (decode ... encode)")
    st.add_argument("--megapixels", type=number, nargs="+", default=[1, 25, 100])
    st.add_argument("--threads", type=count, default=2)
    st.add_argument("--no-refine", dest="refine", action="store_false", help="without the refinement stage")
    st.add_argument("--tiles", nargs="+", default=["auto"], help="network tiles to compare: auto, none or input px")
    st.add_argument("--csv", type=Path, help="also write the table as CSV")
    ov = sub.add_parser("overlays", help="boundary overlays of several methods on a few images")
    ov.add_argument("--root", type=Path, required=True)
    ov.add_argument("--split", default="test", choices=["train", "val", "test"])
    ov.add_argument("--ids", nargs="+", required=True, help="image ids, e.g. 3063 8068")
    ov.add_argument("--n-segments", type=count, default=600)
    ov.add_argument("--methods", nargs="+", default=["pcnet-raw", "pcnet", "scn", "slic"])
    ov.add_argument("--out", type=Path, default=Path("docs/overlays_bsds500.png"))
    ov.set_defaults(csv=None)
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> None:
    """Run the suite ``args.suite`` with its parsed arguments."""
    if args.csv is not None:
        ensure_writable_dir(args.csv.parent)  # fail now, not after minutes of timing
    if args.suite == "ops":
        from pcnet.bench.ops import bench_ops

        bench_ops(args.megapixels, args.repeat, args.csv)
    elif args.suite == "complexity":
        from pcnet.bench.complexity import bench_complexity

        bench_complexity(args.sizes, args.repeat, args.csv, tuple(args.models))
    elif args.suite == "train":
        from pcnet.bench.train import bench_train

        bench_train(args.steps, args.warmup, args.batch_size, args.workers, args.image_size, args.csv)
    elif args.suite == "levers":
        from pcnet.bench.levers import bench_levers

        bench_levers(args.models, args.batch_size, args.repeat, args.threads, args.csv)
    elif args.suite == "refine":
        from pcnet.bench.refinement import bench_refinement

        bench_refinement(args.root, args.split, args.limit, args.methods, args.n_segments, args.tolerances, args.csv)
    elif args.suite == "refine-grid":
        from pcnet.bench.refinement import refine_grid

        refine_grid(args.root, args.split, args.limit, args.method, args.n_segments, args.settings)
    elif args.suite == "oracle":
        from pcnet.bench.quality import grid_ceiling

        grid_ceiling(args.root, args.split, args.limit, args.factors)
    elif args.suite == "checkpoints":
        from pcnet.bench.quality import score_checkpoints

        score_checkpoints(args.root, args.split, args.limit, args.n_segments, args.checkpoints, args.refine)
    elif args.suite == "stages":
        from pcnet.bench.stages import bench_stages

        bench_stages(args.megapixels, args.threads, args.refine, args.csv, args.tiles)
    elif args.suite == "overlays":
        from pcnet.bench.quality import overlay_figure

        overlay_figure(args.root, args.split, args.ids, args.n_segments, args.methods, args.out)
    elif args.suite == "speed":
        from pcnet.bench.speed import bench_speed
        from pcnet.models import default_checkpoint

        checkpoints = {m: str(default_checkpoint(m)) for m in ("pcnet", "scn", "ssn") if default_checkpoint(m)}
        checkpoints.update(dict(args.checkpoint))
        bench_speed(
            tuple(args.methods),
            tuple(args.sizes),
            checkpoints,
            args.memory_gb,
            args.time_s,
            args.threads,
            args.csv,
            args.n_segments,
        )


if __name__ == "__main__":
    main()

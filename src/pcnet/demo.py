"""``python -m pcnet.demo``: superpixels and scores on an embedded image, no download needed.

Without arguments a seeded synthetic image with an exact label map is generated; ``--image`` (and
optionally ``--gt``) use your own files instead. Writes the label map (16-bit PNG), a boundary
overlay and the mean-colour image to ``--out`` and prints the benchmark scores.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from pcnet._checks import check
from pcnet._cli import run_cli
from pcnet.data.synthetic import synthetic_image
from pcnet.io import read_label_map, to_rgb_uint8, write_image, write_label_map
from pcnet.metrics import superpixel_scores
from pcnet.ops.draw import draw_boundaries, mean_color


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    from pcnet.methods.registry import available_methods
    from pcnet.models import default_checkpoint

    default_method = "pcnet" if default_checkpoint("pcnet") else "slic"  # the shipped PCNet when present
    parser = argparse.ArgumentParser(prog="python -m pcnet.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--method", default=default_method, choices=available_methods())
    parser.add_argument("--n-segments", type=int, default=400, help="requested number of superpixels")
    parser.add_argument("--image", type=Path, help="an image file (default: a generated synthetic image)")
    parser.add_argument("--gt", type=Path, help="a label map of --image to score against")
    parser.add_argument("--size", type=int, default=512, help="side of the synthetic image in pixels")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic image")
    parser.add_argument("--out", type=Path, default=Path("pcnet_demo"), help="output folder")
    return parser.parse_args(argv)


def run(args: argparse.Namespace) -> dict[str, float]:
    from pcnet.methods.registry import superpixels

    if args.image is None:
        check(args.gt is None, "--gt needs --image: the synthetic image brings its own ground truth")
        image, gt = synthetic_image(args.size, args.size, seed=args.seed)
        source = f"synthetic {args.size}x{args.size} image (seed {args.seed})"
    else:
        image = to_rgb_uint8(args.image, name=str(args.image))
        gt = read_label_map(args.gt) if args.gt else None
        source = str(args.image)
    out = args.out
    check(
        args.image is None or out.resolve() != args.image.resolve().parent,
        f"--out {out} is the folder of the input image; choose another folder so inputs are never overwritten",
    )
    start = time.perf_counter()
    labels = superpixels(image, args.n_segments, method=args.method)
    seconds = time.perf_counter() - start
    write_image(out / "image.png", image)
    written = write_label_map(out / "labels.png", labels)
    write_image(out / "overlay.png", draw_boundaries(image, labels))
    write_image(out / "mean_color.png", mean_color(image, labels))
    print(f"{args.method} on {source}: K = {labels.max() + 1} superpixels in {seconds:.3f} s")
    print(f"wrote {written}, {out / 'overlay.png'}, {out / 'mean_color.png'}")
    if gt is None:
        return {}
    scores = superpixel_scores(labels, gt)
    print("  ".join(f"{k}={v:.4f}" if k != "n_superpixels" else f"K={int(v)}" for k, v in scores.items()))
    return scores


def main(argv: list[str] | None = None) -> None:
    run_cli(lambda: run(parse_args(argv)))


if __name__ == "__main__":
    main()

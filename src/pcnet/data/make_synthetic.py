"""``python -m pcnet.data.make_synthetic ROOT``: a synthetic high-resolution benchmark on disk.

Writes seeded :func:`~pcnet.data.synthetic.synthetic_image` images and their exact label maps in
the BSDS500 layout (``images/<split>/<id>.jpg``, ``gt/<split>/<id>_0.png``), so that
``python -m pcnet.evaluate data.root=ROOT`` scores any method on them like on BSDS500. Nothing is
downloaded; the same arguments always give the same files.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pcnet._checks import check
from pcnet._cli import run_cli
from pcnet.data.synthetic import synthetic_image
from pcnet.io import write_image, write_label_map

__all__ = ["write_synthetic_dataset"]


def write_synthetic_dataset(
    root: str | Path,
    size: int = 2048,
    count: int = 8,
    split: str = "test",
    n_regions: int = 200,
    n_lines: int = 8,
    seed: int = 0,
    shapes: str = "voronoi",
) -> Path:
    """Write ``count`` ``size``² images with exact labels under ``root`` (BSDS500 layout)."""
    root = Path(root)
    check(count >= 1 and size >= 16, f"need count >= 1 and size >= 16; got count={count}, size={size}")
    existing = sorted((root / "images" / split).glob("*.jpg"))
    check(
        not existing,
        f"{root / 'images' / split} already holds {len(existing)} images: pick an empty ROOT (nothing is overwritten)",
    )
    for i in range(count):
        image, labels = synthetic_image(size, size, n_regions=n_regions, n_lines=n_lines, seed=seed + i, shapes=shapes)
        sample_id = f"synthetic{size}_{i:03d}" if shapes == "voronoi" else f"{shapes}{size}_{i:03d}"
        write_image(root / "images" / split / f"{sample_id}.jpg", image)
        write_label_map(root / "gt" / split / f"{sample_id}_0.png", labels)
    print(f"wrote {count} {size}² images and label maps under {root} (split {split})")
    return root


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pcnet.data.make_synthetic", description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path, help="folder to write (BSDS500 layout)")
    parser.add_argument("--size", type=int, default=2048, help="side of the square images")
    parser.add_argument("--count", type=int, default=8)
    parser.add_argument("--split", default="test", choices=["train", "val", "test"])
    parser.add_argument("--regions", type=int, default=200, help="Voronoi regions per image")
    parser.add_argument("--lines", type=int, default=8, help="thin structures per image")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--shapes",
        default="voronoi",
        choices=["voronoi", "blobs"],
        help="straight (Voronoi) or curved (ellipse) boundaries",
    )
    args = parser.parse_args(argv)
    run_cli(
        write_synthetic_dataset,
        args.root,
        args.size,
        args.count,
        args.split,
        args.regions,
        args.lines,
        args.seed,
        args.shapes,
    )


if __name__ == "__main__":
    main()

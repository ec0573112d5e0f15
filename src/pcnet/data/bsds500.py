"""The BSDS500 benchmark in its tool-agnostic layout.

```
<root>/images/{train,val,test}/<id>.jpg
<root>/gt/{train,val,test}/<id>_<k>.png    one 16-bit label map per annotator k
```
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from pcnet._checks import check

__all__ = ["LAYOUT", "SPLITS", "Sample", "bsds500_samples"]

SPLITS = ("train", "val", "test")
LAYOUT = "images/{split}/<id>.jpg and gt/{split}/<id>_<k>.png (one 16-bit label map per annotator)"
_GT_NAME = re.compile(r"^(?P<id>.+)_(?P<k>\d+)\.png$")


@dataclass(frozen=True)
class Sample:
    """One image and the label maps of all its annotators."""

    id: str
    image: Path
    ground_truth: tuple[Path, ...]


def bsds500_samples(root: str | os.PathLike | None, split: str = "test") -> list[Sample]:
    """List the images of a split with their annotator label maps, sorted by id.

    Raises:
        ValueError: one line naming ``data.root``, what was found and the expected layout.
    """
    check(
        root is not None and str(root) != "",
        f"data.root is not set: pass data.root=/path/to/bsds500 (expected layout {LAYOUT})",
    )
    check(split in SPLITS, f"unknown BSDS500 split {split!r}; valid splits: {list(SPLITS)}")
    root = Path(root).expanduser()
    check(root.is_dir(), f"data.root={root} is not a directory (expected a BSDS500 root with {LAYOUT})")
    image_dir, gt_dir = root / "images" / split, root / "gt" / split
    images = sorted(image_dir.glob("*.jpg")) if image_dir.is_dir() else []
    check(
        bool(images),
        f"data.root={root} has no images/{split}/*.jpg (expected layout {LAYOUT})",
    )
    annotators: dict[str, list[tuple[int, Path]]] = {}
    for path in gt_dir.glob("*.png") if gt_dir.is_dir() else []:
        match = _GT_NAME.match(path.name)
        if match:
            annotators.setdefault(match["id"], []).append((int(match["k"]), path))
    missing = [p.stem for p in images if p.stem not in annotators]
    check(
        not missing,
        f"data.root={root}: {len(missing)} of {len(images)} images in images/{split} have no "
        f"gt/{split}/<id>_<k>.png label map (first: {missing[:3]}); expected layout {LAYOUT}",
    )
    return [Sample(p.stem, p, tuple(path for _, path in sorted(annotators[p.stem]))) for p in images]

"""Shared fixtures: the BSDS500 benchmark (by path, never copied) and tiny datasets in tmp dirs."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np
import pytest

from pcnet.data.synthetic import synthetic_image
from pcnet.io import write_image, write_label_map

REPO = Path(__file__).resolve().parents[1]
# test helper modules beside this file (e.g. reference_ops, the NumPy references of the kernels)
# import by name: pytest's importlib mode does not put tests/ on sys.path
sys.path.insert(0, str(Path(__file__).resolve().parent))


def bsds500_path() -> Path:
    """``$PCNET_BSDS500`` or ``../shared/data/bsds500`` beside the checkout."""
    return Path(os.environ.get("PCNET_BSDS500", REPO.parent / "shared" / "data" / "bsds500"))


@pytest.fixture(scope="session")
def bsds500_root() -> Path:
    root = bsds500_path()
    if not (root / "images" / "test").is_dir():
        pytest.skip(f"BSDS500 not found at {root} (set PCNET_BSDS500)")
    return root


@pytest.fixture
def tiny_bsds(tmp_path: Path) -> Path:
    """A BSDS500-layout folder with 3 synthetic test images, 1-2 annotators each."""
    root = tmp_path / "bsds"
    for i in range(3):
        image, labels = synthetic_image(48 + 8 * i, 64, n_regions=5, n_lines=1, seed=i)
        write_image(root / "images" / "test" / f"{100 + i}.jpg", image)
        write_label_map(root / "gt" / "test" / f"{100 + i}_0.png", labels + 1)
        if i % 2 == 0:  # a second, coarser annotator
            write_label_map(root / "gt" / "test" / f"{100 + i}_1.png", (labels % 2 + 1).astype(np.uint16))
    return root

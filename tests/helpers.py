"""Test helpers shared by the test modules: composing the packaged Hydra configs as the commands
do, and the one check of a valid superpixel map."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict
from skimage.measure import label as skimage_label


def compose_config(name: str, overrides: list[str], output_dir: Path, **settings: Any) -> DictConfig:
    """The packaged config ``name`` (train / evaluate / predict) with ``overrides``, its run dir set
    to ``output_dir`` and registered as the current Hydra config, as ``python -m pcnet.<name>``
    would see it. ``settings`` set top-level keys afterwards (e.g. ``progress=False``); the train
    config never prints itself."""
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="pcnet.conf", version_base="1.3"):
        cfg = compose(name, overrides=overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(output_dir)
        cfg.paths.output_dir = str(output_dir)
        if "extras" in cfg:
            cfg.extras.print_config = False
        for key, value in settings.items():
            cfg[key] = value
    HydraConfig.instance().set_config(cfg)
    return cfg


def assert_superpixels(labels: np.ndarray, shape: tuple[int, ...] | None = None, mask: np.ndarray | None = None) -> int:
    """A valid superpixel map: int32 of ``shape[:2]`` (or the mask's shape), labels exactly
    ``0..K-1`` (inside ``mask``, ``-1`` exactly outside it), every label one 4-connected region.
    Returns K."""
    assert labels.dtype == np.int32, labels.dtype
    if shape is not None:
        assert labels.shape == tuple(shape[:2]), (labels.shape, shape)
    inside = np.ones(labels.shape, bool) if mask is None else np.asarray(mask, bool)
    assert inside.shape == labels.shape, (inside.shape, labels.shape)
    assert (labels[~inside] == -1).all() and (labels[inside] >= 0).all(), "-1 must be exactly the outside"
    k = int(labels.max()) + 1
    assert np.array_equal(np.unique(labels[inside]), np.arange(k)), "labels are not exactly 0..K-1"
    # 4-connected regions of equal label (the outside too), by skimage: independent of pcnet's kernels
    regions = skimage_label(labels + 1, background=-1, connectivity=1)
    assert len(np.unique(regions[inside])) == k, "a superpixel is split into several 4-connected regions"
    return k

"""Exactly K superpixels (pcnet.ops.exact_k, pcnet.superpixels(exact=True)): merge from above by
Ward's colour cost, split from below across the major axis, every method, masks too."""

from __future__ import annotations

import numpy as np
import pytest

import pcnet
from helpers import assert_superpixels
from pcnet.data.synthetic import synthetic_image
from pcnet.metrics import superpixel_scores
from pcnet.ops.exact_k import exact_k


def test_merging_joins_the_most_similar_neighbours_first():
    labels = np.repeat(np.arange(6, dtype=np.int32), 4)[None].repeat(4, 0)  # six 4-px stripes
    image = np.zeros((4, 24, 3), np.uint8)
    image[:, 12:] = 200  # stripes 0-2 dark, 3-5 bright
    out = exact_k(labels, 2, image)
    assert (out[:, :12] == 0).all() and (out[:, 12:] == 1).all()


def test_splitting_cuts_across_the_major_axis():
    labels = np.zeros((8, 40), np.int32)  # one wide superpixel
    out = exact_k(labels, 2, np.zeros((8, 40, 3), np.uint8))
    assert (out[:, :20] == 0).all() and (out[:, 20:] == 1).all()
    assert assert_superpixels(exact_k(labels, 7, np.zeros((8, 40, 3), np.uint8)), (8, 40)) == 7


@pytest.mark.parametrize("method", ["pcnet", "slic", "slico", "felzenszwalb", "seeds", "watershed", "grid"])
@pytest.mark.parametrize("n_segments", [150, 500])
def test_every_method_gives_exactly_k(method, n_segments):
    image, gt = synthetic_image(192, 256, n_regions=14, seed=3)
    approx = pcnet.superpixels(image, n_segments, method=method)
    exact = pcnet.superpixels(image, n_segments, method=method, exact=True)
    assert assert_superpixels(exact, image.shape) == n_segments  # each one 4-connected region
    before, after = superpixel_scores(approx, gt), superpixel_scores(exact, gt)
    if approx.max() + 1 > n_segments:  # fewer superpixels: boundaries can only be lost, a little
        assert after["br"] >= before["br"] - 0.03 and after["asa"] >= before["asa"] - 0.01
    else:
        assert after["br"] >= before["br"] - 1e-9 and after["asa"] >= before["asa"] - 1e-9


def test_exact_k_inside_a_mask():
    image, _ = synthetic_image(128, 160, n_regions=8, seed=5)
    inside = np.zeros((128, 160), bool)
    inside[10:110, 20:140] = True
    labels = pcnet.superpixels(image, 90, method="slic", mask=inside, exact=True)
    assert assert_superpixels(labels, mask=inside) == 90


def test_bad_exact_arguments():
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match="exact must be true or false"):
        pcnet.superpixels(image, 4, method="grid", exact="yes")
    with pytest.raises(ValueError, match="need as many pixels"):
        exact_k(np.zeros((2, 2), np.int32), 5, np.zeros((2, 2, 3), np.uint8))

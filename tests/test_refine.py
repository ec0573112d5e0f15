"""Full-resolution boundary refinement: known edges, K and connectivity, options (the kernel against
the NumPy reference: tests/test_kernels.py)."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
import torch

import pcnet
from pcnet.data.synthetic import synthetic_image
from pcnet.methods.learned import Segmenter
from pcnet.models import build, save_model
from pcnet.ops import connected_components, enforce_connectivity, find_boundaries, refine_labels


def two_colours(mask: np.ndarray) -> np.ndarray:
    """A flat dark/bright RGB image from a boolean mask (bright where True)."""
    image = np.full((*mask.shape, 3), (40, 60, 90), np.uint8)
    image[mask] = (220, 200, 120)
    return image


def staircase(mask: np.ndarray, factor: int) -> np.ndarray:
    """``mask`` seen at 1/``factor`` of its resolution and nearest-upscaled back: the staircase a
    learned method's boundaries show when its input is ``factor`` times smaller."""
    h, w = mask.shape
    small = cv2.resize(mask.astype(np.uint8), (w // factor, h // factor), interpolation=cv2.INTER_NEAREST)
    return cv2.resize(small, (w, h), interpolation=cv2.INTER_NEAREST).astype(np.int32)


def distance_to_edge(mask: np.ndarray) -> np.ndarray:
    """Per pixel, the distance (px) to the nearest pixel on the other side of the true edge."""
    inside = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, 5)
    outside = cv2.distanceTransform(mask.astype(np.uint8), cv2.DIST_L2, 5)
    return np.maximum(inside, outside)


@pytest.mark.parametrize("kind", ["straight", "curved"])
def test_staircase_moves_onto_the_true_edge(kind):
    yy, xx = np.mgrid[:96, :128]
    mask = xx >= 53 if kind == "straight" else (yy - 50) ** 2 + (xx - 61) ** 2 < 31**2
    start = staircase(mask, 8)
    wrong_before = start != mask
    assert wrong_before.sum() > 50  # the staircase is several pixels off
    out = refine_labels(two_colours(mask), start, n_iter=8)
    wrong = out != mask
    # every pixel still on the wrong side lies within 1 px of the true edge
    assert distance_to_edge(mask)[wrong].max(initial=0) <= 1.0
    assert wrong.sum() <= 0.1 * wrong_before.sum()


def test_flat_image_keeps_the_labels():
    labels = np.arange(64 * 64, dtype=np.int32).reshape(64, 64) // 16 % 4
    flat = np.full((64, 64, 3), 128, np.uint8)
    # no colour evidence: the compactness and smoothness terms keep straight cell borders
    grid = (np.arange(64)[:, None] // 16 * 4 + np.arange(64)[None] // 16).astype(np.int32)
    np.testing.assert_array_equal(refine_labels(flat, grid), grid)
    assert refine_labels(flat, labels, n_iter=0).tolist() == labels.tolist()


def test_no_superpixel_vanishes():
    # a thin cell straddling an edge: the colour pulls both halves to the neighbours
    mask = np.zeros((32, 48), bool)
    mask[:, 24:] = True
    labels = np.zeros((32, 48), np.int32)
    labels[:, 20:28] = 1
    labels[:, 28:] = 2
    out = refine_labels(two_colours(mask), labels, n_iter=8, compactness=0.0, smoothness=0.0)
    sizes = np.bincount(out.ravel(), minlength=3)
    assert sizes[1] >= np.count_nonzero(labels == 1) // 4


def test_keep_largest_merges_split_labels_into_a_neighbour():
    labels = np.array([[0, 1, 0], [0, 1, 0], [2, 2, 2]])
    # label 0 is in two pieces: the right one (tie in size: the later one) joins label 1, its
    # longest border
    out = enforce_connectivity(labels, 0.0, keep_largest=True)
    np.testing.assert_array_equal(out, [[0, 1, 1], [0, 1, 1], [2, 2, 2]])
    np.testing.assert_array_equal(enforce_connectivity(labels, 0.0), [[0, 1, 2], [0, 1, 2], [3, 3, 3]])


@pytest.fixture(scope="module")
def segmenter(tmp_path_factory) -> Segmenter:
    return pcnet.load_segmenter(method="pcnet", tile=None)


@pytest.mark.parametrize("n_segments", [None, 150])
def test_segmenter_refinement_keeps_k_and_connectivity(segmenter, n_segments):
    image, truth = synthetic_image(256, 320, n_regions=12, n_lines=3, seed=5)
    raw = segmenter.superpixels(image, n_segments, refine=False)
    refined = segmenter.superpixels(image, n_segments)
    k_raw, k = int(raw.max()) + 1, int(refined.max()) + 1
    assert abs(k - k_raw) <= 0.02 * k_raw
    assert refined.dtype == np.int32 and np.array_equal(np.unique(refined), np.arange(k))
    assert connected_components(refined).max() + 1 == k  # every superpixel one 4-connected region
    # the boundaries get closer to the exact edges of the synthetic image
    edges = find_boundaries(truth)
    near = cv2.dilate(edges.astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
    recall = [near[find_boundaries(x)].sum() for x in (raw, refined)]
    hits = [
        (cv2.dilate(find_boundaries(x).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0)[edges].mean()
        for x in (raw, refined)
    ]
    assert hits[1] > hits[0] + 0.05, (hits, recall)
    np.testing.assert_array_equal(segmenter.superpixels(image, n_segments), refined)  # deterministic


def test_refinement_through_the_api_and_tiles(tmp_path):
    torch.manual_seed(0)
    model_file = save_model(tmp_path / "pcnet.pt", build("pcnet"))
    image, _ = synthetic_image(512, 384, n_regions=10, n_lines=2, seed=1)
    whole = Segmenter(pcnet.methods.learned.load_model(model_file), tile=None).superpixels(image, 300)
    tiled = Segmenter(pcnet.methods.learned.load_model(model_file), tile=32, halo=64).superpixels(image, 300)
    np.testing.assert_array_equal(tiled, whole)
    api = pcnet.superpixels(image, 300, method="pcnet", checkpoint=model_file, tile=None)
    off = pcnet.superpixels(image, 300, method="pcnet", checkpoint=model_file, tile=None, refine=False)
    np.testing.assert_array_equal(api, whole)
    assert not np.array_equal(off, whole)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"compactness": -1.0}, "compactness must be a finite number >= 0"),
        ({"smoothness": float("nan")}, "smoothness must be a finite number >= 0"),
        ({"n_iter": 2.5}, "n_iter"),
        ({"rounds": -1}, "rounds"),
    ],
)
def test_bad_refine_options_are_rejected(kwargs, message):
    image = np.zeros((8, 8, 3), np.uint8)
    with pytest.raises(ValueError, match=message):
        refine_labels(image, np.zeros((8, 8), np.int32), **kwargs)


def test_bad_refine_inputs_are_rejected(segmenter):
    with pytest.raises(ValueError, match="same size"):
        refine_labels(np.zeros((8, 9, 3), np.uint8), np.zeros((8, 8), np.int32))
    with pytest.raises(ValueError, match="uint8 RGB"):
        refine_labels(np.zeros((8, 8), np.uint8), np.zeros((8, 8), np.int32))
    with pytest.raises(ValueError, match="refine must be"):
        Segmenter(segmenter.model, refine="yes")
    with pytest.raises(ValueError, match="refine_iter"):
        Segmenter(segmenter.model, refine_iter=0)
    with pytest.raises(ValueError, match="refine must be"):
        segmenter.superpixels(np.zeros((64, 64, 3), np.uint8), refine=1)

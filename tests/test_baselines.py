"""Classical superpixel methods behind ``pcnet.methods.registry.superpixels``: contract, inputs, quirks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from helpers import assert_superpixels
from pcnet.io import read_image, write_image
from pcnet.methods.classical import CLASSICAL_METHODS, OPENCV_FIX, seeds_grid
from pcnet.methods.registry import available_methods, method_options, register_method, superpixels
from pcnet.ops import find_boundaries

METHODS = sorted(CLASSICAL_METHODS)
OPENCV = ["slico", "slic_cv", "lsc", "seeds"]


@pytest.fixture(scope="module")
def bsds_small(bsds500_root) -> np.ndarray:
    """One BSDS500 test image (481×321) at half size, 240×160."""
    image = read_image(bsds500_root / "images" / "test" / "100007.jpg")
    return cv2.resize(image, (240, 160), interpolation=cv2.INTER_AREA)


def two_regions(height: int = 48, width: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Left half red, right half blue, and its ground-truth label map."""
    gt = np.zeros((height, width), np.int32)
    gt[:, width // 2 :] = 1
    image = np.where(gt[..., None] == 0, np.array([220, 30, 30], np.uint8), np.array([30, 30, 220], np.uint8))
    return image.astype(np.uint8), gt


def test_ximgproc_is_installed():
    """The contrib build must win over opencv-python-headless (see `make install`)."""
    assert hasattr(cv2, "ximgproc"), f"cv2.ximgproc missing; run: {OPENCV_FIX}"


def test_missing_ximgproc_names_cause_and_fix(monkeypatch):
    monkeypatch.delattr(cv2, "ximgproc")
    with pytest.raises(ImportError, match="opencv-contrib-python-headless==4.12.0.88") as err:
        superpixels(np.zeros((16, 16, 3), np.uint8), 4, method="slico")
    assert "cv2.ximgproc is missing" in str(err.value) and "make install" in str(err.value)


@pytest.mark.parametrize("method", METHODS)
def test_contract_and_k_grows_on_bsds(method, bsds_small):
    ks = [assert_superpixels(superpixels(bsds_small, n, method), bsds_small.shape[:2]) for n in (40, 150)]
    assert ks[0] < ks[1], ks
    assert 0.4 * 150 < ks[1] < 2.5 * 150, ks


@pytest.mark.parametrize("method", [m for m in METHODS if m != "grid"])  # grid ignores the image
def test_two_region_boundary_recall(method):
    image, gt = two_regions()
    labels = superpixels(image, 24, method)
    assert_superpixels(labels, gt.shape)
    gt_edge = find_boundaries(gt)
    near = cv2.dilate(find_boundaries(labels).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    recall = (gt_edge & near).sum() / gt_edge.sum()
    assert recall >= 0.95, recall


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("shape", [(1, 1), (2, 3), (7, 5), (1, 40), (40, 1), (4, 9), (16, 16), (20, 30)])
def test_tiny_images(method, shape):
    rng = np.random.default_rng(0)
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    pixels = shape[0] * shape[1]
    for n in sorted({1, max(1, pixels // 10), max(1, pixels // 2), pixels}):
        assert_superpixels(superpixels(image, n, method), shape)


def test_input_forms_agree(tmp_path, bsds_small):
    base = superpixels(bsds_small, 100)
    assert np.array_equal(superpixels(bsds_small.astype(np.uint16) * 257, 100), base)
    assert np.array_equal(superpixels(bsds_small / 255.0, 100), base)
    rgba = np.dstack([bsds_small, np.full(bsds_small.shape[:2], 7, np.uint8)])
    assert np.array_equal(superpixels(rgba, 100), base)
    path = write_image(tmp_path / "image.png", bsds_small)
    assert np.array_equal(superpixels(path, 100), base)
    assert np.array_equal(superpixels(str(path), 100), base)
    gray = bsds_small[..., 1]
    assert np.array_equal(superpixels(gray, 100), superpixels(np.dstack([gray] * 3), 100))
    assert_superpixels(superpixels(gray.astype(np.float32) / 255, np.int64(100)), gray.shape)


@pytest.mark.parametrize(
    "image, n_segments, kwargs, fragment",
    [
        (np.full((8, 8), np.nan), 4, {}, "NaN or infinite"),
        (np.full((8, 8, 3), np.inf, np.float32), 4, {}, "NaN or infinite"),
        (np.zeros((0, 5, 3), np.uint8), 4, {}, "empty"),
        (np.zeros((8, 8)), 0, {}, "positive integer"),
        (np.zeros((8, 8)), -1, {}, "positive integer"),
        (np.zeros((8, 8)), 2.5, {}, "positive integer"),
        (np.zeros((8, 8)), True, {}, "positive integer"),
        (np.zeros((8, 8)), 65, {}, "exceeds the number of pixels"),
        (np.zeros((8, 8)), 4, {"method": "nope"}, "available: felzenszwalb, grid, lsc, pcnet, scn, seeds, slic"),
        (np.zeros((8, 8)), 4, {"method": "slic", "compactnes": 3}, "valid options: compactness=10.0"),
        (np.zeros((8, 8)), 4, {"compactnes": 3}, "for method 'pcnet'; valid options: checkpoint=None"),
        (np.zeros((8, 8)), 4, {"min_size_fraction": 1.5}, "min_size_fraction"),
        (np.zeros((8, 8), np.float64) + 2.0, 4, {}, "must lie in [0, 1]"),
        ([[0, 1], [1, 0]], 2, {}, "NumPy array or a file path"),
    ],
)
def test_bad_inputs(image, n_segments, kwargs, fragment):
    with pytest.raises(ValueError) as err:
        superpixels(image, n_segments, **kwargs)
    assert fragment in str(err.value)


def test_bad_option_value_is_named():
    with pytest.raises(ValueError, match="color_space must be one of"):
        superpixels(np.zeros((32, 32, 3), np.uint8), 8, "seeds", color_space="xyz")


def test_registry():
    assert set(METHODS) <= set(available_methods())
    assert method_options("seeds")["num_levels"] == 4
    with pytest.raises(ValueError, match="already registered"):
        register_method("slic")(lambda image, n_segments: image[..., 0])

    @register_method("test_rows")
    def rows(image: np.ndarray, n_segments: int, *, offset: int = 0) -> np.ndarray:
        return np.repeat(np.arange(image.shape[0])[:, None] + offset, image.shape[1], axis=1)

    try:
        assert "test_rows" in available_methods()
        labels = superpixels(np.zeros((3, 2)), 3, "test_rows", offset=5)
        assert labels.tolist() == [[0, 0], [1, 1], [2, 2]]
        with pytest.raises(ValueError, match="valid options: offset=0"):
            superpixels(np.zeros((3, 2)), 3, "test_rows", scale=2)
    finally:
        register_method("test_rows", overwrite=True)(rows)
        from pcnet.methods import registry as api

        api._METHODS.pop("test_rows")


@pytest.mark.parametrize("method", OPENCV)
def test_opencv_deterministic_at_any_thread_count(method, bsds_small):
    threads = cv2.getNumThreads()
    try:
        cv2.setNumThreads(4)
        first = superpixels(bsds_small, 150, method)
        assert cv2.getNumThreads() == 4  # restored after LSC's single-threaded run
        assert np.array_equal(superpixels(bsds_small, 150, method), first)
        cv2.setNumThreads(1)
        assert np.array_equal(superpixels(bsds_small, 150, method), first)
    finally:
        cv2.setNumThreads(threads)


def test_seeds_count_matching(bsds_small):
    height, width = bsds_small.shape[:2]
    assert seeds_grid(height, width, 250, 4) == 150  # OpenCV alone falls well short of the request
    k = assert_superpixels(superpixels(bsds_small, 250, "seeds"), (height, width))
    assert 0.85 * 250 <= k <= 1.15 * 250
    raw = CLASSICAL_METHODS["seeds"](bsds_small, 250, match_count=False)
    assert int(raw.max()) + 1 == 150 < k  # the prediction is exact


def test_min_size_fraction_merges_small_regions(bsds_small):
    plain = superpixels(bsds_small, 150, "felzenszwalb", scale=100.0, min_size=5)
    merged = superpixels(bsds_small, 150, "felzenszwalb", scale=100.0, min_size=5, min_size_fraction=0.5)
    assert assert_superpixels(merged, plain.shape) < assert_superpixels(plain, plain.shape)
    sizes = np.bincount(merged.ravel())
    assert sizes.min() >= 0.5 * plain.size / 150


@pytest.mark.slow
def test_felzenszwalb_calibration_on_bsds500(bsds500_root):
    """The documented rule min_size = 0.5·H·W/n keeps K ≈ n (measured 1.02-1.12 n) on 481×321."""
    paths = sorted((bsds500_root / "images" / "val").glob("*.jpg"))[:10]
    images = [read_image(p) for p in paths]
    for n in (200, 600, 1200):
        ks = [int(superpixels(image, n, "felzenszwalb").max()) + 1 for image in images]
        assert 0.9 * n <= np.mean(ks) <= 1.25 * n, (n, ks)

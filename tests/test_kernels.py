"""The compiled kernels (numba) against the plain NumPy references of tests/reference_ops.py:
identical labels on hand-made and synthetic maps, for any thread count."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

import reference_ops as ref
from pcnet.data.synthetic import synthetic_image
from pcnet.ops import connected_components, enforce_connectivity, refine_labels


def grid(height: int, width: int, cell: int) -> np.ndarray:
    """A regular grid of ``cell``-px square labels, numbered in raster order."""
    cols = -(-width // cell)
    return (np.arange(height)[:, None] // cell * cols + np.arange(width)[None] // cell).astype(np.int32)


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("threads", [1, 2])
def test_refinement_kernel_gives_the_reference_labels(seed, threads):
    image, _ = synthetic_image(150, 190, n_regions=9, n_lines=2, seed=seed)
    start = grid(150, 190, 12)
    options = dict(n_iter=5, rounds=2, min_size=20)
    out = refine_labels(image, start, threads=threads, **options)
    assert (out != start).mean() > 0.05  # it did move boundaries
    np.testing.assert_array_equal(out, ref.refine_labels(image, start, **options))


def test_refinement_kernel_gives_the_reference_labels_of_a_staircase():
    # an upscaled cell map (the learned methods' input to refinement), border pixels included
    image, _ = synthetic_image(96, 128, n_regions=6, n_lines=1, seed=5)
    cells = cv2.resize(grid(24, 32, 4), (128, 96), interpolation=cv2.INTER_NEAREST)
    for compactness, smoothness in ((0.0, 0.0), (5.0, 30.0), (20.0, 5.0)):
        options = dict(n_iter=4, compactness=compactness, smoothness=smoothness)
        np.testing.assert_array_equal(
            refine_labels(image, cells, **options), ref.refine_labels(image, cells, **options)
        )


@pytest.mark.parametrize("threads", [1, 2])
def test_masked_refinement_kernel_gives_the_reference_labels(threads):
    """−1 outside a mask: those pixels keep −1, no label moves onto them, and the rest is the
    reference's."""
    image, _ = synthetic_image(150, 190, n_regions=9, n_lines=2, seed=4)
    yy, xx = np.mgrid[:150, :190]
    inside = (yy - 70) ** 2 + (xx - 100) ** 2 < 60**2
    start = np.where(inside, grid(150, 190, 12), -1).astype(np.int32)
    options = dict(n_iter=5, rounds=2, min_size=20)
    out = refine_labels(image, start, threads=threads, **options)
    assert ((out == -1) == ~inside).all()
    assert (out[inside] != start[inside]).mean() > 0.05
    np.testing.assert_array_equal(out, ref.refine_labels(image, start, **options))


def test_a_window_with_its_row_offset_refines_its_core_as_the_whole_image_does():
    """Positions in the whole image's rows (the float32 rounding of a centroid depends on them):
    a window with enough context rows gives the whole image's labels on its core."""
    image, _ = synthetic_image(400, 160, n_regions=12, n_lines=2, seed=8)
    start = grid(400, 160, 12) + 5000  # ids need not start at 0
    options = dict(n_iter=4, rounds=2, min_size=20, spacing=12.0)
    whole = refine_labels(image, start - 5000, **options) + 5000
    r0, r1 = 2000 // 12, 330  # core rows 200..300 with 34+ rows of context
    window = refine_labels(image[r0:r1], start[r0:r1] - 5000, row_offset=r0, **options) + 5000
    np.testing.assert_array_equal(window[200 - r0 : 300 - r0], whole[200:300])
    np.testing.assert_array_equal(
        window - 5000, ref.refine_labels(image[r0:r1], start[r0:r1] - 5000, row_offset=r0, **options)
    )


def test_refinement_is_the_same_for_any_thread_count():
    image, _ = synthetic_image(300, 260, n_regions=20, n_lines=3, seed=7)
    start = grid(300, 260, 16)
    one = refine_labels(image, start, n_iter=6, threads=1)
    np.testing.assert_array_equal(refine_labels(image, start, n_iter=6, threads=2), one)
    np.testing.assert_array_equal(refine_labels(image, start, n_iter=6, threads=3), one)


def test_components_of_a_hand_made_map():
    labels = np.array([[1, 1, 2, 1], [3, 1, 2, 1], [1, 1, 1, 1], [4, 4, 2, 2]])
    # the U of 1s is one component (joined at the bottom row); raster order of first pixels
    expected = np.array([[0, 0, 1, 0], [2, 0, 1, 0], [0, 0, 0, 0], [3, 3, 4, 4]])
    np.testing.assert_array_equal(connected_components(labels), expected)


def test_connectivity_kernel_gives_the_reference_labels():
    rng = np.random.default_rng(0)
    for case in range(240):
        height, width = (int(x) for x in rng.integers(1, 30, 2))
        labels = rng.integers(0, int(rng.integers(1, 10)), (height, width))
        if case % 3 == 0:  # blocks, as an upscaled cell map
            labels = cv2.resize(labels.astype(np.int32), (3 * width, 3 * height), interpolation=cv2.INTER_NEAREST)
        mask = rng.random(labels.shape) < 0.8 if case % 2 == 0 else None
        if mask is not None and not mask.any():
            continue
        fraction = float(rng.choice([0.0, 0.06, 0.3, 0.9]))
        keep_largest = case % 4 < 2
        n_segments = None if case % 5 else int(rng.integers(1, 20))
        args = (labels, fraction, n_segments, keep_largest, mask)
        np.testing.assert_array_equal(enforce_connectivity(*args), ref.enforce_connectivity(*args), err_msg=f"{case}")
        np.testing.assert_array_equal(connected_components(labels), ref.connected_components(labels))


def test_a_one_pixel_wide_map_merges_vertically():
    # the NumPy version found no vertical neighbours in a 1-px-wide map (its flat-index step was 1
    # both ways): the kernel merges the 1-px pieces (below 0.9 · 8 / 5 px) into a chain, each
    # into its equal-sized upper neighbour (ties: the lower id), the last beside the 5s too
    column = np.array([[4], [3], [2], [1], [5], [5], [5], [5]])
    out = enforce_connectivity(column, 0.9, keep_largest=True)
    assert out.ravel().tolist() == [0, 0, 0, 0, 1, 1, 1, 1]


def test_connectivity_kernel_on_a_large_noisy_grid():
    rng = np.random.default_rng(1)
    labels = grid(512, 640, 16) ^ (rng.random((512, 640)) < 0.01)  # 1-px fragments everywhere
    args = (labels, 0.06, None, True, None)
    np.testing.assert_array_equal(enforce_connectivity(*args), ref.enforce_connectivity(*args))


@pytest.mark.parametrize("origin", [(0, 0), (8, 12), (20, 36)])
def test_subpixel_cells_kernel_gives_the_pytorch_ids(origin):
    from pcnet.ops.labels import _subpixel_cells_torch, hard_labels_subpixel

    torch = pytest.importorskip("torch")
    generator = torch.Generator().manual_seed(sum(origin))
    scores = torch.randn(2, 9 * 16, 5, 7, generator=generator)
    scores[:, :, 1] = scores[:, :, 1].round()  # exact ties on a row: the own cell, then TIE_ORDER
    scores[:, :, 2] = 0.0
    image_size = (40, 64)  # a tile at origin of a 40×64 output image, 16-px cells, u = 4
    fast = hard_labels_subpixel(scores.clone(), 4, 16, origin, image_size)
    grid_h, grid_w = 3, 4
    reference = _subpixel_cells_torch(scores.clone(), 4, 16, origin, grid_h, grid_w)
    assert fast.dtype == torch.int32 and fast.shape == (2, 20, 28)
    assert torch.equal(fast, reference)
    assert int(fast.max()) < grid_h * grid_w and int(fast.min()) >= 0
    # a non-contiguous window of the scores (a tiled core) gives the ids of its copy
    window = scores[..., 1:4, 2:6]
    shifted = (origin[0] + 4, origin[1] + 8)
    assert torch.equal(
        hard_labels_subpixel(window, 4, 16, shifted, image_size),
        hard_labels_subpixel(window.contiguous(), 4, 16, shifted, image_size),
    )


def test_split_and_renumber_needs_no_kernel():
    # the classical methods' connectivity (fraction 0): skimage's components, the same labels
    rng = np.random.default_rng(3)
    labels = cv2.resize(rng.integers(0, 6, (20, 30)).astype(np.int32), (90, 60), interpolation=cv2.INTER_NEAREST)
    np.testing.assert_array_equal(enforce_connectivity(labels, 0.0), connected_components(labels))


def test_a_classical_call_imports_neither_torch_nor_numba():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np, pcnet; "
        "yy, xx = np.mgrid[:64, :80]; "
        "img = np.stack([xx * 3, yy * 4, (xx // 16 + yy // 16) % 2 * 200], -1).astype(np.uint8); "
        "k = pcnet.superpixels(img, 40, method='slic').max() + 1; "
        "assert 20 < k < 80, k; "
        "print(sorted(m for m in ('torch', 'numba') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize(("shape", "out"), [((481, 321), (120, 80)), ((1001, 777), (250, 194)), ((64, 96), (16, 24))])
def test_area_shrink_kernel_gives_the_reference_and_opencv(shape, out):
    """The compiled area shrink against the NumPy reference (the same weights, another order of
    summation: equal but for a float rounding at an exact half, none here) and against OpenCV's
    INTER_AREA (its fixed-point weights: at most ±1, in under 0.01 % of the values)."""
    from pcnet.ops.resample import area_downsample

    rng = np.random.default_rng(1)
    image = rng.integers(0, 256, (*shape, 3), dtype=np.uint8)
    ours = area_downsample(image, *out)
    np.testing.assert_array_equal(ours, ref.area_downsample(image, *out))
    opencv = cv2.resize(image, out[::-1], interpolation=cv2.INTER_AREA)
    diff = np.abs(ours.astype(int) - opencv)
    assert diff.max() <= 1 and (diff > 0).mean() < 1e-4

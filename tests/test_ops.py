"""Cell grid, pool/unpool, hard labels and connectivity on hand-made inputs."""

import cv2
import numpy as np
import pytest
import torch

from helpers import assert_superpixels
from pcnet.ops import (
    NEIGHBOR_OFFSETS,
    OWN_CELL,
    cell_index_map,
    cell_neighbors,
    cell_size_for,
    enforce_connectivity,
    find_boundaries,
    grid_shape,
    hard_labels,
    n_segments_for,
    pixel_neighbor_cells,
    pool,
    reconstruct,
    unpool,
)


def one_hot_assoc(batch: int, height: int, width: int, channel: int = OWN_CELL) -> torch.Tensor:
    q = torch.zeros(batch, 9, height, width, dtype=torch.float64)
    q[:, channel] = 1.0
    return q


def dense_pool_reference(f, q, s):
    """Eq. 1 with an explicit pixels × cells matrix (fine for tiny images)."""
    b, c, h, w = f.shape
    gh, gw = grid_shape(h, w, s)
    nb = pixel_neighbor_cells(h, w, s)  # 9 x H x W
    out = torch.zeros(b, c, gh * gw, dtype=f.dtype)
    den = torch.zeros(b, 1, gh * gw, dtype=f.dtype)
    for k in range(9):
        for y in range(h):
            for x in range(w):
                cell = int(nb[k, y, x])
                if cell >= 0:
                    out[:, :, cell] += f[:, :, y, x] * q[:, k, y, x][:, None]
                    den[:, :, cell] += q[:, k, y, x][:, None]
    return (out / (den + 1e-8)).reshape(b, c, gh, gw)


# --------------------------------------------------------------------------- grid


def test_grid_shape_counts_partial_cells():
    assert grid_shape(321, 481, 16) == (21, 31)
    assert grid_shape(16, 16, 16) == (1, 1)
    assert grid_shape(17, 1, 16) == (2, 1)


def test_cell_size_roundtrip():
    assert cell_size_for(600, 321, 481) == 16
    assert n_segments_for(16, 321, 481) == 21 * 31
    for k in (200, 600, 1200):
        s = cell_size_for(k, 321, 481)
        assert abs(n_segments_for(s, 321, 481) - k) / k < 0.25


@pytest.mark.parametrize("bad", [0, -3, 2.5, True, 10**9])
def test_cell_size_for_rejects_bad_counts(bad):
    with pytest.raises(ValueError, match="n_segments"):
        cell_size_for(bad, 32, 32)


def test_cell_index_map_partial_border():
    ids = cell_index_map(5, 7, 3)
    assert ids.shape == (5, 7)
    assert ids[0, 0] == 0 and ids[0, 6] == 2 and ids[4, 6] == 5
    assert ids.max() == 5


def test_cell_neighbors_of_corner_and_centre():
    nb = cell_neighbors(3, 3)
    assert nb[4].tolist() == list(range(9))
    assert nb[0].tolist() == [-1, -1, -1, -1, 0, 1, -1, 3, 4]
    for k, (dy, dx) in enumerate(NEIGHBOR_OFFSETS):
        assert nb[4, k] == (1 + dy) * 3 + (1 + dx)


# --------------------------------------------------------------------------- pool / unpool


def test_pool_unpool_identity_for_one_hot_assoc():
    h, w, s = 13, 10, 4
    gh, gw = grid_shape(h, w, s)
    cells = torch.randn(2, 3, gh, gw, dtype=torch.float64)
    q = one_hot_assoc(2, h, w)
    pixels = unpool(cells, q, s)
    assert torch.allclose(pool(pixels, q, s), cells)
    assert torch.allclose(reconstruct(pixels, q, s), pixels)


def test_pool_matches_dense_reference():
    torch.manual_seed(0)
    h, w, s = 7, 9, 3
    f = torch.randn(2, 2, h, w, dtype=torch.float64)
    q = torch.softmax(torch.randn(2, 9, h, w, dtype=torch.float64), dim=1)
    assert torch.allclose(pool(f, q, s), dense_pool_reference(f, q, s), atol=1e-10)


def test_unpool_uses_shifted_neighbour():
    # all weight on the right-hand neighbour: every pixel reads the cell to its right (0 past the edge)
    cells = torch.tensor([[[[1.0, 2.0, 3.0]]]], dtype=torch.float64)
    q = one_hot_assoc(1, 2, 6, channel=NEIGHBOR_OFFSETS.index((0, 1)))
    out = unpool(cells, q, 2)[0, 0]
    assert out.tolist() == [[2, 2, 3, 3, 0, 0]] * 2


def test_pool_unpool_gradcheck():
    torch.manual_seed(0)
    h, w, s = 5, 6, 2
    f = torch.randn(1, 2, h, w, dtype=torch.float64, requires_grad=True)
    logits = torch.randn(1, 9, h, w, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(
        lambda f, logit: reconstruct(f, torch.softmax(logit, 1), s), (f, logits), eps=1e-6, atol=1e-5, fast_mode=True
    )


def test_pool_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match=r"assoc must have shape \(B, 9, H, W\)"):
        pool(torch.zeros(1, 3, 8, 8), torch.zeros(1, 8, 8, 8), 4)
    with pytest.raises(ValueError, match="must share B, H and W"):
        pool(torch.zeros(1, 3, 8, 8), torch.zeros(1, 9, 8, 7), 4)
    with pytest.raises(ValueError, match="grid"):
        unpool(torch.zeros(1, 3, 3, 3), torch.zeros(1, 9, 8, 8), 4)


# --------------------------------------------------------------------------- hard labels


def test_hard_labels_uniform_is_grid():
    lab = hard_labels(torch.zeros(2, 9, 10, 11), 4)
    assert torch.equal(lab[0], cell_index_map(10, 11, 4))
    assert torch.equal(lab[1], lab[0])


def test_hard_labels_picks_neighbour_and_never_leaves_grid():
    q = torch.zeros(1, 9, 4, 4)
    q[:, NEIGHBOR_OFFSETS.index((-1, -1))] = 1.0  # everyone prefers the upper-left cell
    lab = hard_labels(q, 2)[0]
    # cell 3 (lower right) -> cell 0; border cells have no upper-left neighbour and keep their own
    assert lab[3, 3] == 0
    assert lab[0, 0] == 0 and lab[0, 3] == 1 and lab[3, 0] == 2


def test_hard_labels_tie_between_neighbours_is_row_major():
    q = torch.zeros(1, 9, 6, 6)
    q[:, OWN_CELL] = -1.0
    q[:, NEIGHBOR_OFFSETS.index((0, 1))] = 1.0
    q[:, NEIGHBOR_OFFSETS.index((1, 0))] = 1.0
    lab = hard_labels(q, 2)[0]
    assert lab[2, 2] == 5  # centre cell 4: right (index 5) beats down (index 7) on the tie


# --------------------------------------------------------------------------- connectivity


def test_connectivity_splits_disconnected_label():
    lab = np.array([[1, 2, 1], [1, 2, 1]])
    out = enforce_connectivity(lab, min_size_fraction=0)
    assert out.tolist() == [[0, 1, 2], [0, 1, 2]]
    assert out.dtype == np.int32


def test_connectivity_merges_small_island_into_longest_border():
    lab = np.zeros((6, 6), int)
    lab[:, 3:] = 1
    lab[2, 2] = 5  # 1-pixel island: 3 sides touch label 0, one side touches label 1
    out = enforce_connectivity(lab, min_size_fraction=0.1)
    assert out[2, 2] == out[0, 0]
    assert out.max() == 1


def test_connectivity_small_neighbours_chain_to_large():
    lab = np.zeros((1, 10), int)
    lab[0, 7] = 1
    lab[0, 8] = 2
    lab[0, 9] = 3  # three 1-pixel pieces at the right end of a row
    out = enforce_connectivity(lab, min_size_fraction=0.9)  # min size 0.9 * 10 / 4 = 2.25
    assert out.tolist() == [[0] * 10]


def test_connectivity_random_maps_are_connected_and_sequential():
    rng = np.random.default_rng(0)
    for _ in range(5):
        lab = rng.integers(0, 6, size=(20, 17))
        for frac in (0.0, 0.06, 0.5):
            out = enforce_connectivity(lab, min_size_fraction=frac)
            assert_superpixels(out)
            assert out.shape == lab.shape


def test_connectivity_keeps_well_formed_map_and_relabels_in_raster_order():
    lab = np.array([[7, 7, 3], [7, 7, 3], [9, 9, 3]])
    out = enforce_connectivity(lab)
    assert out.tolist() == [[0, 0, 1], [0, 0, 1], [2, 2, 1]]


def test_connectivity_accepts_tensor_and_rejects_bad_input():
    assert enforce_connectivity(torch.zeros(3, 3, dtype=torch.long)).tolist() == [[0] * 3] * 3
    with pytest.raises(ValueError, match="non-negative"):
        enforce_connectivity(np.array([[-1, 0]]))
    with pytest.raises(ValueError, match="integer labels"):
        enforce_connectivity(np.zeros((2, 2), float))
    with pytest.raises(ValueError, match="min_size_fraction"):
        enforce_connectivity(np.zeros((2, 2), int), min_size_fraction=1.5)


def test_find_boundaries_matches_skimage_thick():
    from skimage.segmentation import find_boundaries as sk_find

    rng = np.random.default_rng(1)
    lab = rng.integers(0, 4, size=(15, 12))
    assert np.array_equal(find_boundaries(lab), sk_find(lab, connectivity=1, mode="thick"))


def test_neighbor_sq_distances_match_direct_computation():
    from pcnet.ops import neighbor_sq_distances

    torch.manual_seed(0)
    f = torch.randn(2, 3, 7, 9, dtype=torch.float64)
    centres = torch.randn(2, 3, 3, 3, dtype=torch.float64)
    d = neighbor_sq_distances(f, centres, 3)
    nb = pixel_neighbor_cells(7, 9, 3)  # 9 x H x W global cell ids
    flat = centres.flatten(2)  # B x C x cells
    gathered = flat[:, :, nb.clamp(min=0)]  # B x C x 9 x H x W
    expected = (f[:, :, None] - gathered).pow(2).sum(1).masked_fill(nb[None] < 0, float("inf"))
    assert torch.allclose(d, expected, atol=1e-9)


def test_soft_slic_recovers_flat_regions():
    from pcnet.ops import soft_slic

    f = torch.zeros(1, 1, 8, 8)
    f[..., 4:] = 10.0
    q, c = soft_slic(f, cell_size=4, n_iter=3)
    assert torch.allclose(q.sum(1), torch.ones(1, 8, 8))
    assert torch.allclose(c.flatten(), torch.tensor([0.0, 10.0, 0.0, 10.0]), atol=1e-4)


# --------------------------------------------------------------------------- resampling by bands


@pytest.mark.parametrize(("n_src", "n_dst"), [(1000, 250), (1001, 250), (1234, 308), (97, 31)])
def test_a_band_of_rows_resamples_as_the_whole_image(n_src, n_dst):
    """What the streamed path relies on: any band of output rows of the area shrink and of the
    nearest upscale, computed from the source rows it needs alone, equals those rows of the whole."""
    from pcnet.ops.resample import area_downsample, area_source_rows, nearest_rows, upscale_nearest

    rng = np.random.default_rng(n_src)
    image = rng.integers(0, 256, (n_src, 40, 3), dtype=np.uint8)
    whole = area_downsample(image, n_dst, 13)
    for start, stop in ((0, 7), (n_dst // 3, n_dst // 3 + 11), (n_dst - 5, n_dst)):
        r0, r1 = area_source_rows(n_src, n_dst, start, stop)
        band = area_downsample(image[r0:r1], n_dst, 13, rows=(start, stop), src_rows=n_src)
        np.testing.assert_array_equal(band, whole[start:stop])
    cells = rng.integers(0, 10**6, (n_dst, 13)).astype(np.int32)
    up = upscale_nearest(cells, n_src, 40)
    np.testing.assert_array_equal(up, cv2.resize(cells, (40, n_src), interpolation=cv2.INTER_NEAREST))
    index = nearest_rows(n_dst, n_src, 100 % n_src, 150 % n_src + 1)
    part = upscale_nearest(
        cells[index[0] :], n_src, 40, rows=(100 % n_src, 150 % n_src + 1), src_rows=n_dst, offset=int(index[0])
    )
    np.testing.assert_array_equal(part, up[100 % n_src : 150 % n_src + 1])

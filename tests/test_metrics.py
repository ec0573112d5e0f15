"""Benchmark metrics: known answers on hand-made maps, a brute-force reference, torchmetrics, DDP."""

import math
import socket

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from pcnet._checks import InputError
from pcnet.metrics import (
    METRIC_NAMES,
    AchievableSegmentationAccuracy,
    BoundaryRecall,
    SuperpixelMetrics,
    UndersegmentationError,
    achievable_segmentation_accuracy,
    boundary_precision,
    boundary_recall,
    boundary_tolerance,
    compactness,
    n_superpixels,
    superpixel_scores,
    undersegmentation_error,
)
from pcnet.ops import connected_components


def halves(height: int, width: int, split: int) -> np.ndarray:
    lab = np.zeros((height, width), dtype=np.int64)
    lab[:, split:] = 1
    return lab


def voronoi(height: int, width: int, n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 1, size=(n, 2)) * (height, width)
    yy, xx = np.mgrid[:height, :width]
    d = (yy[..., None] - pts[:, 0]) ** 2 + (xx[..., None] - pts[:, 1]) ** 2
    return d.argmin(-1)


# --------------------------------------------------------------------------- brute force reference


def _is_boundary(lab, i, j):
    h, w = lab.shape
    return any(
        0 <= i + di < h and 0 <= j + dj < w and lab[i + di, j + dj] != lab[i, j]
        for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1))
    )


def _near(lab, i, j, r):
    h, w = lab.shape
    return any(
        _is_boundary(lab, k, m)
        for k in range(max(0, i - r), min(h - 1, i + r) + 1)
        for m in range(max(0, j - r), min(w - 1, j + r) + 1)
    )


def reference_scores(labels, gt, r):
    """Pixel loops after the superpixel-benchmark's C++ (BP as defined in its paper)."""
    sp = connected_components(labels)
    h, w = gt.shape
    gt_b = [(i, j) for i in range(h) for j in range(w) if _is_boundary(gt, i, j)]
    sp_b = [(i, j) for i in range(h) for j in range(w) if _is_boundary(sp, i, j)]
    br = sum(_near(sp, i, j, r) for i, j in gt_b) / len(gt_b) if gt_b else 0.0
    bp = sum(_near(gt, i, j, r) for i, j in sp_b) / len(sp_b) if sp_b else 0.0
    asa = ue = co = 0.0
    for s in range(sp.max() + 1):
        mask = sp == s
        size = mask.sum()
        overlaps = [np.sum(mask & (gt == g)) for g in np.unique(gt)]
        asa += max(overlaps)
        ue += sum(min(n, size - n) for n in overlaps if n > 0)
        per = 0
        for i, j in zip(*np.nonzero(mask)):
            for di, dj in ((-1, 0), (1, 0), (0, -1), (0, 1)):
                k, m = i + di, j + dj
                per += not (0 <= k < h and 0 <= m < w) or sp[k, m] != s
        co += size * 4 * math.pi * size / per**2
    n = h * w
    return {"br": br, "bp": bp, "asa": asa / n, "ue": ue / n, "co": co / n, "n_superpixels": sp.max() + 1}


@pytest.mark.parametrize("r", [0, 1, 2])
@pytest.mark.parametrize("seed", [0, 1])
def test_matches_brute_force_reference(r, seed):
    rng = np.random.default_rng(seed)
    labels = voronoi(14, 17, 9, seed)
    labels[rng.random(labels.shape) < 0.05] = 20  # scattered, disconnected fragments
    gt = voronoi(14, 17, 4, seed + 10) * 3 + 1
    ours = superpixel_scores(labels, gt, tolerance=r)
    ref = reference_scores(labels, gt, r)
    for key in METRIC_NAMES:
        assert ours[key] == pytest.approx(ref[key], abs=1e-12), key


# --------------------------------------------------------------------------- known answers


def test_identical_maps_are_perfect():
    gt = voronoi(30, 40, 6, 3)
    s = superpixel_scores(gt, gt, tolerance=1)
    assert s["br"] == 1.0 and s["bp"] == 1.0 and s["asa"] == 1.0 and s["ue"] == 0.0
    assert s["n_superpixels"] == 6


def test_boundary_shifted_by_one_is_within_tolerance():
    gt, sp = halves(8, 10, 5), halves(8, 10, 6)
    s = superpixel_scores(sp, gt, tolerance=1)
    assert s["br"] == 1.0 and s["bp"] == 1.0
    # superpixel 0 = columns 0-5 holds 40 px of region 0 and 8 px of region 1
    assert s["asa"] == pytest.approx(72 / 80)
    assert s["ue"] == pytest.approx((8 + 8) / 80)
    assert boundary_recall(sp, gt, tolerance=0) == pytest.approx(0.5)


def test_boundary_shifted_by_two_misses_half():
    gt, sp = halves(8, 10, 5), halves(8, 10, 7)
    # GT boundary columns 4, 5; superpixel boundary columns 6, 7
    assert boundary_recall(sp, gt, tolerance=1) == pytest.approx(0.5)
    assert boundary_precision(sp, gt, tolerance=1) == pytest.approx(0.5)
    assert boundary_recall(sp, gt, tolerance=2) == 1.0


def test_superpixel_straddling_two_regions():
    gt = halves(6, 6, 2)  # region 0: 12 px, region 1: 24 px
    sp = halves(6, 6, 3)  # superpixel 0 = 12 px of region 0 + 6 px of region 1
    assert achievable_segmentation_accuracy(sp, gt) == pytest.approx((12 + 18) / 36)
    assert undersegmentation_error(sp, gt) == pytest.approx((6 + 6) / 36)
    one = np.zeros((6, 6), int)
    assert achievable_segmentation_accuracy(one, gt) == pytest.approx(24 / 36)
    assert undersegmentation_error(one, gt) == pytest.approx((12 + 12) / 36)


def test_compactness_of_squares():
    assert compactness(np.zeros((7, 7), int)) == pytest.approx(math.pi / 4)
    lab = np.zeros((10, 10), int)
    lab[3:7, 3:7] = 1  # a 4x4 square inside a frame
    frame = 84 * 4 * math.pi * 84 / (40 + 16) ** 2
    assert compactness(lab) == pytest.approx((16 * math.pi / 4 + frame) / 100)
    assert compactness(np.arange(16).reshape(4, 4)) == pytest.approx(math.pi / 4)  # 1-px squares


def test_n_superpixels_counts_connected_parts():
    lab = np.array([[0, 1, 0], [0, 1, 0]])
    assert n_superpixels(lab) == 3


def test_tolerance_rule():
    assert boundary_tolerance(321, 481) == 1
    assert boundary_tolerance(2000, 3000) == 9  # 0.0025 * 3605.6 = 9.01
    assert boundary_tolerance(10, 10) == 0


def test_no_boundary_gives_zero_recall_and_precision():
    flat = np.zeros((5, 5), int)
    s = superpixel_scores(flat, flat)
    assert s["br"] == 0.0 and s["bp"] == 0.0 and s["asa"] == 1.0


@pytest.mark.parametrize(
    "labels, gt, fragment",
    [
        (np.zeros((4, 4), int), np.zeros((4, 5), int), r"labels \(4, 4\) and gt \(4, 5\)"),
        (np.zeros((4, 4)), np.zeros((4, 4), int), "integer labels"),
        (np.zeros((4, 4), int) - 1, np.zeros((4, 4), int), "non-negative"),
        (np.zeros((0, 4), int), np.zeros((0, 4), int), "non-empty"),
        (np.zeros((2, 4, 4), int), np.zeros((2, 4, 4), int), r"2-D integer array \(H, W\)"),
        ([[0, 1]], np.zeros((1, 2), int), "type list"),
    ],
)
def test_bad_inputs_raise_readable_errors(labels, gt, fragment):
    with pytest.raises(ValueError, match=fragment):
        superpixel_scores(labels, gt)


def test_bad_tolerance_and_metric_names():
    lab = np.zeros((4, 4), int)
    with pytest.raises(ValueError, match="tolerance"):
        superpixel_scores(lab, lab, tolerance=-1)
    with pytest.raises(ValueError, match="unknown metrics"):
        superpixel_scores(lab, lab, metrics=("dice",))


# --------------------------------------------------------------------------- ignore_index (masks)


def masked(labels: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """``labels`` with -1 outside ``keep`` (a masked prediction)."""
    return np.where(keep, labels, -1)


def test_masked_prediction_known_answers():
    """Columns 0-3 kept (superpixels 0 | 1 split at column 2), 4-7 ignored; GT regions A = column
    0, B = columns 1-5, C = columns 6-7: B crosses the mask edge, the B|C border is ignored."""
    sp = masked(halves(6, 8, 2), halves(6, 8, 4) == 0)
    gt = np.zeros((6, 8), int)
    gt[:, 1:] = 1
    gt[:, 6:] = 2
    s = superpixel_scores(sp, gt, tolerance=0, ignore_index=-1)
    # boundaries: superpixels columns 1, 2 (not 3: the mask edge); GT columns 0, 1 (not 5, 6)
    assert s["br"] == pytest.approx(6 / 12) and s["bp"] == pytest.approx(6 / 12)
    # S0 = 6 px of A + 6 of B, S1 = 12 of B; N = 24 kept pixels
    assert s["asa"] == pytest.approx((6 + 12) / 24) and s["ue"] == pytest.approx((6 + 6) / 24)
    # two 6x2 rectangles, perimeter 16 each (the side on the mask edge included)
    assert s["co"] == pytest.approx(2 * 12 * 4 * math.pi * 12 / 16**2 / 24) and s["n_superpixels"] == 2
    tolerant = superpixel_scores(sp, gt, tolerance=1, ignore_index=-1)
    assert tolerant["br"] == 1.0 and tolerant["bp"] == 1.0


@pytest.mark.parametrize("r", [0, 1, 2])
@pytest.mark.parametrize(
    "rows, cols",
    [(slice(None), slice(0, 9)), (slice(3, 12), slice(4, 15)), (slice(0, 1), slice(None))],
    ids=["left", "inner box", "one row"],
)
def test_masked_prediction_equals_the_crop(rows, cols, r):
    """Superpixels kept on a rectangle score exactly like the crop to it (brute-force reference):
    the mask edge is an image border for the boundaries (of both maps), ASA, UE and CO, whatever
    the GT and the superpixels outside are (the GT has regions and boundaries across and along
    the edge)."""
    labels = voronoi(14, 17, 9, 4)
    labels[::5, ::4] = 30  # one-pixel superpixels, some on the mask edge
    gt = voronoi(14, 17, 5, 5) * 2 + 3
    gt[:, 9:11] = 1  # a GT boundary along the edge of the left rectangle (columns 8 | 9)
    keep = np.zeros(labels.shape, bool)
    keep[rows, cols] = True
    ours = superpixel_scores(masked(labels, keep), gt, tolerance=r, ignore_index=-1)
    crop = reference_scores(labels[rows, cols], gt[rows, cols], r)
    for key in METRIC_NAMES:
        assert ours[key] == pytest.approx(crop[key], abs=1e-12), key


def test_ignored_pixels_do_not_matter():
    """Under a disc-shaped mask, nothing outside changes any metric: neither the GT there nor
    which ignore_index the prediction uses; without ignored pixels ignore_index changes nothing."""
    yy, xx = np.mgrid[:20, :24]
    keep = (yy - 9) ** 2 + (xx - 12) ** 2 < 60
    labels, gt = voronoi(20, 24, 10, 6), voronoi(20, 24, 4, 7)
    other_gt = np.where(keep, gt, voronoi(20, 24, 7, 8) + 10)
    first = superpixel_scores(masked(labels, keep), gt, tolerance=1, ignore_index=-1)
    assert superpixel_scores(masked(labels, keep), other_gt, tolerance=1, ignore_index=-1) == first
    assert superpixel_scores(np.where(keep, labels, 99), gt, tolerance=1, ignore_index=99) == first
    assert superpixel_scores(labels, gt, tolerance=1, ignore_index=-1) == superpixel_scores(labels, gt, tolerance=1)


def test_ignore_index_errors():
    lab = np.zeros((4, 4), int)
    with pytest.raises(ValueError, match="every pixel of labels is ignore_index=-1"):
        superpixel_scores(lab - 1, lab, ignore_index=-1)
    with pytest.raises(ValueError, match="ignore_index must be an integer"):
        superpixel_scores(lab, lab, ignore_index=1.5)
    with pytest.raises(ValueError, match="non-negative"):  # -2 is neither a label nor ignore_index
        superpixel_scores(lab - 2, lab, ignore_index=-1)
    with pytest.raises(ValueError, match="ignore_index must be an integer"):
        SuperpixelMetrics(ignore_index="-1")


# --------------------------------------------------------------------------- torchmetrics


def samples(n: int = 5, mask: bool = False):
    """Superpixel maps with 1-3 annotators each (sizes vary per sample); ``mask``: -1 outside a
    disc of a different size per sample (the first one unmasked)."""
    out = []
    for i in range(n):
        h, w = 20 + i, 24 - i
        sp = voronoi(h, w, 12, i)
        if mask:
            yy, xx = np.mgrid[:h, :w]
            radius = 16 - 2 * i if i else h + w
            sp = masked(sp, (yy - h / 2) ** 2 + (xx - w / 3) ** 2 < radius**2)
        gts = [torch.from_numpy(voronoi(h, w, 3 + a, 100 + 7 * i + a)) for a in range(1 + i % 3)]
        out.append((torch.from_numpy(sp), gts))
    return out


def expected_means(data, ignore_index=None):
    rows = [
        superpixel_scores(sp.numpy(), g.numpy(), tolerance=1, ignore_index=ignore_index)
        for sp, gts in data
        for g in gts
    ]
    return {k: np.mean([r[k] for r in rows]) for k in METRIC_NAMES}, len(rows)


def test_metric_mean_over_annotator_samples():
    data = samples()
    metric = SuperpixelMetrics(tolerance=1)
    for sp, gts in data:
        metric.update([sp], [gts])  # a list of annotators per image
    expected, count = expected_means(data)
    result = metric.compute()
    assert int(metric.n_samples) == count
    for key in METRIC_NAMES:
        assert float(result[key]) == pytest.approx(expected[key], abs=1e-12)


def test_metric_batched_tensors_and_single_metric_classes():
    sp = torch.stack([torch.from_numpy(voronoi(16, 16, 8, s)) for s in range(3)])
    gt = torch.stack([torch.from_numpy(voronoi(16, 16, 3, 50 + s)) for s in range(3)])
    rows = [superpixel_scores(sp[i].numpy(), gt[i].numpy()) for i in range(3)]
    for cls, key in ((BoundaryRecall, "br"), (AchievableSegmentationAccuracy, "asa"), (UndersegmentationError, "ue")):
        m = cls()
        m.update(sp, gt)
        assert float(m.compute()) == pytest.approx(np.mean([r[key] for r in rows]), abs=1e-12)
    assert UndersegmentationError.higher_is_better is False


def test_metric_ignore_index_scores_masked_batches():
    data = samples(mask=True)
    assert (data[0][0] >= 0).all() and all((sp == -1).any() for sp, _ in data[1:])
    metric = SuperpixelMetrics(tolerance=1, ignore_index=-1)
    for sp, gts in data:
        metric.update([sp], [gts])
    expected, _ = expected_means(data, ignore_index=-1)
    plain, _ = expected_means(samples())
    result = metric.compute()
    for key in METRIC_NAMES:
        assert float(result[key]) == pytest.approx(expected[key], abs=1e-12), key
    assert expected["n_superpixels"] < plain["n_superpixels"]  # the mask is no superpixel
    with pytest.raises(ValueError, match="preds must hold non-negative labels"):
        SuperpixelMetrics(tolerance=1).update([data[1][0]], [data[1][1]])  # -1 without ignore_index


def test_metric_rejects_mismatched_batches():
    with pytest.raises(ValueError, match="one ground truth"):
        SuperpixelMetrics().update(torch.zeros(2, 4, 4, dtype=torch.long), [torch.zeros(4, 4, dtype=torch.long)])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ddp_worker(rank: int, world: int, port: int, shares, out_path: str, ignore_index: int | None) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=world)
    try:
        data = samples(mask=ignore_index is not None)
        metric = SuperpixelMetrics(tolerance=1, ignore_index=ignore_index)
        for i in shares[rank]:
            sp, gts = data[i]
            metric.update([sp], [gts])
        result = {k: float(v) for k, v in metric.compute().items()}
        with metric.sync_context():
            result["n_samples"] = int(metric.n_samples)
        if rank == 0:
            torch.save(result, out_path)
    finally:
        dist.destroy_process_group()


@pytest.mark.parametrize(
    "shares, ignore_index",
    [
        ([[0, 2, 3, 4], [1]], None),  # uneven and interleaved: 7 annotator samples vs 2
        ([[0, 1], [2, 3, 4]], -1),  # masked predictions, half the images on each rank
    ],
    ids=["plain", "masked"],
)
def test_ddp_two_gloo_processes_equal_single_process(tmp_path, shares, ignore_index):
    out = tmp_path / "ddp.pt"
    mp.spawn(_ddp_worker, args=(2, _free_port(), shares, str(out), ignore_index), nprocs=2, join=True)
    got = torch.load(out)
    expected, count = expected_means(samples(mask=ignore_index is not None), ignore_index)
    assert got["n_samples"] == count
    for key in METRIC_NAMES:
        assert abs(got[key] - expected[key]) <= 1e-6, key


def test_masked_map_without_ignore_index_says_how_to_score_it():
    labels = np.zeros((8, 8), np.int32)
    labels[:2] = -1
    with pytest.raises(InputError, match="pass ignore_index=-1"):
        superpixel_scores(labels, np.zeros((8, 8), int))
    with pytest.raises(InputError, match="preds must hold non-negative.*ignore_index=-1"):
        SuperpixelMetrics().update(torch.from_numpy(labels), torch.zeros(8, 8, dtype=torch.long))

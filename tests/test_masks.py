"""Masks (issue 17 part 2): superpixels inside a mask only (-1 outside) for every method, the mask
in enforce_connectivity, masked label maps on disk, predict's mask files, and unlabelled GT
pixels skipped by the metrics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from scipy import ndimage

import pcnet
from helpers import assert_superpixels, compose_config
from pcnet._checks import InputError
from pcnet.data.bsds500 import Sample
from pcnet.data.readers import MAPILLARY_UNLABELLED, list_samples, unlabelled_value
from pcnet.data.synthetic import synthetic_image
from pcnet.evaluation.runner import Setting, evaluate
from pcnet.io import read_label_map, write_image, write_label_map
from pcnet.metrics.functional import superpixel_scores
from pcnet.ops.connectivity import enforce_connectivity
from pcnet.ops.masks import masked_request
from pcnet.prediction import find_inputs

HEIGHT, WIDTH, K = 96, 128, 40


def holes_and_islands(height: int = HEIGHT, width: int = WIDTH) -> np.ndarray:
    """A body with two holes, plus two islands (a disc and a bar): 43 % of the image."""
    yy, xx = np.mgrid[:height, :width]
    mask = np.zeros((height, width), bool)
    mask[8:70, 10:80] = True
    mask[20:30, 20:32] = False
    mask[45:58, 50:60] = False
    mask[(yy - 25) ** 2 + (xx - 108) ** 2 < 14**2] = True
    mask[78:92, 30:70] = True
    return mask


@pytest.fixture(scope="module")
def image() -> np.ndarray:
    return synthetic_image(HEIGHT, WIDTH, n_regions=8, seed=3)[0]


def test_the_mask_has_holes_and_islands():
    mask = holes_and_islands()
    assert ndimage.label(mask)[1] == 3 and ndimage.label(~mask)[1] == 3  # 3 parts; outside + 2 holes


# ----------------------------------------------------------------------------- every method
@pytest.mark.parametrize("method", pcnet.available_methods())
def test_every_method_puts_k_connected_superpixels_inside_the_mask(method, image):
    mask = holes_and_islands()
    labels = pcnet.superpixels(image, K, method=method, mask=mask)
    k = assert_superpixels(labels, mask=mask)
    assert abs(k - K) <= 0.15 * K, f"{method}: K inside {k} for {K} requested"


@pytest.mark.parametrize("method", pcnet.available_methods())
def test_full_mask_is_no_mask(method, image):
    full = np.ones(image.shape[:2], bool)
    np.testing.assert_array_equal(
        pcnet.superpixels(image, K, method=method, mask=full), pcnet.superpixels(image, K, method=method)
    )


@pytest.mark.parametrize("method", ["slic", "grid", "pcnet"])
def test_empty_mask_gives_all_outside(method, image):
    labels = pcnet.superpixels(image, K, method=method, mask=np.zeros(image.shape[:2], bool))
    assert labels.dtype == np.int32 and (labels == -1).all() and labels.max() + 1 == 0


def test_segmenter_and_api_give_the_same_masked_labels(image):
    mask = holes_and_islands()
    segmenter = pcnet.load_segmenter(method="pcnet")
    np.testing.assert_array_equal(
        segmenter.superpixels(image, K, mask=mask), pcnet.superpixels(image, K, method="pcnet", mask=mask)
    )
    assert_superpixels(segmenter.superpixels(image, K, mask=mask, refine=False), mask=mask)


def test_masks_as_zero_one_numbers_and_tensors(image):
    import torch

    mask = holes_and_islands()
    expected = pcnet.superpixels(image, K, method="slico", mask=mask)
    for other in (mask.astype(np.uint8), mask.astype(np.float32), torch.from_numpy(mask)):
        np.testing.assert_array_equal(pcnet.superpixels(image, K, method="slico", mask=other), expected)


def test_bad_masks_are_clear_errors(image):
    with pytest.raises(InputError, match=r"mask is 10×12 but the image is 96×128"):
        pcnet.superpixels(image, K, mask=np.ones((10, 12), bool))
    with pytest.raises(InputError, match=r"mask must be boolean .* values \[0, 255\].*mask > 0"):
        pcnet.superpixels(image, K, mask=holes_and_islands().astype(np.uint8) * 255)
    with pytest.raises(InputError, match=r"mask must be a boolean \(H, W\) array"):
        pcnet.superpixels(image, K, mask=[[True]])
    small = np.zeros(image.shape[:2], bool)
    small[:3, :3] = True
    with pytest.raises(InputError, match=r"n_segments=40 exceeds the number of pixels inside the mask \(9\)"):
        pcnet.superpixels(image, K, mask=small)
    with pytest.raises(InputError, match=r"inside the mask \(9\)"):
        pcnet.load_segmenter(method="pcnet").superpixels(image, K, mask=small)


def test_masked_request_scales_by_the_inverse_area_fraction():
    mask = np.zeros((10, 10), bool)
    mask[:, :4] = True
    assert masked_request(20, mask) == 50
    assert masked_request(90, mask[:, :1]) == 10  # never more than one per pixel


# --------------------------------------------------------------------- enforce_connectivity
def test_connectivity_outside_the_mask_is_minus_one_and_splits_cut_labels():
    labels = np.array([[0, 0, 0, 1], [0, 2, 0, 1], [0, 0, 0, 1]])
    inside = np.array([[1, 0, 1, 1], [1, 0, 1, 1], [0, 0, 0, 1]], bool)
    np.testing.assert_array_equal(
        enforce_connectivity(labels, 0.0, mask=inside), [[0, -1, 1, 2], [0, -1, 1, 2], [-1, -1, -1, 2]]
    )
    # keep_largest: label 0's second piece joins its inside neighbour (label 1), never the outside
    np.testing.assert_array_equal(
        enforce_connectivity(labels, 0.0, keep_largest=True, mask=inside),
        [[0, -1, 1, 1], [0, -1, 1, 1], [-1, -1, -1, 1]],
    )


def test_connectivity_small_pieces_merge_into_inside_neighbours_only():
    labels = np.zeros((4, 6), int)
    labels[:, 3:] = 1
    labels[0, 2] = 2  # a 1-pixel piece: outside on two sides, label 0 on one, label 1 on one
    inside = np.ones((4, 6), bool)
    inside[1, 2] = False  # cuts the piece from label 0 below
    inside[0, 1] = False  # and to its left
    out = enforce_connectivity(labels, 0.5, n_segments=2, mask=inside)  # min size 0.5 * 22 / 2
    assert out[0, 2] == out[0, 3] and (out[~inside] == -1).all() and out.max() == 1
    # ids outside are never read: -1 or anything else there gives the same labels
    np.testing.assert_array_equal(enforce_connectivity(np.where(inside, labels, -1), 0.5, 2, mask=inside), out)
    np.testing.assert_array_equal(enforce_connectivity(np.where(inside, labels, 7), 0.5, 2, mask=inside), out)


def test_connectivity_superpixels_mostly_outside_join_an_inside_neighbour():
    labels = np.array([[0, 0, 0, 0, 1, 1]] * 3)
    inside = np.zeros((3, 6), bool)
    inside[:, 3:] = True  # label 0: 3 of its 12 pixels inside
    np.testing.assert_array_equal(enforce_connectivity(labels, 0.0, mask=inside)[:, 3:], [[0, 1, 1]] * 3)
    np.testing.assert_array_equal(enforce_connectivity(labels, 0.0, keep_largest=True, mask=inside)[:, 3:], 0)
    # an island covered only by such pieces becomes one superpixel, not several and not none
    island = np.zeros((3, 6), bool)
    island[1, 3:5] = True  # labels 0 and 1, each mostly outside
    out = enforce_connectivity(labels, 0.0, keep_largest=True, mask=island)
    np.testing.assert_array_equal(out[island], [0, 0])


def test_connectivity_full_and_empty_masks():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 6, size=(20, 17))
    full = np.ones(labels.shape, bool)
    for frac, keep in ((0.0, False), (0.3, False), (0.06, True)):
        np.testing.assert_array_equal(
            enforce_connectivity(labels, frac, keep_largest=keep, mask=full),
            enforce_connectivity(labels, frac, keep_largest=keep),
        )
    assert (enforce_connectivity(labels, 0.06, mask=~full) == -1).all()
    with pytest.raises(InputError, match="mask is 3×3 but the label map is 20×17"):
        enforce_connectivity(labels, mask=np.ones((3, 3), bool))
    with pytest.raises(InputError, match="non-negative"):
        enforce_connectivity(np.array([[-2, 0]]), mask=np.ones((1, 2), bool))


def test_connectivity_random_masks_are_exact():
    rng = np.random.default_rng(1)
    for _ in range(10):
        labels = rng.integers(0, 8, size=(24, 30))
        mask = ndimage.binary_opening(rng.random((24, 30)) > 0.4)
        for frac, keep in ((0.0, False), (0.2, False), (0.0, True), (0.1, True)):
            assert_superpixels(enforce_connectivity(labels, frac, keep_largest=keep, mask=mask), mask=mask)


# ---------------------------------------------------------------------------- files, predict
def test_masked_label_maps_are_npy_and_read_back_with_minus_one(tmp_path):
    labels = np.array([[0, 1, -1], [2, -1, -1]], np.int32)
    written = write_label_map(tmp_path / "a_labels.png", labels)
    assert written.name == "a_labels.npy" and not (tmp_path / "a_labels.png").exists()
    back = read_label_map(written)
    np.testing.assert_array_equal(back, labels)
    assert back.dtype == np.int32
    with pytest.raises(ValueError, match="non-negative"):
        write_label_map(tmp_path / "b.png", np.array([[0, -2]]))


def test_find_inputs_skips_the_masks_of_images(tmp_path):
    for name in ("a.png", "a_mask.png", "b.jpg", "b_mask.png", "lonely_mask.png"):
        write_image(tmp_path / name, np.zeros((4, 4, 3), np.uint8))
    assert [p.name for p in find_inputs(tmp_path)] == ["a.png", "b.jpg", "lonely_mask.png"]  # no image "lonely"
    assert [p.name for p in find_inputs(tmp_path / "*.png")] == ["a.png", "lonely_mask.png"]  # b.jpg's mask too
    assert [p.name for p in find_inputs(tmp_path / "a_mask.png")] == ["a_mask.png"]  # named: an input


@pytest.mark.parametrize("method", ["slic", "pcnet"])
def test_predict_reads_mask_files_beside_images_and_in_a_folder(tmp_path, image, method):
    from pcnet.predict import run

    mask = holes_and_islands()
    inputs, masks = tmp_path / "in", tmp_path / "masks"
    write_image(inputs / "a.png", image)
    write_image(inputs / "a_mask.png", mask.astype(np.uint8) * 255)  # nonzero = inside
    write_image(inputs / "b.png", image)
    common = ["progress=false", f"method={method}", f"n_segments={K}", f"paths.log_dir={tmp_path / 'logs'}"]
    assert (
        run(compose_config("predict", [f"input={inputs}", f"output={tmp_path / 'auto'}", *common], tmp_path / "run"))
        == 0
    )
    out = tmp_path / "auto"
    assert sorted(p.name for p in out.glob("*_labels.*")) == ["a_labels.npy", "b_labels.png"]  # a_mask: no input
    expected = pcnet.superpixels(image, K, method=method, mask=mask)
    np.testing.assert_array_equal(read_label_map(out / "a_labels.npy"), expected)
    np.testing.assert_array_equal(read_label_map(out / "b_labels.png"), pcnet.superpixels(image, K, method=method))
    # a folder of masks, named <stem>.png or <stem>_mask.png; mask=null ignores them
    write_image(masks / "a.png", (~mask).astype(np.uint8))
    write_image(masks / "b_mask.png", mask.astype(np.uint8))
    cfg = compose_config(
        "predict", [f"input={inputs}", f"output={tmp_path / 'dir'}", f"mask={masks}", *common], tmp_path / "run"
    )
    assert run(cfg) == 0
    np.testing.assert_array_equal(
        read_label_map(tmp_path / "dir" / "a_labels.npy"), pcnet.superpixels(image, K, method=method, mask=~mask)
    )
    np.testing.assert_array_equal(read_label_map(tmp_path / "dir" / "b_labels.npy"), expected)
    cfg = compose_config(
        "predict", [f"input={inputs}", f"output={tmp_path / 'none'}", "mask=null", *common], tmp_path / "run"
    )
    assert run(cfg) == 0
    assert sorted(p.name for p in (tmp_path / "none").glob("*_labels.*")) == ["a_labels.png", "b_labels.png"]


def test_predict_mask_errors(tmp_path, image, capsys):
    from pcnet._cli import run_cli
    from pcnet.predict import run

    inputs = tmp_path / "in"
    write_image(inputs / "a.png", image)
    write_image(inputs / "a_mask.png", np.ones((10, 12), np.uint8))
    common = ["progress=false", "method=grid", f"paths.log_dir={tmp_path / 'logs'}"]
    cfg = compose_config("predict", [f"input={inputs}", f"output={tmp_path / 'out'}", *common], tmp_path / "run")
    assert run(cfg) == 1  # that image failed, by name
    summary = (tmp_path / "out" / "summary.csv").read_text()
    assert "mask" in capsys.readouterr().err and "is 10×12 but the image" in summary
    cfg = compose_config(
        "predict",
        [f"input={inputs}", f"output={tmp_path / 'o2'}", f"mask={tmp_path / 'nope'}", *common],
        tmp_path / "run",
    )
    with pytest.raises(SystemExit):
        run_cli(run, cfg)
    assert "is not a folder" in capsys.readouterr().err and not (tmp_path / "o2").exists()


# ------------------------------------------------------------------- unlabelled GT pixels
def band_gt() -> tuple[np.ndarray, np.ndarray]:
    """GT: regions 0 | 1 (columns 0-3 | 4-7) under an unlabelled band (rows 0-1, value 9);
    superpixels: the same vertical split, ignoring the band."""
    gt = np.zeros((8, 8), int)
    gt[:, 4:] = 1
    gt[:2] = 9
    sp = np.zeros((8, 8), int)
    sp[:, 4:] = 1
    return sp, gt


def test_metrics_skip_unlabelled_gt_pixels():
    sp, gt = band_gt()
    plain = superpixel_scores(sp, gt, tolerance=0)
    # the band is a region: its border is a GT boundary no superpixel follows, and it sits in both
    assert plain["br"] == pytest.approx(14 / 26) and plain["asa"] == pytest.approx(48 / 64)
    assert plain["bp"] == pytest.approx(14 / 16) and plain["ue"] == pytest.approx(32 / 64)
    skipped = superpixel_scores(sp, gt, tolerance=0, ignore=9)
    assert {k: skipped[k] for k in ("br", "bp", "asa", "ue")} == {"br": 1.0, "bp": 1.0, "asa": 1.0, "ue": 0.0}
    assert skipped["co"] == plain["co"] and skipped["n_superpixels"] == plain["n_superpixels"]
    assert superpixel_scores(sp, gt, tolerance=0, ignore=5) == plain  # a value that is not there
    with pytest.raises(InputError, match="ignore must be an integer"):
        superpixel_scores(sp, gt, ignore=True)


def test_unlabelled_values_per_reader():
    assert unlabelled_value("mapillary") == MAPILLARY_UNLABELLED["v1.2"] == 65
    v2 = Sample("x", Path("validation/images/x.jpg"), (Path("validation/v2.0/labels/x.png"),))
    assert unlabelled_value("mapillary", v2) == 123
    assert [unlabelled_value(n) for n in ("bsds500", "nyuv2", "big", "face_human", "folder")] == [None] * 5


def test_evaluate_skips_mapillary_void_pixels(tmp_path):
    sp, gt = band_gt()
    gt = np.where(gt == 9, 65, gt)  # Mapillary v1.2's void--unlabeled
    root = tmp_path / "mapillary"
    write_image(root / "validation" / "images" / "x.jpg", np.zeros((8, 8, 3), np.uint8))
    write_label_map(root / "validation" / "labels" / "x.png", gt)
    write_label_map(tmp_path / "pred" / "x.png", sp)
    samples = list_samples("mapillary", root, "val")
    setting = Setting("saved", "", pred_dir=tmp_path / "pred")
    (row,) = evaluate(samples, [setting], tolerance=0, workers=1, progress=False, reader="mapillary")
    assert (row["br"], row["bp"], row["asa"], row["ue"]) == (1.0, 1.0, 1.0, 0.0)
    (row,) = evaluate(samples, [setting], tolerance=0, workers=1, progress=False, reader="folder")
    assert row["asa"] == pytest.approx(0.75)  # a reader without unlabelled pixels scores the band

"""Crops, datasets, sampler and DataModule: shapes, seeding, padding, DPC boundary anchoring."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from pcnet.data.bsds500 import bsds500_samples
from pcnet.data.crops import CropSampler, boundary_pixel
from pcnet.data.datamodule import SuperpixelDataModule
from pcnet.data.datasets import CropDataset, EpochSeededSampler
from pcnet.data.make_synthetic import write_synthetic_dataset
from pcnet.data.sources import SyntheticSource
from pcnet.data.synthetic import synthetic_image
from pcnet.io import read_label_map


def two_regions(height: int, width: int, split: int) -> tuple[np.ndarray, np.ndarray]:
    labels = np.zeros((height, width), np.int32)
    labels[:, split:] = 1
    image = np.where(labels[..., None] == 1, 200, 30).astype(np.uint8).repeat(3, axis=2)
    return image, labels


def test_boundary_pixel_is_on_the_boundary_and_skips_ignore():
    _, labels = two_regions(20, 30, 17)
    rng = np.random.default_rng(0)
    for _ in range(20):
        row, col = boundary_pixel(labels, rng)
        assert col in (16, 17)
    labels[:, 20:] = 255  # an ignored band: its border with class 1 is no boundary
    assert all(boundary_pixel(labels, rng)[1] in (16, 17) for _ in range(20))
    assert boundary_pixel(np.zeros((5, 5), np.int32), rng) is None


def test_paired_crops_shapes_and_local_crop_holds_the_boundary():
    image, labels = two_regions(600, 1500, 1234)  # one boundary, far from the image centre
    sampler = CropSampler(patch_size=128, global_size=192, downscale=4)
    for seed in range(10):
        out = sampler(image, labels, np.random.default_rng(seed))
        assert out["global_input"].shape == (32, 32, 3) and out["local_input"].shape == (32, 32, 3)
        assert out["global_image"].shape == (128, 128, 3) and out["global_labels"].shape == (128, 128)
        assert out["local_image"].shape == (128, 128, 3) and out["local_labels"].shape == (128, 128)
        assert set(np.unique(out["local_labels"])) == {0, 1}  # the DPC crop straddles the boundary
        assert set(np.unique(out["global_labels"])) <= {0, 1}


def test_crops_are_reproducible_from_the_generator():
    image, labels = synthetic_image(300, 400, seed=3)
    sampler = CropSampler(patch_size=128, global_size=256)
    a = sampler(image, labels, np.random.default_rng(7))
    b = sampler(image, labels, np.random.default_rng(7))
    c = sampler(image, labels, np.random.default_rng(8))
    assert all(np.array_equal(a[k], b[k]) for k in a)
    assert not np.array_equal(a["local_labels"], c["local_labels"])


def test_small_images_are_padded_with_the_ignore_label():
    image, labels = two_regions(40, 50, 25)
    out = CropSampler(mode="single", patch_size=64, global_size=None, downscale=1)(
        image, labels, np.random.default_rng(0)
    )
    assert out["labels"].shape == (64, 64)
    assert (out["labels"][40:] == 255).all() and (out["labels"][:, 50:] == 255).all()
    assert (out["image"][40:] == 0).all()
    assert set(np.unique(out["labels"][:40, :50])) == {0, 1}
    paired = CropSampler(patch_size=64, global_size=None)(image, labels, np.random.default_rng(0))
    assert (paired["local_labels"] == 255).sum() == 64 * 64 - 40 * 50


def test_crop_sampler_rejects_bad_geometry():
    with pytest.raises(ValueError, match="divisible by downscale"):
        CropSampler(patch_size=130, downscale=4)
    with pytest.raises(ValueError, match="crop mode"):
        CropSampler(mode="triple")


def test_epoch_seeded_sampler_reshuffles_and_shards(monkeypatch):
    sampler = EpochSeededSampler(10, seed=1)
    first = list(sampler)
    sampler.set_epoch(1)
    second = list(sampler)
    assert sorted(first) == list(range(10)) and sorted(i - 10 for i in second) == list(range(10))
    assert [i % 10 for i in first] != [i % 10 for i in second]
    monkeypatch.setattr(EpochSeededSampler, "_rank_world", staticmethod(lambda: (1, 3)))
    assert len(EpochSeededSampler(10, even=True)) == 4 and len(list(EpochSeededSampler(10, even=True))) == 4
    assert list(EpochSeededSampler(10, shuffle=False, even=False)) == [1, 4, 7]


def test_crop_dataset_depends_on_epoch_and_index_only():
    source = SyntheticSource(3, 128, 128, seed=5)
    dataset = CropDataset(source, CropSampler(patch_size=64, global_size=96), seed=0)
    a, b, c = dataset[1], dataset[1], dataset[3 + 1]  # index 4 = epoch 1, sample 1
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["local_image"], c["local_image"])
    assert a["global_input"].dtype == torch.float32 and float(a["global_input"].max()) <= 1.0
    assert a["global_labels"].dtype == torch.int64


@pytest.mark.parametrize("model, keys", [("pcnet", {"global_input", "local_labels"}), ("scn", {"input", "labels"})])
def test_datamodule_batches(model, keys):
    dm = SuperpixelDataModule(
        model=model,
        patch_size=64,
        global_size=96,
        batch_size=2,
        num_workers=0,
        synthetic={
            "train": {"length": 4, "height": 128, "width": 160},
            "val": {"length": 2, "height": 96, "width": 80},
        },
    )
    dm.setup("fit")
    batch = next(iter(dm.train_dataloader()))
    assert keys <= set(batch)
    first = next(iter(keys))
    assert batch[first].shape[0] == 2
    val = next(iter(dm.val_dataloader()))
    assert val["image"][0].shape == (96, 80, 3) and len(val["labels"][0]) == 1


def test_datamodule_rejects_unknown_model():
    with pytest.raises(ValueError, match="unknown model"):
        SuperpixelDataModule(model="unet")


def test_make_synthetic_writes_a_bsds_layout_once(tmp_path):
    write_synthetic_dataset(tmp_path, size=64, count=2, n_regions=5, n_lines=1, seed=3)
    samples = bsds500_samples(tmp_path, "test")
    assert [s.id for s in samples] == ["synthetic64_000", "synthetic64_001"]
    _, expected = synthetic_image(64, 64, n_regions=5, n_lines=1, seed=4)
    np.testing.assert_array_equal(read_label_map(samples[1].ground_truth[0]), expected)
    with pytest.raises(ValueError, match="already holds 2 images"):
        write_synthetic_dataset(tmp_path, size=64, count=2)

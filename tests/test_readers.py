"""Dataset readers on tiny synthetic datasets written in each public layout, and label-map decoding."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from pcnet._checks import InputError
from pcnet.data.readers import READERS, list_samples, load_sample
from pcnet.data.synthetic import synthetic_image
from pcnet.io import read_label_map, write_image, write_label_map

IDS = ("a1", "b2")
SIZES = {"a1": (24, 32), "b2": (20, 28)}
#: name -> (options, image path, label paths), relative to the root, formatted with the id
LAYOUTS = {
    "face_human": ({}, "test/{id}.jpg", ["test/{id}_label.png"]),
    "mapillary": ({"split": "val"}, "validation/images/{id}.jpg", ["validation/labels/{id}.png"]),
    "big": ({}, "{id}_im.jpg", ["{id}_gt.png"]),
    "bsds500": ({}, "images/test/{id}.jpg", ["gt/test/{id}_0.png", "gt/test/{id}_1.png"]),
    "nyuv2": ({}, "images/test/{id}.png", ["csv_groundTruth/test/{id}-0.csv", "csv_groundTruth/test/{id}-1.csv"]),
    "folder": (
        {"image_glob": "*.png", "label_pattern": "{stem}_gt*.png"},
        "{id}.png",
        ["{id}_gt0.png", "{id}_gt1.png"],
    ),
}


def write_palette_png(path: Path, indices: np.ndarray) -> None:
    """A Mapillary-style label map: palette indices with a colour palette."""
    image = Image.fromarray(indices.astype(np.uint8), mode="P")
    image.putpalette([(37 * i + 11 * c) % 256 for i in range(256) for c in range(3)])
    path.parent.mkdir(parents=True, exist_ok=True)
    image.save(path)


def write_labels(path: Path, labels: np.ndarray, name: str) -> np.ndarray:
    """Write ``labels`` as dataset ``name`` stores them; return what ``load_sample`` must give back."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if name == "mapillary":
        write_palette_png(path, labels)
    elif name == "big":  # an 8-bit 0/255 object mask
        Image.fromarray((labels % 2 * 255).astype(np.uint8)).save(path)
        return labels % 2
    elif path.suffix == ".csv":
        np.savetxt(path, labels, fmt="%d", delimiter=",")
    else:
        write_label_map(path, labels)
    return labels


def make_dataset(root: Path, name: str, ids=IDS) -> dict[str, list[np.ndarray]]:
    """Write a tiny dataset in the layout of ``name``; return the expected label maps per id."""
    _, image_path, label_paths = LAYOUTS[name]
    expected = {}
    for i, sample_id in enumerate(ids):
        image, labels = synthetic_image(*SIZES[sample_id], n_regions=4, n_lines=0, seed=i)
        write_image(root / image_path.format(id=sample_id), image)
        expected[sample_id] = [
            write_labels(root / p.format(id=sample_id), labels + k, name) for k, p in enumerate(label_paths)
        ]
    return expected


def one_line_error(match: str, call, *args, **kwargs) -> str:
    with pytest.raises(InputError, match=match) as info:
        call(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_every_reader_lists_and_loads_its_layout(tmp_path, name):
    options, image_path, label_paths = LAYOUTS[name]
    expected = make_dataset(tmp_path, name)
    samples = list_samples(name, tmp_path, **options)
    assert [s.id for s in samples] == list(IDS)
    for sample in samples:
        assert sample.image == tmp_path / image_path.format(id=sample.id)
        assert sample.ground_truth == tuple(tmp_path / p.format(id=sample.id) for p in label_paths)
        image, labels = load_sample(sample, name)
        assert image.shape == (*SIZES[sample.id], 3) and image.dtype == np.uint8
        assert len(labels) == len(label_paths)
        for got, want in zip(labels, expected[sample.id]):
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("name", sorted(LAYOUTS))
def test_every_reader_reports_layout_errors(tmp_path, name):
    options = LAYOUTS[name][0]
    missing = tmp_path / "nope"
    message = one_line_error("is not a directory", list_samples, name, missing, **options)
    assert f"data.root={missing}" in message and "expected" in message
    empty = tmp_path / "empty"
    empty.mkdir()
    one_line_error(rf"data.root={empty} has no .*expected layout", list_samples, name, empty, **options)

    root = tmp_path / "root"
    make_dataset(root, name)
    _, image_path, label_paths = LAYOUTS[name]
    for label in label_paths:
        (root / label.format(id="a1")).unlink()
    one_line_error(r"1 of 2 images .*have no .*\['a1'\].*expected layout", list_samples, name, root, **options)

    root = tmp_path / "root2"
    make_dataset(root, name)
    (root / image_path.format(id="b2")).unlink()
    message = one_line_error(r"label map\(s\) .*have no image.*expected layout", list_samples, name, root, **options)
    assert Path(label_paths[0].format(id="b2")).name in message


def test_face_human_flat_folder_and_split_folders(tmp_path):
    make_dataset(tmp_path, "face_human")
    for path in (tmp_path / "test").iterdir():
        path.rename(tmp_path / path.name)
    (tmp_path / "test").rmdir()
    for split in ("test", "train"):  # no split folder: the flat folder, whatever the split
        assert [s.id for s in list_samples("Face-Human", tmp_path, split=split)] == list(IDS)
    (tmp_path / "train").mkdir()  # a split folder wins over the flat layout
    one_line_error(
        r"has no train/\*\.jpg images \(train/ holds nothing\)", list_samples, "face_human", tmp_path, "train"
    )


def test_mapillary_palette_indices_and_unlabelled_testing_split(tmp_path):
    expected = make_dataset(tmp_path, "mapillary")
    sample = list_samples("mapillary", tmp_path, split="validation")[0]
    labels = load_sample(sample, "mapillary")[1][0]
    np.testing.assert_array_equal(labels, expected["a1"][0])  # indices, not palette colours
    assert Image.open(sample.ground_truth[0]).mode == "P"
    (tmp_path / "validation").rename(tmp_path / "testing")
    for labels_file in (tmp_path / "testing" / "labels").iterdir():
        labels_file.unlink()
    one_line_error("pass require_labels=False", list_samples, "mapillary", tmp_path, split="test")
    samples = list_samples("mapillary", tmp_path, split="test", require_labels=False)
    assert [s.ground_truth for s in samples] == [(), ()]
    assert load_sample(samples[0])[1] == []
    one_line_error(
        r"unknown Mapillary Vistas split 'dev'; valid splits: \['validation', 'training', 'testing'\]",
        list_samples,
        "mapillary",
        tmp_path,
        split="dev",
    )


def test_big_is_test_only_in_root_or_test_folder(tmp_path):
    make_dataset(tmp_path / "test", "big")
    Image.fromarray(np.zeros((24, 32), np.uint8)).save(tmp_path / "test" / "a1_seg.png")  # BIG's coarse input
    samples = list_samples("big", tmp_path)
    assert [s.id for s in samples] == list(IDS) and samples[0].image.parent.name == "test"
    assert set(np.unique(load_sample(samples[0], "big")[1][0])) == {0, 1}
    assert 255 in np.unique(load_sample(samples[0])[1][0])  # without the reader's conventions
    message = one_line_error("BIG is test-only", list_samples, "big", tmp_path, split="val")
    assert f"data.root={tmp_path}" in message


def test_nyuv2_single_csv_and_ids_with_dashes(tmp_path):
    image, labels = synthetic_image(16, 20, n_regions=3, n_lines=0, seed=3)
    write_image(tmp_path / "images" / "test" / "x-1.png", image)
    write_labels(tmp_path / "csv_groundTruth" / "test" / "x-1.csv", labels, "nyuv2")
    sample = list_samples("nyuv2", tmp_path)[0]
    assert sample.id == "x-1" and [p.name for p in sample.ground_truth] == ["x-1.csv"]
    np.testing.assert_array_equal(load_sample(sample)[1][0], labels)


def test_folder_colour_coded_labels_elsewhere_and_annotator_order(tmp_path):
    image, labels = synthetic_image(24, 32, n_regions=4, n_lines=0, seed=0)
    colours = np.array([[40 * i + 10, 200 - 30 * i, 7] for i in range(labels.max() + 1)], np.uint8)
    write_image(tmp_path / "images" / "a.jpg", image)
    write_image(tmp_path / "labels" / "a.png", colours[labels])
    sample = list_samples("folder", tmp_path, image_glob="images/*.jpg", label_pattern="../labels/{stem}.png")[0]
    assert sample.id == "images/a" and sample.ground_truth == (tmp_path / "labels" / "a.png",)
    np.testing.assert_array_equal(load_sample(sample)[1][0], labels)  # colours ordered as the labels

    flat = tmp_path / "flat"
    for stem in ("a", "a_b"):
        write_image(flat / f"{stem}.jpg", image)
    for name in ("a_10.png", "a_2.png", "a_b_0.png"):
        write_label_map(flat / name, labels)
    samples = list_samples("folder", flat, label_pattern="{stem}_*.png")
    found = {s.id: [p.name for p in s.ground_truth] for s in samples}
    assert found == {"a": ["a_2.png", "a_10.png"], "a_b": ["a_b_0.png"]}  # natural order; longest stem owns
    for pattern, match in [("gt.png", r"must contain \{stem\} or \{name\}"), ("{id}.png", r"may only use \{stem\}")]:
        one_line_error(match, list_samples, "folder", flat, label_pattern=pattern)


def test_load_sample_names_unreadable_and_mismatched_files(tmp_path):
    make_dataset(tmp_path, "nyuv2")
    sample = list_samples("nyuv2", tmp_path)[0]
    bad = sample.ground_truth[1]
    bad.write_text("not,a\nlabel map\n")
    one_line_error(rf"cannot read label map {bad}: expected comma-separated integers", load_sample, sample)

    make_dataset(tmp_path / "fh", "face_human")
    sample = list_samples("face_human", tmp_path / "fh")[0]
    label = sample.ground_truth[0]
    data = label.read_bytes()
    label.write_bytes(data[: len(data) // 2])
    one_line_error(rf"cannot read label map {label}: the file is corrupt", load_sample, sample)
    label.write_text("hello")
    one_line_error(rf"cannot read label map {label}: the file is not a PNG image", load_sample, sample)
    write_label_map(label, np.zeros((10, 12), np.int32))
    one_line_error(rf"label map {label} is 10x12 but image {sample.image} is 24x32", load_sample, sample)
    sample.image.write_text("hello")
    one_line_error(rf"cannot read image {sample.image}", load_sample, sample)


def test_dispatcher_names_valid_readers_and_options(tmp_path):
    valid = r"unknown dataset reader 'coco'; valid names: \['big', 'bsds500', 'face_human'"
    one_line_error(valid, list_samples, "coco", tmp_path)
    one_line_error(r"unknown dataset reader 'coco'", load_sample, None, "coco")
    one_line_error(
        r"'face_human' has no option \['require_labels'\]; it accepts \['split'\]",
        list_samples,
        "face_human",
        tmp_path,
        require_labels=False,
    )
    assert sorted(READERS) == ["big", "bsds500", "face_human", "folder", "mapillary", "nyuv2"]


def test_read_label_map_formats(tmp_path):
    values = np.array([[0, 1, 65535], [7, 7, 300]], np.uint16)
    Image.fromarray(values).save(tmp_path / "i16.png")  # mode I;16
    np.testing.assert_array_equal(read_label_map(tmp_path / "i16.png"), values)
    Image.fromarray(values > 5).save(tmp_path / "bits.png")  # mode 1
    np.testing.assert_array_equal(read_label_map(tmp_path / "bits.png"), (values > 5).astype(np.uint8))
    grey = np.repeat(np.array([[0, 3], [255, 3]], np.uint8)[..., None], 4, axis=2)
    grey[..., 3] = 255  # opaque RGBA with equal channels: a grey label map
    Image.fromarray(grey).save(tmp_path / "grey.png")
    np.testing.assert_array_equal(read_label_map(tmp_path / "grey.png"), [[0, 3], [255, 3]])
    (tmp_path / "one.csv").write_text("1,2,3\n")
    np.testing.assert_array_equal(read_label_map(tmp_path / "one.csv"), [[1, 2, 3]])
    (tmp_path / "empty.csv").write_text("")
    one_line_error(r"cannot read label map .*empty\.csv: the file is empty", read_label_map, tmp_path / "empty.csv")
    (tmp_path / "neg.csv").write_text("1,-2\n")
    one_line_error(r"label map .*neg\.csv must hold non-negative labels", read_label_map, tmp_path / "neg.csv")
    (tmp_path / "empty.npy").write_bytes(b"")
    one_line_error(r"cannot read label map .*empty\.npy: the file is empty", read_label_map, tmp_path / "empty.npy")
    np.save(tmp_path / "cut.npy", np.arange(1000).reshape(20, 50))
    data = (tmp_path / "cut.npy").read_bytes()
    (tmp_path / "cut.npy").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"cannot read label map .*cut\.npy"):
        read_label_map(tmp_path / "cut.npy")

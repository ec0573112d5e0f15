"""Dataset readers: list the samples of a dataset in its public layout, then load them.

Every reader takes the dataset root (``data.root``) and a split and returns ``list[Sample]`` sorted
by id, each with one image and one or more label maps (several annotators for BSDS500 and NYUv2).
Listing checks the layout only: a missing root, no images, images without labels and labels without
images are one-line errors naming ``data.root``, what was found and the expected layout. Files are
not opened while listing (too slow on large datasets); :func:`load_sample` reads them and names any
unreadable or wrongly sized file.

=============  ============================================================================
name           layout (``<split>`` defaults to ``test``)
=============  ============================================================================
face_human     ``<split>/<name>.jpg`` + ``<split>/<name>_label.png`` (or both in the root)
mapillary      ``{training,validation,testing}/images/<id>.jpg`` + ``.../labels/<id>.png``
big            ``<name>_im.jpg`` + ``<name>_gt.png`` in the root or ``test/`` (test only)
bsds500        ``images/<split>/<id>.jpg`` + ``gt/<split>/<id>_<k>.png``
nyuv2          ``images/<split>/<id>.png`` + ``csv_groundTruth/<split>/<id>[-<k>].csv``
folder         any ``image_glob`` + ``label_pattern`` (e.g. ``{stem}_label.png``)
=============  ============================================================================

Unlabelled ground-truth pixels (:func:`unlabelled_value`, which ``evaluate`` passes to the
metrics as ``ignore``, so BR, BP, ASA and UE skip them; see :mod:`pcnet.metrics.functional`):

* **mapillary**: the class ``void--unlabeled``, "evaluate: false" in the dataset's
  ``config.json``: id 65 of the 66 classes of v1.2 (``labels``), 123 of the 124 of v2.0
  (``labels="v2.0/labels"``, told by a ``v2.0`` folder in the label path);
  :data:`MAPILLARY_UNLABELLED`. The other void classes (car mount, ego vehicle, ...) are
  evaluated by Mapillary and are regions here too.
* **nyuv2**: none. NYU's label maps mark unlabelled pixels 0, but the superpixel benchmark's CSVs
  (``lib_tools/nyuv2_generate_ground_truth.m`` fills small unlabelled gaps, then
  ``nyuv2_relabel.m`` renumbers 0..n-1 in raster order) give the remaining unlabelled pixels an
  id like any region's, not a fixed value, and the benchmark scores them as a region; so do we.
* **bsds500**: none (every pixel belongs to a region). **big**: none (0/1 object masks).
  **face_human**: none (0 is the background class). **folder**: none.

The values are explicit per-reader constants (:data:`UNLABELLED`), not guessed from the data.
Training is separate: the data module's ``ignore_index`` (255) marks padding and unlabelled
pixels of its crops.
"""

from __future__ import annotations

import glob
import inspect
import os
import re
from collections.abc import Callable, Iterable
from pathlib import Path

import numpy as np

from pcnet._checks import check
from pcnet.data.bsds500 import LAYOUT, Sample, bsds500_samples
from pcnet.io import read_image, read_label_map, to_rgb_uint8

__all__ = [
    "MAPILLARY_UNLABELLED",
    "READERS",
    "UNLABELLED",
    "big",
    "bsds500",
    "face_human",
    "folder",
    "list_samples",
    "load_sample",
    "mapillary",
    "nyuv2",
    "unlabelled_value",
]

#: What a dataset root argument accepts (``None`` or ``""``: "data.root is not set").
Root = str | os.PathLike | None
FACE_HUMAN_LAYOUT = "<split>/<name>.jpg beside <split>/<name>_label.png (or both directly in data.root)"
MAPILLARY_LAYOUT = "{training,validation,testing}/images/<id>.jpg and {split}/labels/<id>.png"
MAPILLARY_SPLITS = {"train": "training", "val": "validation", "test": "testing"}
BIG_LAYOUT = "<name>_im.jpg beside <name>_gt.png (0/255 masks), in data.root or data.root/test"
NYUV2_LAYOUT = "images/<split>/<id>.png (or .jpg) and csv_groundTruth/<split>/<id>.csv or <id>-<k>.csv"
_ANNOTATOR = re.compile(r"^(?P<id>.+)-(?P<k>\d+)$")


def _root(root: Root, dataset: str, layout: str) -> Path:
    check(
        root is not None and str(root) != "",
        f"data.root is not set: pass data.root=/path/to/{dataset} (expected layout {layout})",
    )
    path = Path(root).expanduser()
    check(path.is_dir(), f"data.root={path} is not a directory (expected a {dataset} root with {layout})")
    return path


def _files(folder: Path, suffixes: str | tuple[str, ...]) -> list[Path]:
    """Visible files of ``folder`` whose names end with ``suffixes`` (case-insensitive), sorted."""
    if not folder.is_dir():
        return []
    return sorted(
        p for p in folder.iterdir() if not p.name.startswith(".") and p.name.lower().endswith(suffixes) and p.is_file()
    )


def _found(folder: Path, root: Path) -> str:
    """What is there instead, for error messages: the folder's entries, or the root's if it is missing."""
    where = folder if folder.is_dir() else root
    names = sorted(p.name + "/" * p.is_dir() for p in where.iterdir() if not p.name.startswith("."))
    if where == root:
        prefix = "data.root" if folder == root else f"there is no {os.path.relpath(folder, root)}/ and data.root"
    else:
        prefix = f"{os.path.relpath(folder, root)}/"
    return f"{prefix} holds " + (f"{len(names)} entries {names[:4]}" if names else "nothing")


def _check_images(images: dict[str, Path], root: Path, folder: Path, what: str, layout: str) -> None:
    check(bool(images), f"data.root={root} has no {what} ({_found(folder, root)}); expected layout {layout}")


def _by_id(paths: Iterable[Path], id_of: Callable[[Path], str], root: Path, layout: str) -> dict[str, Path]:
    """Map files to ids; two files with one id (``a.png`` and ``a.jpg``) are an error."""
    by_id: dict[str, Path] = {}
    for path in paths:
        other = by_id.setdefault(id_of(path), path)
        check(
            other == path,
            f"data.root={root}: {os.path.relpath(other, root)} and {os.path.relpath(path, root)} are both "
            f"image {id_of(path)!r}; keep one (expected layout {layout})",
        )
    return by_id


def _pair(
    root: Path,
    layout: str,
    images: dict[str, Path],
    labels: dict[str, list[Path]],
    orphans: list[Path],
    where: tuple[str, str],
    require_labels: bool = True,
    hint: str = "",
) -> list[Sample]:
    """Check that every image has a label map and every label map an image; build the samples."""
    image_where, label_where = where
    missing = [i for i in sorted(images) if not labels.get(i)]
    check(
        not (missing and require_labels),
        f"data.root={root}: {len(missing)} of {len(images)} images {image_where} have no "
        f"{label_where} label map (first: {missing[:3]}){hint}; expected layout {layout}",
    )
    names = sorted(os.path.relpath(p, root) for p in orphans)
    check(
        not names,
        f"data.root={root}: {len(names)} label map(s) {label_where} have no image {image_where} "
        f"(first: {names[:3]}); expected layout {layout}",
    )
    return [Sample(i, images[i], tuple(labels.get(i, ()))) for i in sorted(images)]


def _pair_by_suffix(root: Path, folder: Path, layout: str, image_suffix: str, label_suffix: str) -> list[Sample]:
    """Pairs ``<id><image_suffix>`` with ``<id><label_suffix>`` inside one folder."""
    rel = "" if folder == root else f"{os.path.relpath(folder, root)}/"
    images = {p.name[: -len(image_suffix)]: p for p in _files(folder, image_suffix)}
    _check_images(images, root, folder, f"{rel}*{image_suffix} images", layout)
    found = {p.name[: -len(label_suffix)]: p for p in _files(folder, label_suffix)}
    labels = {key: [p] for key, p in found.items() if key in images}
    orphans = [p for key, p in found.items() if key not in images]
    return _pair(root, layout, images, labels, orphans, (f"in {rel or 'data.root'}", f"{rel}<id>{label_suffix}"))


def face_human(root: Root, split: str = "test") -> list[Sample]:
    """Face-Human (21 face / 24 body classes) in the layout of the PCNet reference code.

    ``<root>/<split>/<name>.jpg`` beside ``<root>/<split>/<name>_label.png``. A root without a
    ``<split>/`` folder but with ``*.jpg`` images directly inside is read as one flat folder, for any
    split: the images are then not split at all.
    """
    path = _root(root, "Face-Human", FACE_HUMAN_LAYOUT)
    folder = path / split
    if not folder.is_dir() and _files(path, ".jpg"):
        folder = path
    return _pair_by_suffix(path, folder, FACE_HUMAN_LAYOUT, ".jpg", "_label.png")


def mapillary(root: Root, split: str = "test", require_labels: bool = True, labels: str = "labels") -> list[Sample]:
    """A Mapillary Vistas subset: ``<split>/images/<id>.jpg`` + ``<split>/<labels>/<id>.png``.

    Splits are ``training``, ``validation``, ``testing`` (or ``train``, ``val``, ``test``). The label
    maps are palette PNGs: :func:`load_sample` returns their palette indices (the class ids). The public
    testing split ships without labels: an error unless ``require_labels=False``, which lists such
    images with an empty ``ground_truth``. ``labels="v2.0/labels"`` reads the v2.0 annotations.
    """
    path = _root(root, "Mapillary-Vistas", MAPILLARY_LAYOUT)
    valid = sorted(set(MAPILLARY_SPLITS.values()), reverse=True)
    split = MAPILLARY_SPLITS.get(split, split)
    check(
        split in valid,
        f"data.root={path}: unknown Mapillary Vistas split {split!r}; valid splits: {valid} (or train/val/test)",
    )
    image_dir, label_dir = path / split / "images", path / split / labels
    images = {p.stem: p for p in _files(image_dir, ".jpg")}
    _check_images(images, path, image_dir, f"{split}/images/*.jpg images", MAPILLARY_LAYOUT)
    found = {p.stem: p for p in _files(label_dir, ".png")}
    hint = (
        ""
        if found
        else (
            f" ({split}/{labels}/ holds none; the public testing split has no labels: pass require_labels=False"
            " to list the images alone)"
        )
    )
    return _pair(
        path,
        MAPILLARY_LAYOUT,
        images,
        {k: [p] for k, p in found.items() if k in images},
        [p for k, p in found.items() if k not in images],
        (f"in {split}/images", f"{split}/{labels}/<id>.png"),
        require_labels,
        hint,
    )


def big(root: Root, split: str = "test") -> list[Sample]:
    """BIG (test only): ``<name>_im.jpg`` + ``<name>_gt.png``, in the root or under ``test/``.

    The ``_gt.png`` files are 0/255 object masks; ``load_sample(sample, "big")`` maps them to {0, 1}
    (values >= 128 are the object; masks already in {0, 1} are kept), so 255 never reaches code that
    reads it as the ignore label. Other files (BIG's coarse ``_seg.png`` inputs) are ignored.
    """
    path = _root(root, "BIG", BIG_LAYOUT)
    check(split == "test", f"data.root={path}: BIG is test-only (150 images); got split={split!r}, use split=test")
    folder = path / "test" if not _files(path, "_im.jpg") and (path / "test").is_dir() else path
    return _pair_by_suffix(path, folder, BIG_LAYOUT, "_im.jpg", "_gt.png")


def bsds500(root: Root, split: str = "test") -> list[Sample]:
    """BSDS500 in the layout of :mod:`pcnet.data.bsds500` (one label map per annotator).

    Besides :func:`~pcnet.data.bsds500.bsds500_samples`' checks, label maps without an image are an error.
    """
    samples = bsds500_samples(root, split)
    path = Path(root).expanduser()
    claimed = {p for s in samples for p in s.ground_truth}
    orphans = [p for p in _files(path / "gt" / split, ".png") if p not in claimed]
    images, labels = {s.id: s.image for s in samples}, {s.id: list(s.ground_truth) for s in samples}
    return _pair(path, LAYOUT, images, labels, orphans, (f"in images/{split}", f"gt/{split}/<id>_<k>.png"))


def nyuv2(root: Root, split: str = "test") -> list[Sample]:
    """The NYUv2 subset of the superpixel benchmark (400 test images, 608x448).

    ``images/<split>/<id>.png`` (or ``.jpg``) and ``csv_groundTruth/<split>/<id>.csv`` or
    ``<id>-<k>.csv`` per annotator ``k`` (comma-separated integer labels, one row per image row);
    ``<id>.csv`` comes first, then annotators by ``k``.
    """
    path = _root(root, "NYUv2", NYUV2_LAYOUT)
    image_dir, gt_dir = path / "images" / split, path / "csv_groundTruth" / split
    images = _by_id(_files(image_dir, (".png", ".jpg")), lambda p: p.stem, path, NYUV2_LAYOUT)
    _check_images(images, path, image_dir, f"images/{split}/*.png or *.jpg images", NYUV2_LAYOUT)
    annotators: dict[str, list[tuple[int, Path]]] = {}
    orphans = []
    for csv in _files(gt_dir, ".csv"):
        match = _ANNOTATOR.match(csv.stem)
        key, k = (csv.stem, -1) if csv.stem in images or not match else (match["id"], int(match["k"]))
        if key in images:
            annotators.setdefault(key, []).append((k, csv))
        else:
            orphans.append(csv)
    labels = {key: [p for _, p in sorted(found)] for key, found in annotators.items()}
    where = (f"in images/{split}", f"csv_groundTruth/{split}/<id>.csv or <id>-<k>.csv")
    return _pair(path, NYUV2_LAYOUT, images, labels, orphans, where)


def _natural(path: str) -> list[int | str]:
    """Sort key that puts ``a_2`` before ``a_10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", path)]


def _glob(where: Path, label_pattern: str, stem: str, name: str) -> list[str]:
    """Normalised paths matching ``label_pattern`` (with ``stem`` and ``name``) relative to ``where``."""
    pattern = os.path.join(glob.escape(str(where)), label_pattern.format(stem=stem, name=name))
    return [os.path.normpath(p) for p in glob.glob(pattern)]


def folder(
    root: Root, image_glob: str = "*.jpg", label_pattern: str = "{stem}_label.png", split: str | None = None
) -> list[Sample]:
    """Any folder of images and label maps.

    Args:
        root: the folder (``data.root``); ``split``, if given, is a subfolder of it.
        image_glob: images relative to the folder, e.g. ``"*.png"`` or ``"**/*.jpg"``; the id is the
            image path relative to the folder without its suffix.
        label_pattern: label map(s) of an image, relative to the image's folder, formatted with
            ``stem`` (file name without suffix) and ``name`` (file name): ``"{stem}_label.png"``,
            ``"../labels/{stem}.png"``; a ``*`` matches several annotators (``"{stem}_*.png"``, sorted
            naturally). Files matching the pattern are never images; a label map matched by several
            images belongs to the one with the longest stem.
    """
    layout = f"{image_glob} with {label_pattern} beside each image"
    path = _root(root, "dataset", layout)
    base = path / split if split else path
    try:
        label_pattern.format(stem="", name="")
    except (KeyError, IndexError, ValueError) as err:
        check(False, f"label_pattern may only use {{stem}} and {{name}}; got {label_pattern!r} ({err!r})")
    check(
        re.search(r"\{(stem|name)\}", label_pattern) is not None,
        f"label_pattern must contain {{stem}} or {{name}}; got {label_pattern!r} (data.root={path})",
    )
    found = [p for p in base.glob(image_glob) if p.is_file() and not p.name.startswith(".")]
    candidates = {c for where in {p.parent for p in found} | {base} for c in _glob(where, label_pattern, "*", "*")}
    images = _by_id(
        (p for p in found if os.path.normpath(p) not in candidates),
        lambda p: p.relative_to(base).with_suffix("").as_posix(),
        path,
        layout,
    )
    _check_images(images, path, base, f"{image_glob} images", layout)
    owner: dict[str, str] = {}
    for key, image in images.items():
        for label in _glob(image.parent, label_pattern, glob.escape(image.stem), glob.escape(image.name)):
            if label not in owner or len(image.stem) > len(images[owner[label]].stem):
                owner[label] = key
    labels: dict[str, list[Path]] = {}
    for label in sorted(owner, key=_natural):
        labels.setdefault(owner[label], []).append(Path(label))
    orphans = [Path(c) for c in sorted(candidates - set(owner))]
    return _pair(path, layout, images, labels, orphans, (f"matching {image_glob}", label_pattern))


def _binary_mask(labels: np.ndarray) -> np.ndarray:
    """BIG's 0/255 masks as {0, 1}: values >= 128 are the object; {0, 1} masks are kept."""
    return (labels if int(labels.max()) <= 1 else labels >= 128).astype(np.uint8)


#: Every reader by name: ``READERS[name](root, split, **options) -> list[Sample]``.
READERS: dict[str, Callable[..., list[Sample]]] = {
    "big": big,
    "bsds500": bsds500,
    "face_human": face_human,
    "folder": folder,
    "mapillary": mapillary,
    "nyuv2": nyuv2,
}
_LABEL_TRANSFORMS: dict[str, Callable[[np.ndarray], np.ndarray]] = {"big": _binary_mask}
#: Mapillary Vistas' ``void--unlabeled`` class id per annotation version (v1.2: 66 classes, v2.0: 124)
MAPILLARY_UNLABELLED = {"v1.2": 65, "v2.0": 123}
#: the GT value of unlabelled pixels per reader (``None``: none; module docstring)
UNLABELLED: dict[str, int | None] = {
    "big": None,
    "bsds500": None,
    "face_human": None,
    "folder": None,
    "mapillary": MAPILLARY_UNLABELLED["v1.2"],
    "nyuv2": None,
}


def unlabelled_value(reader_name: str | None, sample: Sample | None = None) -> int | None:
    """The ground-truth value of the unlabelled pixels of a dataset's sample, or ``None``
    (:data:`UNLABELLED`; for Mapillary v2.0 labels, which ``sample`` tells by its label path, 123).

    Example:
        >>> unlabelled_value("mapillary"), unlabelled_value("bsds500"), unlabelled_value(None)
        (65, None, None)
    """
    if reader_name is None:
        return None
    name = _reader_name(reader_name)
    if name == "mapillary" and sample is not None:
        if any(part.startswith("v2") for path in sample.ground_truth for part in Path(path).parts):
            return MAPILLARY_UNLABELLED["v2.0"]
    return UNLABELLED[name]


def _reader_name(name: str) -> str:
    key = str(name).lower().replace("-", "_")
    check(key in READERS, f"unknown dataset reader {name!r}; valid names: {sorted(READERS)}")
    return key


def list_samples(name: str, root: Root, split: str | None = None, **options) -> list[Sample]:
    """List the samples of dataset ``name`` under ``root`` (``split=None``: the reader's default).

    Example:
        >>> sorted(READERS)
        ['big', 'bsds500', 'face_human', 'folder', 'mapillary', 'nyuv2']
        >>> list_samples("coco", "/data/coco")  # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        pcnet._checks.InputError: unknown dataset reader 'coco'; valid names: ['big', 'bsds500', ...]
    """
    name = _reader_name(name)
    reader = READERS[name]
    accepted = [p for p in inspect.signature(reader).parameters if p != "root"]
    unknown = sorted(set(options) - set(accepted))
    check(not unknown, f"dataset reader {name!r} has no option {unknown}; it accepts {accepted} (data.root={root})")
    if split is not None:
        options["split"] = split
    return reader(root, **options)


def load_sample(sample: Sample, reader_name: str | None = None) -> tuple[np.ndarray, list[np.ndarray]]:
    """Read a sample: ``(image (H, W, 3) uint8 RGB, [label map (H, W) int, one per annotator])``.

    ``reader_name`` applies that dataset's label conventions (``"big"``: 0/255 masks to {0, 1}).

    Raises:
        ValueError: an unreadable image or label map, or a label map whose size differs from the
            image's, named by path.
    """
    transform = _LABEL_TRANSFORMS.get(_reader_name(reader_name)) if reader_name is not None else None
    image = to_rgb_uint8(read_image(sample.image), name=f"image {sample.image}")
    height, width = image.shape[:2]
    labels = []
    for path in sample.ground_truth:
        label = read_label_map(path)
        check(
            label.shape == (height, width),
            f"label map {path} is {label.shape[0]}x{label.shape[1]} but image {sample.image} is {height}x{width}",
        )
        labels.append(transform(label) if transform else label)
    return image, labels

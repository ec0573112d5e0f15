"""Batch prediction: superpixels for many images, written safely.

* Outputs are written atomically (temporary file + rename) and the label map last, so an image
  whose label map exists is complete: a rerun skips it (unless ``overwrite``) and an interrupted
  run leaves no partial file.
* An unreadable or non-image input is reported by name and skipped; the run goes on.
* Inputs are never written over, and outputs go next to them only when asked.
* Masks (:func:`find_mask`): ``<stem>_mask.png`` beside an image, or ``<stem>_mask.png`` /
  ``<stem>.png`` in a mask folder; nonzero pixels are inside. Superpixels then lie inside the mask
  only and the label map holds −1 outside, so it is written as ``<stem>_labels.npy`` (int32; a
  16-bit PNG has no −1), which :func:`pcnet.io.read_label_map` reads back with its −1. A
  ``<stem>_mask.png`` beside an image ``<stem>.*`` is never an input itself.
"""

from __future__ import annotations

import csv
import glob
import os
import resource
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from pcnet._checks import check
from pcnet._cli import USER_ERRORS
from pcnet.io import (
    ensure_writable_dir,
    read_image,
    read_label_map,
    write_image,
    write_label_map,
)
from pcnet.ops.draw import draw_boundaries, mean_color

__all__ = [
    "AUTO_TISSUE",
    "IMAGE_SUFFIXES",
    "MASK_SUFFIX",
    "PredictionResult",
    "find_inputs",
    "find_mask",
    "image_tissue_mask",
    "keep_earlier_rows",
    "predict_files",
    "write_polygons",
    "predict_one",
    "prepare_output",
]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".tif", ".tiff", ".svs", ".bmp", ".webp", ".ppm", ".pgm")
#: ``mask=auto-tissue``: each image's tissue, found on a thumbnail (:func:`pcnet.ops.masks.tissue_mask`)
AUTO_TISSUE = "auto-tissue"
#: the mask of image ``<stem>.*``: ``<stem>_mask.png`` (beside it, or in a mask folder)
MASK_SUFFIX = "_mask.png"
#: ``segment(rgb, n_segments)``, or ``segment(rgb, n_segments, mask=...)`` for an image with a mask
Segment = Callable[..., np.ndarray]


def _without_masks(files: list[Path]) -> list[Path]:
    """``files`` less every ``<stem>_mask.png`` beside an image ``<stem>.*`` (that image's mask);
    each folder is listed once."""
    stems: dict[Path, set[str]] = {}

    def images_in(folder: Path) -> set[str]:
        if folder not in stems:
            stems[folder] = {p.stem for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()}
        return stems[folder]

    return [
        p
        for p in files
        if not (p.name.lower().endswith(MASK_SUFFIX) and p.name[: -len(MASK_SUFFIX)] in images_in(p.parent))
    ]


def find_inputs(spec: str | os.PathLike) -> list[Path]:
    """Image files named by a file, a folder (its image files, sorted) or a glob pattern; in a
    folder or a pattern, ``<stem>_mask.png`` beside an image ``<stem>.*`` is that image's mask
    (:func:`find_mask`), not an input."""
    path = Path(spec).expanduser()
    if path.is_file():
        return [path]
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
        files = _without_masks(files)
        check(bool(files), f"input={path} holds no image files ({', '.join(IMAGE_SUFFIXES)})")
        return files
    matches = sorted(Path(p) for p in glob.glob(str(path)) if Path(p).is_file())
    if not matches and not glob.has_magic(str(path)):
        raise FileNotFoundError(f"input={path}: no such file or folder")
    matches = _without_masks(matches)
    check(bool(matches), f"input={path}: the pattern matches no file")
    return matches


def find_mask(image: Path, masks: str | os.PathLike | None = "auto") -> Path | str | None:
    """The mask file of ``image`` (nonzero pixels inside), :data:`AUTO_TISSUE`, or ``None`` for no mask.

    ``masks``: ``"auto"``: ``<stem>_mask.png`` beside the image when there is one; ``None``: no
    masks; a folder: ``<folder>/<stem>_mask.png``, else ``<folder>/<stem>.png`` (a missing one is
    an error for that image).
    """
    if masks is None:
        return None
    if str(masks) == AUTO_TISSUE:
        return AUTO_TISSUE
    if str(masks) == "auto":
        beside = image.with_name(image.stem + MASK_SUFFIX)
        return beside if beside.is_file() else None
    folder = Path(masks).expanduser()
    check(folder.is_dir(), f"mask={folder} is not a folder (expected <stem>{MASK_SUFFIX} or <stem>.png masks)")
    for name in (image.stem + MASK_SUFFIX, image.stem + ".png"):
        if (folder / name).is_file():
            return folder / name
    check(False, f"no mask for {image.name} in mask={folder} (looked for {image.stem}{MASK_SUFFIX}, {image.stem}.png)")
    return None


def read_mask(path: Path, shape: tuple[int, ...], image: Path) -> np.ndarray:
    """The mask file ``path`` of ``image`` as an ``(H, W)`` bool array: nonzero pixels inside."""
    values = read_label_map(path)
    check(
        values.shape == tuple(shape[:2]),
        f"mask {path} is {values.shape[0]}×{values.shape[1]} but the image {image} is {shape[0]}×{shape[1]}; "
        "give it the image's size",
    )
    return values > 0


def image_tissue_mask(image: np.ndarray, side: int = 1024) -> np.ndarray:
    """The tissue of an RGB image in memory: :func:`pcnet.ops.masks.tissue_mask` on a copy of at
    most ``side`` pixels on its long side, scaled back up by nearest neighbour."""
    import cv2

    from pcnet.ops.masks import tissue_mask

    height, width = image.shape[:2]
    f = max(1.0, max(height, width) / side)
    small = cv2.resize(image, (max(1, round(width / f)), max(1, round(height / f))), interpolation=cv2.INTER_AREA)
    return cv2.resize(tissue_mask(small).astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0


def prepare_output(output: str | os.PathLike, inputs: Sequence[Path], next_to_inputs: bool = False) -> Path:
    """Create and check the output folder: writable, and not an input folder unless allowed."""
    out = Path(output).expanduser()
    folders = {p.resolve().parent for p in inputs}
    check(
        next_to_inputs or out.resolve() not in folders,
        f"output={out} is the folder of the input images; choose another folder "
        "(or pass write_next_to_inputs=true to write beside them)",
    )
    duplicates = sorted(stem for stem, n in Counter(p.stem for p in inputs).items() if n > 1)
    check(
        not duplicates,
        f"several inputs share a file name {duplicates[:5]}: their outputs would collide; predict them separately",
    )
    return ensure_writable_dir(out)


def keep_earlier_rows(rows: Sequence[dict[str, Any]], output: Path) -> list[dict[str, Any]]:
    """``rows`` with each skipped image's row completed, so the ``summary.csv`` a rerun writes
    still describes every image: the earlier run's row when its summary has one, else the size
    and K read from the label map it left (a killed run writes no summary)."""
    summary = output / "summary.csv"
    earlier: dict[str, dict[str, Any]] = {}
    if summary.is_file():
        with open(summary, newline="") as fh:
            earlier = {r["file"]: r for r in csv.DictReader(fh) if r.get("status") == "ok"}
    completed = []
    for row in rows:
        if row["status"].startswith("skipped"):
            if row["file"] in earlier:
                row = earlier[row["file"]]
            else:
                labels = read_label_map(_labels_path(output, Path(row["file"])))
                row = {
                    **row,
                    "height": labels.shape[0],
                    "width": labels.shape[1],
                    "n_superpixels": int(labels.max()) + 1,
                }
        completed.append(row)
    return completed


def _labels_path(output: Path, image: Path) -> Path:
    """The label map written for ``image``: ``<stem>_labels.png``, or ``.npy`` when K >= 65536 or
    it has a mask (−1 outside)."""
    png = output / f"{image.stem}_labels.png"
    for other in (png.with_suffix(".npy"), png.with_suffix(".tif")):
        if not png.exists() and other.exists():
            return other
    return png


@dataclass
class PredictionResult:
    """What happened to each input."""

    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failures(self) -> list[dict[str, Any]]:
        """The rows of the inputs that failed (``status == "failed"``)."""
        return [r for r in self.rows if r["status"] == "failed"]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def predict_one(
    path: Path,
    output: Path,
    segment: Segment,
    n_segments: int | None = None,
    mean: bool = False,
    overwrite: bool = False,
    masks: str | os.PathLike | None = "auto",
    stream: Callable[[Path, Path, Path | None], dict[str, Any]] | None = None,
    level: int = 0,
    geojson: bool = False,
) -> dict[str, Any]:
    """Segment one image and write its outputs; returns its summary row (never raises on a bad
    input file: the row says ``failed`` and why).

    ``stream(path, labels_path, mask_path)``: how to segment a TIFF above
    :data:`~pcnet.methods.streaming.STREAMING_THRESHOLD_PIXELS` window by window
    (:func:`pcnet.methods.streaming.segment_file`: a tiled BigTIFF ``<stem>_labels.tif``, refined
    as in memory, −1 outside the image's mask if it has one, which may be a thumbnail's size, and a
    quick-look ``<stem>_overlay.png``);
    ``None``: every image in memory.

    ``geojson``: also ``<stem>_superpixels.geojson``, a polygon per superpixel (QuPath's
    detections; map coordinates and the CRS for a GeoTIFF: :mod:`pcnet.io.polygons`); not for
    streamed images (millions of polygons: use the label BigTIFF).

    ``level``: the pyramid level of a whole-slide TIFF (0: full resolution; it decides whether
    the image is streamed, and is read whole otherwise).

    ``masks`` finds the image's mask (:func:`find_mask`; ``auto-tissue``: the tissue, found on a
    thumbnail); with one, ``segment`` is called with
    ``mask=``, the label map holds −1 outside (written as ``.npy``), the overlay also outlines the
    mask and the mean-colour image is black outside."""
    row: dict[str, Any] = {
        "file": str(path),
        "height": "",
        "width": "",
        "n_superpixels": "",
        "seconds": "",
        "peak_rss_mb": "",
        "status": "",
        "error": "",
    }
    labels_path = output / f"{path.stem}_labels.png"
    if not overwrite and _labels_path(output, path).exists():
        return {**row, "status": "skipped (done)"}
    for kind in ("labels", "overlay", "mean"):  # temporary files left by a run killed while writing
        for stale in output.glob(f".{glob.escape(path.stem)}_{kind}.*.tmp*"):
            stale.unlink(missing_ok=True)
    try:
        if stream is not None and _streams(path, level):
            start = time.perf_counter()
            info = stream(path, output / f"{path.stem}_labels.tif", find_mask(path, masks))
            refined = ("refined" if info["refine"] else "no refinement") + (", masked" if info["masked"] else "")
            return {
                **row,
                "height": info["shape"][0],
                "width": info["shape"][1],
                "n_superpixels": info["k"],
                "seconds": round(time.perf_counter() - start, 3),
                "peak_rss_mb": round(_peak_rss_mb(), 1),
                "status": f"ok (streamed: tiled BigTIFF, {refined}, quick-look overlay)",
            }
        image = read_image(path) if level == 0 else _read_level(path, level)
        mask_path = find_mask(path, masks)
        if mask_path == AUTO_TISSUE:
            mask = image_tissue_mask(image)
        else:
            mask = None if mask_path is None else read_mask(mask_path, image.shape, path)
        start = time.perf_counter()
        labels = segment(image, n_segments) if mask is None else segment(image, n_segments, mask=mask)
        seconds = time.perf_counter() - start
        shown = labels if mask is None else labels + 1  # outside (−1) as a region of its own: 0
        write_image(output / f"{path.stem}_overlay.png", draw_boundaries(image, shown))
        if mean:
            colours = mean_color(image, shown)
            if mask is not None:
                colours[~mask] = 0
            write_image(output / f"{path.stem}_mean.png", colours)
        if geojson:
            write_polygons(path, output / f"{path.stem}_superpixels.geojson", labels, image, level)
        written = write_label_map(labels_path, labels)  # last: its presence marks the image as done
        labels_path.with_suffix(".npy" if written.suffix == ".png" else ".png").unlink(missing_ok=True)  # a rerun's
    except USER_ERRORS as err:
        return {**row, "status": "failed", "error": str(err)}
    return {
        **row,
        "height": labels.shape[0],
        "width": labels.shape[1],
        "n_superpixels": int(labels.max()) + 1,
        "seconds": round(seconds, 3),
        "peak_rss_mb": round(_peak_rss_mb(), 1),
        "status": "ok",
    }


def write_polygons(
    image_path: Path, path: Path, labels: np.ndarray, image: np.ndarray, level: int = 0
) -> dict[str, int]:
    """The GeoJSON polygons of ``labels`` (see :func:`pcnet.io.polygons.write_geojson`), in the map
    coordinates of ``image_path`` when it is a GeoTIFF read at its full resolution."""
    from pcnet.io.polygons import geo_reference, write_geojson
    from pcnet.io.tiff import is_tiff

    transform, crs = geo_reference(image_path) if is_tiff(image_path) and level == 0 else (None, None)
    return write_geojson(path, labels, image, transform, crs)


def _read_level(path: Path, level: int) -> np.ndarray:
    """Pyramid level ``level`` of a whole-slide TIFF, whole (``level=`` of predict)."""
    from pcnet.io.tiff import is_tiff, read_level

    check(is_tiff(path), f"level={level} applies to pyramidal TIFFs; {path.name} is not one (pass level=0)")
    return read_level(path, level)


def _streams(path: Path, level: int = 0) -> bool:
    """Whether ``path`` is a TIFF too large for the in-memory path (read from its header)."""
    from pcnet.io.tiff import image_size, is_tiff
    from pcnet.methods.streaming import STREAMING_THRESHOLD_PIXELS

    if not is_tiff(path):
        return False
    height, width = image_size(path, level=level)
    return height * width > STREAMING_THRESHOLD_PIXELS


def predict_files(
    inputs: Sequence[Path],
    output: Path,
    segment: Segment,
    n_segments: int | None = None,
    mean: bool = False,
    overwrite: bool = False,
    progress: bool = True,
    masks: str | os.PathLike | None = "auto",
    stream: Callable[[Path, Path, Path | None], dict[str, Any]] | None = None,
    level: int = 0,
    geojson: bool = False,
) -> PredictionResult:
    """Run ``segment(rgb, n_segments)`` on every input and write its outputs into ``output``;
    ``masks`` as in :func:`find_mask`, ``stream`` as in :func:`predict_one`."""
    result = PredictionResult()
    for path in tqdm(inputs, desc="images", unit="img", disable=not progress):
        result.rows.append(
            predict_one(path, output, segment, n_segments, mean, overwrite, masks, stream, level, geojson)
        )
    return result

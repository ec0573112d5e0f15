"""Benchmark superpixel methods (or saved label maps) on any dataset that has a reader.

Images are processed in parallel with :class:`concurrent.futures.ProcessPoolExecutor`; one task is
one image with every method and every requested K, so each image and its annotators are read and
prepared once. Every annotator of an image is one sample, as in the superpixel benchmark.

Saved label maps are looked up for every image before any scoring: a folder that misses some is
an error unless ``allow_missing``. ``.npy`` maps may hold −1 (:data:`pcnet.ops.OUTSIDE`) outside
a mask; those pixels are left out of every metric (``ignore_index``, :mod:`pcnet.metrics`).
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from pcnet._checks import check
from pcnet.data.bsds500 import Sample
from pcnet.data.readers import load_sample, unlabelled_value
from pcnet.io import read_label_map
from pcnet.metrics.functional import METRIC_NAMES, prepare, score_prepared
from pcnet.ops.masks import OUTSIDE

__all__ = [
    "PRED_SUFFIXES",
    "Setting",
    "evaluate",
    "prediction_settings",
    "summarize",
]

PRED_SUFFIXES = (".png", ".npy", ".tif", ".tiff")
#: how many missing image ids an error names
SHOWN_MISSING = 5

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Setting:
    """One curve point to evaluate: a method at a requested K, or a folder of saved label maps."""

    method: str
    n_segments: int | str
    options: Mapping[str, Any] = field(default_factory=dict)
    pred_dir: Path | None = None


def prediction_settings(pred_dir: str | os.PathLike, method: str | None = None) -> list[Setting]:
    """Settings for saved label maps: ``pred_dir/<id>.png`` or one subfolder per setting.

    Files are ``.png`` (8/16-bit), ``.tif`` or ``.npy`` label maps named after the image id.
    """
    root = Path(pred_dir).expanduser()
    check(
        root.is_dir(),
        f"pred_dir={root} is not a directory (expected <pred_dir>/<id>.png or <pred_dir>/<setting>/<id>.png)",
    )
    name = method or root.name

    def has_maps(folder: Path) -> bool:
        return any(p.suffix.lower() in PRED_SUFFIXES for p in folder.iterdir() if p.is_file())

    if has_maps(root):
        return [Setting(name, "", pred_dir=root)]
    subdirs = sorted((p for p in root.iterdir() if p.is_dir() and has_maps(p)), key=lambda p: (len(p.name), p.name))
    check(
        bool(subdirs),
        f"pred_dir={root} holds no label maps ({', '.join(PRED_SUFFIXES)}) directly or in subfolders",
    )
    return [Setting(name, int(p.name) if p.name.isdigit() else p.name, pred_dir=p) for p in subdirs]


def _find_prediction(folder: Path, sample_id: str) -> Path | None:
    """``folder/<id>.png`` (or another of :data:`PRED_SUFFIXES`); ``None`` when there is none."""
    for suffix in PRED_SUFFIXES:
        path = folder / f"{sample_id}{suffix}"
        if path.is_file():
            return path
    return None


def _ids(ids: Sequence[str]) -> str:
    """The first :data:`SHOWN_MISSING` ids, comma-separated (``...`` when there are more)."""
    return ", ".join(ids[:SHOWN_MISSING]) + (", ..." if len(ids) > SHOWN_MISSING else "")


def _prediction_paths(samples: Sequence[Sample], folder: Path, allow_missing: bool) -> dict[str, Path]:
    """The saved label map of every sample that has one in ``folder``, by image id.

    Raises:
        InputError: some images have none (unless ``allow_missing``), or none has one.
    """
    found = {s.id: path for s in samples if (path := _find_prediction(folder, s.id)) is not None}
    missing = [s.id for s in samples if s.id not in found]
    names = f"<id>{{{','.join(PRED_SUFFIXES)}}}"
    check(
        bool(found) or not samples,
        f"pred_dir {folder} has a prediction for none of the {len(samples)} images (ids {_ids(missing)}); "
        f"it needs one label map {names} per image id",
    )
    check(
        allow_missing or not missing,
        f"pred_dir {folder} has no prediction for {len(missing)} of {len(samples)} images "
        f"(missing: {_ids(missing)}); save {names} for each, or set allow_missing=true to score "
        "only the images that have one",
    )
    if missing:
        log.warning(
            "pred_dir %s: scoring %d of %d images, skipping %d with no prediction (allow_missing=true)",
            folder,
            len(found),
            len(samples),
            len(missing),
        )
    return found


def _limit_threads() -> None:
    """One worker per core: keep OpenCV and torch from spawning threads of their own."""
    import cv2
    import torch

    cv2.setNumThreads(1)
    torch.set_num_threads(1)


#: one worker task: an image, its settings (with the saved label map to score, if any), tolerance, reader
Task = tuple[Sample, Sequence[tuple[Setting, Path | None]], int | None, str | None]


def _evaluate_sample(args: Task) -> list[dict[str, Any]]:
    sample, settings, tolerance, reader = args
    image, gt_maps = load_sample(sample, reader)
    height, width = image.shape[:2]
    ignore = unlabelled_value(reader, sample)  # unlabelled GT pixels: skipped by the metrics
    gts = [
        prepare(gt, tolerance, connected=False, name=str(p), ignore=ignore)
        for gt, p in zip(gt_maps, sample.ground_truth)
    ]
    rows = []
    for setting, pred_path in settings:
        start = time.perf_counter()
        if pred_path is None:
            from pcnet.methods.registry import (
                superpixels,  # imported in the worker: registers every method
            )

            labels = superpixels(image, setting.n_segments, method=setting.method, **setting.options)
        else:
            labels = read_label_map(pred_path)
            check(
                labels.shape == (height, width),
                f"prediction for {sample.id} in {setting.pred_dir} is {labels.shape}; the image is {(height, width)}",
            )
        method_seconds = time.perf_counter() - start
        start = time.perf_counter()
        sp = prepare(labels, gts[0].tolerance, connected=True, name=str(pred_path or "labels"), ignore=OUTSIDE)
        scores = [score_prepared(sp, gt) for gt in gts]
        score_seconds = time.perf_counter() - start
        for k, score in enumerate(scores):
            rows.append(
                {
                    "method": setting.method,
                    "n_segments": setting.n_segments,
                    "image": sample.id,
                    "annotator": k,
                    "height": height,
                    "width": width,
                    **score,
                    "n_superpixels": int(score["n_superpixels"]),
                    "method_seconds": method_seconds,
                    "score_seconds": score_seconds / len(gts),
                }
            )
    return rows


def evaluate(
    samples: Sequence[Sample],
    settings: Sequence[Setting],
    tolerance: int | None = None,
    workers: int = 2,
    progress: bool = True,
    reader: str | None = None,
    allow_missing: bool = False,
) -> list[dict[str, Any]]:
    """Per-sample rows (one per image × annotator × setting), in image order.

    ``samples`` come from any dataset reader (:func:`pcnet.data.readers.list_samples`);
    ``reader`` names it, so that its label conventions apply (BIG's 0/255 masks). Every saved
    label map is looked up first: images a ``pred_dir`` has no map for are an error, or with
    ``allow_missing`` are skipped for that setting (logged)."""
    check(workers >= 1, f"workers must be >= 1; got {workers}")
    paths = [None if s.pred_dir is None else _prediction_paths(samples, s.pred_dir, allow_missing) for s in settings]
    tasks: list[Task] = []
    for sample in samples:
        todo = tuple(
            (setting, None if found is None else found[sample.id])
            for setting, found in zip(settings, paths)
            if found is None or sample.id in found
        )
        if todo:
            tasks.append((sample, todo, tolerance, reader))
    bar = dict(total=len(tasks), desc="images", unit="img", disable=not progress)
    if workers == 1:
        results: Iterable[list[dict[str, Any]]] = map(_evaluate_sample, tasks)
        return [row for rows in tqdm(results, **bar) for row in rows]
    # spawn, not fork: forking a process that already runs OpenMP/OpenCV threads can deadlock
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_limit_threads) as pool:
        return [row for rows in tqdm(pool.map(_evaluate_sample, tasks), **bar) for row in rows]


def summarize(rows: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Mean of every metric (and of measured K) per method and requested K.

    ``seconds_per_image`` is the method's mean time per image; ``score_seconds`` the total CPU
    time spent scoring that setting.
    """
    groups: dict[tuple[str, Any], list[Mapping[str, Any]]] = {}
    for row in rows:
        groups.setdefault((row["method"], row["n_segments"]), []).append(row)
    summary = []
    for (method, n_segments), group in groups.items():
        per_image = {r["image"]: r["method_seconds"] for r in group}
        summary.append(
            {
                "method": method,
                "n_segments": n_segments,
                "n_images": len(per_image),
                "n_samples": len(group),
                **{k: float(np.mean([r[k] for r in group])) for k in METRIC_NAMES},
                "seconds_per_image": float(np.mean(list(per_image.values()))),
                "score_seconds": float(np.sum([r["score_seconds"] for r in group])),
            }
        )
    return summary

"""Gigapixel benchmark: streaming PCNet on a synthetic image with exact labels, in bounded memory.

1. ``generate``: a synthetic image and its exact label map, both tiled BigTIFFs written tile by
   tile (never whole in memory). Regions are the cells of a warped, jittered-grid Voronoi diagram
   computed per tile from global coordinates (each pixel's nearest seed among the 3 × 3 grid
   cells around it: exact, since jitter and warp keep the nearest seed there), each with its own
   colour, a linear gradient and a deterministic per-pixel noise.
2. ``segment``: :func:`pcnet.methods.streaming.segment_file` (wall time, peak RSS, K), refined
   (the default) and not (``refine=False``), so the refinement's cost is a ratio of one run.
3. ``score``: boundary recall (the benchmark's tolerance ``r = round(0.0025 · diagonal)``, and
   ``r = 1``) and ASA against the exact labels, computed band by band and exact: a band reads
   ``r + 1`` extra rows on each side for boundaries and their dilation, and the overlaps
   ``|S_j ∩ G_i|`` of a superpixel are summed over the bands it spans before the max is taken
   (a 4-connected superpixel that continues into the next band has a pixel in the band's last row).
4. ``memory`` (``--compare-in-memory``): the in-memory default ``Segmenter(tile=tile)`` (the streamed tile, refined)
   on the whole image, its time and peak RSS, K, and the pixels whose label differs from the refined stream.

Each step runs in its own process, so each peak RSS is that step's alone.

    python -m pcnet.bench.gigapixel --height 10000 --width 10000 --dir /tmp/gp100 --compare-in-memory
    python -m pcnet.bench.gigapixel --height 25000 --width 40000 --dir /tmp/gp1000

(``python -m pcnet.benchmark gigapixel`` takes the same options: one parser, :func:`add_arguments`.)
"""

from __future__ import annotations

import argparse
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from pcnet.io.tiff import TiffWindows, partial_path, write_tiled
from pcnet.methods.streaming import peak_rss_bytes, segment_file
from pcnet.metrics.functional import boundary_tolerance
from pcnet.ops import find_boundaries

__all__ = ["add_arguments", "bench_gigapixel", "main", "render_window", "run", "score_files", "write_synthetic"]

_M64 = np.uint64(0xFFFFFFFFFFFFFFFF)


def _hash(*keys: np.ndarray, salt: int = 0) -> np.ndarray:
    """Deterministic uniform [0, 1) floats from integer keys (splitmix64 mixing)."""
    with np.errstate(over="ignore"):
        h = np.uint64(0x9E3779B97F4A7C15 * (salt + 1) & 0xFFFFFFFFFFFFFFFF)
        for k in keys:
            h = h ^ (np.asarray(k).astype(np.uint64) + np.uint64(0x9E3779B97F4A7C15))
            h = (h ^ (h >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            h = (h ^ (h >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            h = h ^ (h >> np.uint64(31))
    return (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)


def render_window(
    r0: int, r1: int, c0: int, c1: int, width: int, spacing: int = 96, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """RGB uint8 and exact labels (int32) of the window ``[r0, r1) × [c0, c1)`` of the synthetic
    image of ``width`` columns: the same pixels whatever the window."""
    g = float(spacing)
    n_cols = -(-width // spacing) + 2
    yy = np.arange(r0, r1, dtype=np.float64)[:, None]
    xx = np.arange(c0, c1, dtype=np.float64)[None, :]
    # a smooth warp (amplitude 0.1 spacing) makes the boundaries curved
    wy = yy + 0.1 * g * np.sin(2 * np.pi * xx / (3.7 * g))
    wx = xx + 0.1 * g * np.sin(2 * np.pi * yy / (2.9 * g))
    ci, cj = np.floor(wy / g).astype(np.int64), np.floor(wx / g).astype(np.int64)
    best = np.full(wy.shape, np.inf)
    label = np.zeros(wy.shape, np.int64)
    for di in (-1, 0, 1):
        for dj in (-1, 0, 1):
            i, j = ci + di, cj + dj
            # seeds jittered inside the middle half of their grid cell: the nearest is among the 3 × 3
            sy = (i + 0.25 + 0.5 * _hash(i, j, salt=seed)) * g
            sx = (j + 0.25 + 0.5 * _hash(i, j, salt=seed + 7)) * g
            dist = (wy - sy) ** 2 + (wx - sx) ** 2
            closer = dist < best
            best = np.where(closer, dist, best)
            label = np.where(closer, (i + 1) * n_cols + (j + 1), label)
    colour = np.stack([30 + 195 * _hash(label, salt=seed + 11 + c) for c in range(3)], axis=-1)
    slope = (_hash(label, salt=seed + 17) - 0.5) * 60.0 / g
    ramp = slope * ((yy % (4 * g)) - 2 * g) * 0.25
    noise = (_hash(yy.astype(np.int64), xx.astype(np.int64), salt=seed + 23) - 0.5) * 16.0
    rgb = np.clip(colour + (ramp + noise)[..., None], 0, 255).astype(np.uint8)
    return rgb, label.astype(np.int32)


def write_synthetic(
    image_path: str | Path, label_path: str | Path, height: int, width: int, tile: int = 512, seed: int = 0
) -> dict:
    """Write the synthetic image and its labels as tiled BigTIFFs, tile by tile (the labels from
    a second thread fed by the image's tiles), each atomically (``.partial``, then renamed)."""
    start = time.perf_counter()
    image_path, label_path = Path(image_path), Path(label_path)
    labels: queue.Queue = queue.Queue(maxsize=16)

    def image_tiles() -> Iterator[np.ndarray]:
        for r in range(0, height, tile):
            for c in range(0, width, tile):
                rgb, lab = render_window(r, min(r + tile, height), c, min(c + tile, width), width, seed=seed)
                labels.put(lab)
                yield rgb
        labels.put(None)

    def label_tiles() -> Iterator[np.ndarray]:
        while (lab := labels.get()) is not None:
            yield lab

    errors: list[BaseException] = []

    def write_labels() -> None:
        try:
            write_tiled(partial_path(label_path), label_tiles(), (height, width), np.int32, tile=tile)
        except BaseException as err:  # noqa: BLE001 - reported by the main thread
            errors.append(err)

    thread = threading.Thread(target=write_labels)
    thread.start()
    write_tiled(partial_path(image_path), image_tiles(), (height, width, 3), np.uint8, tile=tile)
    thread.join()
    if errors:
        raise errors[0]
    partial_path(image_path).replace(image_path)
    partial_path(label_path).replace(label_path)
    return {"seconds": time.perf_counter() - start, "peak_rss_bytes": peak_rss_bytes()}


def score_files(labels_path: str | Path, gt_path: str | Path, band: int = 512) -> dict:
    """Exact BR (benchmark tolerance and r = 1) and ASA of a label map against ground truth, both
    tiled TIFFs, computed band by band (module docstring)."""
    start = time.perf_counter()
    sp_file, gt_file = TiffWindows(labels_path, rgb=False), TiffWindows(gt_path, rgb=False)
    height, width = sp_file.shape
    radii = sorted({boundary_tolerance(height, width), 1})
    halo = max(radii) + 1
    tp = dict.fromkeys(radii, 0)
    gt_boundary = 0
    best_total = 0
    carry = np.zeros(0, np.int64), np.zeros(0, np.int64)  # (codes, counts) of superpixels that go on
    n_gt = None
    k = 0
    for b0 in range(0, height, band):
        b1 = min(b0 + band, height)
        w0, w1 = max(b0 - halo, 0), min(b1 + halo, height)
        sp = sp_file.read(w0, w1, 0, width)
        gt = gt_file.read(w0, w1, 0, width)
        core = slice(b0 - w0, b1 - w0)
        gtb = find_boundaries(gt)[core]
        gt_boundary += int(np.count_nonzero(gtb))
        spb = find_boundaries(sp).view(np.uint8)
        for r in radii:
            near = cv2.dilate(spb, np.ones((2 * r + 1, 2 * r + 1), np.uint8))[core].view(bool)
            tp[r] += int(np.count_nonzero(gtb & near))
        del spb
        sp, gt = sp[core], gt[core]
        k = max(k, int(sp.max()) + 1)
        if n_gt is None:
            n_gt = int(gt_file.height + 2) * (width + 2)  # an upper bound of the synthetic GT's ids
        all_codes = np.concatenate([carry[0], sp.astype(np.int64).ravel() * n_gt + gt.ravel()])
        weights = np.concatenate([carry[1], np.ones(sp.size, np.int64)])
        codes, inverse = np.unique(all_codes, return_inverse=True)
        counts = np.bincount(inverse, weights=weights).astype(np.int64)
        ids = codes // n_gt
        going_on = np.isin(ids, np.unique(sp[-1])) if b1 < height else np.zeros(ids.size, bool)
        done_ids, done_counts = ids[~going_on], counts[~going_on]
        if done_ids.size:
            starts = np.flatnonzero(np.r_[True, done_ids[1:] != done_ids[:-1]])
            best_total += int(np.maximum.reduceat(done_counts, starts).sum())
        carry = codes[going_on], counts[going_on]
    sp_file.close()
    gt_file.close()
    out = {f"br_r{r}": tp[r] / gt_boundary if gt_boundary else 0.0 for r in radii}
    out.update(asa=best_total / (height * width), k=k, tolerance=radii[-1], seconds=time.perf_counter() - start)
    out["peak_rss_bytes"] = peak_rss_bytes()
    return out


def in_memory(image_path: str | Path, streamed_path: str | Path, gt_path: str | Path, tile: int = 512) -> dict:
    """The in-memory default path (network ``tile``) on the whole image, compared with the
    streamed labels."""
    import tifffile

    from pcnet.methods.learned import load_segmenter
    from pcnet.metrics.functional import achievable_segmentation_accuracy, boundary_recall

    image = tifffile.imread(image_path)
    segmenter = load_segmenter(None, "pcnet", tile=int(tile))
    start = time.perf_counter()
    labels = segmenter.superpixels(image)
    seconds = time.perf_counter() - start
    del image
    rss = peak_rss_bytes()
    streamed = tifffile.imread(streamed_path)
    n_differ = int(np.count_nonzero(labels != streamed))
    del streamed
    gt = tifffile.imread(gt_path)
    return {
        "seconds": seconds,
        "peak_rss_bytes": rss,
        "k": int(labels.max()) + 1,
        "differing_pixels": n_differ,
        "differing_pixel_fraction": n_differ / labels.size,
        "br_r1": boundary_recall(labels, gt, tolerance=1),
        "br": boundary_recall(labels, gt),
        "asa": achievable_segmentation_accuracy(labels, gt),
    }


def _phase(name: str, *args: str) -> dict:
    """Run one step in a fresh process (its own peak RSS); its last output line is JSON."""
    cmd = [sys.executable, "-m", "pcnet.bench.gigapixel", "--phase", name, *args]
    done = subprocess.run(cmd, capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"{name} failed:\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def bench_gigapixel(
    height: int, width: int, folder: str | Path, compare_in_memory: bool = False, tile: int = 512
) -> dict:
    """All steps for one size; returns their figures (also written to ``folder/results.json``):
    ``segment`` / ``score`` for the default (refined) stream, ``segment_plain`` / ``score_plain``
    for ``refine=False``, and ``refine_time_ratio`` (refined / plain)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    image, gt, out = folder / "image.tif", folder / "gt.tif", folder / "labels.tif"
    results: dict[str, Any] = {"height": height, "width": width, "megapixels": height * width / 1e6}
    if not (image.exists() and gt.exists()):
        results["generate"] = _phase("generate", str(image), str(gt), str(height), str(width))
    plain = folder / "labels_plain.tif"
    results["segment_plain"] = _phase("segment", str(image), str(plain), str(tile), "plain")
    results["score_plain"] = _phase("score", str(plain), str(gt))
    results["segment"] = _phase("segment", str(image), str(out), str(tile), "refined")
    results["score"] = _phase("score", str(out), str(gt))
    results["refine_time_ratio"] = results["segment"]["seconds"] / results["segment_plain"]["seconds"]
    if compare_in_memory:
        results["in_memory"] = _phase("memory", str(image), str(out), str(gt), str(tile))
    (folder / "results.json").write_text(json.dumps(results, indent=2))
    return results


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m pcnet.benchmark gigapixel`` (and of ``python -m pcnet.bench.gigapixel``,
    which each step's subprocess also runs, with the hidden ``--phase NAME ARGS...``)."""
    parser.add_argument("--height", type=int, default=10000)
    parser.add_argument("--width", type=int, default=10000)
    parser.add_argument("--dir", default="/tmp/pcnet_gigapixel")
    parser.add_argument("--tile", type=int, default=512)
    parser.add_argument("--compare-in-memory", action="store_true")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("args", nargs="*", help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> None:
    """Run one step (``--phase``) or all of them, and print the figures as one JSON line."""
    if args.phase == "generate":
        image, gt, height, width = args.args
        result = write_synthetic(image, gt, int(height), int(width))
    elif args.phase == "segment":
        image, out, tile, kind = args.args
        result = segment_file(image, out, tile=int(tile), progress=True, refine=kind == "refined")
    elif args.phase == "score":
        result = score_files(*args.args)
    elif args.phase == "memory":
        result = in_memory(*args.args)
    else:
        result = bench_gigapixel(args.height, args.width, args.dir, args.compare_in_memory, args.tile)
    print(json.dumps(result, default=str))


def main(argv: list[str] | None = None) -> None:
    """``python -m pcnet.bench.gigapixel``: the suite's own parser, as ``pcnet.benchmark gigapixel``."""
    parser = argparse.ArgumentParser(prog="python -m pcnet.bench.gigapixel", description=__doc__.split("\n\n")[0])
    add_arguments(parser)
    run(parser.parse_args(argv))


if __name__ == "__main__":
    main()

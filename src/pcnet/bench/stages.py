"""Benchmark ``stages``: where PCNet's time and memory go, per stage, at 1, 25 and 100 MP.

Each size runs in its own subprocess: a synthetic photo is written as a JPEG, then read back
(``decode``), segmented by a :class:`~pcnet.methods.learned.Segmenter` whose ``stages`` hook times
``resize``, ``network``, ``hard labels``, ``upscale``, ``connectivity`` and ``refine``, and the label
map is written (``encode``). The peak RSS of each stage is the process's high-water mark during it
(Linux: ``/proc/self/clear_refs`` resets it before the stage).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pcnet.bench.common import write_rows
from pcnet.bench.options import POSITIVE, add_csv, add_threads

STAGES = ("decode", "resize", "network", "hard labels", "upscale", "connectivity", "refine", "encode")


def _peak_gb() -> float:
    """The process's peak RSS since the last reset (VmHWM), in GB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return math.nan


def _reset_peak() -> None:
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS


class StageRecorder:
    """``recorder(name)``: a context manager adding the block's seconds (and its peak RSS) to ``name``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_gb: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        _reset_peak()
        start = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - start
            self.peak_gb[name] = max(self.peak_gb.get(name, 0.0), _peak_gb())


def worker(megapixels: float, threads: int, refine: bool, tile: int | str | None = "auto") -> dict[str, Any]:
    """Runs in the subprocess: one image of ``megapixels`` through every stage, once (``tile``:
    the Segmenter's network tile, input pixels)."""
    import cv2
    import numpy as np
    import torch

    from pcnet.bench.speed import _image
    from pcnet.io import read_image, write_label_map
    from pcnet.methods.learned import load_segmenter

    torch.set_num_threads(threads)
    cv2.setNumThreads(threads)
    side = int(round(math.sqrt(megapixels * 1e6) / 16)) * 16
    with tempfile.TemporaryDirectory() as tmp:
        photo = Path(tmp) / "photo.jpg"
        cv2.imwrite(str(photo), np.ascontiguousarray(_image(side)[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, 90])
        recorder = StageRecorder()
        segmenter = load_segmenter("pcnet", stages=recorder, tile=tile)
        segmenter.superpixels(np.zeros((256, 256, 3), np.uint8))  # first-call set-up outside the table
        recorder.seconds.clear()
        recorder.peak_gb.clear()
        start = time.perf_counter()
        with recorder("decode"):
            rgb = read_image(photo)
        labels = segmenter.superpixels(rgb, None, refine=refine)
        with recorder("encode"):
            write_label_map(Path(tmp) / "labels.png", labels)
        total = time.perf_counter() - start
    return {"megapixels": side * side / 1e6, "seconds": recorder.seconds, "peak_gb": recorder.peak_gb, "total": total}


def bench_stages(
    megapixels: list[float], threads: int, refine: bool, out: Path | None, tiles: list[str] | None = None
) -> list[dict[str, Any]]:
    """Per-stage seconds and peak RSS for PCNet at each size and network tile (``auto``, ``none``
    or input pixels; one subprocess each); prints a table."""
    rows = []
    for mp, tile in ((mp, tile) for mp in megapixels for tile in tiles or ["auto"]):
        cmd = [sys.executable, "-m", "pcnet.bench.stages", str(mp), str(threads), str(int(refine)), tile]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            print(f"{mp:g} MP: failed: {proc.stderr.strip().splitlines()[-1:]}")
            continue
        result = json.loads(proc.stdout.strip().splitlines()[-1])
        for stage in STAGES:
            if stage in result["seconds"]:
                rows.append(
                    {
                        "megapixels": round(result["megapixels"], 1),
                        "tile": tile,
                        "stage": stage,
                        "seconds": result["seconds"][stage],
                        "share": result["seconds"][stage] / result["total"],
                        "peak_rss_gb": result["peak_gb"][stage],
                    }
                )
        rows.append(
            {
                "megapixels": round(result["megapixels"], 1),
                "tile": tile,
                "stage": "total",
                "seconds": result["total"],
                "share": 1.0,
                "peak_rss_gb": max(result["peak_gb"].values()),
            }
        )
    print(f"{'MP':>6} {'tile':>5} {'stage':>13} {'seconds':>9} {'share':>6} {'peak GB':>8}")
    for r in rows:
        print(
            f"{r['megapixels']:>6g} {r['tile']:>5} {r['stage']:>13} {r['seconds']:>9.3f} {r['share']:>6.1%} "
            f"{r['peak_rss_gb']:>8.2f}"
        )
    if out:
        print(f"wrote {write_rows(out, rows)}")
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m pcnet.benchmark stages``."""
    parser.add_argument("--megapixels", type=POSITIVE, nargs="+", default=[1, 25, 100])
    add_threads(parser)
    parser.add_argument("--no-refine", dest="refine", action="store_false", help="without the refinement stage")
    parser.add_argument("--tiles", nargs="+", default=["auto"], help="network tiles to compare: auto, none or input px")
    add_csv(parser)


def run(args: argparse.Namespace) -> None:
    """Run the suite with its parsed options."""
    bench_stages(args.megapixels, args.threads, args.refine, args.csv, args.tiles)


if __name__ == "__main__":  # the subprocess of one size
    tile_arg = sys.argv[4] if len(sys.argv) > 4 else "auto"
    tile_value = None if tile_arg == "none" else tile_arg if tile_arg == "auto" else int(tile_arg)
    print(json.dumps(worker(float(sys.argv[1]), int(sys.argv[2]), bool(int(sys.argv[3])), tile_value)))

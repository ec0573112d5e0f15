"""Benchmark ``speed``: seconds and peak memory per image for PCNet, SCN, SSN, OpenCV SLICO and
skimage SLIC at output sizes from 512² to 10000², each run in its own subprocess so that its peak
RSS is its own. Runs that would exceed the memory or time budget are reported as skipped (from
the measured growth of the smaller sizes), and a run that dies is reported, not crashed on.

The image is a synthetic one (rendered at ≤ 2048² and resized up); K is about H·W/256 for every
method (the learned models' native grid) unless ``n_segments`` fixes it. ``<learned>-raw`` (e.g.
``pcnet-raw``) is the method without its full-resolution refinement (``refine=False``).

Each row gives ``seconds`` (a warm call: the second one in the process, what a
``load_segmenter`` user sees; a first call over 20 s is not repeated) and ``fresh_seconds``
(imports + model load + first call, what a command-line user sees; the image synthesis is excluded).

``fast-slic`` (SIMD SLIC, ``make fast-slic`` builds it; not a dependency) is an optional peer: when
it is not installed its rows say so. It returns int16 labels and refuses K > 65 534.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from matplotlib.figure import Figure

from pcnet.bench.common import write_rows
from pcnet.bench.options import COUNT, POSITIVE, add_csv, add_threads

METHODS = ("pcnet", "scn", "ssn", "slico", "slic", "fast-slic")
#: a first call shorter than this is repeated to measure a warm call
WARM_AFTER_S = 20.0
#: fast-slic's labels are int16: it refuses more superpixels
FAST_SLIC_MAX_K = 65_534
SIZES = (512, 1024, 2048, 4096, 5000, 10000)
#: rough peak bytes per output pixel, to skip runs that cannot fit (measured on the small sizes)
BYTES_PER_PIXEL = {"pcnet": 60, "scn": 900, "ssn": 1500, "slico": 35, "slic": 120, "fast-slic": 25}
BYTES_PER_PIXEL.update({f"{m}-raw": BYTES_PER_PIXEL[m] for m in ("pcnet", "scn", "ssn")})


def _image(side: int):
    import cv2

    from pcnet.data.synthetic import synthetic_image

    base = min(side, 2048)
    image, _ = synthetic_image(base, base, n_regions=max(24, side // 64), seed=0)
    return image if base == side else cv2.resize(image, (side, side), interpolation=cv2.INTER_LINEAR)


def _fast_slic(image: Any, n: int) -> Any:
    """fast-slic's AVX2 SLIC (compactness 10), or ``ImportError`` naming how to build it."""
    try:
        from fast_slic.avx2 import SlicAvx2
    except ImportError:
        raise ImportError("fast-slic is not installed (make fast-slic builds it)") from None
    if n > FAST_SLIC_MAX_K:
        raise ValueError(f"fast-slic refuses K = {n} > {FAST_SLIC_MAX_K} (int16 labels)")
    return SlicAvx2(num_components=n, compactness=10).iterate(image)


def worker(method: str, side: int, checkpoint: str | None, threads: int, n_segments: int | None) -> dict[str, Any]:
    """Runs in the subprocess: time the first and a second call (image creation excluded)."""
    start = time.perf_counter()
    import cv2

    cv2.setNumThreads(threads)
    image_start = time.perf_counter()
    image = _image(side)
    image_seconds = time.perf_counter() - image_start
    n = n_segments or max(1, side * side // 256)
    refine = not method.endswith("-raw")
    method = method.removesuffix("-raw")
    if method == "fast-slic":
        run = lambda: _fast_slic(image, n)  # noqa: E731
    else:
        import pcnet

        if method in ("pcnet", "scn", "ssn"):  # learned: imports PyTorch
            import torch

            torch.set_num_threads(threads)
            from pcnet.methods.learned import Segmenter, load_segmenter
            from pcnet.models import build

            segmenter = load_segmenter(checkpoint, method) if checkpoint else Segmenter(build(method).eval())
            k = n_segments if n_segments or method == "ssn" else None
            run = lambda: segmenter.superpixels(image, n if k else None, refine=refine)  # noqa: E731
        else:
            run = lambda: pcnet.superpixels(image, n, method=method)  # noqa: E731
    first_start = time.perf_counter()
    labels = run()
    first = time.perf_counter() - first_start
    fresh = time.perf_counter() - start - image_seconds
    seconds = first  # a call of over WARM_AFTER_S s: its set-up is noise, it is not repeated
    if first < WARM_AFTER_S:
        warm_start = time.perf_counter()
        labels = run()
        seconds = time.perf_counter() - warm_start
    return {
        "seconds": seconds,
        "fresh_seconds": fresh,
        "k": int(labels.max()) + 1,
        "peak_rss_gb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20,
    }


def last_line(proc: subprocess.CompletedProcess) -> str:
    """The last line of a failed subprocess's stderr (120 characters), or its return code."""
    return proc.stderr.strip().splitlines()[-1][:120] if proc.stderr.strip() else str(proc.returncode)


def bench_speed(
    methods: tuple[str, ...],
    sizes: tuple[int, ...],
    checkpoints: dict[str, str],
    memory_gb: float,
    time_s: float,
    threads: int,
    out: Path | None,
    n_segments: int | None = None,
) -> list[dict[str, Any]]:
    import platform

    cpu = (
        next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        )
        if Path("/proc/cpuinfo").exists()
        else ""
    )
    print(f"CPU: {cpu}, {threads} threads; K = {n_segments or 'H·W/256'}")
    rows: list[dict[str, Any]] = []
    print(f"{'method':>9} {'size':>7} {'MP':>6} {'warm s':>8} {'fresh s':>8} {'peak GB':>8} {'K':>9}  status")
    for method in methods:
        previous: dict[str, Any] | None = None
        for side in sizes:
            mp = side * side / 1e6
            row: dict[str, Any] = {
                "method": method,
                "size": side,
                "megapixels": mp,
                "seconds": math.nan,
                "fresh_seconds": math.nan,
                "peak_rss_gb": math.nan,
                "cpu": cpu,
                "threads": threads,
                "k": 0,
            }
            # memory: scaled from the last measured size (learned models are tiled above 4 MP, so
            # their peak grows slower than the image), else a per-pixel guess
            if previous:
                need_gb = previous["peak_rss_gb"] * side * side / previous["size"] ** 2 * 0.8
            else:
                need_gb = BYTES_PER_PIXEL[method] * side * side / 2**30
            guess_s = (
                previous["seconds"] * side * side / previous["size"] ** 2
                if previous and previous["status"] == "ok"
                else 0.0
            )
            if method == "fast-slic" and importlib.util.find_spec("fast_slic") is None:
                row["status"] = "skipped: fast-slic is not installed (make fast-slic builds it)"
            elif method == "fast-slic" and (n_segments or side * side // 256) > FAST_SLIC_MAX_K:
                row["status"] = f"skipped: K > {FAST_SLIC_MAX_K} (fast-slic's int16 labels)"
            elif need_gb > memory_gb:
                row["status"] = f"skipped: needs ~{need_gb:.0f} GB > {memory_gb:g} GB budget"
            elif guess_s > time_s:
                row["status"] = f"skipped: ~{guess_s:.0f} s > {time_s:g} s budget"
            else:
                checkpoint = checkpoints.get(method.removesuffix("-raw"), "")
                cmd = [sys.executable, "-m", "pcnet.bench.speed", method, str(side), str(threads), checkpoint]
                cmd.append(str(n_segments or 0))
                try:
                    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=time_s * 1.5 + 120)
                    if proc.returncode == 0:
                        row.update(json.loads(proc.stdout.strip().splitlines()[-1]), status="ok")
                    else:
                        killed = proc.returncode in (-9, 137)
                        row["status"] = "failed: killed (out of memory?)" if killed else f"failed: {last_line(proc)}"
                except subprocess.TimeoutExpired:
                    row["status"] = f"failed: over {time_s * 1.5 + 120:.0f} s"
            rows.append(row)
            if row["status"] == "ok":
                previous = row
            print(
                f"{method:>9} {side:>6}² {mp:>6.1f} {row['seconds']:>8.2f} {row['fresh_seconds']:>8.2f} "
                f"{row['peak_rss_gb']:>8.2f} {row['k']:>9}  {row['status']}"
            )
    base = {r["size"]: r["seconds"] for r in rows if r["method"] == "pcnet" and r["status"] == "ok"}
    for r in rows:
        r["ratio_to_pcnet"] = r["seconds"] / base[r["size"]] if r["size"] in base and r["status"] == "ok" else math.nan
    if out:
        print(f"wrote {write_rows(out, rows)}")
        fig = Figure(figsize=(5.5, 4), dpi=110)
        ax = fig.add_subplot()
        for method in methods:
            pts = [(r["megapixels"], r["seconds"]) for r in rows if r["method"] == method and r["status"] == "ok"]
            if pts:
                ax.loglog(*zip(*pts), marker="o", label=method)
        ax.set_xlabel("megapixels (output)")
        ax.set_ylabel("seconds per image (CPU)")
        ax.grid(alpha=0.3, which="both")
        ax.legend()
        fig.tight_layout()
        fig.savefig(out.with_suffix(".png"))
        print(f"wrote {out.with_suffix('.png')}")
    return rows


def _checkpoint_pair(text: str) -> tuple[str, str]:
    """argparse type for ``--checkpoint method=path`` (imports :mod:`pcnet.models` only when used)."""
    from pcnet.models import list_models

    method, sep, path = text.partition("=")
    if not sep or method not in list_models() or not path:
        raise argparse.ArgumentTypeError(
            f"expected METHOD=PATH with METHOD one of {', '.join(list_models())}; got {text!r}"
        )
    return method, path


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m pcnet.benchmark speed``."""
    parser.add_argument(
        "--methods", nargs="+", choices=sorted(BYTES_PER_PIXEL), default=["pcnet", "scn", "ssn", "slico", "slic"]
    )
    parser.add_argument("--sizes", type=COUNT, nargs="+", default=list(SIZES))
    parser.add_argument("--n-segments", type=COUNT, help="K for every method and size (default: H·W/256)")
    parser.add_argument(
        "--checkpoint",
        nargs="*",
        type=_checkpoint_pair,
        default=[],
        help="method=path pairs (default: shipped weights, else random)",
    )
    parser.add_argument("--memory-gb", type=POSITIVE, default=16.0, help="skip runs expected to need more")
    parser.add_argument("--time-s", type=POSITIVE, default=600.0, help="skip runs expected to take longer")
    add_threads(parser)
    add_csv(parser, Path("logs/benchmark/speed.csv"))


def run(args: argparse.Namespace) -> None:
    """Run the suite with its parsed options; learned methods use their shipped weights unless
    ``--checkpoint`` names others."""
    from pcnet.models import default_checkpoint

    checkpoints = {m: str(default_checkpoint(m)) for m in ("pcnet", "scn", "ssn") if default_checkpoint(m)}
    checkpoints.update(dict(args.checkpoint))
    bench_speed(
        tuple(args.methods),
        tuple(args.sizes),
        checkpoints,
        args.memory_gb,
        args.time_s,
        args.threads,
        args.csv,
        args.n_segments,
    )


if __name__ == "__main__":  # the subprocess of one measurement
    method_, side_, threads_, checkpoint_ = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4] or None
    os.environ.setdefault("OMP_NUM_THREADS", str(threads_))
    print(json.dumps(worker(method_, side_, checkpoint_, threads_, int(sys.argv[5]) or None)))

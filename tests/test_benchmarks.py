"""The benchmark scripts run end to end on tiny sizes (figures are not asserted: they are printed),
and ``python -m pcnet.benchmark`` parses every suite's documented command line."""

from __future__ import annotations

import math
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from pcnet.bench.complexity import bench_complexity
from pcnet.bench.ops import bench_ops
from pcnet.bench.speed import bench_speed
from pcnet.benchmark import SUITES, load, parse_args

REPO = Path(__file__).resolve().parents[1]


def test_ops_benchmark(tmp_path, capsys):
    rows = bench_ops([0.02, 0.05], repeat=1, csv_path=tmp_path / "ops.csv")
    assert (tmp_path / "ops.csv").exists() and rows[0]["k"] > 1
    assert "linear growth" in capsys.readouterr().out


def test_complexity_benchmark_ratios(tmp_path):
    rows = bench_complexity([64], repeat=1, out=tmp_path / "cx.csv", models=("pcnet", "scn"))
    ratio = {r["model"]: r["flops_ratio_to_pcnet"] for r in rows}
    assert ratio["pcnet"] == 1.0 and ratio["scn"] > 12  # the FLOPs goal holds at any size


def test_speed_benchmark_runs_each_method_in_a_subprocess(tmp_path):
    rows = bench_speed(("pcnet", "slico"), (64, 96), {}, memory_gb=8, time_s=120, threads=1, out=tmp_path / "speed.csv")
    assert all(r["status"] == "ok" and r["k"] > 0 and r["peak_rss_gb"] > 0 for r in rows), rows
    assert (tmp_path / "speed.png").exists()
    assert all(r["fresh_seconds"] >= r["seconds"] > 0 for r in rows)  # imports + first call vs a warm call
    skipped = bench_speed(("scn",), (10000,), {}, memory_gb=8, time_s=120, threads=1, out=None)
    assert skipped[0]["status"].startswith("skipped: needs") and math.isnan(skipped[0]["seconds"])
    (peer,) = bench_speed(("fast-slic",), (20000,), {}, memory_gb=64, time_s=120, threads=1, out=None)
    assert peer["status"].startswith("skipped:"), peer  # not installed, or K > 65 534 (int16 labels)


def test_stage_breakdown_covers_every_stage(tmp_path):
    from pcnet.bench.stages import STAGES, bench_stages

    rows = bench_stages([0.1], threads=1, refine=True, out=tmp_path / "stages.csv")
    stages = {r["stage"]: r for r in rows}
    assert set(STAGES) - {"upscale"} <= set(stages) and stages["total"]["share"] == 1.0  # 320²: no upscale
    assert all(r["seconds"] >= 0 and r["peak_rss_gb"] > 0 for r in rows)
    assert sum(r["seconds"] for r in rows if r["stage"] != "total") <= stages["total"]["seconds"] * 1.01


def test_quality_suites_on_a_tiny_benchmark(tmp_path, tiny_bsds):
    from pcnet.bench.checkpoints import score_checkpoints
    from pcnet.bench.oracle import grid_ceiling
    from pcnet.bench.overlays import overlay_figure
    from pcnet.bench.refine_grid import refine_grid
    from pcnet.bench.refinement import bench_refinement
    from pcnet.models import default_checkpoint

    ceiling = {r["factor"]: r for r in grid_ceiling(tiny_bsds, "test", None, [1, 4])}
    assert ceiling[1]["br"] == 1.0 and ceiling[1]["asa"] == 1.0  # the ground truth scores perfectly
    assert ceiling[4]["br"] < 1.0
    table = bench_refinement(tiny_bsds, "test", 2, ["pcnet", "slico"], ["12"], [1, 0], tmp_path / "refine.csv")
    assert {r["method"] for r in table} == {"pcnet", "pcnet (no refine)", "slico"} and (
        tmp_path / "refine.csv"
    ).exists()
    (none, refined) = refine_grid(tiny_bsds, "test", 2, "pcnet", 12, [(4, 5.0, 30.0, 2)])
    assert none["setting"] == "none" and refined["br"] > none["br"]
    shipped = str(default_checkpoint("pcnet"))
    raw, again = score_checkpoints(tiny_bsds, "test", 2, 12, [("a", shipped), ("b", shipped)], refine=False)
    assert raw["br"] == again["br"] and raw["n_superpixels"] > 1
    out = overlay_figure(tiny_bsds, "test", ["100"], 12, ["pcnet-raw", "slic"], tmp_path / "overlays.png")
    assert out.stat().st_size > 1000


#: the options each suite's required arguments ("R", "1", "a=b") and defaults parse to: those of the
#: parser before the suites had their own modules (every default kept)
REQUIRED = {
    "refine": ["--root", "R"],
    "refine-grid": ["--root", "R"],
    "oracle": ["--root", "R"],
    "checkpoints": ["--root", "R", "a=b"],
    "overlays": ["--root", "R", "--ids", "1"],
}
ALL_MODELS = ["pcnet", "scn", "ssn"]
DEFAULTS = {
    "ops": {"megapixels": [1, 4, 10, 20], "repeat": 2, "csv": None},
    "complexity": {
        "sizes": [512, 1024, 2048],
        "repeat": 3,
        "models": ALL_MODELS,
        "csv": Path("logs/benchmark/complexity.csv"),
    },
    "train": {
        "steps": 10,
        "warmup": 2,
        "batch_size": 8,
        "workers": 2,
        "image_size": 1024,
        "csv": Path("logs/benchmark/train.csv"),
    },
    "levers": {
        "models": ALL_MODELS,
        "batch_size": 8,
        "repeat": 5,
        "threads": 2,
        "csv": Path("logs/benchmark/levers.csv"),
    },
    "speed": {
        "methods": ["pcnet", "scn", "ssn", "slico", "slic"],
        "sizes": [512, 1024, 2048, 4096, 5000, 10000],
        "n_segments": None,
        "checkpoint": [],
        "memory_gb": 16.0,
        "time_s": 600.0,
        "threads": 2,
        "csv": Path("logs/benchmark/speed.csv"),
    },
    "refine": {
        "root": Path("R"),
        "split": "test",
        "limit": None,
        "methods": ["pcnet", "scn", "slic", "slico"],
        "n_segments": ["area/2500", "grid"],
        "tolerances": [1, 2, 0],
        "csv": Path("logs/benchmark/refine.csv"),
    },
    "refine-grid": {
        "root": Path("R"),
        "split": "val",
        "limit": 20,
        "method": "pcnet",
        "n_segments": 600,
        "settings": [(4, 5.0, 30.0, 2)],
    },
    "oracle": {"root": Path("R"), "split": "val", "limit": 20, "factors": [1, 2, 4]},
    "checkpoints": {
        "root": Path("R"),
        "split": "val",
        "limit": 20,
        "n_segments": 600,
        "refine": False,
        "checkpoints": [("a", "b")],
    },
    "stages": {"megapixels": [1, 25, 100], "threads": 2, "refine": True, "tiles": ["auto"], "csv": None},
    "overlays": {
        "root": Path("R"),
        "split": "test",
        "ids": ["1"],
        "n_segments": 600,
        "methods": ["pcnet-raw", "pcnet", "scn", "slic"],
        "out": Path("docs/overlays_bsds500.png"),
    },
    "gigapixel": {
        "height": 10000,
        "width": 10000,
        "dir": "/tmp/pcnet_gigapixel",
        "tile": 512,
        "compare_in_memory": False,
        "phase": None,
        "args": [],
    },
    "polygons": {
        "labels": Path("/tmp/gp100/labels.tif"),
        "image": Path("/tmp/gp100/image.tif"),
        "sides": [5000, 10000],
    },
}

#: the command lines of README.md, Makefile and docs/ (after ``python -m pcnet.benchmark``; a
#: placeholder checkpoint path made concrete), and ``python -m pcnet.bench.gigapixel``'s as a suite
DOCUMENTED = [
    "ops --csv logs/benchmark/ops.csv",
    "ops",
    "complexity",
    "train",
    "levers",
    "speed",
    "stages --csv logs/benchmark/stages.csv",
    "speed --methods pcnet pcnet-raw --sizes 5000 10000",
    "speed --methods pcnet pcnet-raw fast-slic slico --sizes 2048 --n-segments 16384",
    "speed --methods pcnet pcnet-raw fast-slic --sizes 10000 --n-segments 30000",
    "speed --methods pcnet pcnet-raw slico --sizes 10000",
    "refine --root /tmp/hr2048 --limit 4 --methods pcnet scn slic slico --n-segments area/2500 grid",
    "refine --root /tmp/blobs2048 --limit 2 --methods pcnet scn slic slico --n-segments area/2500",
    "refine --root /tmp/hr5k --methods pcnet slic slico --n-segments area/2500",
    "refine-grid --root ../shared/data/bsds500 --split val --limit 20 --settings 4,5,30,2 4,10,50,2 4,5,50,2"
    " 4,0,30,2 4,5,0,2 4,5,30,1 4,5,30,3 2,5,30,2 8,5,30,2",
    "oracle --root ../shared/data/bsds500",
    "checkpoints --root ../shared/data/bsds500 --limit 20 reference=job0/checkpoints/best_epoch_007.ckpt",
    "overlays --root ../shared/data/bsds500 --ids 156054 258089",
    "gigapixel --height 10000 --width 10000 --dir /tmp/gp100 --compare-in-memory",
    "gigapixel --height 25000 --width 40000 --dir /tmp/gp1000",
    "polygons --labels /tmp/gp100/labels.tif --image /tmp/gp100/image.tif --sides 5000 10000",
]


def _imported(*argv: str) -> tuple[str, set[str]]:
    """``python -X importtime -m pcnet.benchmark ARGV`` in a fresh process: its stdout and the
    top-level packages it imported."""
    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "pcnet.benchmark", *argv],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    lines = [line for line in proc.stderr.splitlines() if line.startswith("import time:") and "|" in line]
    return proc.stdout, {line.rsplit("|", 1)[1].strip().split(".")[0] for line in lines}


def test_help_lists_every_suite_without_torch():
    out, imported = _imported("--help")
    assert not {"torch", "numba"} & imported, sorted(imported)
    flat = " ".join(out.split())  # argparse wraps long help lines
    for name, entry in SUITES.items():
        assert f"{name} {' '.join(entry.help.split())}" in flat, name


@pytest.mark.parametrize("suite", ["speed", "refine", "oracle", "checkpoints", "stages", "overlays"])
def test_suite_help_of_light_suites_without_torch(suite):
    """Suites whose modules import PyTorch inside their functions show their options without it."""
    out, imported = _imported(suite, "--help")
    assert not {"torch", "numba"} & imported, sorted(imported)
    assert f"usage: python -m pcnet.benchmark {suite}" in out


@pytest.mark.parametrize("suite", sorted(SUITES))
def test_every_suite_has_its_own_parser_and_defaults(suite, capsys):
    module = load(suite)
    assert callable(module.add_arguments) and callable(module.run)
    with pytest.raises(SystemExit) as info:
        parse_args([suite, "--help"])
    assert info.value.code == 0 and f"usage: python -m pcnet.benchmark {suite}" in capsys.readouterr().out
    assert vars(parse_args([suite, *REQUIRED.get(suite, [])])) == {"suite": suite, **DEFAULTS[suite]}


def test_the_suite_table_is_complete():
    assert set(DEFAULTS) == set(SUITES) and {line.split()[0] for line in DOCUMENTED} == set(SUITES)


@pytest.mark.parametrize("line", DOCUMENTED)
def test_documented_command_lines_parse(line):
    argv = shlex.split(line)
    assert parse_args(argv).suite == argv[0]


def test_docs_name_only_existing_suites():
    """Every ``python -m pcnet.benchmark <suite>`` in README.md, Makefile and docs/ names a suite."""
    texts = [REPO / "README.md", REPO / "Makefile", *sorted((REPO / "docs").glob("*.md"))]
    named = {
        name
        for path in texts
        for group in re.findall(r"pcnet\.benchmark ((?:[a-z][a-z-]*(?:\\?\|)?)+)", path.read_text())
        for name in group.replace("\\", "").split("|")
        if name
    }
    assert named and named <= set(SUITES), sorted(named - set(SUITES))


def test_gigapixel_runs_alone_with_the_suites_parser(capsys):
    """``python -m pcnet.bench.gigapixel`` (README, and each step's subprocess) has the same options."""
    from pcnet.bench.gigapixel import main

    helps = []
    for call in (lambda: main(["--help"]), lambda: parse_args(["gigapixel", "--help"])):
        with pytest.raises(SystemExit):
            call()
        helps.append(capsys.readouterr().out.split("options:")[1])
    assert helps[0] == helps[1] and "--compare-in-memory" in helps[0]
    step = parse_args(["gigapixel", "--phase", "score", "labels.tif", "gt.tif"])  # as _phase runs it
    assert (step.phase, step.args) == ("score", ["labels.tif", "gt.tif"])


def test_gigapixel_suite_end_to_end_on_a_small_image(tmp_path):
    """Every step of the gigapixel suite in its own process, on 512 × 768: the refined stream is the
    in-memory default (no pixel differs, same K), refinement raises BR at r = 1 on the exact labels,
    and the figures are written to results.json."""
    import json

    from pcnet.bench.gigapixel import bench_gigapixel

    results = bench_gigapixel(512, 768, tmp_path, compare_in_memory=True, tile=64)
    assert results["in_memory"]["differing_pixels"] == 0
    assert results["in_memory"]["k"] == results["segment"]["k"] == results["score"]["k"]
    assert results["score"]["br_r1"] > results["score_plain"]["br_r1"] + 0.03  # 0.942 -> 0.991 (shipped weights)
    assert results["refine_time_ratio"] > 0
    assert json.loads((tmp_path / "results.json").read_text())["segment"]["k"] == results["segment"]["k"]


def test_polygons_suite_on_a_small_label_map(tmp_path, capsys):
    import numpy as np
    import tifffile

    from pcnet.bench.polygons import export_table
    from pcnet.data.synthetic import synthetic_image

    image, labels = synthetic_image(96, 128, n_regions=9, seed=2)
    tifffile.imwrite(tmp_path / "l.tif", labels)
    tifffile.imwrite(tmp_path / "i.tif", image)
    (row,) = export_table(tmp_path / "l.tif", tmp_path / "i.tif", [64])
    assert row["round_trip"] == 1.0 and row["k"] == len(np.unique(labels[:64, :64]))
    assert "| 64² |" in capsys.readouterr().out

"""The benchmark scripts run end to end on tiny sizes (figures are not asserted: they are printed)."""

from __future__ import annotations

import math

from pcnet.bench.complexity import bench_complexity
from pcnet.bench.ops import bench_ops
from pcnet.bench.speed import bench_speed


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
    from pcnet.bench.quality import grid_ceiling, overlay_figure, score_checkpoints
    from pcnet.bench.refinement import bench_refinement, refine_grid
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

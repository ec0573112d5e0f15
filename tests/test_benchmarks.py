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
    skipped = bench_speed(("scn",), (10000,), {}, memory_gb=8, time_s=120, threads=1, out=None)
    assert skipped[0]["status"].startswith("skipped: needs") and math.isnan(skipped[0]["seconds"])

"""``python -m pcnet.ablation MULTIRUN_DIR``: the ablation table of a training multirun.

Reads every job of a ``python -m pcnet.train -m experiment=ablation_bsds500 "ablation=glob(*)"``
sweep (its ``.hydra/overrides.yaml`` and ``run_summary.json``) and writes ``ablation.csv`` and
``ablation.md`` into the multirun folder: per variant the validation ASA, BR, BP, UE, measured K
and L_SP at the best checkpoint, and the differences to the ``reference`` variant.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from omegaconf import OmegaConf

from pcnet._checks import check
from pcnet._cli import run_cli
from pcnet.io import write_csv

#: columns of the table: (run_summary key, header)
COLUMNS = (
    ("val/asa", "ASA"),
    ("val/br", "BR"),
    ("val/bp", "BP"),
    ("val/ue", "UE"),
    ("val/n_superpixels", "K"),
    ("val/sp_loss", "L_SP"),
)


def _variant(overrides: list[str], shared: set[str]) -> str:
    """The job's ablation choice plus the overrides that differ between jobs."""
    picked = [o.split("=", 1)[1] for o in overrides if o.startswith("ablation=")]
    other = [o for o in overrides if o not in shared and not o.startswith(("ablation=", "hydra."))]
    return " ".join(picked + other) or "reference"


def collect(multirun: Path) -> list[dict[str, Any]]:
    """One row per finished job of the sweep (jobs without ``run_summary.json`` are reported)."""
    check(
        multirun.is_dir(), f"{multirun} is not a folder: pass the multirun folder (logs/train/multiruns/<date>_<time>)"
    )
    # Hydra names sweep jobs 0, 1, ...; other folders (e.g. the curriculum's stage1/) are not jobs
    jobs = sorted(
        (p for p in multirun.iterdir() if p.name.isdigit() and (p / ".hydra" / "overrides.yaml").is_file()),
        key=lambda p: int(p.name),
    )
    overrides = {job: [str(o) for o in OmegaConf.load(job / ".hydra" / "overrides.yaml")] for job in jobs}
    shared = set.intersection(*(set(o) for o in overrides.values())) if len(jobs) > 1 else set()
    rows, unfinished = [], []
    for job in jobs:
        summary_file = job / "run_summary.json"
        if not summary_file.is_file():
            unfinished.append(job.name)
            continue
        summary = json.loads(summary_file.read_text())
        best = summary.get("best_validation") or {}
        row: dict[str, Any] = {
            "variant": _variant(overrides[job], shared),
            "job": job.name,
            "steps": summary["steps"],
            "minutes": summary["wall_seconds"] / 60,
        }
        row.update({header: best.get(key, float("nan")) for key, header in COLUMNS})
        rows.append(row)
    check(
        bool(rows),
        f"no finished job under {multirun} (a job writes run_summary.json when it ends); unfinished: {unfinished}",
    )
    if unfinished:
        print(f"unfinished jobs (no run_summary.json): {unfinished}")
    reference = next((r for r in rows if r["variant"] == "reference"), None)
    for row in rows:
        for _, header in COLUMNS[:2]:
            row[f"d{header}"] = row[header] - reference[header] if reference else float("nan")
    return rows


def markdown(rows: list[dict[str, Any]]) -> str:
    headers = ["variant", *(h for _, h in COLUMNS), "ΔASA", "ΔBR", "steps", "min"]
    lines = ["| " + " | ".join(headers) + " |", "|---|" + "---:|" * (len(headers) - 1)]
    for r in rows:
        values = [f"{r[h]:.4f}" if h != "K" else f"{r[h]:.0f}" for _, h in COLUMNS]
        lines.append(
            f"| {r['variant']} | "
            + " | ".join(values)
            + f" | {r['dASA']:+.4f} | {r['dBR']:+.4f} | {r['steps']} | {r['minutes']:.1f} |"
        )
    return "\n".join(lines) + "\n"


def ablation_table(multirun: Path) -> Path:
    rows = collect(multirun)
    write_csv(multirun / "ablation.csv", rows)
    table = markdown(rows)
    (multirun / "ablation.md").write_text(table)
    print(table, end="")
    print(f"wrote {multirun / 'ablation.csv'} and {multirun / 'ablation.md'}")
    return multirun / "ablation.csv"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m pcnet.ablation", description=__doc__.split("\n\n")[0])
    parser.add_argument("multirun", type=Path, help="the sweep's folder, logs/train/multiruns/<date>_<time>")
    run_cli(ablation_table, parser.parse_args(argv).multirun)


if __name__ == "__main__":
    main()

"""``python -m pcnet.evaluate``: the superpixel benchmark on any dataset with a reader (Hydra CLI).

Example::

    python -m pcnet.evaluate data.root=../shared/data/bsds500 method=[slic,slico] n_segments=[200,600]
    python -m pcnet.evaluate data=big data.root=/data/BIG method=pcnet n_segments=[1000,4000]
    python -m pcnet.evaluate data.root=../shared/data/bsds500 pred_dir=out/labels allow_missing=true
"""

from __future__ import annotations

import logging
import time
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, ListConfig, OmegaConf

from pcnet._checks import check, is_int
from pcnet._cli import config_mapping, run_cli
from pcnet.data.bsds500 import Sample
from pcnet.data.readers import READERS, list_samples
from pcnet.evaluation import (
    Setting,
    evaluate,
    prediction_settings,
    summarize,
)
from pcnet.evaluation.plots import plot_curves
from pcnet.evaluation.report import format_table
from pcnet.io import ensure_writable_dir, write_csv

log = logging.getLogger(__name__)


def _settings(cfg: DictConfig) -> list[Setting]:
    if cfg.pred_dir:
        return prediction_settings(cfg.pred_dir, cfg.pred_name)
    from pcnet.methods.registry import available_methods, check_options

    methods = list(cfg.method) if isinstance(cfg.method, ListConfig) else [cfg.method]
    unknown = [m for m in methods if m not in available_methods()]
    check(not unknown, f"unknown method(s) {unknown}; valid methods: {available_methods()}")
    ks = _k_list(cfg.n_segments, "n_segments")
    per_method = cfg.get("method_n_segments") or {}
    check(
        set(per_method) <= set(methods),
        f"method_n_segments names {sorted(set(per_method) - set(methods))}, which are not in method={methods}",
    )
    options = config_mapping(cfg.options, "options", "options={slic:{compactness:20}}")
    check(
        set(options) <= set(methods),
        f"options must map method names in method={methods} to their options, "
        f"e.g. options={{slic:{{compactness:20}}}}; got {options!r}",
    )
    for method, method_options in options.items():
        check(
            isinstance(method_options, dict),
            f"options.{method} must be a mapping of option names to values; got {method_options!r}",
        )
        check_options(method, method_options)
    return [
        Setting(m, k, options.get(m, {}))
        for m in methods
        for k in (_k_list(per_method[m], f"method_n_segments.{m}") if m in per_method else ks)
    ]


def _k_list(value: Any, name: str) -> list[int]:
    """A positive integer or a list of them, as a list; a clear error otherwise."""
    ks = list(value) if isinstance(value, ListConfig) else [value]
    check(
        bool(ks) and all(is_int(k) and k > 0 for k in ks),
        f"{name} must be a positive integer or a list of them; "
        f"got {OmegaConf.to_container(value) if isinstance(value, ListConfig) else value!r}",
    )
    return ks


def _samples(data: DictConfig) -> tuple[str, str, list[Sample]]:
    """The reader name, split and samples of the ``data=`` group (``data.split`` null: the
    group's test split)."""
    reader = data.get("dataset")
    check(
        reader in READERS,
        f"data={reader} has no dataset reader; evaluate reads one of {sorted(READERS)} (data=<name> data.root=...)",
    )
    split = data.get("split") or (data.get("splits") or {}).get("test") or "test"
    options = dict(data.get("reader_options") or {})
    return reader, split, list_samples(reader, data.root, split, **options)


def run(cfg: DictConfig) -> list[dict[str, Any]]:
    """Evaluate, write ``per_sample.csv``, ``summary.csv`` and plots; return the summary rows
    (``n_skipped``: images of the split a ``pred_dir`` has no label map for, with ``allow_missing``)."""
    reader, split, samples = _samples(cfg.data)
    if cfg.data.limit:
        samples = samples[: int(cfg.data.limit)]
    settings = _settings(cfg)
    out_dir = ensure_writable_dir(HydraConfig.get().runtime.output_dir)  # before the long part
    log.info(
        "%d images of %s (%s, %s), %d settings -> %s",
        len(samples),
        cfg.data.root,
        reader,
        split,
        len(settings),
        out_dir,
    )

    start = time.perf_counter()
    rows = evaluate(
        samples, settings, cfg.tolerance, int(cfg.workers), bool(cfg.progress), reader, bool(cfg.allow_missing)
    )
    wall = time.perf_counter() - start
    summary = [{**row, "n_skipped": len(samples) - row["n_images"]} for row in summarize(rows)]
    write_csv(out_dir / "per_sample.csv", rows)
    write_csv(out_dir / "summary.csv", summary)
    plot_curves(summary, out_dir, title=f"{reader} {split} ({len(samples)} images)")

    method_cpu = sum(r["seconds_per_image"] * r["n_images"] for r in summary)
    score_cpu = sum(r["score_seconds"] for r in summary)
    print(format_table(summary))
    print(
        f"wall {wall:.1f} s with {cfg.workers} workers; CPU time: superpixel methods {method_cpu:.1f} s, "
        f"scoring {score_cpu:.1f} s ({score_cpu / len(summary):.1f} s per setting over "
        f"{summary[0]['n_samples']} samples)"
    )
    for row in summary:
        if row["n_skipped"]:
            name = f"{row['method']} {row['n_segments']}".strip()
            print(
                f"{name}: scored {row['n_images']} of {len(samples)} images, "
                f"skipped {row['n_skipped']} with no prediction (allow_missing=true)"
            )
    print(f"results: {out_dir}")
    return summary


@hydra.main(version_base="1.3", config_path="conf", config_name="evaluate")
def main(cfg: DictConfig) -> None:
    run_cli(run, cfg)


if __name__ == "__main__":
    main()

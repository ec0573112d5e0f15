"""The BSDS500 evaluator: Hydra config, outputs, prediction folders, errors, known numbers."""

from __future__ import annotations

import csv
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict

from pcnet.data.bsds500 import bsds500_samples
from pcnet.evaluate import run
from pcnet.evaluation.plots import CURVES


def evaluate_cfg(tmp_path: Path, overrides: list[str]):
    GlobalHydra.instance().clear()
    with initialize_config_module(config_module="pcnet.conf", version_base="1.3"):
        cfg = compose("evaluate", overrides=overrides, return_hydra_config=True)
    out = tmp_path / "run"
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(out)
        cfg.progress = False
    HydraConfig.instance().set_config(cfg)
    return cfg, out


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def test_ground_truth_as_prediction_scores_perfectly(tmp_path, tiny_bsds):
    pred = tmp_path / "pred" / "gt0"
    pred.mkdir(parents=True)
    for path in (tiny_bsds / "gt" / "test").glob("*_0.png"):
        shutil.copy(path, pred / path.name.replace("_0.png", ".png"))
    cfg, out = evaluate_cfg(
        tmp_path, [f"data.root={tiny_bsds}", f"pred_dir={tmp_path / 'pred'}", "workers=1", "tolerance=0"]
    )
    summary = run(cfg)
    assert len(summary) == 1 and summary[0]["n_samples"] == 5  # 3 images, 5 annotators
    rows = read_csv(out / "per_sample.csv")
    first = [r for r in rows if r["annotator"] == "0"]
    assert all(float(r["br"]) == 1.0 and float(r["asa"]) == 1.0 for r in first)
    assert all(float(r["ue"]) == 0.0 for r in first)
    assert {p.stem for p in out.glob("*.png")} == {c[0] for c in CURVES}
    assert (out / "summary.csv").exists()


def test_methods_sweep_in_two_workers(tmp_path, tiny_bsds):
    cfg, out = evaluate_cfg(
        tmp_path,
        [
            f"data.root={tiny_bsds}",
            "method=[slic,slico,grid]",
            "n_segments=[20,60]",
            "method_n_segments={grid:[30]}",
            "options={slic:{compactness:20}}",
            "workers=2",
        ],
    )
    summary = run(cfg)
    assert [(r["method"], r["n_segments"]) for r in summary] == [
        ("slic", 20),
        ("slic", 60),
        ("slico", 20),
        ("slico", 60),
        ("grid", 30),
    ]
    assert cfg.options.slic.compactness == 20
    for method in ("slic", "slico"):
        ks = [r["n_superpixels"] for r in summary if r["method"] == method]
        assert ks[0] < ks[1]  # more superpixels requested, more measured
    assert len(read_csv(out / "per_sample.csv")) == 5 * 5


def test_missing_prediction_is_named(tmp_path, tiny_bsds):
    pred = tmp_path / "pred"
    pred.mkdir()
    (pred / "100.npy").write_bytes(b"")
    cfg, _ = evaluate_cfg(tmp_path, [f"data.root={tiny_bsds}", f"pred_dir={pred}", "workers=1"])
    with pytest.raises((FileNotFoundError, ValueError), match="100|101"):
        run(cfg)


@pytest.mark.parametrize(
    "overrides, fragment",
    [
        (["data.root=/no/such/bsds"], "data.root=/no/such/bsds is not a directory"),
        (["method=nope", "data.root={root}"], "unknown method"),
        (["n_segments=[0]", "data.root={root}"], "n_segments must be a positive integer"),
        (["method_n_segments={{slico:[10]}}", "data.root={root}"], "method_n_segments names ['slico']"),
    ],
)
def test_cli_errors_are_one_line(tiny_bsds, tmp_path, overrides, fragment):
    overrides = [o.format(root=tiny_bsds) for o in overrides]
    proc = subprocess.run(
        [sys.executable, "-m", "pcnet.evaluate", *overrides, f"paths.log_dir={tmp_path}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], proc.stderr


def test_layout_errors(tmp_path, tiny_bsds):
    with pytest.raises(ValueError, match="data.root is not set"):
        bsds500_samples(None)
    with pytest.raises(ValueError, match="has no images/val"):
        bsds500_samples(tiny_bsds, "val")
    (tiny_bsds / "gt" / "test" / "101_0.png").unlink()
    with pytest.raises(ValueError, match=r"1 of 3 images .* have no gt/test"):
        bsds500_samples(tiny_bsds)


def test_bsds500_counts(bsds500_root):
    counts = {s: sum(len(x.ground_truth) for x in bsds500_samples(bsds500_root, s)) for s in ("train", "val", "test")}
    assert counts == {"train": 1087, "val": 546, "test": 1063}


@pytest.mark.slow
def test_slic_reference_numbers_on_bsds500_test(tmp_path, bsds500_root):
    """skimage SLIC (compactness 10) at n_segments=600: BR 0.754 at K≈474 (issue #8's reference)."""
    cfg, _ = evaluate_cfg(tmp_path, [f"data.root={bsds500_root}", "method=slic", "n_segments=[600]"])
    (row,) = run(cfg)
    assert row["n_samples"] == 1063
    assert row["n_superpixels"] == pytest.approx(474, abs=3)
    assert row["br"] == pytest.approx(0.754, abs=0.003)


def test_evaluate_scores_pcnet_with_and_without_refinement(tmp_path, tiny_bsds):
    scores = {}
    for name, extra in (("on", []), ("off", ["options={pcnet:{refine:false}}"])):
        cfg, _ = evaluate_cfg(
            tmp_path / name, [f"data.root={tiny_bsds}", "method=pcnet", "n_segments=[12]", "workers=1", *extra]
        )
        (row,) = run(cfg)
        scores[name] = row
    # the synthetic images have exact, sharp edges: refinement finds more of them at r = 1
    assert scores["on"]["br"] > scores["off"]["br"]
    assert (
        abs(scores["on"]["n_superpixels"] - scores["off"]["n_superpixels"]) <= 0.1 * scores["off"]["n_superpixels"] + 1
    )


@pytest.mark.parametrize("name", ["big", "bsds500", "face_human", "folder", "mapillary", "nyuv2"])
def test_evaluate_reads_every_dataset_layout(tmp_path, name):
    """``data=<reader>`` evaluates any layout with a reader: the first annotator's label maps,
    saved as predictions, score BR = ASA = 1 against themselves (tolerance 0)."""
    spec = importlib.util.spec_from_file_location("reader_layouts", Path(__file__).with_name("test_readers.py"))
    layouts = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(layouts)  # the reader tests' tiny datasets, one per layout
    LAYOUTS, make_dataset = layouts.LAYOUTS, layouts.make_dataset
    from pcnet.data.readers import list_samples, load_sample
    from pcnet.io import write_label_map

    root = tmp_path / name
    make_dataset(root, name)
    options, _, _ = LAYOUTS[name]
    overrides = [f"data={name}", f"data.root={root}", f"pred_dir={tmp_path / 'pred'}", "workers=1", "tolerance=0"]
    for key, value in options.items():
        overrides.append(f"data.{key}={value}" if key == "split" else f"data.reader_options.{key}='{value}'")
    split = options.get("split", "." if name == "folder" else "test")
    reader_options = {k: v for k, v in options.items() if k != "split"}
    samples = list_samples(name, root, split, **reader_options)
    for sample in samples:
        write_label_map(tmp_path / "pred" / f"{sample.id}.png", load_sample(sample, name)[1][0])
    cfg, out = evaluate_cfg(tmp_path, overrides)
    summary = run(cfg)
    assert len(summary) == 1
    first = [r for r in read_csv(out / "per_sample.csv") if r["annotator"] == "0"]
    assert len(first) == len(samples) > 0
    assert all(float(r["br"]) == 1.0 and float(r["asa"]) == 1.0 for r in first)

"""The BSDS500 evaluator: Hydra config, outputs, prediction folders, errors, known numbers."""

from __future__ import annotations

import csv
import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import compose_config
from pcnet._checks import InputError
from pcnet.data.bsds500 import Sample, bsds500_samples
from pcnet.evaluate import run
from pcnet.evaluation import Setting, evaluate
from pcnet.evaluation.plots import CURVES
from pcnet.io import read_label_map
from pcnet.metrics import superpixel_scores


def evaluate_cfg(tmp_path: Path, overrides: list[str]):
    out = tmp_path / "run"
    return compose_config("evaluate", overrides, out, progress=False), out


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path) as fh:
        return list(csv.DictReader(fh))


def gt_predictions(tiny_bsds: Path, pred: Path, ids: list[str], keep_columns: int | None = None) -> None:
    """Annotator 0's maps of ``ids`` saved as predictions: ``.png``, or ``.npy`` with -1 from
    column ``keep_columns`` on (a masked prediction)."""
    pred.mkdir(parents=True)
    for image_id in ids:
        source = tiny_bsds / "gt" / "test" / f"{image_id}_0.png"
        if keep_columns is None:
            shutil.copy(source, pred / f"{image_id}.png")
            continue
        labels = read_label_map(source).astype(np.int64)
        labels[:, keep_columns:] = -1
        np.save(pred / f"{image_id}.npy", labels)


def test_ground_truth_as_prediction_scores_perfectly(tmp_path, tiny_bsds):
    gt_predictions(tiny_bsds, tmp_path / "pred" / "gt0", ["100", "101", "102"])
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


def test_missing_predictions_fail_before_any_scoring(tmp_path):
    """Every image is looked up first: the error counts and names the missing ones (the samples
    have no files at all, so any scoring would fail differently)."""
    samples = [Sample(f"{i:05d}", tmp_path / f"{i:05d}.jpg", (tmp_path / f"{i:05d}.png",)) for i in range(9)]
    pred = tmp_path / "pred"
    pred.mkdir()
    (pred / "00001.png").write_bytes(b"")
    (pred / "00004.npy").write_bytes(b"")
    setting = Setting("saved", "", pred_dir=pred)
    with pytest.raises(InputError) as err:
        evaluate(samples, [setting], workers=1, progress=False)
    assert str(err.value) == (
        f"pred_dir {pred} has no prediction for 7 of 9 images (missing: 00000, 00002, 00003, 00005, 00006, ...); "
        "save <id>{.png,.npy,.tif,.tiff} for each, or set allow_missing=true to score only the images that have one"
    )
    with pytest.raises(InputError, match=r"has a prediction for none of the 9 images \(ids 00000, 00001, "):
        evaluate(samples, [Setting("saved", "", pred_dir=tmp_path)], workers=1, progress=False, allow_missing=True)


def test_partial_pred_dir_is_an_error_and_allow_missing_scores_the_rest(tmp_path, tiny_bsds, capsys):
    gt_predictions(tiny_bsds, tmp_path / "pred", ["100", "102"])
    overrides = [f"data.root={tiny_bsds}", f"pred_dir={tmp_path / 'pred'}", "workers=1", "tolerance=0"]
    cfg, out = evaluate_cfg(tmp_path, overrides)
    with pytest.raises(InputError, match=r"no prediction for 1 of 3 images \(missing: 101\); .* allow_missing=true"):
        run(cfg)
    assert not (out / "per_sample.csv").exists()
    cfg, out = evaluate_cfg(tmp_path, [*overrides, "allow_missing=true"])
    (row,) = run(cfg)
    assert (row["n_images"], row["n_samples"], row["n_skipped"]) == (2, 4, 1)  # 100 and 102: 2 annotators each
    assert "pred: scored 2 of 3 images, skipped 1 with no prediction (allow_missing=true)" in capsys.readouterr().out
    assert {r["image"] for r in read_csv(out / "per_sample.csv")} == {"100", "102"}
    assert read_csv(out / "summary.csv")[0]["n_skipped"] == "1"


def test_masked_npy_predictions_score_like_the_crop(tmp_path, tiny_bsds):
    """Annotator 0's maps with -1 from column 20 on: every sample scores like the crop to columns
    0-19 (so annotator 0 is perfect, and the mask edge is no boundary)."""
    gt_predictions(tiny_bsds, tmp_path / "pred", ["100", "101", "102"], keep_columns=20)
    overrides = [f"data.root={tiny_bsds}", f"pred_dir={tmp_path / 'pred'}", "workers=1", "tolerance=0"]
    cfg, out = evaluate_cfg(tmp_path, overrides)
    run(cfg)
    rows = read_csv(out / "per_sample.csv")
    assert len(rows) == 5
    for r in rows:
        crop = superpixel_scores(
            read_label_map(tmp_path / "pred" / f"{r['image']}.npy")[:, :20],
            read_label_map(tiny_bsds / "gt" / "test" / f"{r['image']}_{r['annotator']}.png")[:, :20],
            tolerance=0,
        )
        assert {k: float(r[k]) for k in crop} == pytest.approx(crop, abs=1e-12), r
        if r["annotator"] == "0":
            assert (crop["br"], crop["bp"], crop["asa"], crop["ue"]) == (1.0, 1.0, 1.0, 0.0)


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

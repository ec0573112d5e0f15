"""Inference: model files, tiled == untiled, the learned API methods, and the predict CLI."""

from __future__ import annotations

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

import pcnet
from helpers import assert_superpixels
from pcnet._checks import InputError
from pcnet.data.synthetic import synthetic_image
from pcnet.io import atomic_path, read_label_map, write_image
from pcnet.methods import learned as inference
from pcnet.methods.learned import Segmenter
from pcnet.methods.tiling import tiles
from pcnet.models import build, load_model, save_model
from pcnet.ops import connected_components


@pytest.fixture(scope="module")
def model_file(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    return save_model(tmp_path_factory.mktemp("weights") / "pcnet.pt", build("pcnet"), {"note": "random weights"})


def test_model_file_round_trip(model_file):
    model = load_model(model_file)
    assert model.model_name == "pcnet" and not model.training
    payload = torch.load(model_file, weights_only=True)
    assert payload["meta"] == {"note": "random weights"}
    assert all(v.dtype == torch.float16 for v in payload["state_dict"].values() if v.is_floating_point())
    assert model_file.stat().st_size < 20e6


def test_lightning_checkpoint_loads(tmp_path):
    net = build("scn", channels=[8, 16, 32, 64, 128])
    ckpt = tmp_path / "last.ckpt"
    torch.save(
        {
            "pcnet_model": {"name": "scn", "config": net.build_config},
            "state_dict": {f"net.{k}": v for k, v in net.state_dict().items()},
        },
        ckpt,
    )
    loaded = load_model(ckpt)
    assert loaded.model_name == "scn" and all(
        torch.equal(a, b) for a, b in zip(loaded.state_dict().values(), net.state_dict().values())
    )


def test_bad_checkpoints(tmp_path, model_file):
    with pytest.raises(FileNotFoundError, match="no such checkpoint"):
        load_model(tmp_path / "missing.pt")
    corrupt = tmp_path / "corrupt.pt"
    corrupt.write_bytes(model_file.read_bytes()[:1000])
    with pytest.raises(ValueError, match="cannot read checkpoint"):
        load_model(corrupt)
    other = tmp_path / "other.pt"
    torch.save({"weights": torch.zeros(3)}, other)
    with pytest.raises(ValueError, match="not a pcnet model file"):
        load_model(other)
    with pytest.raises(ValueError, match="holds a 'pcnet' model, not 'scn'"):
        load_model(model_file, expect="scn")


def test_tiles_cover_the_image_once():
    for length, tile, halo in ((100, 48, 16), (2048, 256, 64), (17, 256, 64)):
        cores = [(c0, c1) for _, _, c0, c1 in tiles(length, tile, halo, 16)]
        assert cores[0][0] == 0 and cores[-1][1] == length
        assert all(a[1] == b[0] for a, b in zip(cores, cores[1:]))


def test_tiled_equals_untiled_on_2048(model_file):
    image, _ = synthetic_image(2048, 2048, seed=4)
    segmenter = Segmenter(load_model(model_file), halo=64)
    whole, _ = segmenter.cells(image, None, None)
    tiled, _ = segmenter.cells(image, None, 128)  # 128-px input tiles: 16 tiles of 512² output
    agreement = float((whole == tiled).mean())
    assert agreement >= 0.999, agreement


def test_learned_methods_through_the_api(model_file, monkeypatch):
    rng = np.random.default_rng(0)
    for image in (
        rng.integers(0, 256, (61, 45, 3), np.uint8),
        rng.random((30, 41)),
        rng.integers(0, 256, (20, 26, 4), np.uint8),
    ):
        labels = pcnet.superpixels(image, 12, method="pcnet", checkpoint=model_file)
        assert_superpixels(labels, image.shape[:2])
    monkeypatch.setattr(inference, "default_checkpoint", lambda method: None)  # as in a build without weights
    inference._cached_model.cache_clear()
    with pytest.raises(ValueError, match="no trained pcnet checkpoint ships"):
        pcnet.superpixels(np.zeros((32, 32, 3), np.uint8), 4, method="pcnet")
    with pytest.raises(ValueError, match="not 'ssn'"):
        pcnet.superpixels(np.zeros((32, 32, 3), np.uint8), 4, method="ssn", checkpoint=model_file)


@pytest.mark.parametrize("method", ["pcnet", "scn", "ssn"])
def test_shipped_weights_load_by_default(method):
    """Each shipped model file loads without checkpoint=, is small, and has its model card."""
    path = inference.default_checkpoint(method)
    if path is None:
        pytest.skip(f"no {method} weights ship in this build")
    card = json.loads(path.with_suffix(".json").read_text())
    assert card["method"] == method and path.stat().st_size < 20e6
    assert card["training"]["command"].startswith("python -m pcnet.train experiment=")
    image, _ = synthetic_image(97, 131, seed=5)
    labels = pcnet.superpixels(image, 50, method=method)
    assert 10 <= assert_superpixels(labels, (97, 131)) <= 200


def test_atomic_write_gives_outputs_the_usual_permissions(tmp_path):
    with atomic_path(tmp_path / "out.txt") as tmp:
        tmp.write_text("done")
    mask = os.umask(0)
    os.umask(mask)
    assert (tmp_path / "out.txt").stat().st_mode & 0o777 == 0o666 & ~mask


def test_atomic_write_leaves_nothing_when_interrupted(tmp_path):
    target = tmp_path / "out.png"
    with pytest.raises(RuntimeError):
        with atomic_path(target) as tmp:
            tmp.write_bytes(b"half")
            raise RuntimeError("interrupted")
    assert list(tmp_path.iterdir()) == []


def predict(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "pcnet.predict", *args, "progress=false", f"paths.log_dir={cwd / 'logs'}"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_predict_cli_skips_corrupt_files_and_resumes(tmp_path, model_file):
    inputs = tmp_path / "in"
    for i in range(2):
        write_image(inputs / f"im{i}.png", synthetic_image(90, 70 + 7 * i, seed=i)[0])
    (inputs / "broken.png").write_text("not an image")
    (inputs / "empty.jpg").write_bytes(b"")
    out = tmp_path / "out"
    proc = predict(f"input={inputs}", f"output={out}", f"checkpoint={model_file}", cwd=tmp_path)
    assert proc.returncode == 1, proc.stderr
    assert "broken.png" in proc.stderr and "empty.jpg" in proc.stderr
    for i in range(2):
        labels = read_label_map(out / f"im{i}_labels.png")
        assert labels.shape == (90, 70 + 7 * i) and (out / f"im{i}_overlay.png").exists()
    assert sorted(p.name for p in inputs.iterdir()) == ["broken.png", "empty.jpg", "im0.png", "im1.png"]
    (out / "im1_labels.png").unlink()  # as if interrupted before im1 finished
    again = predict(f"input={inputs}", f"output={out}", f"checkpoint={model_file}", cwd=tmp_path)
    assert "1 predicted, 1 skipped" in again.stdout and (out / "im1_labels.png").exists()
    with open(out / "summary.csv") as fh:  # im0 keeps its row of the first run (time included)
        rows = {Path(r["file"]).name: r for r in csv.DictReader(fh)}
    assert (
        rows["im0.png"]["status"] == "ok"
        and float(rows["im0.png"]["seconds"]) > 0
        and rows["broken.png"]["status"] == "failed"
    )


def test_predict_cli_refuses_to_write_into_the_input_folder(tmp_path):
    write_image(tmp_path / "a.png", np.zeros((20, 20, 3), np.uint8))
    proc = predict(f"input={tmp_path}", f"output={tmp_path}", "method=slico", cwd=tmp_path)
    assert proc.returncode == 2 and "is the folder of the input images" in proc.stderr


def test_predict_cli_large_image_with_small_tiles(tmp_path, model_file):
    image, _ = synthetic_image(3000, 4000, n_regions=40, seed=9)
    write_image(tmp_path / "big.jpg", image)
    proc = predict(
        f"input={tmp_path / 'big.jpg'}",
        f"output={tmp_path / 'out'}",
        f"checkpoint={model_file}",
        "tile=192",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr
    (written,) = [p for p in (tmp_path / "out").iterdir() if p.stem == "big_labels"]  # .png, or .npy if K >= 65536
    assert_superpixels(read_label_map(written).astype(np.int32), (3000, 4000))


def test_export_cli_writes_a_small_model_file(tmp_path):
    from pcnet.export import export

    net = build("pcnet")
    ckpt = tmp_path / "last.ckpt"
    torch.save(
        {
            "pcnet_model": {"name": "pcnet", "config": net.build_config},
            "state_dict": {f"net.{k}": v for k, v in net.state_dict().items()},
            "global_step": 40,
            "epoch": 4,
            "callbacks": {
                "ModelCheckpoint{'monitor': 'val/br'}": {"monitor": "val/br", "best_model_score": torch.tensor(0.8)}
            },
        },
        ckpt,
    )
    out = export(ckpt, tmp_path / "pcnet.pt", extra=["dataset=synthetic"])
    payload = torch.load(out, weights_only=True)
    assert payload["meta"]["global_step"] == 40 and payload["meta"]["dataset"] == "synthetic"
    assert abs(payload["meta"]["best_score"] - 0.8) < 1e-6
    assert load_model(out).model_name == "pcnet" and out.stat().st_size < 6e6
    with pytest.raises(ValueError, match="must differ"):
        export(out, out)


def test_predict_through_lightning_ddp_shards_the_files(tmp_path, model_file):
    inputs = tmp_path / "in"
    for i in range(3):
        write_image(inputs / f"im{i}.png", synthetic_image(64, 80, seed=i)[0])
    out = tmp_path / "out"
    proc = predict(
        f"input={inputs}",
        f"output={out}",
        f"checkpoint={model_file}",
        "lightning=true",
        "trainer=ddp_cpu",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in out.glob("*_labels.png")) == ["im0_labels.png", "im1_labels.png", "im2_labels.png"]
    summaries = sorted(p.name for p in out.glob("summary_rank*.csv"))
    assert summaries == ["summary_rank0.csv", "summary_rank1.csv"]  # rank 0 took im0, im2; rank 1 im1


def test_predict_killed_mid_folder_then_rerun(tmp_path):
    """SIGKILL ``predict`` after its first image: the rerun finishes the rest without redoing the
    done ones, removes temporary files a kill left behind, and ``overwrite=true`` redoes all."""
    inputs, out = tmp_path / "in", tmp_path / "out"
    n = 16  # slic takes ~0.5 s per image here: seconds of work left after the first one
    for i in range(n):
        write_image(inputs / f"im{i:02d}.png", synthetic_image(512, 640, seed=i)[0])
    args = [
        sys.executable,
        "-m",
        "pcnet.predict",
        f"input={inputs}",
        f"output={out}",
        "method=slic",
        "progress=false",
        f"paths.log_dir={tmp_path / 'logs'}",
    ]
    proc = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while not list(out.glob("*_labels.png")) and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.01)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "predict finished before it could be killed"
    done = {p.name: p.stat().st_mtime_ns for p in out.glob("*_labels.png")}
    assert 1 <= len(done) < n
    undone = next(f"im{i:02d}" for i in range(n) if f"im{i:02d}_labels.png" not in done)
    (out / f".{undone}_overlay.a1b2c3.tmp.png").write_bytes(b"half")  # as if killed while writing it

    again = predict(f"input={inputs}", f"output={out}", "method=slic", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert f"{n - len(done)} predicted, {len(done)} skipped" in again.stdout
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*_labels.png") if p.name in done} == done
    assert len(list(out.glob("*_labels.png"))) == len(list(out.glob("*_overlay.png"))) == n
    assert not [p.name for p in out.iterdir() if ".tmp" in p.name]
    with open(out / "summary.csv") as fh:  # the killed run wrote none: skipped rows read the label maps
        rows = {Path(r["file"]).stem: r for r in csv.DictReader(fh)}
    assert sorted(r["status"] for r in rows.values()) == ["ok"] * (n - len(done)) + ["skipped (done)"] * len(done)
    assert all(int(r["n_superpixels"]) > 0 and (int(r["height"]), int(r["width"])) == (512, 640) for r in rows.values())
    redo = predict(f"input={inputs}", f"output={out}", "method=slic", "overwrite=true", cwd=tmp_path)
    assert f"{n} predicted, 0 skipped" in redo.stdout


def test_predict_cli_takes_refine_option(tmp_path):
    image, _ = synthetic_image(96, 128, n_regions=6, seed=2)
    write_image(tmp_path / "in" / "a.png", image)
    for name, extra in (("on", []), ("off", ["options={refine:false}"])):
        proc = predict(f"input={tmp_path / 'in'}", f"output={tmp_path / name}", "n_segments=40", *extra, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    on, off = (read_label_map(tmp_path / n / "a_labels.png") for n in ("on", "off"))
    expected_off = pcnet.superpixels(image, 40, method="pcnet", refine=False)
    np.testing.assert_array_equal(off, expected_off)
    np.testing.assert_array_equal(on, pcnet.superpixels(image, 40, method="pcnet"))
    bad = predict(f"input={tmp_path / 'in'}", f"output={tmp_path / 'bad'}", "options={refine:maybe}", cwd=tmp_path)
    assert bad.returncode != 0 and "refine" in bad.stderr and "Traceback" not in bad.stderr


def test_learned_methods_have_one_option_schema():
    """The API, predict and evaluate read a learned method's options from one place: the
    Segmenter's fields plus checkpoint/device; min_size_fraction's default is the method's."""
    import dataclasses

    from pcnet.methods import method_options
    from pcnet.methods.learned import LOAD_OPTIONS, Segmenter
    from pcnet.ops import MIN_SIZE_FRACTION

    segmenter_fields = {
        f.name: f.default for f in dataclasses.fields(Segmenter) if f.name not in ("model", "progress", "stages")
    }
    for method in ("pcnet", "scn", "ssn"):
        assert method_options(method) == {**LOAD_OPTIONS, **segmenter_fields}
    assert method_options("pcnet")["min_size_fraction"] == MIN_SIZE_FRACTION == 0.06
    assert method_options("slic")["min_size_fraction"] == 0.0  # classical: split and renumber only


def test_bf16_precision_gives_valid_labels_and_auto_follows_the_cpu(monkeypatch):
    image, _ = synthetic_image(128, 160, n_regions=8, n_lines=2, seed=4)
    fp32 = pcnet.superpixels(image, 80, method="pcnet", precision="fp32")
    bf16 = pcnet.superpixels(image, 80, method="pcnet", precision="bf16")
    for labels in (fp32, bf16):
        k = int(labels.max()) + 1
        assert connected_components(labels).max() + 1 == k and abs(k - 80) <= 8
    # same partition but at near-ties: most pixels share their superpixel's majority
    agree = np.mean([np.bincount(fp32[bf16 == k]).max() / np.count_nonzero(bf16 == k) for k in range(bf16.max() + 1)])
    assert agree > 0.95
    used = []
    monkeypatch.setattr(torch, "autocast", lambda *a, **k: used.append(k["dtype"]) or contextlib.nullcontext())
    for has_bf16 in (False, True):
        monkeypatch.setattr(inference, "cpu_has_bf16", lambda has=has_bf16: has)
        Segmenter(load_model("pcnet"), precision="auto", refine=False).superpixels(image, 80)
    assert used == [torch.bfloat16]  # auto: bf16 only where the CPU has the instructions
    with pytest.raises(InputError, match="precision must be one of fp32, bf16, auto"):
        Segmenter(load_model("pcnet"), precision="fp16")

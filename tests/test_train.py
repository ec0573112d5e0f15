"""Training: fast_dev_run of every experiment, resume equivalence, DDP on CPU, multirun, errors."""

from __future__ import annotations

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
from helpers import compose_config
from pcnet._cli import instantiate
from pcnet.ablation import ablation_table
from pcnet.data.synthetic import synthetic_image
from pcnet.export import export
from pcnet.io import write_image, write_label_map
from pcnet.models import build, save_model
from pcnet.train import init_weights, train

CONF = Path(__file__).resolve().parents[1] / "src" / "pcnet" / "conf"
EXPERIMENTS = sorted(p.stem for p in (CONF / "experiment").glob("*.yaml"))
#: small crops for every model so that a step takes well under a second
FAST = {
    "pcnet": ["data.patch_size=64", "data.global_size=96"],
    "scn": ["data.patch_size=64"],
    "ssn": ["data.patch_size=40"],
}


def write_pair(image_path: Path, label_path: Path, seed: int) -> None:
    image, labels = synthetic_image(96, 128, n_regions=6, n_lines=1, seed=seed)
    write_image(image_path, image)
    write_label_map(label_path, labels + 1)


@pytest.fixture(scope="module")
def layouts(tmp_path_factory) -> dict[str, Path]:
    """Tiny datasets in the public layouts the experiments read."""
    root = tmp_path_factory.mktemp("datasets")
    face, mapillary, bsds = root / "face_human", root / "mapillary", root / "bsds500"
    for split_index, split in enumerate(("train", "val", "test")):
        for i in range(2):
            seed = 10 * split_index + i
            write_pair(face / split / f"f{i}.jpg", face / split / f"f{i}_label.png", seed)
            long = {"train": "training", "val": "validation", "test": "testing"}[split]
            write_pair(mapillary / long / "images" / f"m{i}.jpg", mapillary / long / "labels" / f"m{i}.png", seed)
            write_pair(bsds / "images" / split / f"{i}.jpg", bsds / "gt" / split / f"{i}_0.png", seed)
    return {"face_human": face, "mapillary": mapillary, "bsds500": bsds}


def model_of(experiment: str) -> str:
    return experiment.split("_")[0] if experiment.split("_")[0] in ("scn", "ssn") else "pcnet"


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_fast_dev_run_every_experiment(experiment, layouts, tmp_path):
    dataset = next((name for name in layouts if name in experiment), None)
    overrides = [
        f"experiment={experiment}",
        "debug=fdr",
        "data.batch_size=2",
        "init_from_required=false",
        *FAST[model_of(experiment)],
    ]
    if dataset:
        overrides.append(f"data.root={layouts[dataset]}")
    else:
        overrides += [
            "data.synthetic.train.height=128",
            "data.synthetic.train.width=128",
            "data.synthetic.val.length=1",
        ]
    cfg = compose_config("train", overrides, tmp_path)
    assert cfg.model.name == model_of(experiment)
    metrics = train(cfg)
    assert np.isfinite(metrics["train/total"])
    assert 0.0 <= metrics["val/asa"] <= 1.0 and metrics["val/n_superpixels"] >= 1
    assert np.isfinite(metrics["val/sp_loss"]) and 0.0 <= metrics["val/f"] <= 1.0
    # the selection score is BR with ASA as tie-break
    assert metrics["val/selection"] == pytest.approx(metrics["val/br"] + 1e-3 * metrics["val/asa"], abs=1e-6)


#: the CPU recipes behind the shipped checkpoints (src/pcnet/models/weights/)
RECIPES = [e for e in EXPERIMENTS if e.endswith("_cpu")]


@pytest.mark.parametrize("experiment", RECIPES)
def test_cpu_recipe_trains_and_exports(experiment, layouts, tmp_path):
    """A shortened recipe (its own crops, loss and precision; 2 steps; PCNet's from a stage-1
    model) trains, records its run summary, and exports a model file + card that
    pcnet.superpixels loads."""
    stage1 = save_model(tmp_path / "stage1.pt", build(model_of(experiment)), half=False)
    overrides = [
        f"experiment={experiment}",
        f"init_from={stage1}",
        f"data.root={layouts['bsds500']}",
        "trainer.max_steps=2",
        "data.batch_size=2",
        "data.num_workers=0",
        "data.val_limit=1",
        "callbacks.overlays=null",
        "trainer.check_val_every_n_epoch=1",
    ]
    cfg = compose_config("train", overrides, tmp_path)
    assert cfg.model.name == model_of(experiment) and cfg.data.dataset == "bsds500"
    train(cfg)
    summary = json.loads((tmp_path / "run_summary.json").read_text())
    assert summary["steps"] == 2 and summary["wall_seconds"] > 0
    assert summary["command"].startswith(f"python -m pcnet.train experiment={experiment}")
    assert np.isfinite(summary["best_validation"]["val/sp_loss"]) and summary["monitor"] == "val/selection"
    model_file = export(tmp_path / "checkpoints" / "last.ckpt", tmp_path / "model.pt")
    card = json.loads(model_file.with_suffix(".json").read_text())
    assert card["method"] == cfg.model.name and card["training"]["steps"] == 2 and card["size_mb"] < 20
    image, _ = synthetic_image(90, 70, seed=3)
    labels = pcnet.superpixels(image, 20, method=cfg.model.name, checkpoint=model_file)
    assert labels.shape == (90, 70) and labels.min() == 0


def short_run(tmp_path: Path, epochs: int, ckpt: Path | None = None) -> Path:
    overrides = [
        "experiment=synthetic",
        *FAST["pcnet"],
        "data.batch_size=2",
        "data.num_workers=0",
        "data.synthetic.train.length=4",
        "data.synthetic.train.height=128",
        "data.synthetic.train.width=128",
        "data.synthetic.val.length=1",
        "data.synthetic.val.height=64",
        "data.synthetic.val.width=64",
        f"trainer.max_epochs={epochs}",
        "logger=csv",
        "callbacks.overlays=null",
    ]
    if ckpt:
        overrides.append(f"ckpt_path={ckpt}")
    train(compose_config("train", overrides, tmp_path))
    return tmp_path / "checkpoints" / "last.ckpt"


def test_resume_reaches_the_same_weights(tmp_path):
    straight = torch.load(short_run(tmp_path / "straight", 2), weights_only=False)
    half = short_run(tmp_path / "first", 1)
    resumed = torch.load(short_run(tmp_path / "second", 2, ckpt=half), weights_only=False)
    assert straight["global_step"] == resumed["global_step"] == 4
    for key, value in straight["state_dict"].items():
        assert torch.equal(value, resumed["state_dict"][key]), key


def test_ddp_cpu_two_processes(tmp_path):
    cfg = compose_config(
        "train",
        [
            "experiment=synthetic",
            "trainer=ddp_cpu",
            "debug=fdr",
            *FAST["pcnet"],
            "data.batch_size=2",
            "data.synthetic.train.height=128",
            "data.synthetic.train.width=128",
            "data.synthetic.val.length=2",
        ],
        tmp_path,
    )
    metrics = train(cfg)
    assert np.isfinite(metrics["train/total"])


def run_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PCNET_")}
    return subprocess.run(
        [sys.executable, "-m", "pcnet.train", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600
    )


def test_multirun_two_combinations(tmp_path):
    proc = run_cli(
        "-m",
        "experiment=synthetic",
        "debug=fdr",
        *FAST["pcnet"],
        "data.batch_size=2",
        "data.synthetic.val.length=1",
        "data.synthetic.train.height=128",
        "data.synthetic.train.width=128",
        "loss.alpha=0.05,0.1",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.name for p in (tmp_path / "sweep").iterdir() if p.is_dir()) == ["0", "1"]


def test_ablation_sweep_and_table(tmp_path, layouts):
    """Two ablation variants as one Hydra multirun, then the table relative to the reference."""
    sweep = tmp_path / "sweep"
    stage1 = save_model(tmp_path / "stage1.pt", build("pcnet"), half=False)
    proc = run_cli(
        "-m",
        "experiment=ablation_bsds500",
        "ablation=reference,beta_0",
        f"data.root={layouts['bsds500']}",
        f"stage1={stage1}",
        *FAST["pcnet"],
        "data.batch_size=2",
        "data.num_workers=0",
        "data.val_limit=1",
        "trainer.max_steps=2",
        "trainer.val_check_interval=2",
        "callbacks.overlays=null",
        f"hydra.sweep.dir={sweep}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    ablation_table(sweep)
    with open(sweep / "ablation.csv") as fh:
        rows = {r["variant"]: r for r in csv.DictReader(fh)}
    assert sorted(rows) == ["beta_0", "reference"]
    assert float(rows["reference"]["dASA"]) == 0.0 and 0.0 < float(rows["beta_0"]["ASA"]) <= 1.0
    assert "| beta_0 |" in (sweep / "ablation.md").read_text()
    with pytest.raises(ValueError, match="not a folder"):
        ablation_table(tmp_path / "missing")


def test_curriculum_stage_without_init_from_stops_at_once(tmp_path, layouts):
    proc = run_cli(
        "experiment=ablation_bsds500", f"data.root={layouts['bsds500']}", f"paths.log_dir={tmp_path}", cwd=tmp_path
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith("error: this experiment is a later curriculum stage: pass init_from=")
    )


def test_missing_dataset_stops_at_once_with_one_line(tmp_path):
    proc = run_cli("experiment=face_human", f"paths.log_dir={tmp_path}", cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert lines[-1].startswith("error: ") and "data.root" in lines[-1], proc.stderr[-2000:]


def test_model_and_loss_must_match(tmp_path):
    cfg = compose_config("train", ["experiment=synthetic", "loss=scn", "debug=fdr"], tmp_path)
    with pytest.raises(ValueError, match="model 'pcnet' is trained with PCNetLoss"):
        train(cfg)


def test_wandb_logger_runs_offline(tmp_path, monkeypatch):
    pytest.importorskip("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    cfg = compose_config(
        "train",
        [
            "experiment=synthetic",
            "logger=wandb",
            "debug=limit",
            "trainer.max_epochs=1",
            *FAST["pcnet"],
            "data.batch_size=2",
            "data.synthetic.train.length=2",
            "data.synthetic.val.length=1",
        ],
        tmp_path,
    )
    from pcnet._cli import instantiate

    logger = instantiate(cfg.logger.wandb)
    assert logger._offline
    train(cfg)
    assert any(tmp_path.rglob("offline-run-*"))


def test_optuna_search_two_trials(tmp_path):
    """hparams_search=optuna runs (the sweeper is in the dev install: never skipped in CI)."""
    proc = run_cli(
        "-m",
        "experiment=synthetic",
        "hparams_search=optuna",
        "hydra.sweeper.n_trials=2",
        "hydra.sweeper.sampler.n_startup_trials=2",
        "debug=limit",
        "trainer.max_epochs=1",
        "data.synthetic.train.length=4",
        "data.synthetic.val.length=1",
        "data.batch_size=2",
        "data.patch_size=choice(64,128)",
        "data.global_size=192",
        f"hydra.sweep.dir={tmp_path / 'sweep'}",
        cwd=tmp_path,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "Best value" in proc.stdout + proc.stderr


def test_init_from_takes_the_weights_only(tmp_path):
    torch.manual_seed(1)
    source = build("pcnet")
    path = str(save_model(tmp_path / "stage1.pt", source, half=False))
    net = build("pcnet")
    init_weights(net, path)
    assert all(torch.equal(a, b) for a, b in zip(net.state_dict().values(), source.state_dict().values()))
    with pytest.raises(ValueError, match="does not fit this 'pcnet' network"):
        init_weights(build("pcnet", channels=[8, 16, 32, 64, 128]), path)
    with pytest.raises(ValueError, match="not 'scn'"):
        init_weights(build("scn"), path)
    no_sr = build("pcnet", sr_head=False)  # the SR-head ablation starts from a stage 1 with the head
    init_weights(no_sr, path)
    assert all(torch.equal(v, source.state_dict()[k]) for k, v in no_sr.state_dict().items())
    with pytest.raises(ValueError, match="does not fit this 'pcnet' network"):  # the head has no source
        init_weights(build("pcnet"), str(save_model(tmp_path / "no_sr.pt", no_sr, half=False)))


def test_init_from_prefix_takes_scn_encoder_decoder(tmp_path):
    torch.manual_seed(2)
    scn = build("scn")
    path = str(save_model(tmp_path / "scn.pt", scn, half=False))
    net = build("pcnet")
    head_before = net.sp_head.weight.clone()
    init_weights(net, path, prefix="backbone.")
    backbone = {k: v for k, v in scn.state_dict().items() if k.startswith("backbone.")}
    assert backbone and all(torch.equal(net.state_dict()[k], v) for k, v in backbone.items())
    assert torch.equal(net.sp_head.weight, head_before)  # outside the prefix: the fresh init stays
    with pytest.raises(ValueError, match="no tensors under it"):
        init_weights(build("pcnet"), path, prefix="encoder.")
    with pytest.raises(ValueError, match="does not fit this network under 'backbone.'"):
        init_weights(build("pcnet", channels=[8, 16, 32, 64, 128]), path, prefix="backbone.")


def test_distillation_needs_teacher_and_weight_together(tmp_path):
    base = ["experiment=synthetic", *FAST["pcnet"]]
    with pytest.raises(ValueError, match="needs module.teacher"):
        instantiate(compose_config("train", [*base, "loss.distill_weight=0.1"], tmp_path).module)
    with pytest.raises(ValueError, match="loss.distill_weight is 0"):
        instantiate(compose_config("train", [*base, "module.teacher=scn"], tmp_path).module)
    with pytest.raises(ValueError, match="distils into PCNet"):
        instantiate(
            compose_config(
                "train", ["experiment=synthetic", "model=scn", "loss=scn", "module.teacher=scn"], tmp_path
            ).module
        )


def test_distillation_trains_towards_the_teacher(tmp_path):
    """Two steps with the teacher: the logged KL is finite and positive, and the teacher is
    frozen and left out of the checkpoint."""
    overrides = [
        "experiment=synthetic",
        *FAST["pcnet"],
        "data.batch_size=2",
        "data.num_workers=0",
        "module.teacher=scn",
        "loss.distill_weight=0.1",
        "data.synthetic.train.length=2",
        "data.synthetic.val.length=1",
        "trainer.max_steps=2",
        "trainer.max_epochs=-1",
        "trainer.log_every_n_steps=1",
        "logger=csv",
        "callbacks.overlays=null",
    ]
    train(compose_config("train", overrides, tmp_path))
    state = torch.load(tmp_path / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    assert state and not any("teacher" in k for k in state)
    rows = list(csv.DictReader(open(next(tmp_path.glob("csv/*/metrics.csv")))))
    distill = [float(r["train/distill"]) for r in rows if r.get("train/distill")]
    assert distill and all(v > 0 and np.isfinite(v) for v in distill)


def test_killed_by_signal_resumes_to_the_same_weights(tmp_path):
    """SIGKILL a training process once it has written last.ckpt; resuming from that file reaches
    the weights of an uninterrupted run with the same seed."""
    common = [
        "experiment=synthetic",
        *FAST["pcnet"],
        "data.batch_size=2",
        "data.num_workers=0",
        "data.synthetic.train.length=8",
        "data.synthetic.train.height=128",
        "data.synthetic.train.width=128",
        "data.synthetic.val.length=1",
        "data.synthetic.val.height=64",
        "data.synthetic.val.width=64",
        "trainer.max_epochs=6",
        "logger=csv",
        "callbacks.overlays=null",
        "extras.print_config=false",
    ]
    env = {k: v for k, v in os.environ.items() if not k.startswith("PCNET_")}
    killed_dir = tmp_path / "killed"
    last = killed_dir / "checkpoints" / "last.ckpt"
    proc = subprocess.Popen(
        [sys.executable, "-m", "pcnet.train", *common, f"hydra.run.dir={killed_dir}"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 300
        while not last.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the run ended before it could be killed"
    killed_at = torch.load(last, weights_only=False)["global_step"]
    assert 0 < killed_at < 24, killed_at

    straight = run_cli(*common, f"hydra.run.dir={tmp_path / 'straight'}", cwd=tmp_path)
    resumed = run_cli(*common, f"ckpt_path={last}", f"hydra.run.dir={tmp_path / 'resumed'}", cwd=tmp_path)
    assert straight.returncode == 0 and resumed.returncode == 0, (straight.stderr + resumed.stderr)[-3000:]
    a, b = (torch.load(tmp_path / d / "checkpoints" / "last.ckpt", weights_only=False) for d in ("straight", "resumed"))
    assert a["global_step"] == b["global_step"] == 24
    for key, value in a["state_dict"].items():
        assert torch.equal(value, b["state_dict"][key]), key


@pytest.mark.parametrize("name", ["pcnet", "scn", "ssn"])
def test_validation_runs_one_forward_pass_per_image(name):
    """One network pass per validation image gives both the superpixels and val/sp_loss."""
    import functools

    from pcnet.models import build, model_class
    from pcnet.training.module import SuperpixelModule

    net = build(name).eval()
    loss = model_class(name).loss_type(**({"cell_size": net.cell_size} if name == "ssn" else {}))
    module = SuperpixelModule(net, loss, functools.partial(torch.optim.Adam, lr=1e-3))
    calls = []
    net.register_forward_pre_hook(lambda *_: calls.append("forward"))
    if hasattr(net, "backbone"):
        net.backbone.register_forward_pre_hook(lambda *_: calls.append("backbone"))
    image = torch.from_numpy(np.random.default_rng(0).integers(0, 256, (64, 96, 3), dtype=np.uint8))
    labels = torch.zeros(64, 96, dtype=torch.int64)
    labels[:, 48:] = 1
    with torch.no_grad():
        out = module.validation_step({"image": [image, image], "labels": [[labels], [labels]]}, 0)
    assert len(out["superpixels"]) == 2 and out["superpixels"][0].shape == (64, 96)
    assert calls.count("backbone" if hasattr(net, "backbone") else "forward") == 2
    assert module.val_sp_loss.compute() > 0

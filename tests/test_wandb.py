"""wandb dashboards: a few offline training steps of the synthetic experiment with logger=wandb,
read back from the offline run folder (no network); run names, the offline decision, imports."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from types import SimpleNamespace

import pytest
import torch
from hydra.types import RunMode
from lightning.pytorch.loggers import CSVLogger
from omegaconf import read_write

from helpers import compose_config
from pcnet.training.callbacks import CurveLogger
from pcnet.training.loggers import (
    wandb_logged_in,
    wandb_logger,
    wandb_offline_reason,
    wandb_reachable,
    wandb_run_names,
)
from wandb_offline import read_offline_run

wandb = pytest.importorskip("wandb")

#: a tiny synthetic run: 2 training steps of 64-px crops, one validation of 2 images of 64x64
OVERRIDES = [
    "experiment=synthetic",
    "logger=wandb",
    "data.patch_size=64",
    "data.global_size=96",
    "data.batch_size=2",
    "data.num_workers=0",
    "data.synthetic.train.length=4",
    "data.synthetic.train.height=128",
    "data.synthetic.train.width=128",
    "data.synthetic.val.length=2",
    "data.synthetic.val.height=64",
    "data.synthetic.val.width=64",
    "trainer.max_epochs=1",
    "trainer.log_every_n_steps=1",
    "callbacks.overlays.n_images=2",
    "callbacks.curves.n_segments=[16,32,64]",
]


@pytest.fixture
def wandb_env(tmp_path, monkeypatch):
    """No credentials, offline by pcnet's own decision, silent, every wandb folder in tmp_path."""
    for var in ("WANDB_API_KEY", "WANDB_IDENTITY_TOKEN_FILE", "WANDB_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    for var, value in {
        "NETRC": str(tmp_path / "no-netrc"),  # `wandb login` was not done
        "WANDB_SILENT": "true",
        "WANDB_DISABLE_GIT": "true",
        "WANDB_DISABLE_CODE": "true",
        "WANDB__DISABLE_STATS": "true",
        "WANDB_CONSOLE": "off",
        "WANDB_X_TRANSACTION_LOG_FLUSH_INTERVAL": "0.1",
        "WANDB_DIR": str(tmp_path),
        "WANDB_CACHE_DIR": str(tmp_path / "cache"),
        "WANDB_CONFIG_DIR": str(tmp_path / "config"),
        "WANDB_DATA_DIR": str(tmp_path / "data"),
        "WANDB_ARTIFACT_DIR": str(tmp_path / "artifacts"),
    }.items():
        monkeypatch.setenv(var, value)
    mode = os.environ.pop("WANDB_MODE", None)  # WandbLogger(offline=True) sets it to dryrun
    yield tmp_path
    if wandb.run is not None:  # a failing test must not leak its run into the next one
        wandb.finish(exit_code=1)
    wandb.teardown()
    os.environ.pop("WANDB_MODE", None)
    if mode is not None:
        os.environ["WANDB_MODE"] = mode


def test_offline_run_holds_metrics_config_overlays_and_curves(wandb_env, caplog):
    from pcnet.train import train

    caplog.set_level("INFO", logger="pcnet.training.loggers")
    cfg = compose_config("train", OVERRIDES, wandb_env / "run")
    train(cfg)
    [run_dir] = (wandb_env / "run" / "wandb").glob("offline-run-*")
    assert f"wandb sync {run_dir}" in caplog.text and "not logged in" in caplog.text
    out = read_offline_run(run_dir, wait=30)
    assert out["exit_code"] == 0  # train() finished the run

    # run name from the overrides (experiment= and logger= left out), grouped by experiment
    name = ",".join(sorted(o for o in OVERRIDES if not o.startswith(("experiment=", "logger="))))
    assert len(name) > 128 and out["run"]["name"] == name[:127] + "…"  # wandb's limit: 128 characters
    assert out["run"]["group"] == "synthetic"
    assert out["run"]["job_type"] == "train" and out["run"]["tags"] == ["synthetic", "pcnet"]

    # metrics: every loss component per step, every validation metric
    rows = out["history"]
    train_rows = [r for r in rows if "train/total" in r]
    assert len(train_rows) == 2
    components = ("total", "global", "sp_global", "sr_global", "local", "sp_local", "sr_local", "discriminative")
    for key in (f"train/{c}" for c in (*components, "n_patches")):
        assert all(key in r for r in train_rows), key
    [val] = [r for r in rows if "val/br" in r]
    for key in ("val/br", "val/bp", "val/f", "val/asa", "val/ue", "val/co", "val/sp_loss", "val/n_superpixels"):
        assert key in val, key
    assert 0 <= val["val/br"] <= 1 and val["trainer/global_step"] == train_rows[-1]["trainer/global_step"]

    # the resolved config: model, loss, data, trainer ...
    config = out["config"]
    assert config["model"]["name"] == "pcnet" and config["data"]["patch_size"] == 64
    assert {"alpha", "sr_weight"} <= set(config["loss"]) and config["trainer"]["max_epochs"] == 1

    # boundary overlays of the first 2 validation images
    [overlays] = [r["val/overlays"] for r in rows if "val/overlays" in r]
    assert overlays["_type"] == "images/separated" and overlays["count"] == 2
    assert len(out["images"]) == 2 and all(p.suffix == ".png" for p in out["images"])
    assert all("media/images/val/overlays" in p.as_posix() for p in out["images"])

    # BR-K and BR-BP plots (their tables), and the scalars at each K
    [curves] = [r for r in rows if "val_curve/br_k_table" in r]
    assert len(out["tables"]) == 2 and all("media/table/val_curve/" in p.as_posix() for p in out["tables"])
    for key, columns in (("val_curve/br_k", ["K", "BR"]), ("val_curve/br_bp", ["BR", "BP", "K"])):
        table = json.loads((run_dir / "files" / curves[f"{key}_table"]["path"]).read_text())
        assert table["columns"] == columns and len(table["data"]) == 3, key
    for k in (16, 32, 64):
        assert 0 <= curves[f"val_curve/br@{k}"] <= 1 and 0 <= curves[f"val_curve/bp@{k}"] <= 1
    # K=16 is PCNet's native grid on 64x64 images: the curve's point is val/br itself
    assert curves["val_curve/br@16"] == pytest.approx(val["val/br"], abs=1e-6)

    # summary: the last value of each metric and the run summary (run_summary.json)
    summary = out["summary"]
    assert summary["val/br"] == val["val/br"] and summary["train/total"] == train_rows[-1]["train/total"]
    assert summary["run_summary"]["steps"] == 2 and summary["run_summary"]["monitor"] == "val/selection"
    assert summary["run_summary"] == json.loads((wandb_env / "run" / "run_summary.json").read_text())


def test_each_training_of_a_process_gets_its_own_run(wandb_env):
    """What a multirun does: two trainings in one process, two finished runs."""
    from pcnet.train import train

    quick = [*OVERRIDES, "callbacks.curves=null", "callbacks.overlays=null"]
    for job, alpha in enumerate((0.05, 0.1)):
        train(compose_config("train", [*quick, f"loss.alpha={alpha}"], wandb_env / str(job)))
    runs = [read_offline_run(next((wandb_env / str(job) / "wandb").glob("offline-run-*")), wait=30) for job in (0, 1)]
    assert [r["exit_code"] for r in runs] == [0, 0] and runs[0]["run"]["id"] != runs[1]["run"]["id"]
    assert [r["config"]["loss"]["alpha"] for r in runs] == [0.05, 0.1]
    for run in runs:
        assert len([row for row in run["history"] if "train/total" in row]) == 2
        assert len([row for row in run["history"] if "val/br" in row]) == 1
        assert not any("val/overlays" in row or "val_curve/br_k_table" in row for row in run["history"])
        assert run["images"] == run["tables"] == []


def test_curves_cost_nothing_without_wandb(tmp_path):
    csv_only = SimpleNamespace(is_global_zero=True, sanity_checking=False, loggers=[CSVLogger(tmp_path)])
    curves = CurveLogger(limit=1)
    batch = {"image": [torch.zeros(8, 8, 3, dtype=torch.uint8)], "labels": [[torch.zeros(8, 8)]]}
    curves.on_validation_batch_end(csv_only, None, None, batch, 0)
    curves.on_validation_epoch_end(csv_only, None)  # would fail on pl_module=None if it scored
    assert curves._samples == [] and curves._n_val == 0


def test_multirun_jobs_are_grouped_by_sweep(tmp_path):
    cfg = compose_config("train", ["experiment=synthetic", "loss.alpha=0.1", "logger=wandb"], tmp_path)
    assert wandb_run_names(cfg.hydra) == {"name": "loss.alpha=0.1", "group": "synthetic", "job_type": "train"}
    with read_write(cfg.hydra):
        cfg.hydra.mode = RunMode.MULTIRUN
        cfg.hydra.sweep.dir = "logs/train/multiruns/2026-01-02_03-04-05"
        cfg.hydra.job.num = 3
    assert wandb_run_names(cfg.hydra) == {
        "name": "loss.alpha=0.1#3",
        "group": "synthetic/sweep-2026-01-02_03-04-05",
        "job_type": "sweep",
    }
    bare = compose_config("train", ["logger=wandb"], tmp_path)
    assert wandb_run_names(bare.hydra) == {"name": None, "group": None, "job_type": "train"}
    only_experiment = compose_config("train", ["experiment=synthetic"], tmp_path)
    assert wandb_run_names(only_experiment.hydra)["name"] == "synthetic"
    # logger.wandb.name= / group= win over the Hydra job's
    kwargs = wandb_logger(offline=True, name="mine", group="g", save_dir=str(tmp_path))._wandb_init
    assert (kwargs["name"], kwargs["group"], kwargs["job_type"]) == ("mine", "g", "train")
    assert wandb_logger(offline=True, save_dir=str(tmp_path))._wandb_init["name"] == "synthetic"


def test_offline_auto_needs_credentials_and_a_reachable_host(wandb_env, monkeypatch):
    assert not wandb_logged_in() and "not logged in" in wandb_offline_reason()
    (wandb_env / "netrc").write_text("machine api.wandb.ai\n  login user\n  password " + "x" * 40 + "\n")
    monkeypatch.setenv("NETRC", str(wandb_env / "netrc"))
    assert wandb_logged_in()
    monkeypatch.setenv("WANDB_BASE_URL", "http://127.0.0.1:9")  # logged in there? no: other host
    assert not wandb_logged_in("127.0.0.1")
    monkeypatch.setenv("WANDB_API_KEY", "x" * 40)
    assert wandb_offline_reason() == "127.0.0.1:9 cannot be reached"  # nothing listens on port 9
    with socket.create_server(("127.0.0.1", 0)) as server:  # a server that answers: online
        port = server.getsockname()[1]
        monkeypatch.setenv("WANDB_BASE_URL", f"http://127.0.0.1:{port}")
        if wandb_reachable("127.0.0.1", port):  # a network sandbox may have no loopback
            assert wandb_offline_reason() is None
    monkeypatch.setenv("WANDB_MODE", "dryrun")  # what an earlier offline WandbLogger leaves behind
    assert wandb_offline_reason() == "WANDB_MODE=dryrun"
    monkeypatch.setenv("WANDB_MODE", "offline")
    assert wandb_offline_reason() == "WANDB_MODE=offline"
    monkeypatch.delenv("WANDB_MODE")
    logger = wandb_logger(save_dir=str(wandb_env), project="pcnet")
    assert logger._offline  # the run itself never started: nothing to finish
    monkeypatch.setenv("WANDB_BASE_URL", "https://api.wandb.ai")
    assert wandb_logger(offline=True, save_dir=str(wandb_env))._offline


def test_import_pcnet_does_not_import_wandb():
    code = "import sys, pcnet, pcnet.train, pcnet.training.loggers; assert 'wandb' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)

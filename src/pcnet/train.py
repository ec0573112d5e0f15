"""``python -m pcnet.train``: train PCNet, SCN or SSN with Hydra configs (thin entry point).

python -m pcnet.train experiment=synthetic
python -m pcnet.train experiment=face_human data.root=/path/to/Face-Human trainer=gpu
python -m pcnet.train -m experiment=synthetic loss.alpha=0.05,0.1 data.patch_size=256,512
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path
from typing import Any

import hydra
import lightning as L
import torch
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from pcnet._checks import InputError, check
from pcnet._cli import instantiate, run_cli
from pcnet.callbacks import RunSummary
from pcnet.inference import load_model

log = logging.getLogger(__name__)


def _instantiate_group(cfg: DictConfig | None) -> list[Any]:
    """Instantiate every ``_target_`` entry of a callbacks/logger config group."""
    if not cfg:
        return []
    return [instantiate(entry) for entry in cfg.values() if isinstance(entry, DictConfig) and "_target_" in entry]


def init_weights(net: torch.nn.Module, path: str, prefix: str | None = None) -> None:
    """Start from the network weights of a model file or checkpoint (a curriculum's earlier stage).

    Only the weights are taken: optimizer, step counter and data order start afresh (unlike
    ``ckpt_path``, which resumes a run). Tensors the network lacks (a training head it was built
    without, e.g. ``model.sr_head=false``) are left out; every tensor it has must be in the source.

    With ``prefix`` (``init_from_prefix``, e.g. ``backbone.``) only the tensors under it are taken,
    from a model of any kind with the same layers there (PCNet's encoder–decoder from SCN's); the
    rest of the network keeps its fresh initialisation.
    """
    if prefix:
        _init_prefix(net, path, prefix)
        return
    source = load_model(path, expect=getattr(net, "model_name", None)).state_dict()
    wanted = net.state_dict().keys()
    dropped = sorted(set(source) - set(wanted))  # e.g. the SR head of a source trained with it
    try:
        net.load_state_dict({k: v for k, v in source.items() if k in wanted})
    except RuntimeError as err:
        raise InputError(
            f"init_from={path} does not fit this {net.model_name!r} network (its config differs: "
            f"{str(err).splitlines()[0]}); pick a model trained with the same model.* settings"
        ) from None
    log.info("initialised %s from %s", net.model_name, path)
    if dropped:
        log.warning(
            "init_from: %d tensors of %s are not in this network and were left out: %s",
            len(dropped),
            path,
            ", ".join(dropped),
        )


def _init_prefix(net: torch.nn.Module, path: str, prefix: str) -> None:
    source = {k: v for k, v in load_model(path).state_dict().items() if k.startswith(prefix)}
    wanted = {k: v for k, v in net.state_dict().items() if k.startswith(prefix)}
    check(wanted, f"init_from_prefix={prefix!r}: this {net.model_name!r} network has no tensors under it")
    missing = sorted(set(wanted) - set(source))
    wrong = sorted(k for k in set(wanted) & set(source) if wanted[k].shape != source[k].shape)
    check(
        not missing and not wrong,
        f"init_from={path} does not fit this network under {prefix!r}: "
        f"{len(missing)} tensors missing ({', '.join(missing[:3])}), "
        f"{len(wrong)} of another shape ({', '.join(wrong[:3])})",
    )
    net.load_state_dict(source, strict=False)
    log.info("initialised %d tensors under %r of %s from %s", len(source), prefix, net.model_name, path)


def check_resume_checkpoint(path: str | os.PathLike, model_name: str) -> None:
    """``ckpt_path`` must be a ``pcnet.train`` checkpoint of the configured model (checked before
    Lightning restores it, whose errors on a wrong file are deep ``KeyError`` tracebacks).
    Lightning's own names (``last``, ``best``, ``hpc``, ``registry``) and URLs pass through."""
    if str(path) in ("last", "best", "hpc", "registry") or "://" in str(path):
        return
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"ckpt_path={path}: no such checkpoint (resume from <run>/checkpoints/last.ckpt)")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=False, mmap=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a bad file
        raise InputError(
            f"ckpt_path={path} cannot be read: not a checkpoint, or corrupt ({type(err).__name__})"
        ) from None
    check(
        isinstance(payload, dict) and "global_step" in payload and "pcnet_model" in payload,
        f"ckpt_path={path} is not a pcnet.train checkpoint; "
        "to start from a model file's weights use init_from= instead",
    )
    saved = payload["pcnet_model"]["name"]
    check(
        saved == model_name,
        f"ckpt_path={path} holds a {saved!r} run, but this run trains {model_name!r}: "
        f"pick model={saved} or another checkpoint",
    )


def _command_line() -> str:
    """The command that started this run, as a user would retype it."""
    overrides = list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else sys.argv[1:]
    return " ".join(["python -m pcnet.train", *overrides])


def train(cfg: DictConfig) -> dict[str, float]:
    """Fit (and optionally test) the configured module; returns the logged metrics."""
    if cfg.get("seed") is not None:
        L.seed_everything(cfg.seed, workers=True)
    output_dir = Path(cfg.paths.output_dir)
    if cfg.extras.get("print_config"):
        log.info("config:\n%s", OmegaConf.to_yaml(cfg, resolve=True))
    check(
        cfg.get("init_from") or not cfg.get("init_from_required"),
        "this experiment is a later curriculum stage: pass init_from=<the earlier stage's checkpoint or model file> "
        "(see the experiment file's header), or init_from_required=false to train from scratch",
    )
    datamodule: L.LightningDataModule = instantiate(cfg.data)
    datamodule.setup("fit" if cfg.get("train") else "test")  # a missing dataset fails here, at once
    module: L.LightningModule = instantiate(cfg.module)
    if cfg.get("init_from"):
        init_weights(module.net, cfg.init_from, cfg.get("init_from_prefix"))
    if cfg.get("ckpt_path"):
        check_resume_checkpoint(cfg.ckpt_path, module.net.model_name)
    callbacks = _instantiate_group(cfg.get("callbacks"))
    for callback in callbacks:
        if isinstance(callback, RunSummary) and callback.command is None:
            callback.command = _command_line()
    trainer: L.Trainer = instantiate(
        cfg.trainer, callbacks=callbacks, logger=_instantiate_group(cfg.get("logger")) or False
    )
    hparams = OmegaConf.to_container(OmegaConf.masked_copy(cfg, [k for k in cfg if k != "hydra"]), resolve=True)
    for logger in trainer.loggers:
        logger.log_hyperparams(hparams)
    log.info("outputs: %s", output_dir)
    if cfg.get("train"):
        trainer.fit(module, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
    metrics = {k: float(v) for k, v in trainer.callback_metrics.items()}
    if cfg.get("test"):
        best = trainer.checkpoint_callback.best_model_path if trainer.checkpoint_callback else ""
        trainer.test(module, datamodule=datamodule, ckpt_path=best or None)
        metrics.update({k: float(v) for k, v in trainer.callback_metrics.items()})
    return metrics


def metric_value(metrics: dict[str, float], name: str | None) -> float | None:
    """The value a sweeper optimises; a clear error when the run did not log it."""
    if not name:
        return None
    if name not in metrics:
        raise KeyError(f"optimized_metric={name!r} was not logged; logged metrics: {sorted(metrics)}")
    return metrics[name]


@hydra.main(version_base="1.3", config_path="conf", config_name="train")
def main(cfg: DictConfig) -> float | None:
    metrics = run_cli(train, cfg)
    return metric_value(metrics, cfg.get("optimized_metric"))


if __name__ == "__main__":
    main()

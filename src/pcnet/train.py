"""``python -m pcnet.train``: train PCNet, SCN or SSN with Hydra configs (thin entry point).

python -m pcnet.train experiment=synthetic
python -m pcnet.train experiment=face_human data.root=/path/to/Face-Human trainer=gpu
python -m pcnet.train -m experiment=synthetic loss.alpha=0.05,0.1 data.patch_size=256,512
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from typing import Any

import hydra
import lightning as L
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf

from pcnet._checks import check
from pcnet._cli import instantiate, run_cli
from pcnet.training.callbacks import RunSummary
from pcnet.training.checkpoints import check_resume_checkpoint, init_weights
from pcnet.training.loggers import finish_wandb

log = logging.getLogger(__name__)


def _instantiate_group(cfg: DictConfig | None) -> list[Any]:
    """Instantiate every ``_target_`` entry of a callbacks/logger config group."""
    if not cfg:
        return []
    return [instantiate(entry) for entry in cfg.values() if isinstance(entry, DictConfig) and "_target_" in entry]


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
    failed = True
    try:
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
        failed = False
    finally:
        # a wandb run stays open until finished: the next run of this process (a multirun job)
        # would log into it
        finish_wandb(trainer.loggers, failed=failed)
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

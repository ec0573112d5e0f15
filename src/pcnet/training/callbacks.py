"""Lightning callbacks: superpixel overlays of fixed validation images for every logger, BR–K and
BR–BP curves for wandb, and the run summary."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
import torch
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

from pcnet.io import write_image
from pcnet.methods.learned import Segmenter
from pcnet.metrics.functional import superpixel_scores
from pcnet.ops.draw import draw_boundaries

__all__ = ["CurveLogger", "OverlayLogger", "RunSummary", "log_images"]


def log_images(trainer: L.Trainer, images: dict[str, np.ndarray]) -> None:
    """Send RGB uint8 images to every logger: wandb and TensorBoard natively, any other logger
    (CSV) as PNG files under ``<log_dir>/images/``."""
    step = trainer.global_step
    for logger in trainer.loggers:
        if isinstance(logger, WandbLogger):
            logger.log_image(key="val/overlays", images=list(images.values()), caption=list(images), step=step)
        elif isinstance(logger, TensorBoardLogger):
            for name, image in images.items():
                logger.experiment.add_image(f"val/{name}", image, step, dataformats="HWC")
        elif logger.log_dir:
            for name, image in images.items():
                write_image(Path(logger.log_dir) / "images" / f"{name}_step{step:06d}.png", image)


class OverlayLogger(L.Callback):
    """Logs superpixel boundaries drawn on the first ``n_images`` validation images (rank 0)."""

    def __init__(self, n_images: int = 4) -> None:
        self.n_images = n_images
        self._images: dict[str, np.ndarray] = {}

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Draw the boundaries of this batch's superpixels on its images until ``n_images`` are kept."""
        if not trainer.is_global_zero or trainer.sanity_checking or len(self._images) >= self.n_images:
            return
        for sample_id, image, labels in zip(batch["id"], batch["image"], outputs["superpixels"]):
            if len(self._images) < self.n_images:
                self._images[str(sample_id)] = draw_boundaries(image.cpu().numpy(), labels)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Send the collected overlays to every logger (:func:`log_images`) and start afresh."""
        if self._images:
            log_images(trainer, self._images)
        self._images = {}


class CurveLogger(L.Callback):
    """Scores the first ``limit`` validation images at several K and logs the BR–K and BR–BP
    curves as wandb line plots (``val_curve/br_k``, ``val_curve/br_bp``) with the scalars
    ``val_curve/br@K`` and ``val_curve/bp@K``, every ``every_n_val`` validations (rank 0).

    The superpixels come from the module's network through a
    :class:`~pcnet.methods.learned.Segmenter` on whole images without refinement (like
    ``val/br``); every annotator of an image is its own sample. Without a ``WandbLogger`` the
    callback does nothing (no cost); the scalars then go to every logger of the trainer.
    """

    def __init__(self, n_segments: tuple[int, ...] | list[int] = (200, 400, 800), every_n_val: int = 1, limit: int = 4):
        self.n_segments = sorted({int(k) for k in n_segments})
        self.every_n_val, self.limit = every_n_val, limit
        self._samples: list[tuple[np.ndarray, list[np.ndarray]]] = []
        self._n_val = 0

    def _active(self, trainer: L.Trainer) -> bool:
        return (
            trainer.is_global_zero
            and not trainer.sanity_checking
            and any(isinstance(logger, WandbLogger) for logger in trainer.loggers)
        )

    def on_validation_batch_end(
        self,
        trainer: L.Trainer,
        pl_module: L.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        """Keep this batch's images and label maps until ``limit`` are kept."""
        if not self._active(trainer) or (self._n_val + 1) % self.every_n_val:
            return
        for image, labels in zip(batch["image"], batch["labels"]):
            if len(self._samples) < self.limit:
                self._samples.append((image.cpu().numpy(), [lab.cpu().numpy() for lab in labels]))

    def curves(self, net: torch.nn.Module, samples: list[tuple[np.ndarray, list[np.ndarray]]]) -> list[dict]:
        """``[{"K", "BR", "BP"}, ...]``: mean BR and BP over every (image, annotator) pair at each K
        (the Ks that fit the smallest image)."""
        segmenter = Segmenter(net, tile=None, refine=False, precision="fp32")
        fewest_pixels = min(rgb.shape[0] * rgb.shape[1] for rgb, _ in samples)
        rows = []
        for k in (k for k in self.n_segments if k <= fewest_pixels):
            scores = [
                superpixel_scores(labels, gt, metrics=("br", "bp"))
                for rgb, gts in samples
                for labels in [segmenter.superpixels(rgb, k)]
                for gt in gts
            ]
            rows.append({"K": k, **{m.upper(): float(np.mean([s[m] for s in scores])) for m in ("br", "bp")}})
        return rows

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Score the kept images at every K and log the curves (wandb) and scalars (every logger)."""
        if not self._active(trainer):
            return
        self._n_val += 1
        samples, self._samples = self._samples, []
        if not samples or self._n_val % self.every_n_val:
            return
        rows = self.curves(pl_module.net, samples)
        if not rows:
            return
        import wandb

        step = trainer.global_step
        scalars = {f"val_curve/{m}@{r['K']}": r[m.upper()] for r in rows for m in ("br", "bp")}
        br_k = wandb.Table(data=[[r["K"], r["BR"]] for r in rows], columns=["K", "BR"])
        br_bp = wandb.Table(data=[[r["BR"], r["BP"], r["K"]] for r in rows], columns=["BR", "BP", "K"])
        plots = {
            "val_curve/br_k": wandb.plot.line(br_k, "K", "BR", title=f"BR-K (step {step})"),
            "val_curve/br_bp": wandb.plot.line(br_bp, "BR", "BP", title=f"BR-BP (step {step})"),
        }
        for logger in trainer.loggers:
            logger.log_metrics({**scalars, **plots} if isinstance(logger, WandbLogger) else scalars, step=step)


def _git_commit(cwd: Path) -> str | None:
    """The checkout's commit (``+dirty`` when it has changes), or ``None`` outside git."""
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=cwd, capture_output=True, text=True
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    return commit + ("+dirty" if dirty.strip() else "")


class RunSummary(L.Callback):
    """Writes ``run_summary.json`` beside the checkpoints at the end of fitting (rank 0).

    It records what a shipped model card needs: the command, the git commit, the wall time of
    ``fit``, the number of steps, the best checkpoint with its monitored score, and the
    validation metrics at the best and at the last validation. ``python -m pcnet.export`` copies
    it next to the exported model file.
    """

    def __init__(self, path: str | Path, command: str | None = None) -> None:
        self.path, self.command = Path(path), command
        self.history: list[dict[str, Any]] = []
        self._start = 0.0
        self._commit: str | None = None

    def on_fit_start(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Start the wall clock and record the git commit of the code that trains."""
        self._start = time.perf_counter()
        self._commit = _git_commit(Path.cwd())  # the code that trains, not the code at the end

    def on_validation_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Append the step, epoch and ``val/*`` metrics of this validation to :attr:`history`."""
        if trainer.sanity_checking:
            return
        values = {k: float(v) for k, v in trainer.callback_metrics.items() if k.startswith("val/")}
        self.history.append({"step": trainer.global_step, "epoch": trainer.current_epoch, **values})

    def summary(self, trainer: L.Trainer, wall_seconds: float) -> dict[str, Any]:
        """The run summary as a JSON-ready dict (command, commit, wall time, steps, best and last
        validation)."""
        ckpt = trainer.checkpoint_callback
        monitor = getattr(ckpt, "monitor", None)
        best = None
        scored = [h for h in self.history if monitor in h]
        if scored:
            pick = min if getattr(ckpt, "mode", "min") == "min" else max
            best = pick(scored, key=lambda h: h[monitor])
        return {
            "command": self.command,
            "commit": self._commit,
            "wall_seconds": round(wall_seconds, 1),
            "steps": trainer.global_step,
            "threads": torch.get_num_threads(),
            "precision": str(trainer.precision),
            "best_checkpoint": getattr(ckpt, "best_model_path", None) or None,
            "monitor": monitor,
            "best_validation": best,
            "last_validation": self.history[-1] if self.history else None,
        }

    def on_fit_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        """Write :meth:`summary` to ``path`` (rank 0 only)."""
        if trainer.is_global_zero:
            summary = self.summary(trainer, time.perf_counter() - self._start)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.path.write_text(json.dumps(summary, indent=2) + "\n")
            for logger in trainer.loggers:
                if isinstance(logger, WandbLogger):  # the run's summary panel: run_summary.*
                    logger.experiment.summary.update({"run_summary": summary})

"""Lightning callbacks: superpixel overlays of fixed validation images for every logger."""

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
from pcnet.ops.draw import draw_boundaries

__all__ = ["OverlayLogger", "RunSummary", "log_images"]


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

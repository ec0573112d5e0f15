"""Lightning callbacks: superpixel overlays of fixed validation images for every logger."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
import numpy as np
from lightning.pytorch.loggers import TensorBoardLogger, WandbLogger

from pcnet.io import write_image
from pcnet.viz import draw_boundaries

__all__ = ["OverlayLogger", "log_images"]


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
        self, trainer: L.Trainer, pl_module: L.LightningModule, outputs: Any, batch: Any, batch_idx: int, dataloader_idx: int = 0
    ) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking or len(self._images) >= self.n_images:
            return
        for sample_id, image, labels in zip(batch["id"], batch["image"], outputs["superpixels"]):
            if len(self._images) < self.n_images:
                self._images[str(sample_id)] = draw_boundaries(image.cpu().numpy(), labels)

    def on_validation_epoch_end(self, trainer: L.Trainer, pl_module: L.LightningModule) -> None:
        if self._images:
            log_images(trainer, self._images)
        self._images = {}

"""Prediction through Lightning (``Trainer.predict``): the same per-image work as
:func:`pcnet.prediction.predict_files`, sharded over the processes of any strategy (DDP over
GPUs and nodes, ``ddp_spawn`` on CPU). Each rank writes its images' outputs and its own
``summary_rank<r>.csv``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import lightning as L
from torch.utils.data import DataLoader

from pcnet.data.datasets import EpochSeededSampler
from pcnet.io import write_csv
from pcnet.methods.learned import Segmenter
from pcnet.prediction import predict_one

__all__ = ["PredictionTask", "predict_with_trainer"]


class PredictionTask(L.LightningModule):
    """Wraps a :class:`~pcnet.methods.learned.Segmenter`; Lightning moves its model to each rank's device."""

    def __init__(self, segmenter: Segmenter, output: Path, n_segments: int | None, mean: bool, overwrite: bool) -> None:
        super().__init__()
        self.segmenter = segmenter
        self.net = segmenter.model  # registered so that Lightning places it on the device
        self.output, self.n_segments, self.mean, self.overwrite = output, n_segments, mean, overwrite
        self.rows: list[dict[str, Any]] = []

    def predict_step(self, batch: list[str], batch_idx: int) -> None:
        """Segment and write each image path of the batch; its summary row is kept in :attr:`rows`."""
        for path in batch:
            self.rows.append(
                predict_one(
                    Path(path), self.output, self.segmenter.superpixels, self.n_segments, self.mean, self.overwrite
                )
            )

    def on_predict_epoch_end(self) -> None:
        """Write this rank's ``summary_rank<r>.csv``."""
        if self.rows:
            write_csv(self.output / f"summary_rank{self.global_rank}.csv", self.rows)


def predict_with_trainer(
    trainer: L.Trainer,
    segmenter: Segmenter,
    inputs: list[Path],
    output: Path,
    n_segments: int | None = None,
    mean: bool = False,
    overwrite: bool = False,
) -> PredictionTask:
    """Run ``trainer.predict`` over ``inputs`` (every rank takes every world-th file)."""
    task = PredictionTask(segmenter, output, n_segments, mean, overwrite)
    files = [str(p) for p in inputs]
    loader = DataLoader(
        files, batch_size=1, sampler=EpochSeededSampler(len(files), shuffle=False, even=False), collate_fn=list
    )
    trainer.predict(task, dataloaders=loader, return_predictions=False)
    return task

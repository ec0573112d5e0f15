"""The LightningDataModule: training crops from any source, whole images for validation/test."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import albumentations as A
import lightning as L
from torch.utils.data import DataLoader

from pcnet._checks import check, check_int
from pcnet.data.crops import CropSampler
from pcnet.data.datasets import (
    CropDataset,
    EpochSeededSampler,
    WholeImageDataset,
    collate_whole,
)
from pcnet.data.sources import FileSource, ImageSource, SyntheticSource
from pcnet.models import list_models, model_class

__all__ = ["SuperpixelDataModule"]


class SuperpixelDataModule(L.LightningDataModule):
    """Data for every experiment.

    Args:
        dataset: a reader name of :mod:`pcnet.data.readers` (``bsds500``, ``face_human``,
            ``mapillary``, ``big``, ``nyuv2``, ``folder``) or ``synthetic`` (generated, no files).
        root: dataset root (``data.root``); unused for ``synthetic``.
        model: the model being trained (a name of :func:`pcnet.models.list_models`): its class's
            ``crop_mode`` picks paired or single crops.
        splits: split names for ``train``, ``val``, ``test``.
        patch_size, global_size, downscale: crop geometry (see :class:`CropSampler`).
        augment: albumentations transforms (or Hydra-instantiated ones) for training.
        batch_size, num_workers: loader settings; validation runs one whole image per batch.
        seed: seed of every random choice (crops, annotator, shuffling).
        val_limit, test_limit: only the first N validation/test images (fast CPU validation).
        synthetic: options of :class:`SyntheticSource` per split (``length``, ``height``, ...).
        reader_options: extra options for the reader (e.g. ``image_glob`` for ``folder``).
    """

    def __init__(
        self,
        dataset: str = "synthetic",
        root: str | None = None,
        model: str = "pcnet",
        splits: Mapping[str, str] | None = None,
        patch_size: int = 512,
        global_size: int | None = 768,
        downscale: int = 4,
        augment: Sequence[A.BasicTransform] = (),
        batch_size: int = 8,
        num_workers: int = 2,
        seed: int = 0,
        val_limit: int | None = None,
        test_limit: int | None = None,
        synthetic: Mapping[str, Mapping[str, Any]] | None = None,
        reader_options: Mapping[str, Any] | None = None,
        ignore_index: int = 255,
    ) -> None:
        super().__init__()
        check(model in list_models(), f"unknown model {model!r} for the data module; valid: {list_models()}")
        self.dataset, self.root, self.seed = dataset, root, seed
        self.splits = {"train": "train", "val": "val", "test": "test", **(splits or {})}
        self.batch_size = check_int(batch_size, "data.batch_size", minimum=1)
        self.num_workers = check_int(num_workers, "data.num_workers (0: load in the main process)", minimum=0)
        self.limits = {"val": val_limit, "test": test_limit}
        self.synthetic = {k: dict(v) for k, v in (synthetic or {}).items()}
        self.reader_options = dict(reader_options or {})
        mode = model_class(model).crop_mode  # PCNet: paired global/local crops; the others one crop
        self.sampler = CropSampler(
            mode=mode,
            patch_size=patch_size,
            global_size=global_size if mode == "paired" else None,
            downscale=downscale if mode == "paired" else 1,
            augment=list(augment),
            ignore_index=ignore_index,
        )
        self._sources: dict[str, ImageSource] = {}

    def source(self, stage: str) -> ImageSource:
        """The image source of ``train``, ``val`` or ``test`` (listed once, then cached)."""
        if stage not in self._sources:
            if self.dataset == "synthetic":
                options = {"length": 64 if stage == "train" else 8, **self.synthetic.get(stage, {})}
                options.setdefault("seed", {"train": 0, "val": 1, "test": 2}[stage] + 1000 * self.seed)
                self._sources[stage] = SyntheticSource(**options)
            else:
                self._sources[stage] = FileSource(
                    self.dataset, self.root, self.splits[stage], limit=self.limits.get(stage), **self.reader_options
                )
        return self._sources[stage]

    def setup(self, stage: str | None = None) -> None:
        """List the sources the stage needs (``fit``: train and val), so a missing dataset fails at once."""
        stages = {"fit": ("train", "val"), "validate": ("val",), "test": ("test",), "predict": ("test",)}
        for name in stages.get(stage or "fit", ("train", "val")):
            self.source(name)

    def _loader(self, dataset: Any, **kwargs: Any) -> DataLoader:
        return DataLoader(
            dataset,
            num_workers=self.num_workers,
            persistent_workers=self.num_workers > 0,
            **kwargs,
        )

    def train_dataloader(self) -> DataLoader:
        """Batches of training crops (:class:`CropDataset`), reshuffled each epoch from ``(seed, epoch)``."""
        dataset = CropDataset(self.source("train"), self.sampler, self.seed)
        sampler = EpochSeededSampler(len(dataset), self.seed)
        return self._loader(
            dataset, batch_size=self.batch_size, sampler=sampler, drop_last=len(dataset) >= self.batch_size
        )

    def _whole(self, stage: str) -> DataLoader:
        dataset = WholeImageDataset(self.source(stage))
        sampler = EpochSeededSampler(len(dataset), shuffle=False, even=False)
        return self._loader(dataset, batch_size=1, sampler=sampler, collate_fn=collate_whole)

    def val_dataloader(self) -> DataLoader:
        """Whole validation images, one per batch, with every annotator's label map."""
        return self._whole("val")

    def test_dataloader(self) -> DataLoader:
        """Whole test images, one per batch, with every annotator's label map."""
        return self._whole("test")

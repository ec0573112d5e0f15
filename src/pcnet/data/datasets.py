"""torch datasets over an :class:`~pcnet.data.sources.ImageSource`: training crops and whole
images for validation, plus a sampler whose randomness depends only on (seed, epoch, index)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch.utils.data import Dataset, Sampler

from pcnet.data.crops import CropSampler
from pcnet.data.sources import ImageSource

__all__ = ["CropDataset", "EpochSeededSampler", "WholeImageDataset", "collate_whole"]


def _to_tensor(array: np.ndarray) -> torch.Tensor:
    if array.ndim == 3:  # (H, W, 3) uint8 -> (3, H, W) float in [0, 1]
        return torch.from_numpy(np.ascontiguousarray(array.transpose(2, 0, 1))).float().div_(255.0)
    return torch.from_numpy(array.astype(np.int64))


class EpochSeededSampler(Sampler[int]):
    """Shuffles ``0..n-1`` anew each epoch from ``(seed, epoch)`` and yields ``epoch·n + i``.

    The dataset decodes the epoch from the index, so every random choice of a sample depends only
    on (seed, epoch, index): identical in any worker, and replayed exactly when a run resumes from
    the checkpoint at the start of an epoch. Lightning calls :meth:`set_epoch` every epoch.

    Under ``torch.distributed`` every rank takes every ``world``-th index (run the Trainer with
    ``use_distributed_sampler=False``). ``even=True`` (training) pads the shards to equal length
    by repeating indices, as ``DistributedSampler`` does; ``even=False`` (evaluation) leaves them
    uneven so that no sample is scored twice.
    """

    def __init__(self, length: int, seed: int = 0, shuffle: bool = True, even: bool = True) -> None:
        self.length, self.seed, self.shuffle, self.even, self.epoch = length, seed, shuffle, even, 0

    @staticmethod
    def _rank_world() -> tuple[int, int]:
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return torch.distributed.get_rank(), torch.distributed.get_world_size()
        return 0, 1

    def set_epoch(self, epoch: int) -> None:
        """Use the order and random choices of ``epoch`` from now on."""
        self.epoch = int(epoch)

    def __len__(self) -> int:
        rank, world = self._rank_world()
        return -(-self.length // world) if self.even else len(range(rank, self.length, world))

    def __iter__(self) -> Iterator[int]:
        order = (
            np.random.default_rng([self.seed, self.epoch]).permutation(self.length)
            if self.shuffle
            else np.arange(self.length)
        )
        rank, world = self._rank_world()
        if self.even and self.length % world:
            order = np.concatenate([order, order[: world - self.length % world]])
        return iter((self.epoch * self.length + order[rank::world]).tolist())


class CropDataset(Dataset):
    """Training samples: crops of a random annotator's labels, tensors ready for the model.

    ``dataset[epoch · len + i]`` is sample ``i`` with the random choices of that epoch.
    """

    def __init__(self, source: ImageSource, sampler: CropSampler, seed: int = 0) -> None:
        self.source, self.sampler, self.seed = source, sampler, seed

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        epoch, i = divmod(int(index), len(self.source))
        rng = np.random.default_rng([self.seed, epoch, i])
        image, annotators = self.source.load(i)
        labels = annotators[int(rng.integers(len(annotators)))]
        return {key: _to_tensor(value) for key, value in self.sampler(image, labels, rng).items()}


class WholeImageDataset(Dataset):
    """Validation/test samples: the whole image (uint8 ``(H, W, 3)``) and every annotator."""

    def __init__(self, source: ImageSource) -> None:
        self.source = source

    def __len__(self) -> int:
        return len(self.source)

    def __getitem__(self, index: int) -> dict[str, Any]:
        index = int(index) % len(self.source)  # EpochSeededSampler indices carry the epoch
        image, annotators = self.source.load(index)
        return {
            "id": self.source.sample_id(index),
            "image": torch.from_numpy(image),
            "labels": [torch.from_numpy(a.astype(np.int64)) for a in annotators],
        }


def collate_whole(batch: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Images differ in size: keep a batch as lists."""
    return {key: [item[key] for item in batch] for key in batch[0]}

"""Image sources: an indexable collection of ``(image, [label maps])`` pairs.

:class:`FileSource` reads a dataset in its public layout (see :mod:`pcnet.data.readers`);
:class:`SyntheticSource` generates seeded images with exact labels on the fly (the embedded
default: no download). Both return RGB uint8 ``(H, W, 3)`` images and int label maps, one per
annotator.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Sequence
from typing import Any, Protocol

import numpy as np

from pcnet._checks import check
from pcnet.data.bsds500 import Sample
from pcnet.data.synthetic import synthetic_image

__all__ = ["FileSource", "ImageSource", "SyntheticSource"]


class ImageSource(Protocol):
    """What the datasets need: a length, ids, and ``load(i) -> (image, [labels, ...])``."""

    def __len__(self) -> int: ...

    def sample_id(self, index: int) -> str:
        """A stable name of sample ``index`` (file stem or generated id)."""
        ...

    def load(self, index: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """Sample ``index``: ``(H, W, 3)`` uint8 RGB image and its label maps, one per annotator."""
        ...


class FileSource:
    """Samples of a dataset on disk, listed once by a reader and read on demand."""

    def __init__(
        self, reader: str, root: str | os.PathLike | None, split: str, limit: int | None = None, **options: Any
    ) -> None:
        from pcnet.data.readers import list_samples

        self.reader = reader
        self.samples: Sequence[Sample] = list_samples(reader, root, split=split, **options)
        if limit:
            self.samples = self.samples[: int(limit)]

    def __len__(self) -> int:
        return len(self.samples)

    def sample_id(self, index: int) -> str:
        """The reader's id of sample ``index``."""
        return self.samples[index].id

    def load(self, index: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """Read sample ``index`` with :func:`~pcnet.data.readers.load_sample` (the reader's label conventions)."""
        from pcnet.data.readers import load_sample

        return load_sample(self.samples[index], self.reader)


@functools.lru_cache(maxsize=256)
def _synthetic(seed: int, options: tuple[tuple[str, Any], ...]) -> tuple[np.ndarray, np.ndarray]:
    """Cached :func:`synthetic_image` (a module-level cache keeps sources picklable)."""
    return synthetic_image(seed=seed, **dict(options))


class SyntheticSource:
    """``length`` seeded synthetic images (:func:`pcnet.data.synthetic.synthetic_image`).

    Image ``i`` of a source with seed ``s`` is always the same; distinct seeds give disjoint
    training/validation sets. The 256 most recently generated images are cached per process.
    """

    def __init__(
        self,
        length: int,
        height: int = 768,
        width: int = 768,
        seed: int = 0,
        n_regions: int = 24,
        n_lines: int = 3,
        noise: float = 6.0,
    ) -> None:
        check(length >= 1, f"a synthetic source needs length >= 1; got {length}")
        self.length, self.seed = int(length), int(seed)
        self.options = tuple(
            dict(height=height, width=width, n_regions=n_regions, n_lines=n_lines, noise=noise).items()
        )

    def __len__(self) -> int:
        return self.length

    def sample_id(self, index: int) -> str:
        """``synthetic_<seed>_<index>``."""
        return f"synthetic_{self.seed}_{index:05d}"

    def load(self, index: int) -> tuple[np.ndarray, list[np.ndarray]]:
        """Generate image ``index`` (the same for the same source seed) and its one exact label map."""
        seed = int(np.random.SeedSequence([self.seed, int(index)]).generate_state(1)[0])
        image, labels = _synthetic(seed, self.options)
        return image, [labels]

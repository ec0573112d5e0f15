"""Training crops: PCNet's paired global/local crops (Algorithm 1) and plain crops for SCN/SSN.

Everything geometric or photometric goes through albumentations 2.x, applied to the image and
its label map together (labels always with nearest-neighbour interpolation, padding with the
ignore label).

Paired crops, for an original image ``I`` with labels ``S``:

* global: resize ``I`` to ``global_size²`` (768), random-crop ``patch_size²`` (512) → ``G*``;
  downsample ×``downscale`` (4) → network input ``G``; labels ``S_G`` at ``G*``'s resolution.
* local (DPC): crop ``patch_size²`` directly from the ORIGINAL around a random boundary pixel of
  ``S`` (jittered by up to a quarter patch, so the boundary is not always dead centre) → ``L*``,
  downsample → ``L``; labels ``S_L``. The binary guidance mask and the boundary band are derived
  from ``S_L`` and ``S_G`` by the loss (:mod:`pcnet.losses`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import albumentations as A
import cv2
import numpy as np

from pcnet._checks import check
from pcnet.ops.boundaries import find_boundaries

__all__ = ["CropSampler", "boundary_pixel"]


def boundary_pixel(labels: np.ndarray, rng: np.random.Generator, ignore_index: int = 255) -> tuple[int, int] | None:
    """A uniformly random boundary pixel ``(row, col)`` of a label map; ``None`` when the map has
    no boundary. Borders with ``ignore_index`` pixels (padding, unlabelled areas) do not count."""
    candidates = np.flatnonzero(find_boundaries(labels, ignore_index))
    if candidates.size == 0:
        return None
    row, col = divmod(int(candidates[rng.integers(candidates.size)]), labels.shape[1])
    return row, col


@dataclass
class CropSampler:
    """Builds the training sample of one image.

    Args:
        mode: ``"paired"`` (PCNet: global + local crops) or ``"single"`` (SCN/SSN: one crop).
        patch_size: side of a crop at full resolution (PCNet 512, SCN 208, SSN 201).
        global_size: side the original is resized to before the global crop (768); ``None`` crops
            the original directly.
        downscale: factor between a crop and the network input (PCNet 4; ``single`` mode: 1).
        augment: albumentations transforms applied to the original image and labels first.
        ignore_index: label of padded pixels.
    """

    mode: str = "paired"
    patch_size: int = 512
    global_size: int | None = 768
    downscale: int = 4
    augment: Sequence[A.BasicTransform] = field(default_factory=list)
    ignore_index: int = 255

    def __post_init__(self) -> None:
        check(self.mode in ("paired", "single"), f"crop mode must be 'paired' or 'single'; got {self.mode!r}")
        check(self.patch_size >= 1, f"patch_size must be positive; got {self.patch_size}")
        check(
            self.downscale >= 1 and self.patch_size % self.downscale == 0,
            f"patch_size {self.patch_size} must be divisible by downscale {self.downscale}",
        )
        p, fill = self.patch_size, {"fill": 0, "fill_mask": self.ignore_index}
        self._augment = A.Compose(list(self.augment))
        steps: list[A.BasicTransform] = []
        if self.global_size:
            steps.append(
                A.Resize(
                    self.global_size,
                    self.global_size,
                    interpolation=cv2.INTER_AREA,
                    mask_interpolation=cv2.INTER_NEAREST,
                )
            )
        steps.append(A.RandomCrop(p, p, pad_if_needed=True, pad_position="top_left", **fill))
        self._global = A.Compose(steps)
        self._fill = fill
        self._shrink = A.Resize(p // self.downscale, p // self.downscale, interpolation=cv2.INTER_AREA)

    def _seed(self, rng: np.random.Generator) -> None:
        for compose in (self._augment, self._global):
            compose.set_random_seed(int(rng.integers(2**31)))

    def _local_window(self, labels: np.ndarray, rng: np.random.Generator) -> A.Crop:
        """A ``patch_size`` window around a random boundary pixel (anywhere if there is none)."""
        height, width = labels.shape
        p = self.patch_size
        anchor = boundary_pixel(labels, rng, self.ignore_index)
        if anchor is None:
            anchor = (int(rng.integers(height)), int(rng.integers(width)))
        jitter = rng.integers(-(p // 4), p // 4 + 1, size=2)
        top = int(np.clip(anchor[0] + jitter[0] - p // 2, 0, max(height - p, 0)))
        left = int(np.clip(anchor[1] + jitter[1] - p // 2, 0, max(width - p, 0)))
        return A.Crop(left, top, left + p, top + p, pad_if_needed=True, pad_position="top_left", **self._fill)

    def _pack(self, prefix: str, image: np.ndarray, labels: np.ndarray) -> dict[str, np.ndarray]:
        out = {f"{prefix}image": image, f"{prefix}labels": labels}
        if self.downscale > 1:
            out[f"{prefix}input"] = self._shrink(image=image)["image"]
        else:
            out[f"{prefix}input"] = image
        return out

    def __call__(self, image: np.ndarray, labels: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Crops of ``image`` ``(H, W, 3)`` uint8 and ``labels`` ``(H, W)``; random choices from
        ``rng`` only, so a seeded generator reproduces the sample exactly.

        Returns arrays keyed ``global_input``, ``global_image``, ``global_labels`` and
        ``local_*`` (paired mode) or ``input``, ``image``, ``labels`` (single mode).
        """
        check(
            image.shape[:2] == labels.shape,
            f"image {image.shape[:2]} and labels {labels.shape} must have the same height and width",
        )
        self._seed(rng)
        augmented = self._augment(image=image, mask=labels)
        image, labels = augmented["image"], augmented["mask"]
        if self.mode == "single":
            crop = A.Compose(
                [
                    A.RandomCrop(
                        self.patch_size, self.patch_size, pad_if_needed=True, pad_position="top_left", **self._fill
                    )
                ]
            )
            crop.set_random_seed(int(rng.integers(2**31)))
            out = crop(image=image, mask=labels)
            return self._pack("", out["image"], out["mask"])
        glob = self._global(image=image, mask=labels)
        local = self._local_window(labels, rng)(image=image, mask=labels)
        return {
            **self._pack("global_", glob["image"], glob["mask"]),
            **self._pack("local_", local["image"], local["mask"]),
        }

"""What every learned superpixel model shares: input checks, padding, working size and input
conversion (image → labels lives in :class:`pcnet.methods.learned.Segmenter`, which builds on the models)."""

from __future__ import annotations

import math
from typing import ClassVar

import cv2
import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pcnet._checks import check, check_finite, describe
from pcnet.ops.labels import hard_labels

__all__ = ["SuperpixelModel", "check_image_batch", "pad_to_multiple", "resize_image"]


def check_image_batch(x: torch.Tensor, min_pixels: int = 1, name: str = "image") -> None:
    """Reject anything but a finite ``(B, 3, H, W)`` float batch with at least ``min_pixels``."""
    check(
        isinstance(x, torch.Tensor) and x.ndim == 4 and x.shape[1] == 3,
        f"{name} must be a (B, 3, H, W) RGB tensor in [0, 1]; got {describe(x)}"
        " (grayscale/RGBA images: use superpixels(), which converts them)",
    )
    check(x.is_floating_point(), f"{name} must be a float tensor in [0, 1]; got {describe(x)}")
    check_finite(x, name)
    height, width = x.shape[-2:]
    check(
        height * width >= min_pixels,
        f"{name} of {height}×{width} pixels is smaller than one superpixel cell ({min_pixels} pixels)",
    )


def pad_to_multiple(x: torch.Tensor, multiple: int) -> torch.Tensor:
    """Pad the bottom/right of ``(B, C, H, W)`` to multiples of ``multiple`` (reflect where the
    image is large enough, replicate otherwise)."""
    height, width = x.shape[-2:]
    pad_h, pad_w = -height % multiple, -width % multiple
    if pad_h == 0 and pad_w == 0:
        return x
    mode = "reflect" if pad_h < height and pad_w < width else "replicate"
    return F.pad(x, (0, pad_w, 0, pad_h), mode=mode)


def resize_image(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """Resize an ``(H, W, 3)`` uint8 image: area averaging when shrinking (OpenCV's for integer
    factors; :func:`pcnet.ops.resample.area_downsample` for others, whose rows a streamed band can
    compute alone), bilinear otherwise."""
    if rgb.shape[:2] == (height, width):
        return rgb
    if height <= rgb.shape[0] and width <= rgb.shape[1]:
        if rgb.shape[0] % height == 0 and rgb.shape[1] % width == 0:
            return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_AREA)
        from pcnet.ops.resample import area_downsample

        return area_downsample(rgb, height, width)
    return cv2.resize(rgb, (width, height), interpolation=cv2.INTER_LINEAR)


class SuperpixelModel(nn.Module):
    """Base class of the learned models.

    A subclass implements :meth:`forward` (training outputs, ``"assoc"`` at least) and
    :meth:`association_logits` (inference), and declares what training and inference need:

    * ``loss_type``: the loss class that trains it (:class:`~pcnet.training.SuperpixelModule`
      checks the configured loss against it);
    * ``crop_mode``: ``"single"`` (one crop per sample) or ``"paired"`` (PCNet's global + local
      crops, :class:`~pcnet.data.SuperpixelDataModule`);
    * ``upscale``: output / input resolution of the network (PCNet 4, others 1);
    * ``tileable``: whether tiled inference may cut its input (SSN's clustering is global: no).
    """

    model_name: str = ""
    #: superpixel grid cell size at the resolution of the association map
    cell_size: int = 16
    loss_type: ClassVar[type[nn.Module]]
    crop_mode: ClassVar[str] = "single"
    upscale: int = 1
    tileable: ClassVar[bool] = True

    def working_size(self, height: int, width: int, n_segments: int | None) -> tuple[int, int]:
        """Resolution of the association map for an H×W image and the requested K: the image is
        rescaled so that its ``cell_size`` grid has about ``n_segments`` cells, and never below one
        cell per side (a tiny image becomes one superpixel)."""
        scale = 1.0 if n_segments is None else math.sqrt(n_segments * self.cell_size**2 / (height * width))
        return max(self.cell_size, round(height * scale)), max(self.cell_size, round(width * scale))

    def prepare(self, rgb: np.ndarray, n_segments: int | None) -> tuple[torch.Tensor, int]:
        """The network input ``(1, 3, h, w)`` for an ``(H, W, 3)`` uint8 image and about
        ``n_segments`` superpixels (``None``: the native grid), and the cell size of the grid of
        its association map (of ``upscale·h × upscale·w`` pixels).

        This default resizes the image to :meth:`working_size` ÷ ``upscale``; SSN keeps the image
        and turns K into a cell size instead."""
        height, width = self.working_size(*rgb.shape[:2], n_segments)
        u = self.upscale
        return self.to_input(resize_image(rgb, height // u, width // u)), self.cell_size

    def association_logits(self, image: torch.Tensor, cell_size: int | None = None) -> torch.Tensor:
        """Inference-time association scores ``(B, 9, h, w)`` on a grid of ``cell_size``: log-space
        scores whose softmax is the association (logits skip the softmax); their argmax is what
        hard labels need. Models with a fixed grid ignore ``cell_size``."""
        return torch.log(self(image)["assoc"].clamp_min(1e-30))

    @property
    def scores_scale(self) -> int:
        """Resolution of :meth:`inference_scores` relative to the network input (the association's: ``upscale``)."""
        return self.upscale

    def inference_scores(self, image: torch.Tensor, cell_size: int | None = None) -> torch.Tensor:
        """What :meth:`cells_from_scores` needs (default: :meth:`association_logits`); tiled
        inference crops it by ``scores_scale`` pixels per input pixel."""
        return self.association_logits(image, cell_size)

    def cells_from_scores(
        self,
        scores: torch.Tensor,
        cell_size: int,
        origin: tuple[int, int] = (0, 0),
        image_size: tuple[int, int] | None = None,
    ) -> torch.Tensor:
        """Hard cell ids (int32) at output resolution from :meth:`inference_scores`."""
        return hard_labels(scores, cell_size, origin, image_size).int()

    @property
    def device(self) -> torch.device:
        """The device of the model's parameters."""
        return next(self.parameters()).device

    def to_input(self, rgb: np.ndarray) -> torch.Tensor:
        """``(H, W, 3)`` uint8 → ``(1, 3, H, W)`` float in [0, 1] on the model's device."""
        return torch.from_numpy(rgb).to(self.device).permute(2, 0, 1)[None].float().div_(255.0)

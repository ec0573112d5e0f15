"""SCN (Yang et al., CVPR 2020): superpixels by predicting the 9-neighbour association at the
input resolution with a fully convolutional encoder–decoder."""

from __future__ import annotations

import torch
from torch import nn

from pcnet.losses import SuperpixelLoss
from pcnet.models.base import (
    SuperpixelModel,
    check_image_batch,
    pad_to_multiple,
)
from pcnet.models.blocks import EncoderDecoder, InputNormalize
from pcnet.models.registry import register_model

__all__ = ["SCN"]


@register_model("scn")
class SCN(SuperpixelModel):
    """SCN: association ``(B, 9, H, W)`` for an RGB input ``(B, 3, H, W)`` in [0, 1].

    Args:
        channels: encoder channels per level (SCN: 16, 32, 64, 128, 256).
        cell_size: superpixel grid cell size ``S`` (16).
        batch_norm: BatchNorm in every conv block.
    """

    loss_type = SuperpixelLoss

    def __init__(
        self, channels: tuple[int, ...] = (16, 32, 64, 128, 256), cell_size: int = 16, batch_norm: bool = True
    ) -> None:
        super().__init__()
        self.cell_size = cell_size
        self.normalize = InputNormalize()
        self.backbone = EncoderDecoder(3, channels, batch_norm)
        self.head = nn.Conv2d(self.backbone.out_channels, 9, 3, 1, 1)

    def association_logits(self, image: torch.Tensor, cell_size: int | None = None) -> torch.Tensor:
        """Association logits ``(B, 9, H, W)`` (before the softmax)."""
        check_image_batch(image, self.cell_size**2)
        height, width = image.shape[-2:]
        features = self.backbone(pad_to_multiple(self.normalize(image), self.backbone.stride))
        return self.head(features)[..., :height, :width]

    def forward(self, image: torch.Tensor) -> dict[str, torch.Tensor]:
        """``{"assoc": (B, 9, H, W)}``: the softmax of :meth:`association_logits`."""
        return {"assoc": torch.softmax(self.association_logits(image), dim=1)}

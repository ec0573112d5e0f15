"""PCNet (Wang et al., 2024): high-resolution superpixels from a ×4 downsampled input.

The SCN-style encoder–decoder runs on the low-resolution image; a sub-pixel convolution
(conv → PixelShuffle) lifts its output by ``upscale`` to pixel embeddings ``E`` at full resolution,
from which the SP head predicts the association and, during training only, the SR head
reconstructs the high-resolution image.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pcnet._checks import check
from pcnet.models.base import SuperpixelModel, check_image_batch, pad_to_multiple, resize_image
from pcnet.models.blocks import EncoderDecoder, InputNormalize
from pcnet.models.registry import register_model

__all__ = ["PCNet"]


@register_model("pcnet")
class PCNet(SuperpixelModel):
    """PCNet: ``(B, 3, h, w)`` in [0, 1] → association ``(B, 9, u·h, u·w)`` (u = ``upscale``).

    Args:
        channels: encoder channels per level (16, 32, 64, 128, 256 as in SCN).
        upscale: sub-pixel factor between input and output (4).
        embedding_dim: channels D of the pixel embedding E at output resolution.
        cell_size: superpixel grid cell size at OUTPUT resolution (16).
        batch_norm: BatchNorm in every conv block.
        sr_head: build the super-resolution head (needed for training with L_SR; a model without
            it cannot be asked for ``return_sr``).

    ``forward(image, return_sr=False)`` returns ``{"assoc", "embedding"}`` and, when asked,
    ``"sr"``: the reconstructed high-resolution image (a residual over bilinear upsampling).
    """

    def __init__(
        self,
        channels: tuple[int, ...] = (16, 32, 64, 128, 256),
        upscale: int = 4,
        embedding_dim: int = 16,
        cell_size: int = 16,
        batch_norm: bool = True,
        sr_head: bool = True,
    ) -> None:
        super().__init__()
        check(upscale >= 1, f"upscale must be a positive integer; got {upscale}")
        self.upscale = upscale
        self.cell_size = cell_size
        self.normalize = InputNormalize()
        self.backbone = EncoderDecoder(3, channels, batch_norm)
        self.subpixel = nn.Sequential(
            nn.Conv2d(self.backbone.out_channels, embedding_dim * upscale**2, 3, 1, 1),
            nn.PixelShuffle(upscale),
            nn.LeakyReLU(0.1, inplace=True),
        )
        self.sp_head = nn.Conv2d(embedding_dim, 9, 3, 1, 1)
        self.sr_head = nn.Conv2d(embedding_dim, 3, 3, 1, 1) if sr_head else None

    def forward(self, image: torch.Tensor, return_sr: bool = False) -> dict[str, torch.Tensor]:
        u = self.upscale
        check_image_batch(image, -(-self.cell_size**2 // u**2))
        height, width = image.shape[-2:]
        features = self.backbone(pad_to_multiple(self.normalize(image), self.backbone.stride))
        embedding = self.subpixel(features)[..., : u * height, : u * width]
        out = {"assoc": torch.softmax(self.sp_head(embedding), dim=1), "embedding": embedding}
        if return_sr:
            check(self.sr_head is not None, "this PCNet was built with sr_head=False; it cannot return 'sr'")
            upsampled = F.interpolate(image, scale_factor=u, mode="bilinear", align_corners=False)
            out["sr"] = upsampled + self.sr_head(embedding)
        return out

    def working_size(self, height: int, width: int, n_segments: int | None) -> tuple[int, int]:
        """Output size: a multiple of ``upscale`` near the size whose grid has ``n_segments`` cells."""
        out_h, out_w = super().working_size(height, width, n_segments)
        u = self.upscale
        return max(1, round(out_h / u)) * u, max(1, round(out_w / u)) * u

    def association(self, rgb: np.ndarray, n_segments: int | None) -> tuple[torch.Tensor, int]:
        height, width = self.working_size(*rgb.shape[:2], n_segments)
        small = resize_image(rgb, height // self.upscale, width // self.upscale)
        return self(self.to_input(small))["assoc"], self.cell_size

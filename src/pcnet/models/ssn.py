"""SSN (Jampani et al., ECCV 2018): a CNN learns pixel features for a differentiable SLIC.

The CNN sees scaled XYLab; its output is concatenated with that input (k = 20 features in all) and
clustered by :func:`pcnet.ops.soft_slic` over the 9-neighbourhood, in plain PyTorch on CPU or CUDA.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from pcnet._checks import check
from pcnet.losses import SSNLoss
from pcnet.models.base import SuperpixelModel, check_image_batch, pad_to_multiple
from pcnet.models.blocks import conv_block
from pcnet.models.registry import register_model
from pcnet.ops import cell_size_for, rgb_to_lab, soft_slic

__all__ = ["SSN", "xylab"]


def xylab(image: torch.Tensor, cell_size: int, color_scale: float = 0.26, pos_scale: float = 2.5) -> torch.Tensor:
    """SSN's input features ``(B, 5, H, W)``: y, x scaled so one grid cell spans ``pos_scale``
    units, and CIELAB scaled by ``color_scale``."""
    batch, _, height, width = image.shape
    yy = torch.arange(height, device=image.device, dtype=image.dtype)[:, None].expand(height, width)
    xx = torch.arange(width, device=image.device, dtype=image.dtype)[None, :].expand(height, width)
    pos = torch.stack([yy, xx])[None].expand(batch, -1, -1, -1) * (pos_scale / cell_size)
    return torch.cat([pos, rgb_to_lab(image) * color_scale], dim=1)


@register_model("ssn")
class SSN(SuperpixelModel):
    """SSN with a 7-layer feature CNN and differentiable SLIC.

    Args:
        feature_dim: k, the number of features SLIC clusters (CNN output + the 5 XYLab inputs).
        width: channels of the CNN's conv layers (64).
        cell_size: default grid cell size (training: 201² crops with 100 superpixels → 20).
        n_iter_train, n_iter_test: SLIC iterations in training and evaluation mode (5 / 10).
        color_scale, pos_scale: XYLab scaling (0.26 and 2.5 per cell).

    ``forward(image, cell_size=None)`` returns ``{"assoc", "features", "centres"}``.
    """

    loss_type = SSNLoss
    tileable = False

    def __init__(
        self,
        feature_dim: int = 20,
        width: int = 64,
        cell_size: int = 20,
        n_iter_train: int = 5,
        n_iter_test: int = 10,
        color_scale: float = 0.26,
        pos_scale: float = 2.5,
        batch_norm: bool = True,
    ) -> None:
        super().__init__()
        check(feature_dim > 5, f"feature_dim must exceed the 5 XYLab channels; got {feature_dim}")
        self.cell_size = cell_size
        self.n_iter_train, self.n_iter_test = n_iter_train, n_iter_test
        self.color_scale, self.pos_scale = color_scale, pos_scale
        self.stages = nn.ModuleList(
            [
                nn.Sequential(
                    conv_block(5, width, batch_norm=batch_norm), conv_block(width, width, batch_norm=batch_norm)
                ),
                nn.Sequential(
                    nn.MaxPool2d(3, 2, 1),
                    conv_block(width, width, batch_norm=batch_norm),
                    conv_block(width, width, batch_norm=batch_norm),
                ),
                nn.Sequential(
                    nn.MaxPool2d(3, 2, 1),
                    conv_block(width, width, batch_norm=batch_norm),
                    conv_block(width, width, batch_norm=batch_norm),
                ),
            ]
        )
        self.fuse = nn.Conv2d(3 * width, feature_dim - 5, 3, 1, 1)

    def pixel_features(self, image: torch.Tensor, cell_size: int) -> torch.Tensor:
        """The k features SLIC clusters: CNN output concatenated with scaled XYLab."""
        height, width = image.shape[-2:]
        inputs = xylab(image, cell_size, self.color_scale, self.pos_scale)
        x = pad_to_multiple(inputs, 4)
        maps = []
        for stage in self.stages:
            x = stage(x)
            maps.append(F.interpolate(x, size=maps[0].shape[-2:], mode="bilinear", align_corners=False) if maps else x)
        learned = self.fuse(torch.cat(maps, dim=1))[..., :height, :width]
        return torch.cat([learned, inputs], dim=1)

    def forward(self, image: torch.Tensor, cell_size: int | None = None) -> dict[str, torch.Tensor]:
        """Differentiable SLIC on the CNN features at grid ``cell_size`` (default: the model's):
        ``assoc`` ``(B, 9, H, W)``, pixel ``features`` and superpixel ``centres``."""
        cell_size = int(cell_size or self.cell_size)
        check_image_batch(image, 1)
        features = self.pixel_features(image, cell_size)
        n_iter = self.n_iter_train if self.training else self.n_iter_test
        assoc, centres = soft_slic(features, cell_size, n_iter)
        return {"assoc": assoc, "features": features, "centres": centres}

    def prepare(self, rgb: np.ndarray, n_segments: int | None) -> tuple[torch.Tensor, int]:
        """SSN clusters at the input resolution: K sets the cell size, not the image size."""
        cell_size = cell_size_for(n_segments, *rgb.shape[:2]) if n_segments else self.cell_size
        return self.to_input(rgb), cell_size

    def association_logits(self, image: torch.Tensor, cell_size: int | None = None) -> torch.Tensor:
        """Log of the soft-SLIC association on a grid of ``cell_size`` (default: the model's)."""
        return torch.log(self(image, cell_size)["assoc"].clamp_min(1e-30))

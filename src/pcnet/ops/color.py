"""Colour conversion in torch (sRGB → CIELAB, D65), batched ``(B, 3, H, W)``."""

from __future__ import annotations

import torch

from pcnet._checks import check_shape

__all__ = ["rgb_to_lab"]

_RGB_TO_XYZ = torch.tensor(
    [[0.412453, 0.357580, 0.180423], [0.212671, 0.715160, 0.072169], [0.019334, 0.119193, 0.950227]]
)
_WHITE = torch.tensor([0.950456, 1.0, 1.088754])


def rgb_to_lab(image: torch.Tensor) -> torch.Tensor:
    """Convert sRGB in [0, 1] to CIELAB (L in [0, 100], a/b roughly in [-110, 110]).

    Example:
        >>> rgb_to_lab(torch.ones(1, 3, 1, 1)).flatten().round().tolist()
        [100.0, 0.0, 0.0]
    """
    check_shape(image, ["B", 3, "H", "W"], "image")
    linear = torch.where(image > 0.04045, ((image + 0.055) / 1.055) ** 2.4, image / 12.92)
    xyz = torch.einsum("ij,bjhw->bihw", _RGB_TO_XYZ.to(image), linear) / _WHITE.to(image)[:, None, None]
    f = torch.where(xyz > 0.008856, xyz.clamp(min=1e-12) ** (1 / 3), 7.787 * xyz + 16 / 116)
    lightness = 116 * f[:, 1:2] - 16
    a = 500 * (f[:, 0:1] - f[:, 1:2])
    b = 200 * (f[:, 1:2] - f[:, 2:3])
    return torch.cat([lightness, a, b], dim=1)

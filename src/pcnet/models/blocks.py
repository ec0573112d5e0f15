"""Building blocks shared by the SCN-style networks: conv-BN-LeakyReLU and 4×4 deconvolutions."""

from __future__ import annotations

import torch
from torch import nn

from pcnet._checks import check

__all__ = ["conv_block", "deconv_block", "EncoderDecoder", "fold_batchnorm", "fold_conv_bn", "InputNormalize"]


def conv_block(in_ch: int, out_ch: int, stride: int = 1, batch_norm: bool = True) -> nn.Sequential:
    """3×3 convolution → (BatchNorm) → LeakyReLU(0.1), SCN's basic layer."""
    layers: list[nn.Module] = [nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_ch))
    layers.append(nn.LeakyReLU(0.1, inplace=True))
    return nn.Sequential(*layers)


def deconv_block(in_ch: int, out_ch: int) -> nn.Sequential:
    """4×4 stride-2 transposed convolution (×2 resolution) → LeakyReLU(0.1)."""
    return nn.Sequential(nn.ConvTranspose2d(in_ch, out_ch, 4, 2, 1), nn.LeakyReLU(0.1, inplace=True))


class InputNormalize(nn.Module):
    """Map an RGB image in [0, 1] to roughly zero mean and unit variance."""

    def __init__(self, mean: float = 0.45, std: float = 0.225) -> None:
        super().__init__()
        self.mean, self.std = mean, std

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """``(x - mean) / std`` per channel."""
        return (x - self.mean) / self.std


class EncoderDecoder(nn.Module):
    """SCN's encoder–decoder: 5 levels of two conv blocks (stride 2 in all but the first), then
    4×4 deconvolutions with skip concatenations back to the input resolution.

    Args:
        in_channels: input channels.
        channels: channels per level, finest first (SCN: 16, 32, 64, 128, 256).
        batch_norm: BatchNorm after every convolution.

    Input ``(B, in_channels, H, W)`` with H, W divisible by :attr:`stride`; output
    ``(B, channels[0], H, W)``.
    """

    def __init__(
        self, in_channels: int = 3, channels: tuple[int, ...] = (16, 32, 64, 128, 256), batch_norm: bool = True
    ) -> None:
        super().__init__()
        channels = tuple(channels)
        self.stride = 2 ** (len(channels) - 1)
        self.out_channels = channels[0]
        self.batch_norm = batch_norm
        self.encoder = nn.ModuleList()
        prev = in_channels
        for level, ch in enumerate(channels):
            self.encoder.append(
                nn.Sequential(
                    conv_block(prev, ch, stride=1 if level == 0 else 2, batch_norm=batch_norm),
                    conv_block(ch, ch, batch_norm=batch_norm),
                )
            )
            prev = ch
        self.up = nn.ModuleList(deconv_block(channels[i + 1], channels[i]) for i in reversed(range(len(channels) - 1)))
        self.fuse = nn.ModuleList(
            conv_block(2 * channels[i], channels[i], batch_norm=batch_norm) for i in reversed(range(len(channels) - 1))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Features ``(B, out_channels, H, W)`` of an input whose sides are multiples of ``stride``."""
        deepest = x.shape[0] * (x.shape[-2] // self.stride) * (x.shape[-1] // self.stride)
        check(
            not (self.training and self.batch_norm and deepest < 2),
            f"training with BatchNorm needs more than one value per channel at the deepest level; "
            f"a batch of {x.shape[0]} at {x.shape[-2]}×{x.shape[-1]} gives one: use a larger batch or "
            f"crops of at least {2 * self.stride} px, or call .eval() for inference",
        )
        skips = []
        for block in self.encoder:
            x = block(x)
            skips.append(x)
        x = skips.pop()
        for up, fuse in zip(self.up, self.fuse):
            x = fuse(torch.cat([skips.pop(), up(x)], dim=1))
        return x


def fold_conv_bn(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A convolution equal to ``bn(conv(x))`` with ``bn`` in evaluation mode (running statistics),
    computed in float64."""
    fused = nn.Conv2d(
        conv.in_channels, conv.out_channels, conv.kernel_size, conv.stride, conv.padding, conv.dilation, conv.groups
    ).to(conv.weight.device)
    weight = conv.weight.detach().double()
    bias = conv.bias.detach().double() if conv.bias is not None else torch.zeros_like(bn.running_mean).double()
    scale = bn.weight.detach().double() / torch.sqrt(bn.running_var.double() + bn.eps)
    with torch.no_grad():
        fused.weight.copy_(weight * scale[:, None, None, None])
        fused.bias.copy_((bias - bn.running_mean.double()) * scale + bn.bias.detach().double())
    return fused


def fold_batchnorm(module: nn.Module) -> nn.Module:
    """Fold every ``Conv2d`` followed by ``BatchNorm2d`` inside an ``nn.Sequential`` (a
    :func:`conv_block`) into one convolution, in place; for inference only.

    Example:
        >>> block = conv_block(3, 4).eval()
        >>> x = torch.rand(1, 3, 8, 8)
        >>> ref = block(x)
        >>> torch.allclose(fold_batchnorm(block)(x), ref, atol=1e-5), isinstance(block[1], nn.Identity)
        (True, True)
    """
    for child in module.children():
        fold_batchnorm(child)
    if isinstance(module, nn.Sequential):
        for i in range(len(module) - 1):
            if isinstance(module[i], nn.Conv2d) and isinstance(module[i + 1], nn.BatchNorm2d):
                module[i], module[i + 1] = fold_conv_bn(module[i], module[i + 1]), nn.Identity()
    return module

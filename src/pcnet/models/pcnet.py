"""PCNet (Wang et al., 2024): high-resolution superpixels from a ×4 downsampled input.

The SCN-style encoder–decoder runs on the low-resolution image; a sub-pixel convolution
(conv → PixelShuffle) lifts its output by ``upscale`` to pixel embeddings ``E`` at full resolution,
from which the SP head predicts the association and, during training only, the SR head
reconstructs the high-resolution image.
"""

from __future__ import annotations

import copy
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from pcnet._checks import check
from pcnet.losses import PCNetLoss
from pcnet.models.base import (
    SuperpixelModel,
    check_image_batch,
    pad_to_multiple,
)
from pcnet.models.blocks import EncoderDecoder, InputNormalize, fold_batchnorm
from pcnet.models.registry import register_model
from pcnet.ops.labels import TIE_ORDER, hard_labels_subpixel

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
        subpixel_kernel: kernel of the sub-pixel convolution at input resolution (3, as in the
            reference code). With 1, every u×u block of E is a function of one input pixel and the
            association shows u-periodic stripes early in training.
        head_kernel: kernel of the SP head at output resolution (reference: 3; default 1, since
            a 3×3 head at full resolution alone costs about half of PCNet's FLOPs).
        subpixel_rank: factorise the sub-pixel convolution into a linear ``subpixel_kernel``² conv
            to this many channels followed by a 1×1 conv (default 32; ``None``: one full conv).
            It trains as fast as the full 3×3 sub-pixel convolution on our CPU runs and keeps the
            SCN/PCNet FLOPs ratio at 13.5 instead of 11 (``python -m pcnet.benchmark complexity``).
        sp_head_init: ``"default"`` (PyTorch's uniform init) or ``"zero"``: the SP head starts at
            zero weights and bias, so the association starts uniform (1/9) instead of at random
            logits (the grid-trap lever of ``docs/training_notes.md``).

    ``forward(image, return_sr=False)`` returns ``{"assoc", "embedding"}`` and, when asked,
    ``"sr"``: the reconstructed high-resolution image (a residual over bilinear upsampling).
    """

    loss_type = PCNetLoss
    crop_mode = "paired"

    def __init__(
        self,
        channels: tuple[int, ...] = (16, 32, 64, 128, 256),
        upscale: int = 4,
        embedding_dim: int = 16,
        cell_size: int = 16,
        batch_norm: bool = True,
        sr_head: bool = True,
        subpixel_kernel: int = 3,
        head_kernel: int = 1,
        subpixel_rank: int | None = 32,
        sp_head_init: str = "default",
    ) -> None:
        super().__init__()
        check(upscale >= 1, f"upscale must be a positive integer; got {upscale}")
        self.upscale = upscale
        self.cell_size = cell_size
        self.normalize = InputNormalize()
        self.backbone = EncoderDecoder(3, channels, batch_norm)
        # linear: with a 1×1 SP head, inference folds the head into the sub-pixel conv
        channels_in = self.backbone.out_channels
        k = subpixel_kernel
        if subpixel_rank:  # factorised: a linear k×k conv to `rank` channels, then 1×1 to D·u²
            self.context = nn.Conv2d(channels_in, subpixel_rank, k, 1, k // 2)
            channels_in, k = subpixel_rank, 1
        else:
            self.context = nn.Identity()
        self.subpixel = nn.Sequential(
            nn.Conv2d(channels_in, embedding_dim * upscale**2, k, 1, k // 2),
            nn.PixelShuffle(upscale),
        )
        self.sp_head = nn.Conv2d(embedding_dim, 9, head_kernel, 1, head_kernel // 2)
        check(sp_head_init in ("default", "zero"), f"sp_head_init must be 'default' or 'zero'; got {sp_head_init!r}")
        if sp_head_init == "zero":
            nn.init.zeros_(self.sp_head.weight)
            nn.init.zeros_(self.sp_head.bias)
        self.sr_head = nn.Conv2d(embedding_dim, 3, 3, 1, 1) if sr_head else None

    def forward(self, image: torch.Tensor, return_sr: bool = False) -> dict[str, torch.Tensor]:
        """Training outputs for an input ``(B, 3, h, w)`` in [0, 1]: ``assoc`` ``(B, 9, u·h, u·w)``
        (softmax), ``embedding`` E ``(B, D, u·h, u·w)``, and with ``return_sr`` the SR image ``sr``."""
        u = self.upscale
        features, height, width = self._features(image, self.backbone)
        embedding = self.subpixel(self.context(features))[..., : u * height, : u * width]
        out = {"assoc": torch.softmax(self.sp_head(embedding), dim=1), "embedding": embedding}
        if return_sr:
            check(self.sr_head is not None, "this PCNet was built with sr_head=False; it cannot return 'sr'")
            upsampled = F.interpolate(image, scale_factor=u, mode="bilinear", align_corners=False)
            out["sr"] = upsampled + self.sr_head(embedding)
        return out

    def association_logits(self, image: torch.Tensor, cell_size: int | None = None) -> torch.Tensor:
        """Association logits ``(B, 9, u·h, u·w)`` for inference, without materialising E.

        With a 1×1 SP head the head and the (linear) sub-pixel convolution fold into one
        convolution at input resolution followed by PixelShuffle: the same numbers as
        ``sp_head(embedding)`` at a fraction of the memory traffic. Other heads fall back to it.
        """
        if self.sp_head.kernel_size != (1, 1):
            return self.sp_head(self(image)["embedding"])
        u = self.upscale
        features, height, width = self._features(image, self.backbone)
        weight, bias = self._folded_head()
        logits = F.pixel_shuffle(F.conv2d(self.context(features), weight, bias, padding=self.subpixel[0].padding), u)
        return logits[..., : u * height, : u * width]

    def _features(self, image: torch.Tensor, backbone: nn.Module) -> tuple[torch.Tensor, int, int]:
        """Checked input → the encoder–decoder's features (padded to its stride), and ``(h, w)``."""
        check_image_batch(image, -(-(self.cell_size**2) // self.upscale**2))
        height, width = image.shape[-2:]
        return backbone(pad_to_multiple(self.normalize(image), self.backbone.stride)), height, width

    def _folded_head(self, order: tuple[int, ...] | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """The 1×1 SP head folded into the linear sub-pixel convolution: weight ``(9·u², C, k, k)``
        and bias ``(9·u²)``, the 9 neighbour groups of ``u²`` channels in ``order`` (default 0..8)."""
        u, conv = self.upscale, self.subpixel[0]
        head_w = self.sp_head.weight[:, :, 0, 0]  # (9, D)
        sub_w = conv.weight.view(-1, u * u, *conv.weight.shape[1:])  # (D, u², C, k, k)
        weight = torch.einsum("cd,dsikl->csikl", head_w, sub_w)  # (9, u², C, k, k)
        bias = head_w @ conv.bias.view(-1, u * u) + self.sp_head.bias[:, None]  # (9, u²)
        if order is not None:
            weight, bias = weight[list(order)], bias[list(order)]
        return weight.reshape(-1, *conv.weight.shape[1:]), bias.reshape(-1)

    # ------------------------------------------------------------------ fast inference

    @property
    def scores_scale(self) -> int:
        """1: the sub-pixel scores live at input resolution."""
        return 1

    def _inference_parts(self) -> tuple[nn.Module, nn.Conv2d]:
        """The backbone with BatchNorm folded into its convolutions and the SP head folded into the
        sub-pixel convolution, its output channels grouped by neighbour in ``TIE_ORDER``; built
        once per set of weights (rebuilt when any parameter or buffer changes)."""
        key = tuple((t.data_ptr(), t._version) for t in (*self.parameters(), *self.buffers()))
        cached = getattr(self, "_inference_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1], cached[2]
        conv = self.subpixel[0]
        with torch.no_grad():
            backbone = fold_batchnorm(copy.deepcopy(self.backbone).eval())
            weight, bias = self._folded_head(TIE_ORDER)
            head = nn.Conv2d(conv.in_channels, weight.shape[0], conv.kernel_size, 1, conv.padding).to(weight.device)
            head.weight.copy_(weight)
            head.bias.copy_(bias)
        object.__setattr__(self, "_inference_cache", (key, backbone, head))  # not a submodule: no state_dict entry
        return backbone, head

    def inference_scores(self, image: torch.Tensor, cell_size: int | None = None) -> torch.Tensor:
        """Sub-pixel scores ``(B, 9·u², h, w)`` in ``TIE_ORDER`` groups (evaluation mode, 1×1 SP
        head): the association logits before PixelShuffle, from folded weights; hard labels are
        taken from them directly (:func:`~pcnet.ops.hard_labels_subpixel`). Otherwise the logits."""
        if self.training or self.sp_head.kernel_size != (1, 1):
            return self.association_logits(image)
        backbone, head = self._inference_parts()
        features, height, width = self._features(image, backbone)
        return head(self.context(features))[..., :height, :width]

    def cells_from_scores(
        self, scores: torch.Tensor, cell_size: int, origin: tuple[int, int] = (0, 0), image_size: Any = None
    ) -> torch.Tensor:
        """Hard cell ids (int32) from :meth:`inference_scores` (sub-pixel or shuffled), as the base class."""
        if scores.shape[1] == 9:
            return super().cells_from_scores(scores, cell_size, origin, image_size)
        return hard_labels_subpixel(scores, self.upscale, cell_size, origin, image_size)

    def working_size(self, height: int, width: int, n_segments: int | None) -> tuple[int, int]:
        """Output size: a multiple of ``upscale`` near the size whose grid has ``n_segments`` cells."""
        out_h, out_w = super().working_size(height, width, n_segments)
        u = self.upscale
        return max(1, round(out_h / u)) * u, max(1, round(out_w / u)) * u

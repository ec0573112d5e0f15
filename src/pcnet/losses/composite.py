"""PCNet's full training loss, eq. 9: ``L = L_G + α·L_L + β·L_D``.

- ``L_G = L_SP(Q_G, S_G) + w_SR · L_SR(Ĝ, G*)`` on the global branch;
- ``L_L = L_SP(Q_L, M) + w_SR · L_SR(L̂, L*)`` on the local (DPC) crop, M the binary guidance mask
  of its labels (eq. 4) or the multi-class labels themselves;
- ``L_D``: local discriminative loss on the global branch's embedding E with the global labels.

Every switched-off term (``use_*=False`` or a zero weight) is skipped, not computed.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch
from torch import nn

from pcnet._checks import check
from pcnet.losses.discriminative import local_discriminative_loss
from pcnet.losses.distill import distillation_loss
from pcnet.losses.guidance import binary_guidance_mask
from pcnet.losses.sr import boundary_band, sr_loss
from pcnet.losses.superpixel import superpixel_loss

__all__ = ["PCNetLoss"]

_HINTS = {
    "assoc": "the model's output dict must hold the association map",
    "sr": "call the model with return_sr=True (and build it with its SR head), or set use_sr=False",
    "embedding": "the model's output must hold the pixel embedding E, or set use_discriminative=False",
    "labels": "the target dict must hold the (B, H, W) class-id map at output resolution",
    "image": "the target dict must hold the (B, 3, H, W) high-resolution image the SR head "
    "reconstructs, or set use_sr=False",
    "teacher_assoc": "distill_weight > 0 needs the teacher's (B, 9, H, W) association in the target "
    "dict (set module.teacher=<model file>), or set distill_weight=0",
}


def _get(d: Any, key: str, name: str) -> torch.Tensor:
    check(isinstance(d, Mapping), f"{name} must be a dict; got type {type(d).__name__}")
    check(key in d, f"{name} has no '{key}' (keys: {sorted(d)}): {_HINTS[key]}")
    return d[key]


class PCNetLoss(nn.Module):
    """PCNet training loss (eq. 9) with every term switchable for ablations.

    Args:
        alpha, beta: weights α of the local branch and β of L_D (paper: 0.1 and 0.5).
        sr_weight: weight of L_SR inside both branches.
        use_sr, use_local, use_discriminative: switch L_SR, the local branch and L_D.
        binary_guidance: supervise the local branch with the binary mask M (eq. 4) instead of
            the multi-class labels.
        cell_size, pos_weight, sp_scale: L_SP's ``S``, ``m`` and overall scale.
        sp_reduction: L_SP summed over pixels per image (``"sum"``, with ``sp_scale=0.005``: SCN's
            and the reference PCNet code's scaling, default) or per labelled pixel (``"mean"``).
            With the sum, L_SP outweighs L_SR and L_D on the shared weights, as in the reference
            code (the SR head still learns: Adam scales each parameter's step); per pixel, the
            auxiliary terms dominate early and L_SP learned ~2× slower in our CPU runs.
        band_size: side of the dilation kernel of L_SR's boundary band.
        patch_size, max_patches: L_D's window side K and patches per image.
        ignore_index: label of unlabelled pixels.
        distill_weight: weight of the distillation term (0: off): KL from a teacher's association
            (``global_target["teacher_assoc"]``, e.g. SCN on the full-resolution crop) to the
            global branch's, scaled like L_SP (:func:`~pcnet.losses.distillation_loss`).

    ``forward(global_out, global_target, local_out=None, local_target=None, generator=None)``
    takes the model outputs (``assoc``, ``sr``, ``embedding``) and targets (``labels``,
    ``image``) of both branches and returns ``total``, ``global`` (L_G), ``sp_global``,
    ``sr_global`` and, when active, ``local`` (L_L), ``sp_local``, ``sr_local``,
    ``discriminative`` and ``n_patches``. Components are unweighted; ``total`` applies the weights.

    Example:
        >>> loss_fn = PCNetLoss(cell_size=4, band_size=4, use_local=False)
        >>> labels = (torch.arange(16)[None, None, :] >= 8).long().expand(2, 16, 16)
        >>> out = {"assoc": torch.softmax(torch.randn(2, 9, 16, 16), 1),
        ...        "sr": torch.rand(2, 3, 16, 16), "embedding": torch.randn(2, 8, 16, 16)}
        >>> losses = loss_fn(out, {"labels": labels, "image": torch.rand(2, 3, 16, 16)})
        >>> sorted(losses)
        ['discriminative', 'global', 'n_patches', 'sp_global', 'sr_global', 'total']
    """

    def __init__(
        self,
        alpha: float = 0.1,
        beta: float = 0.5,
        sr_weight: float = 1.0,
        use_sr: bool = True,
        use_local: bool = True,
        use_discriminative: bool = True,
        binary_guidance: bool = True,
        cell_size: int = 16,
        pos_weight: float = 0.003,
        sp_scale: float = 0.005,
        sp_reduction: str = "sum",
        band_size: int = 16,
        patch_size: int = 5,
        max_patches: int = 64,
        ignore_index: int = 255,
        distill_weight: float = 0.0,
    ) -> None:
        super().__init__()
        weights = {
            "alpha": alpha,
            "beta": beta,
            "sr_weight": sr_weight,
            "pos_weight": pos_weight,
            "distill_weight": distill_weight,
        }
        for name, weight in weights.items():
            check(weight >= 0, f"loss.{name} must be >= 0 (a negative weight would maximise its loss); got {weight}")
        self.alpha, self.beta, self.sr_weight = alpha, beta, sr_weight
        self.use_sr, self.use_local = use_sr, use_local
        self.use_discriminative, self.binary_guidance = use_discriminative, binary_guidance
        self.cell_size, self.pos_weight, self.sp_scale = cell_size, pos_weight, sp_scale
        self.sp_reduction = sp_reduction
        self.band_size, self.patch_size, self.max_patches = band_size, patch_size, max_patches
        self.ignore_index = ignore_index
        self.distill_weight = distill_weight

    def _branch(self, name: str, out: Any, target: Any, guided: bool) -> dict[str, torch.Tensor]:
        """``sp_<name>``, ``sr_<name>`` (when active) and their weighted sum under ``<name>``."""
        assoc = _get(out, "assoc", f"{name}_out")
        labels = _get(target, "labels", f"{name}_target")
        supervision = binary_guidance_mask(labels, self.ignore_index) if guided else labels
        sp = superpixel_loss(
            assoc, supervision, self.cell_size, self.pos_weight, self.sp_scale, self.ignore_index, self.sp_reduction
        )["total"]
        parts = {f"sp_{name}": sp, name: sp}
        if self.use_sr and self.sr_weight != 0:
            band = boundary_band(labels, self.band_size, self.ignore_index)
            sr = sr_loss(_get(out, "sr", f"{name}_out"), _get(target, "image", f"{name}_target"), band)
            parts[f"sr_{name}"] = sr
            parts[name] = sp + self.sr_weight * sr
        return parts

    def forward(
        self,
        global_out: Mapping[str, torch.Tensor],
        global_target: Mapping[str, torch.Tensor],
        local_out: Mapping[str, torch.Tensor] | None = None,
        local_target: Mapping[str, torch.Tensor] | None = None,
        generator: torch.Generator | None = None,
    ) -> dict[str, Any]:
        """Eq. 9 from the model outputs (``assoc``, ``sr``, ``embedding``) and targets (``labels``,
        ``image``) of the global and local crops: ``total`` and every active term (``sp_global``,
        ``sr_global``, ``global``, ``local``, ``discriminative``, ``n_patches``, ...)."""
        losses: dict[str, Any] = self._branch("global", global_out, global_target, guided=False)
        total = losses["global"]
        if self.use_local and self.alpha != 0:
            check(
                local_out is not None and local_target is not None,
                f"use_local=True with alpha={self.alpha} needs local_out and local_target (the DPC "
                "crop's model output and targets); pass them or set use_local=False",
            )
            losses.update(self._branch("local", local_out, local_target, self.binary_guidance))
            total = total + self.alpha * losses["local"]
        if self.use_discriminative and self.beta != 0:
            loss, n_patches = local_discriminative_loss(
                _get(global_out, "embedding", "global_out"),
                _get(global_target, "labels", "global_target"),
                self.patch_size,
                self.max_patches,
                generator,
                ignore_index=self.ignore_index,
            )
            losses.update(discriminative=loss, n_patches=n_patches)
            total = total + self.beta * loss
        if self.distill_weight != 0:
            assoc = _get(global_out, "assoc", "global_out")
            teacher = _get(global_target, "teacher_assoc", "global_target")
            losses["distill"] = distillation_loss(assoc, teacher, self.sp_scale, self.sp_reduction)
            total = total + self.distill_weight * losses["distill"]
        losses["total"] = total
        return losses

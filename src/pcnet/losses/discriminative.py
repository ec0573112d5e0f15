"""Local discriminative loss L_D (eqs. 6–8 of PCNet) on the pixel embeddings E.

K×K windows of the label map that contain exactly two classes f and g are sampled, and the
embeddings of each class are pulled together while the two class means are pushed apart.

The paper's per-patch score ``‖μ_f − μ_g‖₂ / (S_f² + S_g²)`` (S = sum of squared deviations)
is to be maximised, but it is not scale-invariant: multiplying every embedding by ``a``
multiplies it by ``1/a³``, so the network could "improve" it by shrinking E towards 0 without
separating anything; and its reciprocal (a loss to minimise) explodes when the means coincide.
We use instead the scale-invariant Fisher ratio of the two classes,

    r = ‖μ_f − μ_g‖² / (S_f/|f| + S_g/|g| + eps),

(squared distance of the means over the summed mean within-class variances, both summed over
the D channels) and the per-patch loss ``L_B = 1 / (1 + r)``: bounded in (0, 1], 1 when the
classes are indistinguishable, decreasing towards 0 as r grows, with finite, smooth gradients
everywhere (also when ``μ_f = μ_g``). ``eps`` only matters when the within-class variance is of
its order; above that, E and ``a·E`` give the same loss. ``L_D`` is the mean of ``L_B`` over the
sampled patches (eq. 8). The paper also mentions splitting each class into two groups; eqs. 6–7
do not use the split and neither do we.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from pcnet._checks import check, check_shape
from pcnet.losses._common import check_labels, compact_labels, one_hot

__all__ = ["two_class_windows", "local_discriminative_loss", "LocalDiscriminativeLoss"]


def two_class_windows(labels: torch.Tensor, patch_size: int = 5, ignore_index: int = 255) -> torch.Tensor:
    """Which ``K × K`` windows (stride 1, inside the image) hold exactly two classes and no ignored
    pixel.

    Args:
        labels: class ids ``(B, H, W)``.
        patch_size: window side ``K``.
        ignore_index: label of pixels that belong to no class.

    Returns:
        ``(B, H − K + 1, W − K + 1)`` bool, indexed by the window's top-left pixel.

    Example:
        >>> two_class_windows(torch.tensor([[[0, 0, 1, 2]]]).expand(1, 2, 4), patch_size=2)
        tensor([[[False,  True,  True]]])
    """
    labels = check_labels(labels, ignore_index)
    check(
        int(patch_size) >= 2 and patch_size <= min(labels.shape[-2:]),
        f"patch_size must be at least 2 and fit the {tuple(labels.shape[-2:])} labels; got {patch_size}",
    )
    ids, classes = compact_labels(labels, ignore_index)
    hot = one_hot(ids, classes.shape[1], torch.float32)
    indicators = torch.cat([hot, (ids < 0)[:, None].float()], dim=1)  # classes, then ignored
    # window sums as a separable box filter: rows then columns
    counts = F.avg_pool2d(indicators, (patch_size, 1), stride=1, divisor_override=1)
    counts = F.avg_pool2d(counts, (1, patch_size), stride=1, divisor_override=1)
    n_classes = (counts[:, :-1] > 0).sum(dim=1)
    return (n_classes == 2) & (counts[:, -1] == 0)


def _sample(candidates: torch.Tensor, k: int, generator: torch.Generator | None) -> tuple[torch.Tensor, torch.Tensor]:
    """Up to ``k`` candidate positions per image, uniformly without replacement.

    Every position gets a uniform random key (non-candidates −1) and the ``k`` largest are kept:
    a uniformly random ordering of the candidates, cut after ``k``. Returns flat indices ``(B, k)``
    and whether each is a real candidate.
    """
    flat = candidates.flatten(1)
    device = generator.device if generator is not None else flat.device
    keys = torch.rand(flat.shape, generator=generator, device=device).to(flat.device)
    keys = torch.where(flat, keys, torch.full_like(keys, -1.0))
    top, index = keys.topk(min(k, flat.shape[1]), dim=1)
    return index, top >= 0


def _gather_patches(x: torch.Tensor, start: torch.Tensor, patch_size: int) -> torch.Tensor:
    """Windows of ``x`` ``(B, C, H, W)`` at flat top-left positions ``start`` ``(B, P)`` on the
    ``(H − K + 1, W − K + 1)`` grid; returns ``(B, C, P, K²)``."""
    batch, channels, _, width = x.shape
    offsets = torch.arange(patch_size, device=x.device)
    offset = (offsets[:, None] * width + offsets[None, :]).flatten()
    row, col = start // (width - patch_size + 1), start % (width - patch_size + 1)
    index = ((row * width + col)[..., None] + offset).flatten(1)
    patches = x.flatten(2).gather(2, index[:, None].expand(-1, channels, -1))
    return patches.view(batch, channels, start.shape[1], patch_size**2)


def local_discriminative_loss(
    embedding: torch.Tensor,
    labels: torch.Tensor,
    patch_size: int = 5,
    max_patches: int = 64,
    generator: torch.Generator | None = None,
    eps: float = 1e-6,
    ignore_index: int = 255,
) -> tuple[torch.Tensor, int]:
    """L_D: mean of ``1 / (1 + r)`` over sampled two-class patches (see the module docstring).

    Args:
        embedding: pixel embeddings ``(B, D, H, W)``.
        labels: class ids ``(B, H, W)``.
        patch_size: window side ``K`` (the paper uses 5; 3 to 11 in its ablation).
        max_patches: most patches sampled per image.
        generator: random generator for reproducible sampling.
        eps: added to the within-class variance of each patch.
        ignore_index: label of pixels that belong to no class (windows with one are skipped).

    Returns:
        ``(loss, n_patches)``: the scalar loss and how many patches were sampled in the batch.
        Without any candidate window the loss is ``embedding.sum() * 0`` (graph kept) and 0.

    Example:
        >>> labels = torch.tensor([[0, 0, 0, 1, 1, 1]]).repeat(6, 1)[None]
        >>> embedding = labels[:, None].float() * 10 + 0.01 * torch.randn(1, 4, 6, 6)
        >>> loss, n = local_discriminative_loss(embedding, labels, patch_size=3)
        >>> n, loss.item() < 1e-3
        (8, True)
    """
    check_shape(embedding, ["B", "D", "H", "W"], "embedding")
    labels = check_labels(labels, ignore_index, like=embedding, like_name="embedding")
    check(int(max_patches) >= 1, f"max_patches must be a positive integer; got {max_patches}")
    if patch_size > min(labels.shape[-2:]):
        return embedding.sum() * 0.0, 0
    candidates = two_class_windows(labels, patch_size, ignore_index)
    if not bool(candidates.any()):
        return embedding.sum() * 0.0, 0
    start, chosen = _sample(candidates, max_patches, generator)
    feats = _gather_patches(embedding, start, patch_size)  # (B, D, P, K²)
    patch_labels = _gather_patches(labels[:, None], start, patch_size)[:, 0]  # (B, P, K²)
    first = patch_labels == patch_labels.min(dim=-1, keepdim=True).values
    masks = torch.stack([first, ~first]).to(embedding.dtype)[:, :, None]  # (2, B, 1, P, K²)
    sizes = masks.sum(dim=-1).clamp_min(1)  # (2, B, 1, P)
    means = (feats * masks).sum(dim=-1) / sizes  # (2, B, D, P)
    spread = ((feats - means[..., None]) ** 2 * masks).sum(dim=-1) / sizes  # S/|f| per channel
    ratio = (means[0] - means[1]).pow(2).sum(dim=1) / (spread.sum(dim=(0, 2)) + eps)  # (B, P)
    weight = chosen.to(embedding.dtype)
    return (weight / (1 + ratio)).sum() / weight.sum(), int(chosen.sum())


class LocalDiscriminativeLoss(nn.Module):
    """Module twin of :func:`local_discriminative_loss`;
    ``forward(embedding, labels, generator=None)`` returns ``(loss, n_patches)``."""

    def __init__(self, patch_size: int = 5, max_patches: int = 64, eps: float = 1e-6, ignore_index: int = 255) -> None:
        super().__init__()
        self.patch_size = patch_size
        self.max_patches = max_patches
        self.eps = eps
        self.ignore_index = ignore_index

    def forward(
        self, embedding: torch.Tensor, labels: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, int]:
        """``(loss, n_patches)`` of :func:`local_discriminative_loss` with this module's settings."""
        return local_discriminative_loss(
            embedding, labels, self.patch_size, self.max_patches, generator, self.eps, self.ignore_index
        )

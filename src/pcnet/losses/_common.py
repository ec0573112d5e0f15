"""Helpers shared by the losses: label checks, compact relabelling, one-hot maps, pixel coordinates
and the 4-neighbour edges of a label map."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from pcnet._checks import check, check_shape, describe

__all__ = [
    "check_labels",
    "compact_labels",
    "one_hot",
    "pixel_coordinates",
    "cross_entropy_map",
]

#: Added inside the log of reconstructed probabilities (SCN's value).
LOG_EPS = 1e-8


def check_labels(
    labels: torch.Tensor,
    ignore_index: int,
    like: torch.Tensor | None = None,
    name: str = "labels",
    like_name: str = "assoc",
) -> torch.Tensor:
    """Validate a ``(B, H, W)`` map of non-negative integer class ids and return it as int64.

    ``like`` (any ``(B, ·, H, W)`` tensor) fixes the batch size and the spatial size.
    """
    check_shape(labels, ["B", "H", "W"], name)
    check(
        not labels.is_floating_point() and not labels.is_complex(),
        f"{name} must hold integer class ids; got {describe(labels)} (cast with .long())",
    )
    labels = labels.long()
    if like is not None:
        expected = (like.shape[0], *like.shape[-2:])
        check(
            tuple(labels.shape) == expected,
            f"{name} {tuple(labels.shape)} must match {like_name} {tuple(like.shape)} in B, H and W "
            f"(expected {expected})",
        )
    valid = labels[labels != ignore_index]
    check(
        valid.numel() == 0 or int(valid.min()) >= 0,
        f"{name} must be non-negative class ids (or ignore_index={ignore_index}); "
        f"got minimum {int(valid.min()) if valid.numel() else None}",
    )
    return labels


def compact_labels(labels: torch.Tensor, ignore_index: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Renumber the classes of every sample to ``0 … n_b − 1`` in increasing order of their ids.

    Args:
        labels: ``(B, H, W)`` int64 class ids.
        ignore_index: label of pixels that belong to no class.

    Returns:
        ``ids``: ``(B, H, W)`` compact ids, -1 on ignored pixels; ``classes``: ``(B, C)`` original
        id of every compact id, -1 past a sample's last class. ``C = max_b n_b`` (at least 1).

    Example:
        >>> ids, classes = compact_labels(torch.tensor([[[7, 3]], [[255, 9]]]), 255)
        >>> ids.tolist(), classes.tolist()
        ([[[1, 0]], [[-1, 0]]], [[3, 7], [9, -1]])
    """
    batch = labels.shape[0]
    valid = labels != ignore_index
    sample = torch.arange(batch, device=labels.device).view(batch, 1, 1).expand_as(labels)[valid]
    values = labels[valid]
    span = int(values.max()) + 1 if values.numel() else 1
    keys, inverse = torch.unique(sample * span + values, return_inverse=True)  # sorted: by sample
    owner = keys // span
    per_sample = torch.bincount(owner, minlength=batch)
    start = per_sample.cumsum(0) - per_sample
    ids = torch.full_like(labels, -1)
    ids[valid] = inverse - start[sample]
    n_classes = max(int(per_sample.max()), 1)
    classes = torch.full((batch, n_classes), -1, dtype=torch.long, device=labels.device)
    classes[owner, torch.arange(keys.numel(), device=labels.device) - start[owner]] = keys % span
    return ids, classes


def one_hot(ids: torch.Tensor, n_classes: int, dtype: torch.dtype) -> torch.Tensor:
    """``(B, C, H, W)`` one-hot map of compact ``ids``; ignored pixels (-1) get an all-zero row."""
    hot = F.one_hot(ids.clamp(min=0), n_classes) * (ids >= 0)[..., None]
    return hot.permute(0, 3, 1, 2).to(dtype)


def pixel_coordinates(like: torch.Tensor) -> torch.Tensor:
    """Pixel coordinates ``(B, 2, H, W)`` (channel 0: x = column, 1: y = row) in the dtype and
    device of ``like`` (a ``(B, ·, H, W)`` tensor)."""
    batch, _, height, width = like.shape
    ys = torch.arange(height, device=like.device, dtype=like.dtype)
    xs = torch.arange(width, device=like.device, dtype=like.dtype)
    grid = torch.stack(torch.meshgrid(xs, ys, indexing="xy"))
    return grid[None].expand(batch, -1, -1, -1)


def cross_entropy_map(onehot: torch.Tensor, recon: torch.Tensor) -> torch.Tensor:
    """Per-pixel ``−Σ_c onehot·log(recon + 1e-8)``, shape ``(B, H, W)``."""
    return -(onehot * torch.log(recon + LOG_EPS)).sum(dim=1)

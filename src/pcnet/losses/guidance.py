"""Binary guidance mask for the local (DPC) branch, eq. 4 of PCNet: ``M = [S_L == c]``."""

from __future__ import annotations

import torch

from pcnet.losses._common import check_labels, compact_labels
from pcnet.ops.boundaries import neighbour_pairs

__all__ = ["longest_boundary_class", "binary_guidance_mask"]


def longest_boundary_class(labels: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """The class ``c`` with the longest boundary in every sample.

    The boundary length of class ``c`` is the number of 4-neighbour pixel pairs (horizontal and
    vertical edges between adjacent pixels) with one pixel of class ``c`` and the other of a
    different class that is not ``ignore_index``; the image border and ignored pixels add nothing.
    Ties go to the lowest class id, so a crop with a single class returns that class. A sample
    without any labelled pixel returns ``ignore_index``.

    Args:
        labels: class ids ``(B, H, W)``.
        ignore_index: label of pixels that belong to no class.

    Returns:
        ``(B,)`` int64 class ids.

    Example:
        >>> labels = torch.tensor([[[5, 5, 5], [9, 9, 9], [7, 7, 7]]])
        >>> longest_boundary_class(labels)       # 5: 3 edges, 9: 6 edges, 7: 3 edges
        tensor([9])
    """
    labels = check_labels(labels, ignore_index)
    ids, classes = compact_labels(labels, ignore_index)
    batch, n_classes = classes.shape
    sample = torch.arange(batch, device=labels.device).view(batch, 1, 1)
    counts = torch.zeros(batch * n_classes, dtype=torch.long, device=labels.device)
    for first, second, boundary in neighbour_pairs(ids, -1):
        owner = sample.expand_as(first)[boundary] * n_classes
        for end in (first, second):
            counts += torch.bincount(owner + end[boundary], minlength=batch * n_classes)
    best = counts.view(batch, n_classes).argmax(dim=1)  # first maximum: the lowest class id
    chosen = classes.gather(1, best[:, None]).squeeze(1)
    return torch.where(chosen >= 0, chosen, torch.full_like(chosen, ignore_index))


def binary_guidance_mask(labels: torch.Tensor, ignore_index: int = 255) -> torch.Tensor:
    """Eq. 4: 1 where the label is the longest-boundary class ``c`` of the sample, 0 elsewhere.

    Args:
        labels: class ids ``(B, H, W)``.
        ignore_index: label of pixels that belong to no class; kept as is in the mask.

    Returns:
        ``(B, H, W)`` int64 mask of 0, 1 and ``ignore_index``.

    Example:
        >>> binary_guidance_mask(torch.tensor([[[5, 5, 5], [9, 9, 9], [255, 7, 7]]]))
        tensor([[[  0,   0,   0],
                 [  1,   1,   1],
                 [255,   0,   0]]])
    """
    chosen = longest_boundary_class(labels, ignore_index)
    labels = labels.long()
    mask = (labels == chosen.view(-1, 1, 1)).long()
    return torch.where(labels == ignore_index, torch.full_like(mask, ignore_index), mask)

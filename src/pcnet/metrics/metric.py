"""torchmetrics ``Metric`` classes for the superpixel benchmark, exact under DDP.

Every state is a sum over samples (float64) or a count, reduced with ``"sum"`` across processes, so
the value after a multi-process sync equals the single-process value on the same samples (up to
float64 rounding of the order of summation). The reported value of each metric is its mean over
samples; following the benchmark, every annotator of an image is its own sample. With
``ignore_index``, predicted pixels of that label (e.g. −1 outside a mask) are left out of every
metric of their sample (:mod:`pcnet.metrics.functional`); the states stay sums.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from torchmetrics import Metric

from pcnet._checks import check, describe, is_int
from pcnet.metrics.functional import METRIC_NAMES, prepare, score_prepared

__all__ = [
    "AchievableSegmentationAccuracy",
    "BoundaryPrecision",
    "BoundaryRecall",
    "Compactness",
    "NumberOfSuperpixels",
    "SuperpixelMetrics",
    "UndersegmentationError",
]


def _as_numpy(x: Any) -> np.ndarray:
    return x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)


def _split_batch(preds: Any, target: Any) -> list[tuple[np.ndarray, list[np.ndarray]]]:
    """Pair each superpixel map with its list of annotator maps.

    ``preds``: ``(H, W)``, ``(B, H, W)`` or a sequence of ``(H, W)`` maps.
    ``target``: the same structure, where each item may also be ``(A, H, W)`` or a list of
    ``(H, W)`` maps (A annotators).
    """
    if isinstance(preds, (torch.Tensor, np.ndarray)):
        check(
            preds.ndim in (2, 3),
            f"preds must be (H, W), (B, H, W) or a list of (H, W) label maps; got {describe(preds)}",
        )
        preds = [preds] if preds.ndim == 2 else list(preds)
        if isinstance(target, (torch.Tensor, np.ndarray)) and target.ndim == 2:
            target = [target]
    check(
        isinstance(target, (torch.Tensor, np.ndarray, Sequence)) and len(target) == len(preds),
        f"target must hold one ground truth (or a stack of annotators) per prediction: "
        f"{len(preds)} predictions, got {describe(target)}",
    )
    pairs = []
    for pred, item in zip(preds, target):
        if isinstance(item, (torch.Tensor, np.ndarray)) and item.ndim == 3:
            gts = list(item)
        elif isinstance(item, (list, tuple)):
            gts = list(item)
        else:
            gts = [item]
        pairs.append((_as_numpy(pred), [_as_numpy(g) for g in gts]))
    return pairs


class _SuperpixelMetric(Metric):
    """Mean over samples of the benchmark metrics in ``keys``; states are sums and a count
    (arguments: :class:`SuperpixelMetrics`)."""

    is_differentiable = False
    full_state_update = False
    keys: tuple[str, ...] = METRIC_NAMES

    def __init__(self, tolerance: int | None = None, ignore_index: int | None = None, **kwargs: Any) -> None:
        check(
            ignore_index is None or is_int(ignore_index),
            f"ignore_index must be an integer label or None; got {ignore_index!r}",
        )
        super().__init__(**kwargs)
        self.tolerance = tolerance
        self.ignore_index = None if ignore_index is None else int(ignore_index)
        for key in self.keys:
            self.add_state(f"sum_{key}", torch.tensor(0.0, dtype=torch.float64), dist_reduce_fx="sum")
        self.add_state("n_samples", torch.tensor(0, dtype=torch.int64), dist_reduce_fx="sum")

    def update(self, preds: Any, target: Any) -> None:
        """Add superpixel maps ``preds`` scored against ``target`` (see :func:`_split_batch`)."""
        for pred, gts in _split_batch(preds, target):
            sp = prepare(pred, self.tolerance, connected=True, name="preds", ignore=self.ignore_index)
            for gt in gts:
                gt_prep = prepare(gt, sp.tolerance, connected=False, name="target")
                scores = score_prepared(sp, gt_prep, self.keys)
                for key in self.keys:
                    state = getattr(self, f"sum_{key}")
                    setattr(self, f"sum_{key}", state + scores[key])
                self.n_samples += 1

    def _means(self) -> dict[str, torch.Tensor]:
        n = self.n_samples.clamp(min=1).to(torch.float64)
        return {key: getattr(self, f"sum_{key}") / n for key in self.keys}


class SuperpixelMetrics(_SuperpixelMetric):
    """All benchmark metrics at once: ``compute()`` returns ``{"br", "bp", "asa", "ue", "co",
    "n_superpixels"}``, each the mean over samples (float64 tensors).

    Args:
        tolerance: boundary tolerance in pixels; ``None``: the benchmark's rule per image.
        ignore_index: predicted label of pixels left out of every metric (e.g. −1 outside a
            mask); ``None``: every pixel counts.

    Example:
        >>> m = SuperpixelMetrics(tolerance=1)
        >>> gt = torch.zeros(8, 8, dtype=torch.long); gt[:, 4:] = 1
        >>> m.update(gt, gt)
        >>> float(m.compute()["br"])
        1.0
    """

    def compute(self) -> dict[str, torch.Tensor]:
        """Means over every sample seen (on all DDP ranks): ``{"br", "bp", "asa", "ue", "co", "n_superpixels"}``."""
        return self._means()


def _single_metric(key: str, doc: str) -> type[_SuperpixelMetric]:
    def compute(self: _SuperpixelMetric) -> torch.Tensor:
        return self._means()[key]

    name = doc.split(":")[0]
    compute.__doc__ = f"The mean ``{key}`` over every sample seen (on all DDP ranks), a float64 scalar."
    compute.__qualname__ = f"{name}.compute"
    higher = {"ue": False, "n_superpixels": None}.get(key, True)
    # __module__/__qualname__: type() under ABCMeta would otherwise report the module "abc"
    namespace = {"keys": (key,), "compute": compute, "higher_is_better": higher, "__doc__": doc}
    return type(name, (_SuperpixelMetric,), {**namespace, "__module__": __name__, "__qualname__": name})


BoundaryRecall = _single_metric("br", "BoundaryRecall: mean boundary recall over samples.")
BoundaryPrecision = _single_metric("bp", "BoundaryPrecision: mean boundary precision over samples.")
AchievableSegmentationAccuracy = _single_metric("asa", "AchievableSegmentationAccuracy: mean ASA over samples.")
UndersegmentationError = _single_metric(
    "ue", "UndersegmentationError: mean Neubert–Protzel undersegmentation error over samples."
)
Compactness = _single_metric("co", "Compactness: mean compactness over samples.")
NumberOfSuperpixels = _single_metric(
    "n_superpixels", "NumberOfSuperpixels: mean number of 4-connected superpixels over samples."
)

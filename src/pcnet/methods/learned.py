"""Learned methods: a reusable :class:`Segmenter` (image → labels for a loaded model) and the
``pcnet`` / ``scn`` / ``ssn`` methods of :func:`pcnet.superpixels`, one per registered model.

The options of a learned method are the :class:`Segmenter`'s fields plus ``checkpoint`` and
``device`` (:data:`LOAD_OPTIONS`): one schema, read by the API, ``predict`` and ``evaluate``.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import math
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import EllipsisType
from typing import Any

import cv2
import numpy as np
import torch

from pcnet._checks import check, check_fraction, check_int, check_n_segments, is_int
from pcnet.io import ImageLike, to_rgb_uint8
from pcnet.methods.tiling import AUTO_TILE, AUTO_TILE_INPUT, AUTO_TILE_OUTPUT, check_tile, tiled_cells
from pcnet.models import default_checkpoint, list_models, load_model
from pcnet.models.base import SuperpixelModel
from pcnet.ops import MIN_SIZE_FRACTION, enforce_connectivity, n_segments_for, refine_superpixels
from pcnet.ops.inside_mask import segment_in_mask

__all__ = ["LOAD_OPTIONS", "Segmenter", "learned_method", "load_segmenter", "segmenter_options"]

#: the network arithmetic a Segmenter offers (``precision``)
PRECISIONS = ("fp32", "bf16", "auto")


@functools.cache
def cpu_has_bf16() -> bool:
    """Whether this CPU has bf16 matrix instructions (AMX-BF16 or AVX-512-BF16; Linux flags)."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return " amx_bf16" in flags or " avx512_bf16" in flags


#: options of a learned method that choose the model file, not how it segments
LOAD_OPTIONS: dict[str, Any] = {"checkpoint": None, "device": "cpu"}


def _check_refine(refine: Any) -> None:
    check(isinstance(refine, bool), f"refine must be true or false; got {refine!r}")


@dataclass
class Segmenter:
    """A loaded model that segments many images without reloading weights.

    Args:
        model: a PCNet, SCN or SSN (see :func:`load_segmenter`).
        tile: side of an input tile for tiled inference (network-input pixels, a multiple of
            16), ``None`` for whole images, or ``"auto"`` (tiles of
            :data:`~pcnet.methods.tiling.AUTO_TILE` = 512 once the association map exceeds 16 MP
            or the network input 4 MP). Models that are not ``tileable`` (SSN) never are.
        halo: context added around each tile (input pixels, a multiple of 16).
        min_size_fraction: connectivity merges components below this fraction of the mean size
            (default :data:`pcnet.ops.MIN_SIZE_FRACTION`, SCN's 0.06: the learned methods' default).
        progress: show a progress bar over tiles.
        refine: move the boundaries onto the edges of the full-resolution image
            (:func:`~pcnet.ops.refine_labels`) before connectivity is enforced. On by default:
            it raises boundary recall and ASA for every learned method at every K we measured
            (BSDS500 and exact-label synthetic images, docs/refinement.md), most where the
            association comes from a smaller image (PCNet, or any K below the native grid).
            Fragments a refined label splits into join their neighbours, so K stays put.
        precision: the network's arithmetic on the CPU: ``"fp32"``, ``"bf16"`` (autocast; fast
            where the CPU has AMX or AVX-512-BF16, labels differ from fp32 at near-ties) or
            ``"auto"`` (the default: bf16 where the CPU has those instructions, fp32 elsewhere;
            on BSDS500 test bf16 moved BR by ≤ 0.0005 and ASA by ≤ 0.0001 at K 400–1200, with
            and without refinement, and BR/ASA by ≤ 0.0002 on exact-label 2048² images).
        refine_iter: boundary sweeps per refinement round; ``None``: the staircase height, i.e.
            the factor between the image and the network input (PCNet: 4 at its native grid).
        stages: not an option: ``stages(name)`` returns a context manager around each stage
            (``resize``, ``network``, ``hard labels``, ``upscale``, ``connectivity``, ``refine``);
            ``python -m pcnet.benchmark stages`` times them with it.
    """

    model: SuperpixelModel
    tile: int | str | None = "auto"
    halo: int = 64
    min_size_fraction: float = MIN_SIZE_FRACTION
    progress: bool = False
    refine: bool = True
    refine_iter: int | None = None
    precision: str = "auto"
    stages: Callable[[str], AbstractContextManager[Any]] | None = field(default=None, repr=False, compare=False)

    def _stage(self, name: str) -> AbstractContextManager[Any]:
        return self.stages(name) if self.stages is not None else contextlib.nullcontext()

    def __post_init__(self) -> None:
        check_tile(self.tile)
        _check_refine(self.refine)
        check(
            self.refine_iter is None or (is_int(self.refine_iter) and 1 <= self.refine_iter <= 64),
            f"refine_iter must be null (automatic) or an integer in 1..64; got {self.refine_iter!r}",
        )
        check(
            self.precision in PRECISIONS,
            f"precision must be one of {', '.join(PRECISIONS)}; got {self.precision!r}",
        )
        self.halo = check_int(self.halo, "halo (input pixels)", minimum=0, multiple_of=16)
        check_fraction(self.min_size_fraction, "min_size_fraction")

    def autocast(self) -> AbstractContextManager[Any]:
        """bf16 autocast around the network when ``precision`` asks for it (CPU only)."""
        on_cpu = next(self.model.parameters()).device.type == "cpu"
        bf16 = on_cpu and (self.precision == "bf16" or (self.precision == "auto" and cpu_has_bf16()))
        return torch.autocast("cpu", dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()

    @torch.no_grad()
    def cells(self, rgb: np.ndarray, n_segments: int | None, tile: int | str | None) -> tuple[np.ndarray, int]:
        """Hard cell ids (int32) at the working resolution, and the grid's cell size."""
        with self.autocast():
            return self._cells(rgb, n_segments, tile)

    def _cells(self, rgb: np.ndarray, n_segments: int | None, tile: int | str | None) -> tuple[np.ndarray, int]:
        model = self.model
        with self._stage("resize"):
            x, cell_size = model.prepare(rgb, n_segments)
        out_h, out_w = model.upscale * x.shape[-2], model.upscale * x.shape[-1]
        if tile == "auto":
            large = out_h * out_w > AUTO_TILE_OUTPUT or x.shape[-2] * x.shape[-1] > AUTO_TILE_INPUT
            tile = AUTO_TILE if large else None
        if tile is None or not model.tileable:
            with self._stage("network"):
                scores = model.inference_scores(x, cell_size)
            with self._stage("hard labels"):
                return model.cells_from_scores(scores, cell_size)[0].cpu().numpy(), cell_size
        cells = tiled_cells(
            model, x, cell_size, int(tile), self.halo, tuple(x.shape[-2:]), stage=self._stage, progress=self.progress
        )
        return cells, cell_size

    def labels_from_cells(self, rgb: np.ndarray, cells: np.ndarray, cell_size: int, refine: bool) -> np.ndarray:
        """Full-resolution labels from the hard cells of :meth:`cells`: upscaled, 4-connected
        (each predicted superpixel stays one region), then refined when ``refine``."""
        height, width = rgb.shape[:2]
        n_cells = n_segments_for(cell_size, *cells.shape)
        # how many full-resolution pixels one network-input pixel spans: the staircase height
        factor = self.model.upscale * height / cells.shape[0]
        if cells.shape != (height, width):
            with self._stage("upscale"):
                cells = cv2.resize(cells, (width, height), interpolation=cv2.INTER_NEAREST)
        with self._stage("connectivity"):
            labels = enforce_connectivity(cells, self.min_size_fraction, n_segments=n_cells, keep_largest=True)
        if not refine:
            return labels
        n_iter = self.refine_iter or max(2, math.ceil(factor))
        with self._stage("refine"):
            return refine_superpixels(rgb, labels, n_cells, self.min_size_fraction, n_iter=n_iter)

    def superpixels(
        self,
        image: ImageLike,
        n_segments: int | None = None,
        tile: int | str | None | EllipsisType = ...,
        refine: bool | EllipsisType = ...,
        mask: np.ndarray | None = None,
    ) -> np.ndarray:
        """``(H, W)`` int32 superpixels 0..K-1, 4-connected; ``tile`` (``None``: whole image) and
        ``refine`` override the segmenter's own when given. The model runs in evaluation mode (a
        model in training mode is put back in it afterwards).

        ``mask``: ``(H, W)`` boolean, ``True`` inside: superpixels only there, ``-1`` outside, and
        ``n_segments`` counts those inside, as in :func:`pcnet.superpixels` (the same labels). The
        network, refinement and connectivity run on the mask's bounding box at the density that
        puts ``n_segments`` inside; then the mask is applied and connectivity enforced inside it
        (:func:`pcnet.ops.inside_mask.segment_in_mask`), so refinement never moves a label across
        the mask border and no superpixel reaches outside. All ``True``: as no mask; all
        ``False``: all ``-1``."""
        refine = self.refine if refine is ... else refine
        tile = self.tile if tile is ... else tile
        _check_refine(refine)
        check_tile(tile)
        rgb = to_rgb_uint8(image)
        if mask is not None:
            if n_segments is not None:
                n_segments = check_n_segments(n_segments)
            return segment_in_mask(
                lambda box, n: self.superpixels(box, n, tile, refine), rgb, n_segments, mask, self.min_size_fraction
            )
        if n_segments is not None:
            n_segments = check_n_segments(n_segments, rgb.shape[0] * rgb.shape[1])
        was_training = self.model.training
        try:
            self.model.eval()
            cells, cell_size = self.cells(rgb, n_segments, tile)
        finally:
            self.model.train(was_training)
        return self.labels_from_cells(rgb, cells, cell_size, refine)


def segmenter_options() -> dict[str, Any]:
    """The :class:`Segmenter` fields a user sets per call, with their defaults."""
    return {f.name: f.default for f in fields(Segmenter) if f.name not in ("model", "progress", "stages")}


def load_segmenter(
    checkpoint: str | os.PathLike | None = None, method: str = "pcnet", device: str = "cpu", **options: Any
) -> Segmenter:
    """A :class:`Segmenter` from a model file (default: the one shipped for ``method``)."""
    return Segmenter(_load(method, None if checkpoint is None else str(checkpoint), device), **options)


def _load(method: str, checkpoint: str | None, device: str) -> SuperpixelModel:
    check(method in list_models(), f"unknown learned method {method!r}; valid: {list_models()}")
    if checkpoint is None:
        checkpoint = default_checkpoint(method)
        check(
            checkpoint is not None,
            f"no trained {method} checkpoint ships with this pcnet version: pass checkpoint=path/to/{method}.pt "
            f"(train one with `python -m pcnet.train experiment=...` and export it with `python -m pcnet.export`)",
        )
    return load_model(checkpoint, device, expect=method)


_cached_model = functools.lru_cache(maxsize=8)(_load)


def learned_method(name: str) -> Callable[..., np.ndarray]:
    """The :func:`pcnet.superpixels` method of model ``name``: weights loaded once per
    (checkpoint, device), options = :data:`LOAD_OPTIONS` + :func:`segmenter_options`."""
    defaults = {**LOAD_OPTIONS, **segmenter_options()}

    def method(rgb: np.ndarray, n_segments: int, **options: Any) -> np.ndarray:
        options = {**defaults, **options}
        checkpoint = options.pop("checkpoint")
        model = _cached_model(name, None if checkpoint is None else str(checkpoint), options.pop("device"))
        return Segmenter(model, **options).superpixels(rgb, n_segments)

    keyword = inspect.Parameter.KEYWORD_ONLY
    positional = inspect.Parameter.POSITIONAL_OR_KEYWORD
    method.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter("rgb", positional), inspect.Parameter("n_segments", positional)]
        + [inspect.Parameter(key, keyword, default=value) for key, value in defaults.items()]
    )
    method.__name__ = name
    method.__doc__ = (
        f"{name.upper()} superpixels (learned). ``checkpoint``: a model file or pcnet.train checkpoint "
        f"(default: the one shipped with pcnet); ``device``: e.g. 'cpu' or 'cuda'; the other options "
        "are those of :class:`pcnet.methods.learned.Segmenter` (``tile``, ``halo``, ``refine``, "
        "``refine_iter``, ``min_size_fraction``)."
    )
    return method

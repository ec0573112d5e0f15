"""Inference with trained models: model files, a reusable :class:`Segmenter`, tiled prediction.

A *model file* (``.pt``) holds what inference needs and nothing else::

    {"format": "pcnet-model/1", "model": "pcnet", "config": {...constructor kwargs...},
     "state_dict": {...fp16 or fp32 tensors...}, "meta": {...training command, metrics...}}

Lightning checkpoints written by ``python -m pcnet.train`` load too (the module stores the
network's name and config in them).

Tiled inference runs the network on overlapping tiles of the (low-resolution) input and keeps
only each tile's core, so peak memory is bounded by the tile size whatever the image size, and
cell ids are global: the label map is the same as the untiled one except where the halo is too
small for the network's receptive field (see ``tests/test_inference.py``).
"""

from __future__ import annotations

import functools
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import EllipsisType
from typing import Any

import cv2
import numpy as np
import torch
from tqdm.auto import tqdm

from pcnet._checks import (
    InputError,
    check,
    check_fraction,
    check_int,
    check_n_segments,
    is_int,
)
from pcnet.io import ImageLike, atomic_path, to_rgb_uint8
from pcnet.models import build, list_models
from pcnet.models.base import SuperpixelModel, resize_image
from pcnet.ops import enforce_connectivity, hard_labels, n_segments_for, refine_superpixels

__all__ = ["FORMAT", "LEARNED_METHODS", "Segmenter", "load_model", "load_segmenter", "save_model", "tiles"]

FORMAT = "pcnet-model/1"
#: ``tile="auto"`` tiles when the association map exceeds this many pixels (its logits take 36 B/px)
AUTO_TILE_OUTPUT = 16_000_000
#: ... or when the network input does (activations at input resolution dominate SCN's memory)
AUTO_TILE_INPUT = 4_000_000


def save_model(
    path: str | os.PathLike, model: SuperpixelModel, meta: Mapping[str, Any] | None = None, half: bool = True
) -> Path:
    """Write a model file (fp16 weights by default: half the size, same superpixels)."""
    check(
        hasattr(model, "build_config"), "save_model needs a model built with pcnet.models.build (it records the config)"
    )
    state = {k: (v.half() if half and v.is_floating_point() else v).cpu() for k, v in model.state_dict().items()}
    payload = {
        "format": FORMAT,
        "model": model.model_name,
        "config": dict(model.build_config),
        "state_dict": state,
        "meta": dict(meta or {}),
    }
    path = Path(path)
    with atomic_path(path) as tmp:
        torch.save(payload, tmp)
    return path


def load_model(
    path: str | os.PathLike, device: str | torch.device = "cpu", expect: str | None = None
) -> SuperpixelModel:
    """Load a model file or a ``pcnet.train`` Lightning checkpoint, in evaluation mode.

    A model name (``"scn"``) that is not a file names the model file shipped for it.

    Raises:
        FileNotFoundError: no such file.
        ValueError: not a pcnet model/checkpoint, corrupt, or of another model kind than ``expect``.
    """
    path = Path(path)
    shipped = default_checkpoint(str(path)) if not path.is_file() and str(path) in list_models() else None
    path = shipped or path
    if not path.is_file():
        raise FileNotFoundError(f"no such checkpoint: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # noqa: BLE001 - torch raises many types for a bad file
        raise InputError(
            f"cannot read checkpoint {path}: not a PyTorch file or corrupt ({type(err).__name__})"
        ) from None
    if isinstance(payload, dict) and payload.get("format") == FORMAT:
        name, config, state = payload["model"], payload["config"], payload["state_dict"]
    elif isinstance(payload, dict) and "pcnet_model" in payload:  # a Lightning checkpoint of SuperpixelModule
        name, config = payload["pcnet_model"]["name"], payload["pcnet_model"]["config"]
        state = {k[len("net.") :]: v for k, v in payload["state_dict"].items() if k.startswith("net.")}
    else:
        raise InputError(f"{path} is not a pcnet model file or pcnet.train checkpoint (expected format {FORMAT!r})")
    check(name in list_models(), f"{path} holds an unknown model {name!r}; valid models: {list_models()}")
    check(
        expect is None or name == expect,
        f"{path} holds a {name!r} model, not {expect!r}: pass method={name!r} or a {expect} checkpoint",
    )
    model = build(name, **config)
    try:
        model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    except RuntimeError as err:
        raise InputError(
            f"checkpoint {path} does not match a {name!r} model with config {config}: {str(err).splitlines()[0]}"
        ) from None
    return model.to(device).eval()


def tiles(length: int, tile: int, halo: int, align: int) -> Iterator[tuple[int, int, int, int]]:
    """Cut ``[0, length)`` into cores of ``tile`` with ``halo`` context on both sides.

    Yields ``(start, stop, core_start, core_stop)``: the crop to run and, inside the image, the
    core it is responsible for. Starts are multiples of ``align`` (the network's stride), so every
    tile sees the same convolution grid as the whole image.

    Example:
        >>> list(tiles(100, 48, 16, 16))
        [(0, 64, 0, 48), (32, 100, 48, 96), (80, 100, 96, 100)]
    """
    check(tile % align == 0 and halo % align == 0, f"tile {tile} and halo {halo} must be multiples of {align}")
    for core in range(0, length, tile):
        yield max(core - halo, 0), min(core + tile + halo, length), core, min(core + tile, length)


def _check_tile(tile: Any) -> None:
    check(
        tile is None or tile == "auto" or (is_int(tile) and tile >= 16 and tile % 16 == 0),
        f"tile must be null (whole image), 'auto' or a positive multiple of 16 (input pixels); got {tile!r}",
    )


def _check_refine(refine: Any) -> None:
    check(isinstance(refine, bool), f"refine must be true or false; got {refine!r}")


@dataclass
class Segmenter:
    """A loaded model that segments many images without reloading weights.

    Args:
        model: a PCNet, SCN or SSN (see :func:`load_segmenter`).
        tile: side of an input tile for tiled inference (network-input pixels, a multiple of
            16), ``None`` for whole images, or ``"auto"`` (256-px tiles once the association map
            exceeds 16 MP or the network input 4 MP). SSN is never tiled.
        halo: context added around each tile (input pixels, a multiple of 16).
        min_size_fraction: connectivity merges components below this fraction of the mean size.
        progress: show a progress bar over tiles.
        refine: move the boundaries onto the edges of the full-resolution image
            (:func:`~pcnet.ops.refine_labels`) before connectivity is enforced. On by default:
            it raises boundary recall and ASA for every learned method at every K we measured
            (BSDS500 and exact-label synthetic images, README "Refinement"), most where the
            association comes from a smaller image (PCNet, or any K below the native grid).
            Fragments a refined label splits into join their neighbours, so K stays put.
        refine_iter: boundary sweeps per refinement round; ``None``: the staircase height, i.e.
            the factor between the image and the network input (PCNet: 4 at its native grid).
    """

    model: SuperpixelModel
    tile: int | str | None = "auto"
    halo: int = 64
    min_size_fraction: float = 0.06
    progress: bool = False
    refine: bool = True
    refine_iter: int | None = None

    def __post_init__(self) -> None:
        _check_tile(self.tile)
        _check_refine(self.refine)
        check(
            self.refine_iter is None or (is_int(self.refine_iter) and 1 <= self.refine_iter <= 64),
            f"refine_iter must be null (automatic) or an integer in 1..64; got {self.refine_iter!r}",
        )
        self.halo = check_int(self.halo, "halo (input pixels)", minimum=0, multiple_of=16)
        check_fraction(self.min_size_fraction, "min_size_fraction")

    def _logits_tiled(self, x: torch.Tensor, tile: int, upscale: int) -> Iterator[tuple[torch.Tensor, int, int]]:
        height, width = x.shape[-2:]
        stride = self.model.backbone.stride
        boxes = [(r, c) for r in tiles(height, tile, self.halo, stride) for c in tiles(width, tile, self.halo, stride)]
        for (y0, y1, cy0, cy1), (x0, x1, cx0, cx1) in tqdm(boxes, desc="tiles", disable=not self.progress, leave=False):
            logits = self.model.association_logits(x[..., y0:y1, x0:x1])
            u = upscale
            core = logits[..., u * (cy0 - y0) : u * (cy1 - y0), u * (cx0 - x0) : u * (cx1 - x0)]
            yield core, u * cy0, u * cx0

    @torch.no_grad()
    def cells(self, rgb: np.ndarray, n_segments: int | None, tile: int | str | None) -> tuple[np.ndarray, int]:
        """Hard cell ids (int32) at the working resolution, and the grid's cell size."""
        model = self.model
        upscale = getattr(model, "upscale", 1)
        if model.model_name == "ssn":
            assoc, cell_size = model.association(rgb, n_segments)
            return hard_labels(assoc, cell_size)[0].cpu().numpy().astype(np.int32), cell_size
        out_h, out_w = model.working_size(*rgb.shape[:2], n_segments)
        x = model.to_input(resize_image(rgb, out_h // upscale, out_w // upscale))
        out_h, out_w = upscale * x.shape[-2], upscale * x.shape[-1]
        if tile == "auto":
            large = out_h * out_w > AUTO_TILE_OUTPUT or x.shape[-2] * x.shape[-1] > AUTO_TILE_INPUT
            tile = 256 if large else None
        if tile is None:
            return hard_labels(model.association_logits(x), model.cell_size)[0].cpu().numpy().astype(
                np.int32
            ), model.cell_size
        cells = np.empty((out_h, out_w), dtype=np.int32)
        for core, top, left in self._logits_tiled(x, int(tile), upscale):
            ids = hard_labels(core, model.cell_size, origin=(top, left), image_size=(out_h, out_w))[0]
            cells[top : top + ids.shape[0], left : left + ids.shape[1]] = ids.cpu().numpy()
        return cells, model.cell_size

    def superpixels(
        self,
        image: ImageLike,
        n_segments: int | None = None,
        tile: int | str | None | EllipsisType = ...,
        refine: bool | EllipsisType = ...,
    ) -> np.ndarray:
        """``(H, W)`` int32 superpixels 0..K-1, 4-connected; ``tile`` (``None``: whole image) and
        ``refine`` override the segmenter's own when given. The model runs in evaluation mode (a
        model in training mode is put back in it afterwards)."""
        refine = self.refine if refine is ... else refine
        _check_refine(refine)
        was_training = self.model.training
        try:
            return self._superpixels(image, n_segments, tile, refine)
        finally:
            self.model.train(was_training)

    def _superpixels(self, image: ImageLike, n_segments: int | None, tile: Any, refine: bool) -> np.ndarray:
        self.model.eval()
        rgb = to_rgb_uint8(image)
        height, width = rgb.shape[:2]
        if n_segments is not None:
            n_segments = check_n_segments(n_segments, height * width)
        tile = self.tile if tile is ... else tile
        _check_tile(tile)
        cells, cell_size = self.cells(rgb, n_segments, tile)
        n_cells = n_segments_for(cell_size, *cells.shape)
        # how many full-resolution pixels one network-input pixel spans: the staircase height
        factor = getattr(self.model, "upscale", 1) * height / cells.shape[0]
        if cells.shape != (height, width):
            cells = cv2.resize(cells, (width, height), interpolation=cv2.INTER_NEAREST)
        # every predicted superpixel stays one region: pieces a label splits into join a neighbour
        labels = enforce_connectivity(cells, self.min_size_fraction, n_segments=n_cells, keep_largest=True)
        if not refine:
            return labels
        n_iter = self.refine_iter or max(2, math.ceil(factor))
        return refine_superpixels(rgb, labels, n_cells, self.min_size_fraction, n_iter=n_iter)


def default_checkpoint(method: str) -> Path | None:
    """The model file shipped with the package for ``method``, if any."""
    path = Path(__file__).parent / "weights" / f"{method}.pt"
    return path if path.is_file() else None


def load_segmenter(
    checkpoint: str | os.PathLike | None = None, method: str = "pcnet", device: str = "cpu", **options: Any
) -> Segmenter:
    """A :class:`Segmenter` from a model file (default: the one shipped for ``method``)."""
    check(method in list_models(), f"unknown learned method {method!r}; valid: {list_models()}")
    if checkpoint is None:
        checkpoint = default_checkpoint(method)
        check(
            checkpoint is not None,
            f"no trained {method} checkpoint ships with this pcnet version: pass checkpoint=path/to/{method}.pt "
            f"(train one with `python -m pcnet.train experiment=...` and export it with `python -m pcnet.export`)",
        )
    return Segmenter(load_model(checkpoint, device, expect=method), **options)


@functools.lru_cache(maxsize=8)
def _cached_segmenter(method: str, checkpoint: str | None, device: str) -> Segmenter:
    return load_segmenter(checkpoint, method, device)


def _learned_method(name: str) -> Any:
    def method(
        rgb: np.ndarray,
        n_segments: int,
        *,
        checkpoint: str | os.PathLike | None = None,
        device: str = "cpu",
        tile: int | str | None = "auto",
        refine: bool = True,
    ) -> np.ndarray:
        segmenter = _cached_segmenter(name, None if checkpoint is None else str(checkpoint), device)
        return segmenter.superpixels(rgb, n_segments, tile=tile, refine=refine)

    method.__name__ = name
    method.__doc__ = (
        f"{name.upper()} superpixels (learned). ``checkpoint``: a model file or pcnet.train checkpoint "
        f"(default: the one shipped with pcnet); ``device``: e.g. 'cpu' or 'cuda'; ``tile``: input "
        "tile side for bounded-memory inference, None, or 'auto'; ``refine``: move the boundaries onto "
        "the edges of the full-resolution image (default on; False: the network's boundaries as they are)."
    )
    method.connected = True  # already 4-connected and numbered 0..K-1
    return method


LEARNED_METHODS = {name: _learned_method(name) for name in ("pcnet", "scn", "ssn")}

"""One door to every superpixel method: ``superpixels(image, n_segments, method=...)``.

Classical methods (:mod:`pcnet.baselines`) are registered on import; learned methods (``pcnet``,
``scn``, ``ssn``) plug in through :func:`register_method` with the same signature,
``fn(rgb_uint8 (H, W, 3), n_segments, **options) -> (H, W) int labels``, and options as
keyword-only arguments with defaults (they are what :func:`superpixels` accepts and checks).
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Mapping

import numpy as np

from pcnet._checks import (
    check,
    check_finite,
    check_fraction,
    check_n_segments,
    describe,
)
from pcnet.baselines.classical import CLASSICAL_METHODS, Method
from pcnet.inference import LEARNED_METHODS
from pcnet.io import ImageLike, to_rgb_uint8
from pcnet.ops.connectivity import enforce_connectivity

__all__ = ["available_methods", "check_options", "method_options", "register_method", "superpixels"]

_METHODS: dict[str, Method] = dict(CLASSICAL_METHODS)
_METHODS.update(LEARNED_METHODS)


def register_method(name: str, *, overwrite: bool = False) -> Callable[[Method], Method]:
    """Decorator that makes ``fn`` available as ``superpixels(..., method=name)``.

    Example:
        >>> @register_method("halves")
        ... def halves(image, n_segments):
        ...     return np.arange(image.shape[1])[None, :].repeat(image.shape[0], 0) * 2 // image.shape[1]
        >>> superpixels(np.zeros((2, 4)), 2, method="halves")
        array([[0, 0, 1, 1],
               [0, 0, 1, 1]], dtype=int32)
        >>> _ = _METHODS.pop("halves")
    """
    check(isinstance(name, str) and name != "", f"method name must be a non-empty string; got {name!r}")

    def deco(fn: Method) -> Method:
        check(
            overwrite or name not in _METHODS,
            f"superpixel method {name!r} is already registered; pass overwrite=True to replace it",
        )
        _METHODS[name] = fn
        return fn

    return deco


def available_methods() -> list[str]:
    """Names accepted by ``superpixels(..., method=...)``, sorted."""
    return sorted(_METHODS)


def _lookup(method: str) -> Method:
    check(
        isinstance(method, str) and method in _METHODS,
        f"unknown superpixel method {method!r}; available: {', '.join(available_methods())}",
    )
    return _METHODS[method]


def method_options(method: str) -> dict[str, object]:
    """The options ``method`` accepts, with their defaults (a method taking ``**kwargs`` checks its own).

    Example:
        >>> method_options("slic")
        {'compactness': 10.0, 'max_num_iter': 10, 'sigma': 0.0}
    """
    params = list(inspect.signature(_lookup(method)).parameters.values())[2:]
    return {p.name: p.default for p in params if p.kind is not p.VAR_KEYWORD}


def check_options(method: str, options: Mapping[str, object]) -> None:
    """Raise ``ValueError`` naming the valid options if ``options`` holds one ``method`` does not take."""
    takes_any = any(p.kind is p.VAR_KEYWORD for p in inspect.signature(_lookup(method)).parameters.values())
    valid = method_options(method)
    unknown = [] if takes_any else sorted(set(options) - set(valid))
    check(
        not unknown,
        f"unknown option(s) {unknown} for method {method!r}; valid options: "
        + (", ".join(f"{k}={v!r}" for k, v in valid.items()) or "none"),
    )


def superpixels(
    image: ImageLike,
    n_segments: int = 600,
    method: str = "slic",
    *,
    min_size_fraction: float = 0.0,
    **options: object,
) -> np.ndarray:
    """Superpixels of one image: ``(H, W)`` int32 labels ``0..K-1``, each a 4-connected region.

    Args:
        image: ``(H, W)``, ``(H, W, 1|2|3|4)`` array (uint8, uint16, bool, or float in [0, 1]; gray,
            gray+alpha, RGB, RGBA) or a path to an image file; see :func:`pcnet.io.to_rgb_uint8`.
        n_segments: requested number of superpixels, ``1 <= n_segments <= H·W``. The number K
            actually produced differs; measure it as ``labels.max() + 1``.
        method: a name from :func:`available_methods` (classical: ``slic`` (skimage, compactness
            10), ``slico``, ``slic_cv``, ``lsc``, ``seeds``, ``felzenszwalb``, ``watershed``, ``grid``;
            learned: ``pcnet``, ``scn``, ``ssn`` with options ``checkpoint``, ``device``, ``tile``).
        min_size_fraction: after the method, every label is split into its 4-connected components
            and components smaller than this fraction of ``H·W / n_segments`` are merged into a
            neighbour (SCN uses 0.06); ``0`` only splits and renumbers.
        **options: method options (:func:`method_options` lists them with their defaults).

    Raises:
        ValueError: unknown method or option, bad ``n_segments``, empty or non-finite image.

    Example:
        >>> image = np.zeros((40, 60, 3), np.uint8)
        >>> image[:, 30:] = (0, 0, 255)                        # left black, right blue
        >>> labels = superpixels(image, n_segments=12)
        >>> labels.shape, labels.dtype, int(labels.min())
        ((40, 60), dtype('int32'), 0)
        >>> bool((labels[:, 29] != labels[:, 30]).all())      # the edge is a superpixel boundary
        True
    """
    fn = _lookup(method)
    check_options(method, options)
    check_n_segments(n_segments)
    check_fraction(min_size_fraction, "min_size_fraction")
    if isinstance(image, np.ndarray):
        check(image.size > 0, f"image is empty ({describe(image)}); superpixels need at least one pixel")
        check_finite(image, "image")
    elif not isinstance(image, (str, os.PathLike)) and not hasattr(image, "detach"):
        check(False, f"image must be a NumPy array or a file path; got {describe(image)}")
    rgb = to_rgb_uint8(image)
    height, width = rgb.shape[:2]
    check(
        n_segments <= height * width,
        f"n_segments={n_segments} exceeds the number of pixels of the {height}×{width} image ({height * width})",
    )
    labels = np.asarray(fn(rgb, int(n_segments), **options))
    check(
        labels.shape == (height, width),
        f"method {method!r} returned labels of {describe(labels)}; expected shape ({height}, {width})",
    )
    if getattr(fn, "connected", False) and min_size_fraction == 0:
        return labels  # learned methods already enforce connectivity (SCN's 0.06 merge)
    return enforce_connectivity(labels, min_size_fraction, n_segments=int(n_segments))

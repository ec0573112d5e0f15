"""One door to every superpixel method: ``superpixels(image, n_segments, method=...)``.

Every method has the signature ``fn(rgb_uint8 (H, W, 3), n_segments, **options) -> (H, W) int
labels``, with its options as keyword-only arguments with defaults: they are its one option schema
(:func:`method_options`), which :func:`superpixels`, ``predict`` and ``evaluate`` check. The
classical methods (:mod:`pcnet.methods.classical`) and one learned method per registered model
(:mod:`pcnet.methods.learned`) are registered on import; plugins use :func:`register_method`.

Connectivity has one owner per method, and ``min_size_fraction`` one default per method, in its
option schema: a method registered ``connected=True`` (the learned ones) returns 4-connected labels
numbered 0..K-1 and takes ``min_size_fraction`` itself (the learned default:
:data:`pcnet.ops.MIN_SIZE_FRACTION`, SCN's 0.06); for the others :func:`superpixels` enforces it,
by default only splitting labels into their 4-connected pieces (:data:`SPLIT_ONLY`: the classical
methods apply their own size rules, which their K calibration relies on).
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
from pcnet.io import ImageLike, to_rgb_uint8
from pcnet.methods.classical import CLASSICAL_METHODS, Method
from pcnet.ops.connectivity import enforce_connectivity
from pcnet.ops.inside_mask import segment_in_mask

__all__ = [
    "available_methods",
    "check_options",
    "is_connected",
    "method_options",
    "register_method",
    "superpixels",
]

#: ``min_size_fraction`` default of the methods :func:`superpixels` makes connected: split and renumber only
SPLIT_ONLY = 0.0
_METHODS: dict[str, Method] = dict(CLASSICAL_METHODS)
_CONNECTED: set[str] = set()


def register_method(name: str, *, overwrite: bool = False, connected: bool = False) -> Callable[[Method], Method]:
    """Decorator that makes ``fn`` available as ``superpixels(..., method=name)``.

    ``connected=True``: ``fn`` returns 4-connected labels 0..K-1 and takes ``min_size_fraction``
    as an option (it owns connectivity); otherwise :func:`superpixels` enforces it.

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
        (_CONNECTED.add if connected else _CONNECTED.discard)(name)
        return fn

    return deco


def is_connected(method: str) -> bool:
    """Whether ``method`` makes its labels 4-connected itself (``register_method(connected=True)``)."""
    _lookup(method)
    return method in _CONNECTED


def _add_learned() -> None:
    """One learned method per registered model, including models registered after this import
    (a plugin's ``@register_model`` is all it takes)."""
    from pcnet.methods.learned import learned_method  # PyTorch loads here, not for the classical methods
    from pcnet.models import list_models

    for name in list_models():
        if name not in _METHODS:
            register_method(name, connected=True)(learned_method(name))


def available_methods() -> list[str]:
    """Names accepted by ``superpixels(..., method=...)``, sorted."""
    _add_learned()
    return sorted(_METHODS)


def _lookup(method: str) -> Method:
    if not isinstance(method, str) or method not in _METHODS:
        _add_learned()
        check(
            isinstance(method, str) and method in _METHODS,
            f"unknown superpixel method {method!r}; available: {', '.join(available_methods())}",
        )
    return _METHODS[method]


def method_options(method: str) -> dict[str, object]:
    """The options ``method`` accepts, with their defaults (a method taking ``**kwargs`` checks its own):
    its keyword-only arguments and ``min_size_fraction``.

    Example:
        >>> method_options("slic")
        {'compactness': 10.0, 'max_num_iter': 10, 'sigma': 0.0, 'min_size_fraction': 0.0}
        >>> method_options("pcnet")["min_size_fraction"]
        0.06
    """
    params = list(inspect.signature(_lookup(method)).parameters.values())[2:]
    options = {p.name: p.default for p in params if p.kind is not p.VAR_KEYWORD}
    return options if "min_size_fraction" in options else {**options, "min_size_fraction": SPLIT_ONLY}


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
    method: str = "pcnet",
    *,
    min_size_fraction: float | None = None,
    mask: np.ndarray | None = None,
    exact: bool = False,
    **options: object,
) -> np.ndarray:
    """Superpixels of one image: ``(H, W)`` int32 labels ``0..K-1``, each a 4-connected region.

    Args:
        image: ``(H, W)``, ``(H, W, 1|2|3|4)`` array (uint8, uint16, bool, or float in [0, 1]; gray,
            gray+alpha, RGB, RGBA) or a path to an image file; see :func:`pcnet.io.to_rgb_uint8`.
        n_segments: requested number of superpixels, ``1 <= n_segments <= H·W``. The number K
            actually produced differs; measure it as ``labels.max() + 1``.
        method: a name from :func:`available_methods`; default ``pcnet``, the package's own method
            with its shipped weights (classical: ``slic`` (skimage, compactness
            10), ``slico``, ``slic_cv``, ``lsc``, ``seeds``, ``felzenszwalb``, ``watershed``, ``grid``;
            learned: ``pcnet``, ``scn``, ``ssn`` with options ``checkpoint``, ``device``, ``tile``).
        min_size_fraction: every label is split into its 4-connected components and components
            smaller than this fraction of ``H·W / n_segments`` are merged into a neighbour; ``0`` only
            splits and renumbers. ``None``: the method's default (``method_options(method)``: 0.06
            for the learned methods, SCN's; 0 for the classical ones, which apply their own rules).
        mask: ``(H, W)`` boolean (or 0/1) array, ``True`` where superpixels are wanted, as
            skimage's ``mask=``; every method takes it. Outside the mask the label is ``-1``;
            inside, superpixels are numbered ``0..K-1``, each one 4-connected region inside the
            mask, and ``n_segments`` counts superpixels inside the mask. The method runs on the
            mask's bounding box asked for ``n_segments`` scaled by the inverse of the mask's share
            of that box (the same density), then :func:`pcnet.ops.enforce_connectivity` with the
            mask cuts the labels at the mask border: pieces cut off (and superpixels lying mostly
            outside) join an inside neighbour, never the outside. Why ``-1`` and not skimage's
            ``0`` outside with ``start_label=1``: the superpixels keep ``0..K-1``, so label maps
            index arrays directly, ``labels.max() + 1`` is still K, and the background can never
            be mistaken for a superpixel. An all-``True`` mask gives exactly the labels of no mask;
            an all-``False`` mask gives all ``-1`` (K = 0; not an error, so a batch with an
            empty mask goes on).
        exact: exactly ``n_segments`` superpixels (inside the mask, with one), every method: the
            method's labels, then adjacent superpixels merged by colour (Ward) or the largest
            split across their major axis until K is the request (:func:`pcnet.ops.exact_k.exact_k`).
        **options: method options (:func:`method_options` lists them with their defaults).

    Raises:
        ValueError: unknown method or option, bad ``n_segments`` (more than the pixels inside the
            mask), empty or non-finite image, mask of another size or not boolean/0-1.

    Example:
        >>> image = np.zeros((40, 60, 3), np.uint8)
        >>> image[:, 30:] = (0, 0, 255)                        # left black, right blue
        >>> labels = superpixels(image, n_segments=16)
        >>> labels.shape, labels.dtype, int(labels.min())
        ((40, 60), dtype('int32'), 0)
        >>> bool((labels[:, 29] != labels[:, 30]).all())      # the edge is a superpixel boundary
        True
        >>> inside = np.zeros((40, 60), bool); inside[5:35, 10:50] = True
        >>> masked = superpixels(image, n_segments=6, mask=inside)
        >>> bool((masked[~inside] == -1).all()), bool((masked[inside] >= 0).all())
        (True, True)
    """
    fn = _lookup(method)
    check_options(method, options)
    if min_size_fraction is None:
        min_size_fraction = method_options(method)["min_size_fraction"]
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
    if is_connected(method):
        options["min_size_fraction"] = min_size_fraction

    def segment(rgb: np.ndarray, n_segments: int) -> np.ndarray:
        labels = np.asarray(fn(rgb, int(n_segments), **options))
        check(
            labels.shape == rgb.shape[:2],
            f"method {method!r} returned labels of {describe(labels)}; expected shape {rgb.shape[:2]}",
        )
        if is_connected(method):
            return labels
        return enforce_connectivity(labels, min_size_fraction, n_segments=int(n_segments))

    check(isinstance(exact, bool), f"exact must be true or false; got {exact!r}")
    labels = (
        segment(rgb, n_segments)
        if mask is None
        else segment_in_mask(segment, rgb, int(n_segments), mask, min_size_fraction)
    )
    if exact and int(labels.max()) + 1 != n_segments and (labels >= 0).any():
        from pcnet.ops.exact_k import exact_k

        labels = exact_k(labels, int(n_segments), rgb)
    return labels

"""Classical superpixel methods behind one signature: ``(rgb_uint8, n_segments, **options) -> labels``.

Each takes an ``(H, W, 3)`` uint8 RGB image and the requested count and returns ``(H, W)`` integer
labels; :func:`pcnet.superpixels` relabels them 0..K-1 and makes them 4-connected. Options are
keyword-only with documented defaults; :data:`CLASSICAL_METHODS` maps names to functions.

OpenCV quirks handled here (opencv-contrib 4.12):

* SLIC/SLICO and LSC crash (segfault / SIGFPE) when their seed grid is empty, e.g. on images
  thinner than about half a region; SEEDS crashes or hangs when its block pyramid collapses to one
  level (opencv_contrib #2023): small images, dense requests. Their seed arithmetic is replayed in
  Python first and where it would fail the method degrades to :func:`grid_labels`.
* LSC's k-means writes shared buffers from parallel threads, so its result varies from run to run
  unless OpenCV runs single-threaded: it runs under :func:`_single_threaded`, which restores the
  caller's ``cv2.setNumThreads`` afterwards. SLICO and SEEDS give the same result at any thread
  count (tested). No method uses random numbers.
"""

from __future__ import annotations

import contextlib
import math
import threading
from collections.abc import Callable, Iterator
from typing import Any

import cv2
import numpy as np
from skimage.filters import sobel
from skimage.segmentation import felzenszwalb as _felzenszwalb
from skimage.segmentation import slic as _slic
from skimage.segmentation import watershed as _watershed

from pcnet._checks import check
from pcnet.ops.connectivity import enforce_connectivity

__all__ = [
    "CLASSICAL_METHODS",
    "OPENCV_FIX",
    "felzenszwalb",
    "grid_labels",
    "lsc",
    "require_ximgproc",
    "seeds",
    "seeds_grid",
    "slic",
    "slic_cv",
    "slico",
    "watershed",
]

#: A method: ``(rgb_uint8 (H, W, 3), n_segments, **options) -> (H, W) int labels``.
Method = Callable[..., np.ndarray]
CLASSICAL_METHODS: dict[str, Method] = {}

#: The command that restores ``cv2.ximgproc`` (both OpenCV wheels ship the same ``cv2`` package).
OPENCV_FIX = "pip install --force-reinstall --no-deps opencv-contrib-python-headless==4.12.0.88"
_THREADS_LOCK = threading.Lock()


def require_ximgproc() -> Any:
    """Return ``cv2.ximgproc``, or raise ``ImportError`` naming the cause and the fix."""
    if not hasattr(cv2, "ximgproc"):
        raise ImportError(
            f"cv2.ximgproc is missing: the OpenCV at {cv2.__file__} ({cv2.__version__}) is the plain "
            "opencv-python-headless build, installed over opencv-contrib-python-headless (both ship "
            f"the `cv2` package, the last one installed wins). Fix: `{OPENCV_FIX}` (or `make install`)."
        )
    return cv2.ximgproc


def _register(name: str) -> Callable[[Method], Method]:
    def deco(fn: Method) -> Method:
        CLASSICAL_METHODS[name] = fn
        return fn

    return deco


@contextlib.contextmanager
def _single_threaded() -> Iterator[None]:
    """Run OpenCV on one thread inside the block, then restore the caller's thread count."""
    with _THREADS_LOCK:
        previous = cv2.getNumThreads()
        cv2.setNumThreads(1)
        try:
            yield
        finally:
            cv2.setNumThreads(previous)


@_register("grid")
def grid_labels(image_or_shape: np.ndarray | tuple[int, int], n_segments: int) -> np.ndarray:
    """A regular grid of ``rows × cols ≈ n_segments`` cells shaped like the image.

    ``rows = round(sqrt(n·H/W))`` and ``cols = round(n/rows)``, each clipped to ``1..H`` / ``1..W``.
    The fallback of the OpenCV methods where they would crash, and a trivial baseline.

    Example:
        >>> grid_labels((2, 6), 3)
        array([[0, 0, 1, 1, 2, 2],
               [0, 0, 1, 1, 2, 2]], dtype=int32)
    """
    height, width = np.shape(image_or_shape)[:2] if isinstance(image_or_shape, np.ndarray) else image_or_shape
    rows = min(height, max(1, round(math.sqrt(n_segments * height / width))))
    cols = min(width, max(1, round(n_segments / rows)))
    row = (np.arange(height) * rows // height).astype(np.int32)
    col = (np.arange(width) * cols // width).astype(np.int32)
    return row[:, None] * cols + col[None, :]


@_register("slic")
def slic(
    image: np.ndarray, n_segments: int, *, compactness: float = 10.0, max_num_iter: int = 10, sigma: float = 0.0
) -> np.ndarray:
    """skimage SLIC in CIELAB (``compactness=10``, skimage's own connectivity enforcement on)."""
    options = {"compactness": compactness, "max_num_iter": max_num_iter, "sigma": sigma}
    return _slic(image, n_segments, start_label=0, channel_axis=-1, enforce_connectivity=True, **options)


def _slic_seeds_ok(height: int, width: int, region: int) -> bool:
    """OpenCV SLIC places its first seed at ``region // 2``; outside the image it crashes."""
    return region // 2 < min(height, width)


def _lsc_seeds_ok(height: int, width: int, region: int) -> bool:
    """Replay LSC's seed grid (``GetChSeeds``); an empty row/column divides by zero there."""
    n_labels = int(width * height / region**2)
    cols = int(math.sqrt(n_labels * (width / height)))
    rows = n_labels // cols if cols else 0
    return rows >= 1 and cols >= 1 and width // cols >= 2 and height // rows >= 2


def _opencv_clustering(
    image: np.ndarray, n_segments: int, algorithm: str, iterations: int, min_element_size: int, **params: float
) -> np.ndarray:
    """OpenCV ``SLIC``/``SLICO``/``LSC`` on CIELAB with ``region_size = round(sqrt(H·W/n))``.

    OpenCV's connectivity pass is repeated with 4-connectivity: LSC's own pass joins diagonal
    neighbours and leaves ~1000 pixel-sized 4-connected fragments on a BSDS500 image.
    """
    xi = require_ximgproc()
    check(0 <= min_element_size < 100, f"min_element_size is a percentage in [0, 100); got {min_element_size}")
    height, width = image.shape[:2]
    region = max(1, round(math.sqrt(height * width / n_segments)))
    is_lsc = algorithm == "LSC"
    if not (_lsc_seeds_ok if is_lsc else _slic_seeds_ok)(height, width, region):
        return grid_labels(image, n_segments)
    lab = cv2.cvtColor(image, cv2.COLOR_RGB2LAB)
    with _single_threaded() if is_lsc else contextlib.nullcontext():
        if is_lsc:
            sp = xi.createSuperpixelLSC(lab, region_size=region, **params)
        else:
            sp = xi.createSuperpixelSLIC(lab, algorithm=getattr(xi, algorithm), region_size=region, **params)
        sp.iterate(int(iterations))
        sp.enforceLabelConnectivity(int(min_element_size))
        labels = sp.getLabels()
    return enforce_connectivity(labels, min_element_size / 100)  # of the mean size of OpenCV's labels


@_register("slico")
def slico(image: np.ndarray, n_segments: int, *, num_iterations: int = 10, min_element_size: int = 25) -> np.ndarray:
    """OpenCV SLICO (SLIC with adaptive compactness) in CIELAB.

    ``min_element_size``: components below this percentage of the mean superpixel area are merged
    (OpenCV's convention, also for :func:`slic_cv` and :func:`lsc`).
    """
    return _opencv_clustering(image, n_segments, "SLICO", num_iterations, min_element_size)


@_register("slic_cv")
def slic_cv(
    image: np.ndarray,
    n_segments: int,
    *,
    ruler: float = 10.0,
    num_iterations: int = 10,
    min_element_size: int = 25,
) -> np.ndarray:
    """OpenCV's plain SLIC (fixed compactness ``ruler``) in CIELAB."""
    return _opencv_clustering(image, n_segments, "SLIC", num_iterations, min_element_size, ruler=float(ruler))


@_register("lsc")
def lsc(
    image: np.ndarray,
    n_segments: int,
    *,
    ratio: float = 0.075,
    num_iterations: int = 10,
    min_element_size: int = 25,
) -> np.ndarray:
    """OpenCV LSC (linear spectral clustering) in CIELAB, single-threaded so it is deterministic."""
    return _opencv_clustering(image, n_segments, "LSC", num_iterations, min_element_size, ratio=float(ratio))


def seeds_grid(height: int, width: int, num_superpixels: int, num_levels: int) -> int:
    """Number of superpixels OpenCV SEEDS makes for a request; 0 where it would crash.

    Replays ``SuperpixelSEEDSImpl::initialize``: the top-level block grid is what SEEDS returns
    (it never splits blocks), usually well below the request because block sizes are rounded up.
    """
    num_superpixels, num_levels = max(num_superpixels, 10), max(num_levels, 2)
    rows = int(math.sqrt(num_superpixels * height / width))
    cols = rows * width // height
    if rows < 1 or cols < 1:
        return 0
    for levels in range(num_levels, 1, -1):  # SEEDS drops levels until blocks are >= 1 px
        block_w, block_h = width / cols / 2 ** (levels - 1), height / rows / 2 ** (levels - 1)
        if block_w >= 1 and block_h >= 1:
            top_w, top_h = width // math.ceil(block_w), height // math.ceil(block_h)
            return (top_w >> (levels - 1)) * (top_h >> (levels - 1))
    return 0  # one level left: SEEDS reads out of bounds


def _seeds_request(height: int, width: int, n_segments: int, num_levels: int) -> tuple[int, int]:
    """The ``(num_superpixels, num_levels)`` whose SEEDS grid is closest to ``n_segments``.

    SEEDS sees a request only through ``rows = int(sqrt(request·H/W))``, so one request per row
    count is tried, from the middle of its range (away from float32 rounding at the edges). Top
    blocks are ``2^(levels-1)·s`` px wide, so K is coarsely quantised; fewer levels are used only if
    ``num_levels`` cannot come within 15 % of ``n_segments``. ``(0, 0)``: no request works.
    """
    best, best_err = (0, 0), math.inf
    for levels in range(num_levels, 1, -1):
        for rows in range(1, height + 1):
            request = max(10, round((rows + 0.5) ** 2 * width / height))
            k = seeds_grid(height, width, request, levels)
            if k >= 2 and abs(k - n_segments) < best_err:  # one block: SEEDS crashes or hangs
                best, best_err = (request, levels), abs(k - n_segments)
            if k > n_segments:
                break
        if best_err <= 0.15 * n_segments:
            break
    return best


@_register("seeds")
def seeds(
    image: np.ndarray,
    n_segments: int,
    *,
    num_levels: int = 4,
    prior: int = 2,
    histogram_bins: int = 5,
    double_step: bool = False,
    num_iterations: int = 10,
    color_space: str = "hsv",
    match_count: bool = True,
) -> np.ndarray:
    """OpenCV SEEDS on the image in ``color_space`` (``"hsv"``, ``"lab"`` or ``"rgb"``).

    HSV is the default: SEEDS bins every channel uniformly over 0..255, and 8-bit CIELAB crowds a
    and b into a few bins around 128, so LAB loses most colour edges (20 BSDS500 val images at
    K≈600: BR 0.817 HSV, 0.810 RGB, 0.771 LAB; UE 0.071 / 0.071 / 0.080). Hue spans 0..255
    (``COLOR_RGB2HSV_FULL``).

    With ``match_count`` (default) the request (and, only if needed, fewer levels than
    ``num_levels``) is chosen so that SEEDS' block grid is closest to ``n_segments``
    (:func:`seeds_grid`); otherwise SEEDS gets ``n_segments`` as is and returns about 0.4-1× as
    many. Requests that would crash SEEDS fall back to :func:`grid_labels`.
    """
    xi = require_ximgproc()
    codes = {"lab": cv2.COLOR_RGB2LAB, "hsv": cv2.COLOR_RGB2HSV_FULL, "rgb": None}
    check(color_space in codes, f"seeds: color_space must be one of {sorted(codes)}; got {color_space!r}")
    check(
        num_levels >= 2 and histogram_bins >= 1,
        f"seeds: need num_levels >= 2 and histogram_bins >= 1; got {num_levels} and {histogram_bins}",
    )
    height, width = image.shape[:2]
    request, levels = n_segments, num_levels
    if match_count:
        request, levels = _seeds_request(height, width, n_segments, num_levels)
    if levels < 2 or seeds_grid(height, width, request, levels) < 2:
        return grid_labels(image, n_segments)
    converted = image if codes[color_space] is None else cv2.cvtColor(image, codes[color_space])
    sp = xi.createSuperpixelSEEDS(
        width, height, 3, int(request), int(levels), int(prior), int(histogram_bins), bool(double_step)
    )
    sp.iterate(converted, int(num_iterations))
    return sp.getLabels()


#: Felzenszwalb calibration: ``min_size = FZ_MIN_SIZE_FRACTION · H·W / n_segments`` (see below).
FZ_MIN_SIZE_FRACTION = 0.5


@_register("felzenszwalb")
def felzenszwalb(
    image: np.ndarray, n_segments: int, *, scale: float = 1.0, sigma: float = 0.8, min_size: int | None = None
) -> np.ndarray:
    """skimage Felzenszwalb–Huttenlocher graph segmentation, steered to about ``n_segments``.

    FH has no count parameter; its regions are at least ``min_size`` px, so by default
    ``min_size = round(0.5 · H·W / n_segments)`` with a small ``scale`` (1), which makes the size
    floor, not the colour threshold, decide the count: on BSDS500 (481×321) K ≈ 1.02-1.12 n for
    n = 200..1200 (checked by a slow test). It also scored best at equal K: on 20 val images at
    n=600, BR 0.732 / UE 0.107 for scale 1 against 0.703 / 0.119 for scale 50 (with min_size
    0.75·H·W/n). Larger ``scale`` gives fewer, more image-dependent regions.
    """
    height, width = image.shape[:2]
    if min_size is None:
        min_size = max(1, round(FZ_MIN_SIZE_FRACTION * height * width / n_segments))
    return _felzenszwalb(image, scale=scale, sigma=sigma, min_size=int(min_size), channel_axis=-1)


def _gradient(image: np.ndarray, space: str) -> np.ndarray:
    """Sobel gradient magnitude of the gray image or of CIELAB (channels / 100, L2 over channels)."""
    check(space in ("lab", "gray"), f"watershed: gradient must be 'lab' or 'gray'; got {space!r}")
    if space == "gray":
        return sobel(cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32) / 255.0)
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB) / 100.0
    return np.sqrt(sum(sobel(lab[..., c]) ** 2 for c in range(3)))


@_register("watershed")
def watershed(image: np.ndarray, n_segments: int, *, compactness: float = 1e-3, gradient: str = "lab") -> np.ndarray:
    """Compact watershed (Neubert & Protzel 2014) of a Sobel gradient, ``n_segments`` grid seeds.

    Defaults from 20 BSDS500 val images at K=600: the CIELAB gradient beats gray (BR 0.738 vs 0.727,
    UE 0.093 vs 0.098) and ``compactness=1e-3`` balances BR (0.743 at 1e-4, 0.650 at 1e-2) against
    UE/ASA (best from 1e-3 on) and shape regularity.
    """
    return _watershed(_gradient(image, gradient), markers=n_segments, compactness=compactness)

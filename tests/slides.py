"""Generated whole-slide images for the tests: H&E-like slides with their exact tissue, pyramids,
and Aperio-SVS-like files written with tifffile."""

from __future__ import annotations

import cv2
import numpy as np
import tifffile

TILE = (256, 256)
APERIO = "Aperio Image Library v12.0.15 \n"


def synthetic_slide(
    height: int, width: int, seed: int = 0, quality: int = 75, blob: int = 8
) -> tuple[np.ndarray, np.ndarray]:
    """``(rgb, tissue)``: blobs of H&E-like texture (pink eosin with shading, purple nuclei) on
    near-white noisy glass, 40 % of the area, JPEG-compressed at ``quality``; ``tissue`` the exact
    mask of the blobs, about ``50 * blob`` pixels across."""
    rng = np.random.default_rng(seed)
    field = cv2.GaussianBlur(rng.normal(size=(height // blob, width // blob)).astype(np.float32), (0, 0), 6)
    field = cv2.resize(field, (width, height), interpolation=cv2.INTER_CUBIC)
    tissue = field > np.quantile(field, 0.6)
    glass = np.array([236, 234, 240], np.float32) + rng.normal(0, 3, (height, width, 3)).astype(np.float32)
    shade = cv2.GaussianBlur(rng.normal(size=(height, width)).astype(np.float32), (0, 0), 3)
    eosin = np.array([222, 150, 190], np.float32) + 18 * (shade / shade.std())[..., None]
    nuclei = cv2.GaussianBlur((rng.random((height, width)) < 0.01).astype(np.float32), (0, 0), 1.5) > 0.05
    stain = np.where(nuclei[..., None], np.array([110, 60, 150], np.float32), eosin)
    rgb = np.where(tissue[..., None], stain, glass).clip(0, 255).astype(np.uint8)
    _, data = cv2.imencode(".jpg", rgb[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, quality])
    return np.ascontiguousarray(cv2.imdecode(data, cv2.IMREAD_COLOR)[..., ::-1]), tissue


def pyramid(image: np.ndarray, n: int = 3) -> list[np.ndarray]:
    """``image`` and ``n - 1`` levels each a quarter of the size of the one before (area mean)."""
    levels = [image]
    for _ in range(n - 1):
        h, w = levels[-1].shape[:2]
        levels.append(cv2.resize(levels[-1], (w // 4, h // 4), interpolation=cv2.INTER_AREA))
    return levels


def write_svs(path, levels: list[np.ndarray], jpeg: dict | None = None) -> None:
    """An Aperio-SVS-like file as scanners write it: the JPEG-tiled baseline with the Aperio
    description, a stripped thumbnail, the reduced tiled levels, a label and a macro image.
    ``jpeg``: tifffile's JPEG arguments (default: YCbCr with 2×2 chroma subsampling)."""
    args = {
        "compression": "jpeg",
        "photometric": "rgb",
        "compressionargs": {"level": 85, **(jpeg or {})},
        "metadata": None,
    }
    h, w = levels[0].shape[:2]
    with tifffile.TiffWriter(path) as tif:
        tif.write(levels[0], tile=TILE, description=f"{APERIO}{w}x{h} (256x256) JPEG/RGB Q=85|MPP = 0.5", **args)
        thumbnail = cv2.resize(levels[0], (192, 128), interpolation=cv2.INTER_AREA)
        tif.write(thumbnail, description=f"{APERIO}{w}x{h} -> 192x128 - ", **args)
        for level in levels[1:]:
            tif.write(level, tile=TILE, description=f"{APERIO}{w}x{h} -> {level.shape[1]}x{level.shape[0]}", **args)
        label = np.full((100, 200, 3), 200, np.uint8)
        tif.write(label, subfiletype=1, compression="lzw", description=f"{APERIO}label 200x100", metadata=None)
        macro = np.full((100, 300, 3), 50, np.uint8)
        tif.write(macro, subfiletype=9, description=f"{APERIO}macro 300x100", **args)

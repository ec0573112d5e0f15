"""Superpixels as polygons: GeoJSON that QuPath imports and GIS tools read.

Each superpixel becomes one ``Feature`` whose geometry is the exact outline of its pixels (pixel
corners, holes kept as inner rings: rasterio's polygonize, GDAL's algorithm, 4-connected), with
``properties`` ``id``, ``area`` (pixels), ``mean_color`` (RGB, when the image is given) and
QuPath's ``objectType: "detection"``. Coordinates are pixel columns and rows (x right, y down, the
image's top-left corner at 0, 0: QuPath's convention), or map coordinates through a GeoTIFF's
affine ``transform`` (the collection then names its ``crs``). Pixels labelled −1 (outside a mask)
give no polygon. Needs ``rasterio`` (``pip install "pcnet[geo]"``).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from pcnet._checks import check, check_label_map

__all__ = ["geo_reference", "label_polygons", "write_geojson"]


def _rasterio() -> Any:
    try:
        import rasterio.features
    except ImportError:  # pragma: no cover - the geo extra is in the dev install
        check(False, 'polygons need rasterio: pip install "pcnet[geo]" (or pip install rasterio)')
    return rasterio


def geo_reference(path: str | os.PathLike) -> tuple[Any, str | None]:
    """``(transform, crs)`` of a georeferenced image (a GeoTIFF): its affine pixel-to-map
    transform and its CRS as a string (``None`` for both when the file has none)."""
    rasterio = _rasterio()
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rasterio.errors.NotGeoreferencedWarning)
        with rasterio.open(path) as src:
            if src.crs is None and src.transform.is_identity:
                return None, None
            return src.transform, None if src.crs is None else src.crs.to_string()


def label_polygons(
    labels: np.ndarray, image: np.ndarray | None = None, transform: Any = None
) -> Iterator[dict[str, Any]]:
    """One GeoJSON ``Feature`` per superpixel of ``labels`` (``(H, W)`` int, −1 outside a mask), in
    label order; ``image`` (``(H, W, 3)`` uint8) adds each one's mean colour, ``transform`` (an
    ``affine.Affine``) puts the coordinates on a map."""
    rasterio = _rasterio()
    inside = labels >= 0 if labels.size and labels.min() < 0 else None
    labels = check_label_map(np.where(labels < 0, 0, labels) if inside is not None else labels)
    if image is not None:
        check(
            image.shape[:2] == labels.shape,
            f"image {image.shape[:2]} and labels {labels.shape} must have the same size",
        )
    values = labels.astype(np.int32, copy=False)
    flat = values.ravel() if inside is None else values[inside]
    n = int(flat.max()) + 1 if flat.size else 0
    area = np.bincount(flat, minlength=n)
    colour = None
    if image is not None:
        pixels = image.reshape(-1, image.shape[-1]) if inside is None else image[inside]
        colour = np.stack([np.bincount(flat, weights=pixels[:, c], minlength=n) for c in range(3)], 1)
        colour = np.round(colour / np.maximum(area, 1)[:, None]).astype(int)
    rings: dict[int, list] = {}
    for geometry, value in rasterio.features.shapes(
        values,
        mask=inside,
        connectivity=4,
        transform=transform if transform is not None else rasterio.Affine.identity(),
    ):
        rings.setdefault(int(value), []).append(geometry["coordinates"])
    for k in sorted(rings):
        parts = rings[k]
        geometry = (
            {"type": "Polygon", "coordinates": parts[0]}
            if len(parts) == 1
            else {"type": "MultiPolygon", "coordinates": parts}  # a label split in pieces (not 4-connected)
        )
        properties: dict[str, Any] = {"id": k, "area": int(area[k]), "objectType": "detection"}
        if colour is not None:
            properties["mean_color"] = colour[k].tolist()
        yield {"type": "Feature", "geometry": geometry, "properties": properties}


def write_geojson(
    path: str | os.PathLike,
    labels: np.ndarray,
    image: np.ndarray | None = None,
    transform: Any = None,
    crs: str | None = None,
) -> dict[str, int]:
    """Write :func:`label_polygons` as a GeoJSON ``FeatureCollection`` (one feature per line,
    atomically); returns ``{"features", "bytes"}``."""
    from pcnet.io.files import atomic_path

    path = Path(path)
    count = 0
    with atomic_path(path) as tmp, open(tmp, "w", encoding="utf-8") as fh:
        head: dict[str, Any] = {"type": "FeatureCollection"}
        if crs is not None:
            head["crs"] = {"type": "name", "properties": {"name": crs}}
        fh.write(json.dumps(head)[:-1] + ', "features": [\n')
        for feature in label_polygons(labels, image, transform):
            fh.write(("" if count == 0 else ",\n") + json.dumps(feature, separators=(",", ":")))
            count += 1
        fh.write("\n]}\n")
    return {"features": count, "bytes": path.stat().st_size}

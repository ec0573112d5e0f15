"""Benchmark ``polygons``: GeoJSON export of a label map (:mod:`pcnet.io.polygons`) at several
sizes: seconds, file size, and the share of pixels the polygons rasterise back to."""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["add_arguments", "export_table", "run"]


def export_table(labels_path: str | Path, image_path: str | Path, sides: list[int]) -> list[dict[str, Any]]:
    """For each side ``s``, the top-left ``s × s`` of the label and image TIFFs (e.g. the gigapixel
    suite's 100 MP ``labels.tif`` / ``image.tif``) written as GeoJSON and rasterised back."""
    import rasterio.features
    import tifffile

    from pcnet.io.polygons import write_geojson
    from pcnet.ops.labels import relabel_sequential

    labels, image = tifffile.imread(labels_path), tifffile.imread(image_path)
    rows = []
    print("| labels | superpixels | write s | file MB | round trip |\n|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as tmp:
        for side in sides:
            crop = relabel_sequential(np.ascontiguousarray(labels[:side, :side]))[0].astype(np.int32)
            path = Path(tmp) / f"{side}.geojson"
            start = time.perf_counter()
            info = write_geojson(path, crop, np.ascontiguousarray(image[:side, :side]))
            seconds = time.perf_counter() - start
            features = json.loads(path.read_text())["features"]
            pairs = ((f["geometry"], f["properties"]["id"]) for f in features)
            back = rasterio.features.rasterize(pairs, out_shape=crop.shape, fill=-1, dtype="int32")
            row = {"side": side, "k": info["features"], "seconds": seconds, "mb": info["bytes"] / 1e6}
            row["round_trip"] = float((back == crop).mean())
            rows.append(row)
            print(f"| {side}² | {row['k']} | {seconds:.1f} | {row['mb']:.0f} | {row['round_trip']:.2%} |")
    return rows


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``python -m pcnet.benchmark polygons``."""
    parser.add_argument("--labels", type=Path, default=Path("/tmp/gp100/labels.tif"))
    parser.add_argument("--image", type=Path, default=Path("/tmp/gp100/image.tif"))
    parser.add_argument("--sides", type=int, nargs="+", default=[5000, 10000])


def run(args: argparse.Namespace) -> None:
    """Print the export table."""
    export_table(args.labels, args.image, args.sides)

"""Superpixels as GeoJSON polygons (pcnet.io.polygons, predict format=geojson): exact outlines
with holes, rasterised back to the same labels, QuPath's properties, map coordinates for GeoTIFFs."""

from __future__ import annotations

import json

import numpy as np
import pytest

rasterio = pytest.importorskip("rasterio")
from rasterio.features import rasterize  # noqa: E402

from pcnet._checks import InputError  # noqa: E402
from pcnet.io.polygons import label_polygons, write_geojson  # noqa: E402


def back(features: list[dict], shape: tuple[int, int], transform=None) -> np.ndarray:
    """The label map the polygons rasterise to (−1 where none)."""
    pairs = ((f["geometry"], f["properties"]["id"]) for f in features)
    return rasterize(pairs, out_shape=shape, fill=-1, dtype="int32", transform=transform or rasterio.Affine.identity())


def test_a_ring_with_a_hole_and_a_masked_corner():
    labels = np.zeros((10, 12), np.int32)
    labels[3:7, 4:8] = 1  # inside the ring of label 0: a hole in label 0's polygon
    labels[:, 10:] = 2
    labels[8:, :3] = -1  # outside a mask: no polygon
    image = np.zeros((10, 12, 3), np.uint8)
    image[labels == 1] = (200, 10, 30)
    features = list(label_polygons(labels, image))
    assert [f["properties"]["id"] for f in features] == [0, 1, 2]
    ring = features[0]["geometry"]
    assert ring["type"] == "Polygon" and len(ring["coordinates"]) == 2  # the outline and the hole
    hole = np.array(ring["coordinates"][1])
    assert (hole.min(0) == (4, 3)).all() and (hole.max(0) == (8, 7)).all()  # pixel corners: x, y
    assert features[1]["properties"] == {"id": 1, "area": 16, "objectType": "detection", "mean_color": [200, 10, 30]}
    np.testing.assert_array_equal(back(features, labels.shape), labels)


def test_superpixels_round_trip_exactly(tmp_path):
    import pcnet
    from pcnet.data.synthetic import synthetic_image

    image, _ = synthetic_image(256, 384, n_regions=12, seed=4)
    labels = pcnet.superpixels(image, 600, method="slico")
    info = write_geojson(tmp_path / "s.geojson", labels, image)
    collection = json.loads((tmp_path / "s.geojson").read_text())
    assert collection["type"] == "FeatureCollection" and info["features"] == int(labels.max()) + 1
    assert (back(collection["features"], labels.shape) == labels).mean() >= 0.999  # exact in practice
    np.testing.assert_array_equal(back(collection["features"], labels.shape), labels)


def test_predict_writes_polygons_in_map_coordinates_for_a_geotiff(tmp_path):
    from helpers import compose_config
    from pcnet.data.synthetic import synthetic_image
    from pcnet.io import read_label_map
    from pcnet.predict import run

    image, _ = synthetic_image(192, 256, n_regions=8, seed=6)
    transform = rasterio.Affine(0.5, 0.0, 500000.0, 0.0, -0.5, 4600000.0)  # UTM metres, 0.5 m pixels
    inputs = tmp_path / "in"
    inputs.mkdir()
    with rasterio.open(
        inputs / "scene.tif", "w", driver="GTiff", height=192, width=256, count=3, dtype="uint8",
        crs="EPSG:32633", transform=transform,
    ) as dst:  # fmt: skip
        dst.write(np.moveaxis(image, -1, 0))
    out = tmp_path / "out"
    cfg = compose_config(
        "predict", [f"input={inputs}", f"output={out}", "format=geojson"], tmp_path / "r", progress=False
    )
    assert run(cfg) == 0
    labels = read_label_map(out / "scene_labels.png")
    collection = json.loads((out / "scene_superpixels.geojson").read_text())
    assert collection["crs"]["properties"]["name"] == "EPSG:32633"
    xs = np.concatenate([np.array(f["geometry"]["coordinates"][0])[:, 0] for f in collection["features"]])
    assert xs.min() == 500000.0 and xs.max() == 500000.0 + 256 * 0.5
    np.testing.assert_array_equal(back(collection["features"], labels.shape, transform), labels)


def test_a_bad_format_is_one_line(tmp_path):
    from helpers import compose_config
    from pcnet.predict import run

    (tmp_path / "in").mkdir()
    from pcnet.io import write_image

    write_image(tmp_path / "in" / "a.png", np.zeros((32, 32, 3), np.uint8))
    cfg = compose_config(
        "predict", [f"input={tmp_path / 'in'}", f"output={tmp_path / 'o'}", "format=shp"], tmp_path / "r"
    )
    with pytest.raises(InputError, match="format='shp': choose labels"):
        run(cfg)


def test_a_streamed_geotiff_keeps_its_georeferencing(tmp_path, monkeypatch):
    """The label BigTIFF of a streamed GeoTIFF has the image's transform and CRS."""
    from pcnet.data.synthetic import synthetic_image
    from pcnet.methods.streaming import segment_file

    image, _ = synthetic_image(512, 768, n_regions=8, seed=7)
    transform = rasterio.Affine(10.0, 0.0, 300000.0, 0.0, -10.0, 5000000.0)
    with rasterio.open(
        tmp_path / "scene.tif", "w", driver="GTiff", height=512, width=768, count=3, dtype="uint8",
        crs="EPSG:32631", transform=transform, tiled=True, blockxsize=256, blockysize=256,
    ) as dst:  # fmt: skip
        dst.write(np.moveaxis(image, -1, 0))
    segment_file(tmp_path / "scene.tif", tmp_path / "labels.tif", tile=64)
    with rasterio.open(tmp_path / "labels.tif") as labels:
        assert labels.transform == transform and labels.crs.to_string() == "EPSG:32631"
        assert labels.read(1).max() > 100

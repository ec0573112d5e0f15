"""Whole-slide and gigapixel files as they come (pcnet.io.tiff, pcnet.ops.masks): compressed tiles
(JPEG, YCbCr-subsampled as in SVS, JPEG 2000, LZW, deflate, zstd) decoded window by window,
pyramid levels (SVS-like, OME-TIFF SubIFDs, generic reduced pages), thumbnails that never touch
level 0, the missing-codec and bad-level messages, and the tissue mask on a generated slide. Every
file is generated here with tifffile."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

tifffile = pytest.importorskip("tifffile")
pytest.importorskip("imagecodecs")

from pcnet._checks import InputError  # noqa: E402
from pcnet.io import tiff  # noqa: E402
from pcnet.io.mask_windows import MaskWindows  # noqa: E402
from pcnet.ops.masks import tissue_mask  # noqa: E402
from slides import TILE, pyramid, synthetic_slide, write_svs  # noqa: E402

H, W = 1000, 1500  # level 0 of the pyramids: not a multiple of the 256-px tiles (partial edge tiles)
#: windows that cross tile borders, lie inside one tile, touch the edges or stick out of the image
WINDOWS = [(0, 1000, 0, 1500), (13, 77, 40, 41), (250, 260, 250, 270), (900, 1100, 1400, 1600), (256, 512, 0, 256)]


def write_pyramid(path, levels: list[np.ndarray], compression: str, subifds: bool = True, **kwargs) -> None:
    """A tiled pyramid: the reduced levels in SubIFDs of level 0 (as OME-TIFF and tifffile write
    them; ``.ome.tif`` names get the OME-XML) or as reduced-resolution pages after it."""
    args = {"tile": TILE, "compression": compression, "photometric": "rgb", **kwargs}
    with tifffile.TiffWriter(path, bigtiff=True, ome=str(path).endswith(".ome.tif")) as tif:
        tif.write(levels[0], subifds=len(levels) - 1 if subifds else None, **args)
        for level in levels[1:]:
            tif.write(level, subfiletype=1, **args)


@pytest.fixture(scope="module")
def slide() -> tuple[np.ndarray, np.ndarray]:
    return synthetic_slide(H, W, seed=1)


@pytest.fixture(scope="module")
def levels(slide) -> list[np.ndarray]:
    return pyramid(slide[0])


def count_decodes(monkeypatch) -> list[tuple[int, int]]:
    """``(level, tile index)`` of every tile :class:`TiffWindows` decodes from now on."""
    decoded: list[tuple[int, int]] = []
    segment = tiff.TiffWindows._segment

    def counting(self, index):
        decoded.append((self.level, index))
        return segment(self, index)

    monkeypatch.setattr(tiff.TiffWindows, "_segment", counting)
    return decoded


# --- codecs ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "compression, kwargs, lossless",
    [
        ("lzw", {"predictor": True}, True),
        ("zlib", {}, True),
        ("zstd", {}, True),
        ("jpeg2000", {}, True),  # tifffile's default JPEG 2000 is reversible
        ("jpeg", {"compressionargs": {"level": 85}}, False),  # YCbCr, 2×2 subsampled
        ("jpeg", {"compressionargs": {"level": 90, "outcolorspace": "RGB"}}, False),  # RGB JPEG
    ],
)
def test_compressed_tiles_decode_window_by_window(tmp_path, slide, monkeypatch, compression, kwargs, lossless):
    source = slide[0]
    path = tmp_path / "flat.tif"
    tifffile.imwrite(path, source, tile=TILE, compression=compression, photometric="rgb", **kwargs)
    whole = tifffile.imread(path)
    decoded = count_decodes(monkeypatch)
    with tiff.open_windows(path) as reader:
        assert reader.shape == (H, W) and reader.level == 0 and reader.downsample == 1.0
        for r0, r1, c0, c1 in WINDOWS:
            before = len(decoded)
            window = reader.read(r0, r1, c0, c1)
            np.testing.assert_array_equal(window, whole[r0:r1, c0:c1])  # what tifffile reads: exactly
            r1, c1 = min(r1, H), min(c1, W)
            overlapped = (-(-r1 // 256) - r0 // 256) * (-(-c1 // 256) - c0 // 256)
            assert len(decoded) - before == overlapped  # only the tiles the window overlaps
    if lossless:
        np.testing.assert_array_equal(whole, source)
    else:  # within JPEG error of the source
        error = np.abs(whole.astype(int) - source)
        assert error.mean() < 4 and np.percentile(error, 99) < 40
    assert tiff.image_levels(path)[0].compression == {"zlib": "deflate", "jpeg2000": "JPEG 2000"}.get(
        compression, compression.upper() if compression != "zstd" else "zstd"
    )


@pytest.fixture
def no_imagecodecs(monkeypatch):
    """tifffile as it runs without imagecodecs installed: its fallback codecs only."""
    import tifffile.tifffile as tifffile_module
    from tifffile import _imagecodecs

    monkeypatch.setattr(tifffile_module, "imagecodecs", _imagecodecs)
    monkeypatch.setattr(tifffile.TIFF, "DECOMPRESSORS", tifffile_module.CompressionCodec(encode=False))
    monkeypatch.setattr(tifffile.TIFF, "UNPREDICTORS", tifffile_module.PredictorCodec(encode=False))


@pytest.mark.parametrize(
    "compression, name", [("jpeg", "JPEG"), ("jpeg2000", "JPEG 2000"), ("lzw", "LZW"), ("zstd", "zstd")]
)
def test_a_missing_codec_is_one_line_naming_it_and_the_fix(tmp_path, compression, name, no_imagecodecs):
    image = np.full((64, 96, 3), 120, np.uint8)
    path = tmp_path / f"{compression}.tif"
    tifffile.imwrite(path, image, tile=(32, 32), compression=compression, photometric="rgb")
    with pytest.raises(InputError) as err:
        tiff.open_windows(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    assert f"{name}-compressed" in message and message.endswith("pip install imagecodecs")
    # deflate needs no imagecodecs
    tifffile.imwrite(tmp_path / "zlib.tif", image, tile=(32, 32), compression="zlib", predictor=True)
    with tiff.open_windows(tmp_path / "zlib.tif") as reader:
        np.testing.assert_array_equal(reader.read(0, 64, 0, 96), image)


# --- pyramids -------------------------------------------------------------------------------------


def check_levels(path, levels: list[np.ndarray], compression: str) -> None:
    """The listed levels, and every level read in windows equal to tifffile's read of it."""
    listed = tiff.image_levels(path)
    assert [level.shape for level in listed] == [(1000, 1500), (250, 375), (62, 93)]
    assert [level.index for level in listed] == [0, 1, 2]
    assert [level.downsample for level in listed] == [1.0, 4.0, 1500 / 93]
    assert {level.compression for level in listed} == {compression} and {level.tile for level in listed} == {TILE}
    for index, level in enumerate(levels):
        whole = tifffile.imread(path, series=0, level=index)
        assert whole.shape == level.shape
        with tiff.open_windows(path, level=index) as reader:
            assert reader.shape == level.shape[:2] and reader.level == index
            for r0, r1, c0, c1 in WINDOWS:
                np.testing.assert_array_equal(reader.read(r0, r1, c0, c1), whole[r0:r1, c0:c1])
        assert tiff.image_size(path, level=index) == level.shape[:2]
        np.testing.assert_array_equal(tiff.read_level(path, index), whole)
    with tiff.open_windows(path, level=-1) as reader:
        assert reader.level == 2 and reader.shape == (62, 93) and reader.downsample == 1500 / 93


@pytest.mark.parametrize("jpeg", [None, {"outcolorspace": "RGB"}], ids=["ycbcr-subsampled", "rgb"])
def test_svs_like_pyramid(tmp_path, levels, jpeg):
    """tifffile models an SVS as series 'Baseline' (page 0 with pages 2.. as its levels), then
    'Thumbnail' (page 1), 'Label' and 'Macro': the levels skip the thumbnail, label and macro."""
    path = tmp_path / "slide.svs"
    write_svs(path, levels, jpeg)
    assert tiff.is_tiff(path)
    with tifffile.TiffFile(path) as tif:
        assert tif.is_svs and [s.name for s in tif.series] == ["Baseline", "Thumbnail", "Label", "Macro"]
        assert tif.pages.first.photometric == (6 if jpeg is None else 2)  # YCbCr / RGB
    check_levels(path, levels, "JPEG")
    for index, level in enumerate(levels):  # within JPEG error of the source (the small levels: all texture)
        error = np.abs(tiff.read_level(path, index).astype(int) - level)
        assert error.mean() < (4 if index == 0 else 8), (index, error.mean())


@pytest.mark.parametrize(
    "name, compression, subifds, codec",
    [
        ("slide.ome.tif", "zlib", True, "deflate"),
        ("subifds.tif", "zstd", True, "zstd"),
        ("pages.tif", "lzw", False, "LZW"),
        ("j2k.ome.tif", "jpeg2000", True, "JPEG 2000"),
    ],
)
def test_ome_and_generic_pyramids(tmp_path, levels, name, compression, subifds, codec):
    path = tmp_path / name
    write_pyramid(path, levels, compression, subifds=subifds)
    check_levels(path, levels, codec)
    for index, level in enumerate(levels):  # lossless: the source itself
        np.testing.assert_array_equal(tiff.read_level(path, index), level)


def test_a_bad_level_lists_the_levels_with_their_sizes(tmp_path, levels):
    path = tmp_path / "slide.svs"
    write_svs(path, levels)
    expected = "its levels are 0: 1000×1500, 1: 250×375, 2: 62×93 (level=0..2, or -1 for the smallest)"
    for bad in (3, -4, 1.0, True, "1"):
        with pytest.raises(InputError) as err:
            tiff.open_windows(path, level=bad)
        assert str(err.value) == f"level={bad!r} is not a level of {path}; {expected}"
    with pytest.raises(InputError, match="level=5 is not a level of"):
        tiff.read_level(path, 5)
    with pytest.raises(InputError, match="level=3 is not a level of"):
        tiff.image_size(path, level=3)
    flat = tmp_path / "flat.tif"
    tifffile.imwrite(flat, levels[1], tile=TILE)
    with pytest.raises(InputError, match=r"its only level is 0: 250×375 \(level=0\)$"):
        tiff.open_windows(flat, level=1)
    png = tmp_path / "small.png"
    cv2.imwrite(str(png), levels[2])
    assert [(lv.shape, lv.compression) for lv in tiff.image_levels(png)] == [((62, 93), "PNG")]
    with pytest.raises(InputError, match="its only level is 0: 62×93"):
        tiff.open_windows(png, level=1)


def test_thumbnails_never_read_level_0(tmp_path, levels, monkeypatch):
    path = tmp_path / "slide.svs"
    write_svs(path, levels)
    decoded = count_decodes(monkeypatch)
    # the smallest level at least min_side px on its long side, reduced below 2 * min_side
    np.testing.assert_array_equal(tiff.read_thumbnail(path, min_side=300), tiff.read_level(path, 1))
    assert tiff.read_thumbnail(path, min_side=64).shape == (62, 93, 3)  # level 2
    small = tiff.read_thumbnail(path, min_side=150)  # level 1 averaged by 2: 125×188
    assert small.shape == (125, 188, 3)
    reference = tifffile.imread(path, series=0, level=1)[:250, :374].reshape(125, 2, 187, 2, 3).mean((1, 3))
    np.testing.assert_allclose(small[:, :187], reference, atol=0.51)
    np.testing.assert_array_equal(
        small[:, 187], tifffile.imread(path, series=0, level=1)[:250, 374].reshape(125, 2, 3).mean(1).round()
    )
    assert decoded and {level for level, _ in decoded} == {1, 2}
    # a flat TIFF: level 0 block-averaged window by window (never whole)
    flat = tmp_path / "flat.tif"
    tifffile.imwrite(flat, levels[0], tile=TILE, compression="zlib")
    monkeypatch.setattr(tiff, "MAX_WHOLE_PIXELS", 300 * 300)
    thumbnail = tiff.read_thumbnail(flat, min_side=300)  # factor 5
    assert thumbnail.shape == (200, 300, 3)
    np.testing.assert_allclose(thumbnail, levels[0].reshape(200, 5, 300, 5, 3).mean((1, 3)), atol=0.51)
    with pytest.raises(InputError, match="too large to read whole; pick a smaller level"):
        tiff.read_level(flat, 0)


# --- tissue masks ---------------------------------------------------------------------------------


def iou(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


@pytest.mark.parametrize("method", ["saturation", "darkness"])
def test_tissue_mask_finds_the_generated_tissue(method):
    for seed in range(3):
        rgb, tissue = synthetic_slide(768, 1024, seed=seed)
        mask = tissue_mask(rgb, method=method)
        assert mask.dtype == np.bool_ and mask.shape == tissue.shape
        assert iou(mask, tissue) > 0.95, (seed, iou(mask, tissue))
    # bare glass and black no-data have no tissue; black fill next to the tissue stays out
    glass = synthetic_slide(256, 256, seed=0)[0]
    glass[:] = np.clip(np.array([236, 234, 240]) + np.random.default_rng(0).normal(0, 3, glass.shape), 0, 255)
    assert not tissue_mask(glass, method=method).any()
    rgb, tissue = synthetic_slide(768, 1024, seed=3)
    rgb[:, :200], tissue[:, :200] = 0, False
    assert iou(tissue_mask(rgb, method=method), tissue) > 0.95
    rgba = np.dstack([rgb, np.full(rgb.shape[:2], 255, np.uint8)])
    rgba[:, 200:400, 3], tissue[:, 200:400] = 0, False  # transparent: no data
    assert iou(tissue_mask(rgba, method=method), tissue) > 0.95


def test_tissue_mask_of_a_slide_thumbnail_at_full_resolution(tmp_path):
    """The whole route: an SVS-like pyramid of a generated slide, its thumbnail (level 1, never
    level 0), the tissue mask on it, and that mask at level 0 (MaskWindows, as segment_file reads
    a thumbnail's mask) against the exact tissue."""
    rgb, tissue = synthetic_slide(2048, 3072, seed=4, blob=32)  # the blobs of the test above, ×4
    path = tmp_path / "tissue.svs"
    write_svs(path, pyramid(rgb))
    thumbnail = tiff.read_thumbnail(path, min_side=700)
    assert thumbnail.shape == (512, 768, 3)
    mask = tissue_mask(thumbnail)
    windows = MaskWindows(mask, 2048, 3072)
    full = windows.read(0, 2048, 0, 3072)
    assert full.shape == tissue.shape and iou(full, tissue) > 0.95


def test_tissue_mask_rejects_what_it_cannot_read():
    with pytest.raises(InputError, match=r"needs an \(h, w, 3\) uint8 RGB"):
        tissue_mask(np.zeros((10, 10), np.uint8))
    with pytest.raises(InputError, match="method must be one of"):
        tissue_mask(np.zeros((10, 10, 3), np.uint8), method="otsu")

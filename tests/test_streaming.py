"""Streaming segmentation (pcnet.methods.streaming, pcnet.io.tiff): the in-memory labels, band by
band, from a tiled TIFF into a tiled BigTIFF, in bounded memory."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

tifffile = pytest.importorskip("tifffile")

from pcnet._checks import InputError  # noqa: E402
from pcnet.data.synthetic import synthetic_image  # noqa: E402
from pcnet.io import tiff  # noqa: E402
from pcnet.methods.learned import load_segmenter  # noqa: E402
from pcnet.methods.streaming import segment_file  # noqa: E402
from pcnet.ops.connectivity import connected_components  # noqa: E402

H, W = 1536, 1024
TILE = 128  # network-input pixels: bands of 512 image rows, 3 bands, 2 seams
BLOCK = 384  # connectivity windows of 384 columns: column seams too


@pytest.fixture(scope="module")
def image():
    return synthetic_image(H, W, n_regions=40, seed=3)[0]


@pytest.fixture(scope="module")
def tiled(image, tmp_path_factory):
    path = tmp_path_factory.mktemp("streaming") / "image.tif"
    tifffile.imwrite(path, image, tile=(256, 256), compression="zlib")
    return path


@pytest.fixture(scope="module")
def segmenter():
    return load_segmenter(None, "pcnet", tile=TILE, refine=False)


@pytest.fixture(scope="module")
def streamed(tiled, segmenter, tmp_path_factory):
    out = tmp_path_factory.mktemp("streaming_out") / "labels.tif"
    result = segment_file(tiled, out, tile=TILE, block=BLOCK, segmenter=segmenter, refine=False)
    return result, tifffile.imread(out), out


@pytest.fixture(scope="module")
def refining():
    return load_segmenter(None, "pcnet", tile=TILE, refine=True)


def test_streamed_refinement_equals_in_memory(image, tiled, refining, tmp_path):
    """The default (refined) stream: the in-memory refined labels, ids included, with chunks of
    256 rows (5 refinement seams) and column blocks; without the refinement margin it differs."""
    reference = refining.superpixels(image)
    result = segment_file(tiled, tmp_path / "r.tif", tile=TILE, block=BLOCK, chunk=256, segmenter=refining)
    labels = tifffile.imread(tmp_path / "r.tif")
    np.testing.assert_array_equal(labels, reference)
    assert result["refine"] and result["k"] == int(reference.max()) + 1
    assert result["seam_mismatch_pixels"] == 0 and result["seam_missing_ids"] == 0
    segment_file(tiled, tmp_path / "m.tif", tile=TILE, block=BLOCK, chunk=256, refine_margin=0, segmenter=refining)
    assert (tifffile.imread(tmp_path / "m.tif") != reference).any()  # the margin is what makes it exact


def test_streamed_refinement_settings_are_checked(tiled, refining, tmp_path):
    with pytest.raises(InputError, match="refine_margin"):
        segment_file(tiled, tmp_path / "x.tif", tile=TILE, chunk=64, refine_margin=128, segmenter=refining)
    with pytest.raises(InputError, match="must hold margin_cells=4"):
        segment_file(tiled, tmp_path / "x.tif", tile=TILE, chunk=32, refine_margin=16, segmenter=refining)
    with pytest.raises(InputError, match="refine must be true or false"):
        segment_file(tiled, tmp_path / "x.tif", tile=TILE, refine="yes", segmenter=refining)


def test_streaming_equals_in_memory(image, segmenter, streamed):
    result, labels, _ = streamed
    reference = segmenter.superpixels(image)  # Segmenter(tile=128, halo=64, refine=False)
    assert labels.dtype == np.int32 and labels.shape == (H, W)
    np.testing.assert_array_equal(labels, reference)  # ids too, not only the partition
    assert result["k"] == int(reference.max()) + 1 == len(np.unique(labels))
    assert result["seam_mismatch_pixels"] == 0 and result["seam_missing_ids"] == 0
    assert result["bands"] == 3 and result["shape"] == (H, W)


def test_untiled_in_memory_differs_only_by_the_network_halo(image, segmenter, streamed):
    """Against the untiled in-memory path the cell ids differ only where the network's halo is
    short of its receptive field (pcnet.methods.tiling); measured: a few % of pixels at most."""
    _, labels, _ = streamed
    whole = segmenter.superpixels(image, tile=None)
    differ = np.count_nonzero(whole != labels) / labels.size
    assert differ < 0.05, differ


def test_every_superpixel_is_one_4_connected_region_across_seams(streamed):
    result, labels, _ = streamed
    assert int(connected_components(labels).max()) + 1 == result["k"]


def test_output_is_a_tiled_compressed_bigtiff(streamed):
    _, labels, out = streamed
    with tifffile.TiffFile(out) as tif:
        page = tif.pages[0]
        assert tif.is_bigtiff and page.is_tiled
        assert page.compression == tifffile.COMPRESSION.ADOBE_DEFLATE
        assert (page.tilelength, page.tilewidth) == (512, 512)
        np.testing.assert_array_equal(page.asarray(), labels)
    assert not tiff.partial_path(out).exists()
    assert os.path.getsize(out) < labels.nbytes / 4


def test_coarser_grid_with_integer_downsampling(image, tiled, segmenter, tmp_path):
    n = H * W // 256 // 4  # the native K / 4: the working size halves the image
    result = segment_file(
        tiled, tmp_path / "k.tif", n_segments=n, tile=TILE, block=BLOCK, segmenter=segmenter, refine=False
    )
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "k.tif"), segmenter.superpixels(image, n))
    assert result["n_cells"] == n


def test_a_k_that_would_enlarge_the_image_is_refused(tiled, segmenter, tmp_path):
    with pytest.raises(InputError, match="would enlarge"):
        segment_file(tiled, tmp_path / "x.tif", n_segments=H * W // 10, segmenter=segmenter)


@pytest.mark.parametrize(("shape", "n_segments"), [((H, W), 1000), ((1234, 1003), None), ((1234, 1003), 2500)])
def test_any_k_and_any_size_stream_the_in_memory_default(image, refining, tmp_path, shape, n_segments):
    """A K whose working size is a fractional shrink, and sides that are not multiples of 4: the
    bands resample exactly as the whole image (pcnet.ops.resample), so the refined stream is still
    the in-memory default, ids included."""
    crop = np.ascontiguousarray(image[: shape[0], : shape[1]])
    tifffile.imwrite(tmp_path / "odd.tif", crop, tile=(256, 256))
    result = segment_file(
        tmp_path / "odd.tif", tmp_path / "o.tif", n_segments=n_segments, tile=TILE, block=BLOCK, segmenter=refining
    )
    reference = refining.superpixels(crop, n_segments)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "o.tif"), reference)
    assert result["k"] == int(reference.max()) + 1


@pytest.mark.parametrize(("refine", "masked"), [(False, False), (True, False), (False, True), (True, True)])
def test_a_failed_run_leaves_no_output_and_a_rerun_resumes(
    tiled, segmenter, refining, tmp_path, monkeypatch, refine, masked
):
    """A run that fails after two network bands leaves no output, only its finished rows and
    state; the rerun computes only what is left (and the context above it) and writes the labels
    of an uninterrupted run, masked or not. A changed setting starts afresh."""
    import pcnet.methods.streaming as streaming

    seg = refining if refine else segmenter
    options = dict(tile=TILE, block=BLOCK, segmenter=seg, refine=refine, chunk=128)
    if masked:
        yy, xx = np.mgrid[:H, :W]
        options["mask"] = (yy - 800) ** 2 / 600**2 + (xx - 500) ** 2 / 400**2 < 1
    expected = segment_file(tiled, tmp_path / "ref.tif", **options)
    out = tmp_path / "labels.tif"
    tiff.partial_path(out).write_bytes(b"a stale BigTIFF from a run killed while writing it")
    real, calls = streaming._band_cells, []

    def failing(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise RuntimeError("killed")
        return real(*args, **kwargs)

    monkeypatch.setattr(streaming, "_band_cells", failing)
    with pytest.raises(RuntimeError, match="killed"):
        segment_file(tiled, out, **options)
    assert not out.exists() and not tiff.partial_path(out).exists()
    assert out.with_name("labels.tif.partial.rows").stat().st_size > 0
    monkeypatch.setattr(streaming, "_band_cells", real)
    result = segment_file(tiled, out, **options)
    assert result["resumed_from_row"] > 0 and result["k"] == expected["k"]
    np.testing.assert_array_equal(tifffile.imread(out), tifffile.imread(tmp_path / "ref.tif"))
    assert (
        not out.with_name("labels.tif.partial.rows").exists()
        and not out.with_name("labels.tif.partial.state.npz").exists()
    )
    # a run with other settings does not resume from another's rows
    monkeypatch.setattr(streaming, "_band_cells", failing)
    calls.clear()
    with pytest.raises(RuntimeError, match="killed"):
        segment_file(tiled, tmp_path / "other.tif", **options)
    monkeypatch.setattr(streaming, "_band_cells", real)
    assert segment_file(tiled, tmp_path / "other.tif", **{**options, "min_size_fraction": 0.1})["resumed_from_row"] == 0


def test_a_killed_process_resumes_with_the_same_labels(tiled, tmp_path):
    out = tmp_path / "labels.tif"
    code = (
        "import sys; from pcnet.methods.streaming import segment_file; "
        f"segment_file({str(tiled)!r}, {str(out)!r}, tile=32, chunk=128)"
    )
    rows = out.with_name("labels.tif.partial.rows")
    proc = subprocess.Popen([sys.executable, "-c", code])
    try:
        deadline = time.monotonic() + 120
        state = out.with_name("labels.tif.partial.state.npz")
        while not state.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert proc.poll() is None, "the run finished before it could be killed"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
    assert rows.exists() and not out.exists()
    result = segment_file(tiled, out, tile=32, chunk=128)
    assert 0 < result["resumed_from_row"] < H
    segment_file(tiled, tmp_path / "whole.tif", tile=32, chunk=128)
    np.testing.assert_array_equal(tifffile.imread(out), tifffile.imread(tmp_path / "whole.tif"))


def test_a_big_jpeg_is_refused_with_how_to_convert(tmp_path, monkeypatch, segmenter):
    path = tmp_path / "big.jpg"
    cv2.imwrite(str(path), np.zeros((64, 96, 3), np.uint8))
    monkeypatch.setattr(tiff, "MAX_WHOLE_PIXELS", 1000)
    with pytest.raises(InputError, match=r"cannot be read in windows; convert it to a tiled TIFF.*vips tiffsave"):
        segment_file(path, tmp_path / "out.tif", segmenter=segmenter)
    one_strip = tmp_path / "strip.tif"
    tifffile.imwrite(one_strip, np.zeros((64, 96, 3), np.uint8), rowsperstrip=64)
    with pytest.raises(InputError, match="too large to read in windows; convert it to a tiled TIFF"):
        segment_file(one_strip, tmp_path / "out.tif", segmenter=segmenter)


def test_a_small_png_is_read_whole(tmp_path, segmenter):
    image = synthetic_image(256, 384, n_regions=8, seed=5)[0]
    cv2.imwrite(str(tmp_path / "small.png"), image[..., ::-1])
    segment_file(tmp_path / "small.png", tmp_path / "out.tif", tile=32, block=128, segmenter=segmenter)
    # bands of 128 rows: refined chunks of 128 rows with the default margin of 128 (one chunk each side)
    expected = segmenter.superpixels(image, tile=32, refine=True)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "out.tif"), expected)


@pytest.mark.parametrize("layout", [{"tile": (64, 48)}, {"rowsperstrip": 7}])
def test_tiff_windows_decode_only_what_they_need(tmp_path, layout):
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, (200, 300, 3), dtype=np.uint8)
    tifffile.imwrite(tmp_path / "w.tif", data, compression="zlib", **layout)
    with tiff.open_windows(tmp_path / "w.tif") as reader:
        assert reader.shape == (200, 300)
        for r0, r1, c0, c1 in [(0, 200, 0, 300), (13, 77, 40, 41), (150, 260, 250, 400), (64, 128, 48, 96)]:
            np.testing.assert_array_equal(reader.read(r0, r1, c0, c1), data[r0:r1, c0:c1])
    gray = rng.integers(0, 65536, (50, 60), dtype=np.uint16)
    tifffile.imwrite(tmp_path / "g.tif", gray, tile=(16, 16))
    with tiff.open_windows(tmp_path / "g.tif") as reader:
        window = reader.read(5, 40, 7, 50)
    assert window.shape == (35, 43, 3) and (window[..., 0] == np.round(gray[5:40, 7:50] * (255 / 65535))).all()


def test_predict_streams_a_tiff_above_the_threshold(tiled, image, tmp_path, monkeypatch):
    """python -m pcnet.predict streams a TIFF above STREAMING_THRESHOLD_PIXELS into a tiled BigTIFF
    label map (the in-memory default labels: tile 512, refined) and reads small ones whole."""
    import shutil

    from helpers import compose_config
    from pcnet.methods import streaming
    from pcnet.predict import run

    monkeypatch.setattr(streaming, "STREAMING_THRESHOLD_PIXELS", H * W - 1)
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(tiled, inputs / "slide.tif")
    tifffile.imwrite(inputs / "small.tif", image[:256, :256])
    cfg = compose_config("predict", [f"input={inputs}", f"output={tmp_path / 'out'}"], tmp_path / "run", progress=False)
    assert run(cfg) == 0
    labels = tifffile.imread(tmp_path / "out" / "slide_labels.tif")
    reference = load_segmenter(None, "pcnet", tile=512).superpixels(image)
    np.testing.assert_array_equal(labels, reference)
    assert (tmp_path / "out" / "small_labels.png").exists() and (tmp_path / "out" / "small_overlay.png").exists()
    quick = cv2.imread(str(tmp_path / "out" / "slide_overlay.png"))  # the quick-look: 1536 × 1024 fits
    assert quick.shape == (H, W, 3)
    assert run(cfg) == 0  # a rerun skips the finished slide


def test_predict_streams_a_masked_tiff_with_a_thumbnail_mask(tiled, tmp_path, monkeypatch, slide_mask):
    """``<stem>_mask.png`` beside a streamed slide, drawn on a thumbnail: labels −1 outside."""
    import shutil

    from helpers import compose_config
    from pcnet.methods import streaming
    from pcnet.predict import run

    monkeypatch.setattr(streaming, "STREAMING_THRESHOLD_PIXELS", H * W - 1)
    inputs = tmp_path / "in"
    inputs.mkdir()
    shutil.copy(tiled, inputs / "slide.tif")
    thumb = slide_mask[::4, ::4]
    cv2.imwrite(str(inputs / "slide_mask.png"), thumb.astype(np.uint8) * 255)
    cfg = compose_config("predict", [f"input={inputs}", f"output={tmp_path / 'out'}"], tmp_path / "run", progress=False)
    assert run(cfg) == 0
    labels = tifffile.imread(tmp_path / "out" / "slide_labels.tif")
    full = cv2.resize(thumb.astype(np.uint8), (W, H), interpolation=cv2.INTER_NEAREST) > 0
    assert ((labels >= 0) == full).all() and labels.max() > 100
    summary = (tmp_path / "out" / "summary.csv").read_text()
    assert "refined, masked" in summary


# --------------------------------------------------------------------------- masks


@pytest.fixture(scope="module")
def slide_mask():
    """An ellipse and a rectangle: 36 % of the image inside, with curved and straight borders."""
    yy, xx = np.mgrid[:H, :W]
    return ((yy - 500) ** 2 / 400**2 + (xx - 450) ** 2 / 300**2 < 1) | ((yy > 1100) & (xx > 600))


@pytest.mark.parametrize("refine", [False, True])
def test_masked_stream_labels_the_inside_only_at_the_grid_density(image, tiled, refining, slide_mask, refine, tmp_path):
    from helpers import assert_superpixels
    from pcnet.metrics import superpixel_scores

    result = segment_file(
        tiled, tmp_path / "m.tif", tile=TILE, block=BLOCK, segmenter=refining, mask=slide_mask, refine=refine
    )
    labels = tifffile.imread(tmp_path / "m.tif")
    k = assert_superpixels(labels, mask=slide_mask)  # −1 exactly outside, each label one region
    assert k == result["k"] and result["masked"]
    assert result["seam_mismatch_pixels"] == 0 and result["seam_missing_ids"] == 0
    assert abs(k - slide_mask.sum() / 256) <= 0.05 * slide_mask.sum() / 256  # PCNet's native density
    gt = synthetic_image(H, W, n_regions=40, seed=3)[1]
    streamed = superpixel_scores(labels, gt, ignore_index=-1)
    in_memory = superpixel_scores(refining.superpixels(image, refine=refine, mask=slide_mask), gt, ignore_index=-1)
    assert streamed["br"] >= in_memory["br"] - 0.01 and streamed["asa"] >= in_memory["asa"] - 0.005


def test_a_thumbnail_mask_is_scaled_up_by_nearest_neighbour(tiled, segmenter, slide_mask, tmp_path):
    thumb = cv2.resize(slide_mask.astype(np.uint8), (W // 8, H // 8), interpolation=cv2.INTER_AREA) > 0
    cv2.imwrite(str(tmp_path / "thumb.png"), thumb.astype(np.uint8) * 255)
    full = cv2.resize(thumb.astype(np.uint8), (W, H), interpolation=cv2.INTER_NEAREST) > 0
    options = dict(tile=TILE, block=BLOCK, segmenter=segmenter, refine=False)
    segment_file(tiled, tmp_path / "a.tif", mask=tmp_path / "thumb.png", **options)
    segment_file(tiled, tmp_path / "b.tif", mask=full, **options)
    np.testing.assert_array_equal(tifffile.imread(tmp_path / "a.tif"), tifffile.imread(tmp_path / "b.tif"))
    assert ((tifffile.imread(tmp_path / "a.tif") >= 0) == full).all()


def test_tiles_with_nothing_inside_the_mask_are_not_run(tiled, segmenter, tmp_path, monkeypatch):
    calls = []
    real = segmenter.model.inference_scores
    monkeypatch.setattr(segmenter.model, "inference_scores", lambda *a, **k: calls.append(1) or real(*a, **k))
    segment_file(tiled, tmp_path / "all.tif", tile=TILE, block=BLOCK, segmenter=segmenter, refine=False)
    n_all = len(calls)
    corner = np.zeros((H, W), bool)
    corner[:300, :200] = True  # inside the first tile only
    calls.clear()
    result = segment_file(tiled, tmp_path / "c.tif", tile=TILE, block=BLOCK, segmenter=segmenter, mask=corner)
    assert n_all == 3 * 2 and len(calls) == 1
    # the skipped tiles hold the grid's own cells, so the windows of connectivity agree on every seam
    assert result["seam_mismatch_pixels"] == 0 and result["seam_missing_ids"] == 0
    labels = tifffile.imread(tmp_path / "c.tif")
    assert ((labels >= 0) == corner).all() and abs(result["k"] - corner.sum() / 256) <= 0.1 * corner.sum() / 256


def test_a_mask_of_another_shape_is_refused(tiled, segmenter, tmp_path):
    with pytest.raises(InputError, match="same aspect ratio"):
        segment_file(tiled, tmp_path / "x.tif", segmenter=segmenter, mask=np.ones((100, 100), bool))
    with pytest.raises(InputError, match="does not exist"):
        segment_file(tiled, tmp_path / "x.tif", segmenter=segmenter, mask=tmp_path / "missing.png")


# --------------------------------------------------------------------------- quick-look


def test_quicklook_blocks_do_not_depend_on_the_bands():
    from pcnet.methods.quicklook import QuickLook

    rgb = np.full((8, 12, 3), 100, np.uint8)
    labels = np.zeros((8, 12), np.int32)
    labels[:, 6:] = 1  # boundary pixels: column 6 (its left neighbour differs)
    labels[6:, :2] = -1  # outside a mask
    whole, banded = QuickLook(8, 12, side=6), QuickLook(8, 12, side=6)
    whole.add(0, rgb, labels)
    banded.add(0, rgb[:3], labels[:3])  # a band boundary inside a 2 × 2 block
    banded.add(3, rgb[3:], labels[3:])
    image = whole.image()
    np.testing.assert_array_equal(banded.image(), image)
    assert whole.factor == 2 and image.shape == (4, 6, 3)
    # block column 3 (image columns 6, 7): half its pixels are boundary, a line's share: 0.6 of the colour
    np.testing.assert_array_equal(image[0, 3], np.round(100 * 0.4 + np.array([255, 255, 0]) * 0.6))
    assert (image[0, 0] == 100).all() and (image[3, 0] == 40).all()  # inside; outside darkened


def test_segment_file_writes_a_quicklook(tiled, segmenter, tmp_path):
    segment_file(tiled, tmp_path / "l.tif", tile=TILE, block=BLOCK, segmenter=segmenter, quicklook=tmp_path / "q.png")
    quick = cv2.imread(str(tmp_path / "q.png"))
    assert quick.shape == (H, W, 3) and (quick[..., 0] == 0).any()  # yellow (BGR 0, 255, 255) lines


# --------------------------------------------------------------------------- slides as they come


def test_predict_streams_an_svs_like_slide_with_its_tissue_and_a_chosen_level(tmp_path, monkeypatch):
    """An SVS-like slide (JPEG tiles, 3 levels, H&E-like tissue on glass) through predict: level 0
    streamed with mask=auto-tissue (labels on the tissue only), level=1 read whole."""
    from helpers import compose_config
    from pcnet.methods import streaming
    from pcnet.predict import run
    from slides import pyramid, synthetic_slide, write_svs

    slide, tissue = synthetic_slide(H, W, seed=2)
    inputs = tmp_path / "in"
    inputs.mkdir()
    write_svs(inputs / "slide.svs", pyramid(slide))
    monkeypatch.setattr(streaming, "STREAMING_THRESHOLD_PIXELS", 200_000)
    out = tmp_path / "out"
    cfg = compose_config(
        "predict", [f"input={inputs}", f"output={out}", "mask=auto-tissue"], tmp_path / "r", progress=False
    )
    assert run(cfg) == 0
    labels = tifffile.imread(out / "slide_labels.tif")
    assert labels.shape == (H, W) and labels.max() > 1000
    iou = np.logical_and(labels >= 0, tissue).sum() / np.logical_or(labels >= 0, tissue).sum()
    assert iou > 0.95, iou
    cfg = compose_config(
        "predict",
        [f"input={inputs}", f"output={tmp_path / 'o1'}", "level=1", "mask=null"],
        tmp_path / "r1",
        progress=False,
    )
    assert run(cfg) == 0
    from pcnet.io import read_label_map

    assert read_label_map(tmp_path / "o1" / "slide_labels.png").shape == (H // 4, W // 4)

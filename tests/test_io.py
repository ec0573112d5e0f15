"""Reading photos as users have them: EXIF orientation applied on read, for the API, predict and evaluate."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageOps

import pcnet
from pcnet.io import read_image
from pcnet.io.images import exif_orientation

#: how each EXIF orientation stores an upright image (PIL transposes; the reader must undo them)
STORED = {
    1: None,
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_90,  # a portrait phone photo: pixels stored turned 90° counter-clockwise
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_270,
}


def upright() -> np.ndarray:
    """A 48×80 image whose four quadrants differ, so every turn or mirror is visible."""
    image = np.zeros((48, 80, 3), np.uint8)
    image[:24, :40] = (250, 30, 30)  # top-left red
    image[:24, 40:] = (30, 250, 30)  # top-right green
    image[24:, :40] = (30, 30, 250)  # bottom-left blue
    image[24:, 40:] = (240, 240, 240)  # bottom-right white
    return image


def write_jpeg(path: Path, orientation: int) -> Path:
    """The upright image stored as a camera would with ``orientation`` (JPEG, EXIF tag 0x0112)."""
    image = Image.fromarray(upright())
    if STORED[orientation] is not None:
        image = image.transpose(STORED[orientation])
    exif = Image.Exif()
    exif[0x0112] = orientation
    image.save(path, quality=95, exif=exif)
    return path


@pytest.mark.parametrize("orientation", range(1, 9))
def test_jpeg_with_each_exif_orientation_is_read_upright(tmp_path, orientation):
    path = write_jpeg(tmp_path / f"photo_{orientation}.jpg", orientation)
    assert exif_orientation(path) == orientation
    image = read_image(path)
    assert image.shape == (48, 80, 3)
    assert np.abs(image.astype(int) - upright()).mean() < 4  # JPEG noise only
    reference = np.asarray(ImageOps.exif_transpose(Image.open(path)))  # what viewers show
    assert np.abs(image.astype(int) - reference).mean() < 4


def test_api_labels_follow_the_upright_photo(tmp_path):
    """pcnet.superpixels(path) segments the upright image: a sideways portrait gives labels of
    the displayed shape, with a boundary where the displayed quadrants meet."""
    path = write_jpeg(tmp_path / "portrait.jpg", 6)
    labels = pcnet.superpixels(path, 4, method="felzenszwalb")  # graph cuts follow the colour edges
    assert labels.shape == (48, 80)
    assert (labels[:, 39] != labels[:, 40]).all() and (labels[23] != labels[24]).all()


def test_files_without_exif_are_read_as_stored(tmp_path):
    path = tmp_path / "plain.png"
    Image.fromarray(upright()).save(path)
    assert exif_orientation(path) == 1
    np.testing.assert_array_equal(read_image(path), upright())

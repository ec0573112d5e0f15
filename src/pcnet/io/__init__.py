"""Reading and writing images, label maps and tables, with the conversions every entry point shares."""

from pcnet.io.files import atomic_path, ensure_writable_dir, write_csv
from pcnet.io.images import ImageLike, read_image, to_rgb_uint8, write_image
from pcnet.io.labels import read_label_map, write_label_map

__all__ = [
    "ImageLike",
    "atomic_path",
    "ensure_writable_dir",
    "read_image",
    "read_label_map",
    "to_rgb_uint8",
    "write_csv",
    "write_image",
    "write_label_map",
]

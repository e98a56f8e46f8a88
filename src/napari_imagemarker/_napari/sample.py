"""npe2 sample-data contribution."""

from __future__ import annotations

from napari_imagemarker._napari.orientation import orient_current_viewer
from napari_imagemarker.images.read import read_image
from napari_imagemarker.images.sample import synthetic_tan_path


def synthetic_tan_field():
    """Synthetic 256x256 field with six sources and a rotated TAN WCS (see sample_data)."""
    layers = read_image(synthetic_tan_path())
    orient_current_viewer(True)
    return layers

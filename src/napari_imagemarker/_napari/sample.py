"""npe2 sample-data contribution."""

from __future__ import annotations

from ..io.images import read_image
from ..sample_data import synthetic_tan_path
from .reader import _orient_current_viewer


def synthetic_tan_field():
    """Synthetic 256x256 field with six sources and a rotated TAN WCS (see sample_data)."""
    layers = read_image(synthetic_tan_path())
    _orient_current_viewer(True)
    return layers

"""The FITS writer on layers shown through the Display dock: the raw pixels are saved."""

from __future__ import annotations

import numpy as np
from astropy.io import fits

from napari_imagemarker._napari.display.layer import apply_display, raw_data
from napari_imagemarker.display import DisplaySettings, make_interval, make_stretch

PLUGIN = "napari-imagemarker"


def test_an_rgb_layer_with_a_display_copy_is_saved_raw(make_napari_viewer, spt_tiffs, tmp_path):
    viewer = make_napari_viewer()
    [layer] = viewer.open(str(spt_tiffs[0]), plugin=PLUGIN)
    raw = layer.data
    apply_display(layer, DisplaySettings(make_stretch("asinh"), make_interval("zscale"), 1.5))
    shown = layer.data
    assert shown is not raw and not np.array_equal(shown, raw)  # the layer shows a copy
    path = tmp_path / "spt.fits"

    viewer.layers.selection = {layer}
    viewer.layers.save(str(path), selected=True, plugin=PLUGIN)

    with fits.open(path) as hdul:
        saved = hdul[0].data
        # the raw pixels, channels first (the writer's layout: channels x pages x rows x cols)
        np.testing.assert_array_equal(saved, np.moveaxis(np.asarray(raw), -1, 0))
        assert saved.dtype == raw.dtype
        assert "CTYPE1" in hdul[0].header  # and the WCS
    assert layer.data is shown and raw_data(layer) is raw  # the display is left as it was


def test_a_blurred_grey_layer_is_saved_raw(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    data = np.zeros((32, 32), np.float32)
    data[16, 16] = 100.0
    data[2:5, 2:5] = np.nan
    layer = viewer.add_image(data)
    apply_display(layer, DisplaySettings(make_stretch("log"), make_interval("minmax"), 2.0))
    path = tmp_path / "grey.fits"
    viewer.layers.selection = {layer}
    viewer.layers.save(str(path), selected=True, plugin=PLUGIN)
    np.testing.assert_array_equal(fits.getdata(path), data)

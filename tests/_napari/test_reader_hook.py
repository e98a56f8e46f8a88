"""The npe2 reader through napari's own open machinery (ViewerModel, no window)."""

from __future__ import annotations

import numpy as np
import pytest
from napari.components import ViewerModel
from npe2 import PluginManager

from napari_imagemarker._napari.reader import get_reader

PLUGIN = "napari-imagemarker"


@pytest.fixture(scope="module", autouse=True)
def _discover():
    PluginManager.instance().discover()


def test_viewer_open_fits_keeps_header_and_wcs(fits_files):
    viewer = ViewerModel()
    layers = viewer.open(str(fits_files["mef"]), plugin=PLUGIN)
    assert [layer.name for layer in layers] == [
        "mef.fits [SCI]",
        "mef.fits [ERR]",
        "mef.fits [DQ]",
    ]
    sci = viewer.layers["mef.fits [SCI]"]
    assert sci.metadata["header"]["EXTNAME"] == "SCI"
    assert sci.metadata["wcs"].has_celestial
    assert sci.colormap.name == "gray"


def test_viewer_open_spt_tiff_is_rgb_page_stack(spt_tiffs):
    viewer = ViewerModel()
    [layer] = viewer.open(str(spt_tiffs[0]), plugin=PLUGIN)
    assert layer.rgb and layer.data.shape == (2, 512, 512, 3)
    assert viewer.dims.ndim == 3  # a page slider
    assert "wcs" in layer.metadata


def test_reader_hook_returns_none_for_what_it_cannot_read(tmp_path):
    text = tmp_path / "notes.fits"
    text.write_text("hello")
    assert get_reader(str(text)) is None
    png = tmp_path / "image.png"
    from PIL import Image

    Image.fromarray(np.zeros((4, 5), np.uint8)).save(png)
    assert get_reader(str(png)) is None  # a readable PNG, but napari's own reader reads PNG
    assert get_reader(str(tmp_path / "missing.fits")) is None


def test_sample_data_has_tan_wcs_with_sources():
    viewer = ViewerModel()
    viewer.open_sample(PLUGIN, "tan_field")
    [layer] = viewer.layers
    wcs = layer.metadata["wcs"]
    assert wcs.wcs.ctype[0] == "RA---TAN"
    # the brightest source sits on CRPIX (0-based row 127, col 95), where the sky is CRVAL
    row, col = np.unravel_index(np.argmax(layer.data), layer.data.shape)
    assert (row, col) == (127, 95)
    ra, dec = wcs.pixel_to_world_values(col, row)
    assert ra == pytest.approx(150.1, abs=1e-9) and dec == pytest.approx(2.2, abs=1e-9)

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


def _truncated_fits(path):
    from astropy.io import fits

    fits.PrimaryHDU(np.ones((200, 200), np.float32)).writeto(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def test_a_truncated_file_fails_with_its_reason_not_naparis_no_data(tmp_path):
    """The headers read, the data do not: the error napari puts in its reader dialog names
    the file and says it is truncated (before: only "returned no data")."""
    path = tmp_path / "short.fits"
    _truncated_fits(path)
    assert get_reader(str(path)) is not None  # its headers are fine
    with pytest.raises(ValueError, match=r"short\.fits: HDU 0 data cannot be read \(.*truncated"):
        ViewerModel().open(str(path), plugin=PLUGIN)


def test_after_good_files_a_truncated_one_is_named_and_they_stay_open(tmp_path, fits_files):
    """napari opens the paths of one call one by one: the good file's layers are added, and
    the truncated one fails with its own name and reason."""
    path = tmp_path / "short.fits"
    _truncated_fits(path)
    viewer = ViewerModel()
    with pytest.raises(ValueError, match=r"short\.fits: HDU 0 data cannot be read"):
        viewer.open([str(fits_files["mef"]), str(path)], plugin=PLUGIN, stack=False)
    assert [layer.name for layer in viewer.layers] == [
        "mef.fits [SCI]",
        "mef.fits [ERR]",
        "mef.fits [DQ]",
    ]

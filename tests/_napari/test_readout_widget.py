"""The coordinate readout dock in a real napari window (under Xvfb)."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from conftest import sip_header, tan_header

PLUGIN = "napari-imagemarker"


@pytest.fixture
def viewer_with_readout(make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Coordinate readout")
    return viewer, widget


def _world(layer, row, col):
    return tuple(layer.data_to_world((row, col)))


@pytest.mark.parametrize("header", [tan_header(), sip_header()], ids=["rotated-cd", "sip"])
def test_readout_agrees_with_astropy_at_100_random_positions(
    viewer_with_readout, tmp_path, header
):
    viewer, widget = viewer_with_readout
    path = tmp_path / "field.fits"
    data = np.random.default_rng(3).random((120, 150)).astype(np.float32)
    fits.PrimaryHDU(data, header=header).writeto(path)
    [layer] = viewer.open(str(path), plugin=PLUGIN)
    # FITS is shown north up by turning the camera, never by flipping the data
    assert tuple(viewer.scene.camera.orientation2d) == ("up", "right")
    np.testing.assert_array_equal(layer.data, data)
    # a non-trivial layer transform: the readout must go through world -> data coordinates
    layer.scale = (2.0, 2.0)
    layer.translate = (10.0, -5.0)
    reference = WCS(header)
    rng = np.random.default_rng(4)
    for row, col in zip(rng.uniform(-0.5, 119.5, 100), rng.uniform(-0.5, 149.5, 100)):
        viewer.cursor.position = _world(layer, row, col)
        r = widget.readout
        sky = reference.pixel_to_world(col, row)
        assert abs(r.lon - sky.ra.deg) < 1e-9 and abs(r.lat - sky.dec.deg) < 1e-9
        i, j = int(np.floor(row + 0.5)), int(np.floor(col + 0.5))
        assert r.index == (i, j)
        assert widget.labels["Value"].text() == f"{float(data[i, j]):.6g}"
        assert widget.labels["FITS pixel"].text() == f"x = {col + 1:.2f}, y = {row + 1:.2f}"


def test_readout_on_spt_tiff_shows_true_radec_of_golden_mark(
    viewer_with_readout, spt_tiffs, golden
):
    viewer, widget = viewer_with_readout
    mark = golden["marks"][0]  # T0000 (x, y) = (100, 50) as displayed by imgmarker
    path = next(p for p in spt_tiffs if p.name == mark["image"])
    viewer.open(str(path), plugin=PLUGIN)
    assert tuple(viewer.scene.camera.orientation2d) == ("up", "right")
    x, y = mark["true_wcs_pixel"]
    viewer.cursor.position = (0.0, float(y), float(x))
    assert widget.labels["Array index"].text() == f"[0, {y}, {x}]"
    assert widget.labels["Value"].text() == "({}, {}, {})".format(*mark["pixel_value"])
    assert widget.labels["RA, Dec (deg)"].text() == (
        f"{mark['true_ra']:.7f}, {mark['true_dec']:+.7f}"
    )
    assert widget.labels["RA, Dec"].text().startswith("00:00:52.88")


def test_readout_galactic_and_png_without_wcs(viewer_with_readout, tmp_path):
    viewer, widget = viewer_with_readout
    path = tmp_path / "field.fits"
    fits.PrimaryHDU(np.zeros((50, 60), np.float32), header=tan_header()).writeto(path)
    viewer.open(str(path), plugin=PLUGIN)
    widget.frame_box.setCurrentIndex(1)
    viewer.cursor.position = (10.0, 20.0)
    sky = WCS(tan_header()).pixel_to_world(20.0, 10.0).galactic
    assert widget.titles["RA, Dec (deg)"].text() == "l, b (deg)"
    assert widget.labels["RA, Dec (deg)"].text() == f"{sky.l.deg:.7f}, {sky.b.deg:+.7f}"
    viewer.layers.clear()
    viewer.add_image(np.arange(20.0).reshape(4, 5), name="plain")
    viewer.cursor.position = (1.0, 2.0)
    assert widget.labels["Value"].text() == "7"
    assert widget.labels["RA, Dec (deg)"].text() == "–"

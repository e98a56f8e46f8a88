"""NapariImageViewer on a real canvas: what napari shows matches what the getters return."""

from __future__ import annotations

import sys

import numpy as np
import pytest

if sys.version_info < (3, 12):  # pragma: no cover
    pytest.skip("astro-image-display-api needs Python >= 3.12", allow_module_level=True)

from astropy import units as u
from astropy.io import fits
from astropy.nddata import NDData
from astropy.table import Table
from astropy.visualization import LogStretch, ManualInterval, ZScaleInterval
from astropy.wcs import WCS
from display_canvas import Canvas

from conftest import tan_header
from napari_imagemarker._napari.display.layer import raw_data, settings_of
from napari_imagemarker.aida import NapariImageViewer

PLUGIN = "napari-imagemarker"


def _field() -> np.ndarray:
    image = np.zeros((120, 150), np.float32)
    image[20:40, 20:40] = 1
    image[20:40, 90:110] = 10
    image[80:100, 20:40] = 100
    return image


@pytest.fixture
def canvas_viewer(make_napari_viewer):
    """A shown viewer and a :class:`Canvas` to read it."""
    viewer = make_napari_viewer(show=True)
    return viewer, Canvas(viewer)


def test_log_stretch_and_cuts_are_drawn_as_set(canvas_viewer, tmp_path):
    viewer, canvas = canvas_viewer
    path = tmp_path / "field.fits"
    fits.PrimaryHDU(_field(), header=tan_header()).writeto(path)
    aida = NapariImageViewer(viewer)
    aida.load_image(path, image_label="field")
    layer = viewer.layers["field"]
    assert layer.metadata["wcs"] is not None  # through our FITS reader
    aida.set_cuts((0, 100))
    aida.set_stretch(LogStretch())
    canvas.grab()
    values = [canvas.brightness(layer, r, c) for r, c in ((30, 30), (30, 100), (90, 30))]
    assert values[0] < values[1] < values[2] and values[0] > 60
    assert isinstance(aida.get_stretch(), LogStretch)
    assert np.array_equal(raw_data(layer), _field())


def test_viewport_is_the_camera_both_ways(canvas_viewer):
    viewer, _ = canvas_viewer
    wcs = WCS(tan_header())
    aida = NapariImageViewer(viewer)
    aida.load_image(NDData(_field(), wcs=wcs), image_label="field")
    aida.set_viewport(center=(30.0, 90.0), fov=40)
    camera = viewer.scene.camera
    assert camera.center[-2:] == pytest.approx((90.0, 30.0))  # (row, col) = (y, x)
    assert camera.zoom == pytest.approx(min(viewer.canvas.size) / 40)
    # a pan and a zoom in napari are what get_viewport reports
    camera.center = (50.0, 70.0)
    camera.zoom = camera.zoom * 2
    port = aida.get_viewport(sky_or_pixel="pixel")
    assert port["center"] == pytest.approx((70.0, 50.0))
    assert port["fov"] == pytest.approx(20)
    sky = aida.get_viewport(sky_or_pixel="sky")
    assert sky["center"].separation(wcs.pixel_to_world(70, 50)) < 1e-6 * u.arcsec
    aida.set_viewport(center=wcs.pixel_to_world(10, 20), fov=0.5 * u.arcmin)
    assert camera.center[-2:] == pytest.approx((20.0, 10.0))


def test_napari_contrast_slider_and_colormap_are_read_back(make_napari_viewer):
    viewer = make_napari_viewer(show=True)
    aida = NapariImageViewer(viewer)
    aida.load_image(_field())
    assert isinstance(aida.get_cuts(), ZScaleInterval)
    layer = viewer.layers["image"]
    aida.set_stretch(LogStretch())
    layer.contrast_limits = (2.0, 50.0)  # the user drags napari's contrast slider
    cuts = aida.get_cuts()
    assert isinstance(cuts, ManualInterval) and (cuts.vmin, cuts.vmax) == (2.0, 50.0)
    assert isinstance(aida.get_stretch(), LogStretch)
    layer.colormap = "viridis"  # picked in napari's layer controls: the stretch stays on it
    assert aida.get_colormap() == "viridis"
    assert isinstance(settings_of(layer).stretch, LogStretch)
    assert layer.colormap.name.startswith("viridis log")


def test_catalog_is_an_overlay_on_the_image(make_napari_viewer):
    viewer = make_napari_viewer(show=True)
    wcs = WCS(tan_header())
    aida = NapariImageViewer(viewer)
    aida.load_image(NDData(_field(), wcs=wcs))
    coords = wcs.pixel_to_world([10.0, 60.0], [20.0, 70.0])
    style = {"shape": "square", "color": "yellow", "size": 8}
    table = Table({"coord": coords, "mag": [18.0, 19.5]})
    aida.load_catalog(table, use_skycoord=True, catalog_label="stars", catalog_style=style)
    points = viewer.layers["stars"]
    assert points.data[:, -2:] == pytest.approx(np.array([[20.0, 10.0], [70.0, 60.0]]), abs=1e-6)
    assert list(points.features["mag"]) == [18.0, 19.5]
    assert set(points.symbol) == {points.symbol[0]} and str(points.symbol[0]).endswith("square")
    np.testing.assert_allclose(points.border_color[0], [1, 1, 0, 1])
    table = aida.get_catalog()
    assert table["x"] == pytest.approx([10.0, 60.0]) and "mag" in table.colnames
    aida.remove_catalog()
    assert "stars" not in viewer.layers


def test_blur_and_save(canvas_viewer, tmp_path):
    viewer, canvas = canvas_viewer
    aida = NapariImageViewer(viewer)
    star = np.zeros((64, 64), np.float32)
    star[32, 32] = 100
    aida.load_image(star)
    aida.set_cuts((0, 5))
    aida.set_blur(2.0)
    layer = viewer.layers["image"]
    assert aida.get_blur() == 2.0 and layer.interpolation2d == "custom"
    assert np.array_equal(aida.get_image(), star) and layer.data[32, 32] == 100
    path = tmp_path / "view.png"
    aida.save(path)
    from skimage.io import imread

    saved = imread(path)
    canvas.grab()
    assert saved.shape[:2] == canvas.shot.shape[:2]
    with pytest.raises(FileExistsError, match="overwrite=True"):
        aida.save(path)

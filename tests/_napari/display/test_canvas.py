"""The display model on a real canvas: what is drawn, while the data stay raw."""

from __future__ import annotations

import numpy as np
import pytest
import tifffile
from astropy.visualization import LinearStretch, LogStretch, ManualInterval
from display_canvas import Canvas

from napari_imagemarker._napari.display.layer import (
    apply_display,
    display_of,
    raw_data,
    settings_of,
)
from napari_imagemarker.display import STRETCHES, DisplaySettings, make_interval, make_stretch

PLUGIN = "napari-imagemarker"


def _squares() -> np.ndarray:
    image = np.zeros((64, 64), np.float32)
    image[8:24, 8:24] = 1
    image[8:24, 40:56] = 10
    image[40:56, 8:24] = 100
    return image


@pytest.fixture
def canvas_viewer(make_napari_viewer):
    """A shown viewer and a :class:`Canvas` to read it."""
    viewer = make_napari_viewer(show=True)
    return viewer, Canvas(viewer)


def test_log_stretch_brightens_faint_values_and_keeps_their_order_on_screen(canvas_viewer):
    viewer, canvas = canvas_viewer
    data = _squares()
    layer = viewer.add_image(data)
    viewer.reset_view()
    points = [(16, 16), (16, 48), (48, 16)]  # values 1, 10, 100

    apply_display(layer, DisplaySettings(LinearStretch(), ManualInterval(0, 100)))
    canvas.grab()
    linear = [canvas.brightness(layer, *p) for p in points]
    apply_display(layer, DisplaySettings(LogStretch(), ManualInterval(0, 100)))
    canvas.grab()
    log = [canvas.brightness(layer, *p) for p in points]

    assert linear[0] < 5 and 20 < linear[1] < 30 and linear[2] > 250
    assert log[0] < log[1] < log[2]
    # log(1 + 1000 * 0.01) / log(1001) = 35% grey for a value of 1
    assert log[0] == pytest.approx(0.347 * 255, abs=6)
    assert layer.data is not None and np.array_equal(layer.data, _squares())


def test_a_blurred_star_is_wider_on_screen_while_the_data_stay_the_same(canvas_viewer):
    viewer, canvas = canvas_viewer
    data = np.zeros((64, 64), np.float32)
    data[32, 32] = 100.0
    layer = viewer.add_image(data)
    viewer.reset_view()
    before = layer.data
    apply_display(layer, DisplaySettings(LinearStretch(), ManualInterval(0, 5)))
    canvas.grab()
    sharp = canvas.width(layer, 32, 32, threshold=40)
    apply_display(layer, DisplaySettings(LinearStretch(), ManualInterval(0, 5), blur=2.0))
    canvas.grab()
    blurred = canvas.width(layer, 32, 32, threshold=40)

    zoom = viewer.scene.camera.zoom
    assert sharp == pytest.approx(zoom, abs=2)  # one data pixel
    assert blurred > 3 * zoom  # the star now spans several pixels
    assert layer.data is before and layer.data[32, 32] == 100 and layer.data.sum() == 100
    assert layer.interpolation2d == "custom"
    apply_display(layer, settings_of(layer).replace(blur=0))
    assert layer.interpolation2d == "nearest"


def test_a_blurred_nan_hole_does_not_grow_on_screen_and_the_data_stay_raw(canvas_viewer):
    viewer, canvas = canvas_viewer
    data = np.full((64, 64), 50.0, np.float32)
    data[24:40, 24:40] = np.nan  # a 16-pixel hole without data
    data[10, 10] = 5000.0  # a star away from it
    layer = viewer.add_image(data)
    viewer.reset_view()
    before = data.copy()
    settings = DisplaySettings(LinearStretch(), ManualInterval(0, 100))
    apply_display(layer, settings)
    canvas.grab()
    sharp_grey = canvas.brightness(layer, 32, 20)
    sharp_star = canvas.width(layer, 10, 10, threshold=200)
    apply_display(layer, settings.replace(blur=2.0))  # reaches 6 pixels
    canvas.grab()

    # next to the hole, inside the kernel's reach: still the grey of 50, not NaN's black
    for row, col in ((32, 22), (32, 23), (22, 32), (41, 32), (32, 41)):
        assert canvas.brightness(layer, row, col) == pytest.approx(sharp_grey, abs=3)
    # the hole is still drawn as NaN (black), to its edge
    for row, col in ((32, 32), (24, 24), (39, 39), (32, 24)):
        assert canvas.brightness(layer, row, col) < 3
    assert sharp_grey == pytest.approx(128, abs=3)
    # the blur still blurs: the star is wider on screen
    assert canvas.width(layer, 10, 10, threshold=200) > sharp_star
    np.testing.assert_array_equal(layer.data, before)  # NaN and all, unchanged
    assert layer.data is data


def test_rgb_shows_a_display_copy_and_keeps_the_raw_pixels(canvas_viewer, spt_tiffs):
    viewer, canvas = canvas_viewer
    raw = tifffile.imread(spt_tiffs[0])
    [layer] = viewer.open(str(spt_tiffs[0]), plugin=PLUGIN)
    shown_raw = layer.data  # the reader's array (rows flipped to the FITS grid)
    canvas.grab()
    as_stored = canvas.brightness(layer, 300, 300)
    apply_display(layer, DisplaySettings(make_stretch("asinh"), make_interval("zscale"), 1.5))
    canvas.grab()
    stretched = canvas.brightness(layer, 300, 300)

    assert raw_data(layer) is shown_raw and layer.data is not shown_raw
    assert layer.data.dtype == np.uint8 and layer.data.shape == shown_raw.shape
    assert np.array_equal(np.sort(shown_raw.ravel()), np.sort(raw.ravel()))  # untouched
    assert stretched > as_stored + 10  # asinh lifts the faint sky
    assert layer.interpolation2d == "custom"  # integer RGB: the blur is the GPU's kernel
    # back to the picture as stored: napari shows the raw array itself again
    apply_display(layer, DisplaySettings(LinearStretch(), ManualInterval(0, 255)))
    assert layer.data is shown_raw and display_of(layer).display is None
    assert layer.interpolation2d == "nearest"


def test_rgb_with_nan_is_blurred_nan_aware_in_the_copy(canvas_viewer):
    viewer, _ = canvas_viewer
    raw = np.full((40, 40, 3), 0.5, np.float32)
    raw[10:20, 10:20] = np.nan
    layer = viewer.add_image(raw, rgb=True)
    apply_display(layer, DisplaySettings(LinearStretch(), ManualInterval(0, 1), blur=2.0))
    assert layer.interpolation2d == "nearest"  # blurred on the CPU, in the display copy
    copy = layer.data
    assert copy[5, 5, 0] == copy[25, 25, 0] == 128  # no darkening next to the NaN block
    assert copy[15, 15, 0] == 0 and np.isnan(raw_data(layer)[15, 15, 0])


@pytest.fixture
def readout(make_napari_viewer):
    viewer = make_napari_viewer(show=True)
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Coordinate readout")
    return viewer, widget


@pytest.mark.parametrize("stretch", list(STRETCHES))
def test_readout_shows_the_raw_value_under_every_stretch(readout, spt_tiffs, stretch):
    viewer, widget = readout
    grey = viewer.add_image(_squares() * 1.5, name="grey")
    [rgb] = viewer.open(str(spt_tiffs[1]), plugin=PLUGIN)
    raw = rgb.data
    for layer, (row, col) in ((grey, (48, 16)), (rgb, (201, 333))):
        apply_display(layer, DisplaySettings(make_stretch(stretch), make_interval("99%"), 1.0))
        viewer.layers.selection.active = layer
        viewer.cursor.position = tuple(layer.data_to_world((row, col)))
        if layer is grey:
            assert widget.labels["Value"].text() == "150"
        else:
            expected = "(" + ", ".join(str(int(v)) for v in raw[..., row, col, :][0]) + ")"
            assert widget.labels["Value"].text() == expected
            assert not np.array_equal(layer.data[0, row, col], raw[0, row, col])

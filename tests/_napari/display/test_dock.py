"""The Display dock, the Layers menu and a marking session's display settings, in a real
window: controls used as a person does, results read from the layers and the session."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from astropy.visualization import AsinhStretch, ManualInterval, ZScaleInterval
from napari.layers import Image
from qtpy.QtCore import Qt
from qtpy.QtTest import QTest

from conftest import IMGMARKER
from napari_imagemarker import MarkingSession, open_session
from napari_imagemarker._napari.display import menu
from napari_imagemarker._napari.display.layer import display_of, raw_data, settings_of
from napari_imagemarker._napari.marking.binding import binding_for

PLUGIN = "napari-imagemarker"


@pytest.fixture
def dock(make_napari_viewer):
    viewer = make_napari_viewer(show=True)
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Display")
    return viewer, widget


def choose(box, text: str) -> None:
    """Pick ``text`` in a combo box as a person does (the list, then the item)."""
    index = box.findText(text)
    assert index >= 0, text
    box.setCurrentIndex(index)


def blur_with_keys(dock_widget, presses: int, qtbot) -> None:
    slider = dock_widget.blur_slider
    slider.setFocus()
    for _ in range(presses):
        QTest.keyClick(slider, Qt.Key.Key_Right)


def test_dock_sets_stretch_limits_and_blur_of_the_selected_image(dock, qtbot):
    viewer, widget = dock
    field = np.random.default_rng(5).normal(100, 10, (80, 90)).astype(np.float32)
    other = viewer.add_image(np.zeros((10, 10)), name="other")
    layer = viewer.add_image(field, name="field")
    assert widget.layer is layer
    assert widget.target_label.text() == "field"
    choose(widget.stretch_box, "Asinh")
    choose(widget.interval_box, "ZScale")
    blur_with_keys(widget, 15, qtbot)  # 15 steps of 0.1 px
    qtbot.waitUntil(lambda: settings_of(layer).blur == pytest.approx(1.5))
    settings = settings_of(layer)
    assert isinstance(settings.stretch, AsinhStretch) and settings.stretch.a == 0.1
    assert isinstance(settings.interval, ZScaleInterval)
    assert widget.summary.text() == "asinh (a=0.1), zscale, blur 1.5 px"
    assert layer.interpolation2d == "custom" and layer.colormap.name == "gray asinh 0.1"
    assert display_of(other) is None  # only the selected image changed
    # the histogram shows the raw values with the limits on it
    lo, hi = layer.contrast_limits
    assert widget.hist_view.limits == [pytest.approx((lo, hi))]
    assert widget.hist_view.histogram.counts.sum() > 7000


def test_typing_limits_makes_them_manual_and_napari_slider_is_followed(dock, qtbot):
    viewer, widget = dock
    layer = viewer.add_image(np.arange(100, dtype=np.float32).reshape(10, 10))
    widget.low_box.setFocus()
    QTest.keyClick(widget.low_box, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    QTest.keyClicks(widget.low_box, "5")
    QTest.keyClick(widget.low_box, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: display_of(layer) is not None)
    assert isinstance(settings_of(layer).interval, ManualInterval)
    assert layer.contrast_limits[0] == 5
    assert widget.interval_box.currentText() == "Manual"
    layer.contrast_limits = (20, 40)  # napari's own slider
    assert widget.low_box.value() == 20 and widget.high_box.value() == 40
    assert settings_of(layer).interval.vmax == 40


def test_reset_returns_to_linear_zscale_no_blur(dock, qtbot):
    viewer, widget = dock
    layer = viewer.add_image(np.random.default_rng(1).random((50, 50)))
    choose(widget.stretch_box, "Log")
    choose(widget.interval_box, "90%")
    blur_with_keys(widget, 5, qtbot)
    qtbot.waitUntil(lambda: settings_of(layer).blur > 0)
    QTest.mouseClick(widget.reset_button, Qt.MouseButton.LeftButton)
    assert settings_of(layer).describe() == "linear, zscale"
    assert layer.interpolation2d == "nearest" and layer.colormap.name == "gray"
    assert widget.stretch_box.currentText() == "Linear" and widget.blur_box.value() == 0


def test_layers_menu_opens_the_dock_and_sets_zscale_on_the_selection(make_napari_viewer):
    import npe2

    viewer = make_napari_viewer(show=True)
    manifest = npe2.PluginManager.instance().get_manifest(PLUGIN)
    visualize = [item.command for item in manifest.contributions.menus["napari/layers/visualize"]]
    assert visualize == [
        "napari-imagemarker.display_dock",
        "napari-imagemarker.display_zscale",
        "napari-imagemarker.display_reset",
    ]
    a = viewer.add_image(np.random.default_rng(2).random((30, 30)), contrast_limits=(0, 9))
    b = viewer.add_image(np.random.default_rng(3).random((30, 30)), contrast_limits=(0, 9))
    viewer.layers.selection = {a, b}
    menu.zscale_limits(viewer)
    assert all(isinstance(settings_of(x).interval, ZScaleInterval) for x in (a, b))
    assert a.contrast_limits[1] < 1 and b.contrast_limits[1] < 1
    menu.open_display_dock(viewer)
    assert "Display" in " ".join(viewer.window.dock_widgets)


def test_marking_session_carries_the_settings_over_and_saves_them(dock, tmp_path, qtbot):
    viewer, widget = dock
    images = tmp_path / "images"
    images.mkdir()
    for tif in sorted((IMGMARKER / "images").glob("SPT-*.tif")):
        shutil.copy(tif, images)
    session = open_session(viewer, images, tmp_path / "save", user="tester")
    binding = binding_for(viewer)
    assert widget.layer is binding.image_layer  # the marks layer is selected: the image is used
    choose(widget.stretch_box, "Asinh")
    choose(widget.interval_box, "ZScale")
    blur_with_keys(widget, 15, qtbot)
    qtbot.waitUntil(lambda: settings_of(binding.image_layer).blur == pytest.approx(1.5))
    first_raw = raw_data(binding.image_layer)
    binding.next_image()
    layer = binding.image_layer
    assert settings_of(layer).describe() == "asinh (a=0.1), zscale, blur 1.5 px"
    assert raw_data(layer) is not first_raw and layer.data is not raw_data(layer)
    assert widget.summary.text() == "asinh (a=0.1), zscale, blur 1.5 px"
    saved = session.display
    assert saved["stretch"] == {"name": "asinh", "a": 0.1} and saved["blur"] == 1.5
    binding.session.flush()
    widget.close()
    viewer.window.remove_dock_widget("all")
    binding.close()
    # the session folder remembers; a new viewer shows the first image with the settings
    with MarkingSession(None, tmp_path / "save", user="tester", read_only=True) as again:
        assert again.display == saved
    other = open_session(viewer, None, tmp_path / "save", user="tester")
    shown = binding_for(viewer).image_layer
    assert isinstance(shown, Image) and settings_of(shown).blur == 1.5
    assert other.display == saved

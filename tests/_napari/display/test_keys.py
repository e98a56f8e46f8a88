"""The display keys pressed on a real canvas: G / Shift+G stretch, I / Shift+I limits,
] / [ blur, Shift+R reset; with the Display dock, and in a marking session."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.visualization import LogStretch, ManualInterval, SqrtStretch, ZScaleInterval
from display_canvas import Canvas
from qtpy.QtCore import Qt
from qtpy.QtTest import QTest

from napari_imagemarker import MarkingSession, open_session
from napari_imagemarker._napari.display.keys import DISPLAY_KEYS, help_rows
from napari_imagemarker._napari.display.layer import apply_display, raw_data, settings_of
from napari_imagemarker._napari.marking.keys import KEYS
from napari_imagemarker.display import interval_name, stretch_name

PLUGIN = "napari-imagemarker"
IMAGES = Path(__file__).parents[2] / "data" / "imgmarker" / "images"
DOCS = Path(__file__).parents[3] / "docs" / "display.md"
SHIFT = Qt.KeyboardModifier.ShiftModifier


def press(viewer, qtbot, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """Press and release ``key`` on the canvas widget, where a person's keys arrive."""
    QTest.keyClick(viewer.window._qt_viewer.canvas.native, key, modifier)
    qtbot.wait(20)


def _field() -> np.ndarray:
    image = np.full((64, 64), 10.0, np.float32)
    image[16, 16] = 1000.0  # a star
    image[40:56, 40:56] = 30.0  # faint diffuse light
    return image


@pytest.fixture
def docked(make_napari_viewer, qtbot):
    viewer = make_napari_viewer(show=True)
    layer = viewer.add_image(_field(), name="field")
    _, dock = viewer.window.add_plugin_dock_widget(PLUGIN, "Display")
    viewer.reset_view()
    viewer.window._qt_viewer.canvas.native.setFocus()
    qtbot.wait(20)
    return viewer, layer, dock


def test_keys_change_what_the_canvas_shows_and_the_dock_follows(docked, qtbot):
    viewer, layer, dock = docked
    data = layer.data
    canvas = Canvas(viewer)
    canvas.grab()
    before = canvas.brightness(layer, 48, 48)  # napari's own linear 10-1000: dark
    press(viewer, qtbot, Qt.Key.Key_G)  # linear (napari's) -> the next stretch: log
    assert isinstance(settings_of(layer).stretch, LogStretch)
    assert dock.stretch_box.currentData() == "log"
    canvas.grab()
    assert canvas.brightness(layer, 48, 48) > before + 40  # log lifts the faint light
    press(viewer, qtbot, Qt.Key.Key_G)
    assert isinstance(settings_of(layer).stretch, SqrtStretch)
    press(viewer, qtbot, Qt.Key.Key_G, SHIFT)
    press(viewer, qtbot, Qt.Key.Key_G, SHIFT)
    assert stretch_name(settings_of(layer).stretch) == "linear"

    # limits: napari's own (manual) -> min-max -> ZScale -> 99.5% ; and back
    press(viewer, qtbot, Qt.Key.Key_I)
    assert interval_name(settings_of(layer).interval) == "minmax"
    assert layer.contrast_limits == [10.0, 1000.0]
    press(viewer, qtbot, Qt.Key.Key_I)
    assert isinstance(settings_of(layer).interval, ZScaleInterval)
    assert dock.interval_box.currentData() == "zscale"
    press(viewer, qtbot, Qt.Key.Key_I)
    press(viewer, qtbot, Qt.Key.Key_I, SHIFT)
    assert interval_name(settings_of(layer).interval) == "zscale"

    # blur: ] three times is 1.5 px, [ once 1.0 px; the star is wider on screen
    apply_display(layer, settings_of(layer).replace(interval=ManualInterval(0, 100)))
    canvas.grab()
    sharp = canvas.width(layer, 16, 16, threshold=128)
    for _ in range(3):
        press(viewer, qtbot, Qt.Key.Key_BracketRight)
    assert settings_of(layer).blur == 1.5 and dock.blur_box.value() == 1.5
    canvas.grab()
    assert canvas.width(layer, 16, 16, threshold=128) > sharp + 2 * viewer.scene.camera.zoom
    press(viewer, qtbot, Qt.Key.Key_BracketLeft)
    assert settings_of(layer).blur == 1.0 and dock.blur_slider.value() == 10
    for _ in range(4):  # never below 0
        press(viewer, qtbot, Qt.Key.Key_BracketLeft)
    assert settings_of(layer).blur == 0.0 and layer.interpolation2d == "nearest"

    press(viewer, qtbot, Qt.Key.Key_G)  # log again, blur up, then reset
    press(viewer, qtbot, Qt.Key.Key_BracketRight)
    press(viewer, qtbot, Qt.Key.Key_R, SHIFT)
    reset = settings_of(layer)
    assert stretch_name(reset.stretch) == "linear" and reset.blur == 0.0
    assert isinstance(reset.interval, ZScaleInterval)
    assert dock.stretch_box.currentData() == "linear" and dock.blur_box.value() == 0.0
    assert layer.data is data and np.array_equal(data, _field())  # never the data


@pytest.fixture
def session_viewer(make_napari_viewer, tmp_path, qtbot):
    folder = tmp_path / "images"
    shutil.copytree(IMAGES, folder)
    viewer = make_napari_viewer(show=True)
    session = open_session(viewer, folder, tmp_path / "save", user="tester")
    qtbot.wait(50)
    viewer.reset_view()
    viewer.window._qt_viewer.canvas.native.setFocus()
    return viewer, session, tmp_path / "save"


def test_in_a_marking_session_the_keys_act_on_its_image_and_are_saved(session_viewer, qtbot):
    viewer, session, save = session_viewer
    marks = viewer.layers.selection.active  # the marks layer is active while marking
    image = next(layer for layer in viewer.layers if layer.__class__.__name__ == "Image")
    assert marks is not image
    raw = image.data
    press(viewer, qtbot, Qt.Key.Key_G)  # no dock open: the session binds the keys
    press(viewer, qtbot, Qt.Key.Key_BracketRight)
    press(viewer, qtbot, Qt.Key.Key_BracketRight)
    shown = settings_of(image)
    assert stretch_name(shown.stretch) == "log" and shown.blur == 1.0
    assert session.display == shown.to_dict()  # saved with the session
    assert viewer.layers.selection.active is marks  # the marks layer stays active
    assert image.data is not raw and raw_data(image) is raw  # an RGB copy; raw kept
    # the next image carries them over
    press(viewer, qtbot, Qt.Key.Key_Right)
    assert stretch_name(settings_of(image).stretch) == "log"
    assert settings_of(image).blur == 1.0
    session.close()
    with MarkingSession(None, save, user="tester", read_only=True) as again:
        assert again.display["blur"] == 1.0


def test_display_keys_clash_with_no_marking_key_and_are_documented():
    marking = {name for key in KEYS for name in key.keys}
    display = {name for key in DISPLAY_KEYS for name in key.keys}
    assert not marking & display
    text = DOCS.read_text()
    for shown, _ in help_rows():
        assert f"| {shown} |" in text

"""Repeats in a real window: set in the dock, shown later looking new, stored apart."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from qtpy.QtCore import Qt
from qtpy.QtTest import QTest

from napari_imagemarker import MarkingSession, read_marks
from napari_imagemarker._napari.viewers import session_binding

IMAGES = Path(__file__).parents[2] / "data" / "imgmarker" / "images"


def _canvas(viewer):
    return viewer.window._qt_viewer.canvas.native


def _press(viewer, qtbot, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    QTest.keyClick(_canvas(viewer), key, modifier)
    qtbot.wait(30)


@pytest.fixture
def images(tmp_path) -> Path:
    folder = tmp_path / "images"
    shutil.copytree(IMAGES, folder)
    return folder


def test_repeat_set_in_the_dock_looks_new_and_is_stored_apart(
    make_napari_viewer, images, tmp_path, qtbot
):
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1300, 820)
    _, dock = viewer.window.add_plugin_dock_widget("napari-imagemarker", "Image Marker")
    dock.images_edit.setText(str(images))
    dock.save_edit.setText(str(tmp_path / "save"))
    dock.user_edit.setText("tester")
    dock.repeat_spin.setValue(40)  # 2 of the 5 images
    qtbot.mouseClick(dock.open_button, Qt.MouseButton.LeftButton)
    binding = session_binding(viewer)
    session = binding.session
    assert session.repeats == 0.4
    _canvas(viewer).setFocus()

    shown, on_repeats = [], []
    for _ in range(7):  # 5 first looks, then the 2 repeats (the list is short)
        name = session.current.name
        layer = binding.marks.layer
        if not session.on_repeat:
            # the first look: a mark at the centre (key 1 at the cursor), category 1
            session.add_mark(10.0, 12.0, 1)
            _press(viewer, qtbot, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
            qtbot.waitUntil(lambda: dock.category_checks[0].isChecked())
            assert len(layer.data) == 1
        else:
            on_repeats.append(name)
            # looks new: the first look's mark and category are not shown
            assert len(session.marks[session.marks["image"] == name]) == 1
            assert len(layer.data) == 0
            assert not dock.category_checks[0].isChecked()
            assert "repeat" not in dock.progress_label.text().lower()
            assert "repeat" not in dock.name_label.text().lower()
            session.add_mark(11.0, 12.0, 3)
            qtbot.waitUntil(lambda: len(binding.marks.layer.data) == 1)
            _press(viewer, qtbot, Qt.Key.Key_2, Qt.KeyboardModifier.ControlModifier)
            qtbot.waitUntil(lambda: dock.category_checks[1].isChecked())
        shown.append(name)
        assert binding.image_layer.metadata["path"] == str(session.current.path)
        _press(viewer, qtbot, Qt.Key.Key_Tab)
    assert len(on_repeats) == 2 and set(on_repeats) <= set(shown[:5])
    # the first look kept its mark and category; the repeats' are apart
    assert len(session.marks) == 5 and set(session.marks["group"]) == {1}
    assert sorted(session.repeat_marks["image"]) == sorted(on_repeats)
    assert set(session.repeat_images["categories"]) == {"2"}
    dock.close_session()

    save = tmp_path / "save"
    assert len(read_marks(save / "repeats" / "tester_marks.ecsv")) == 2
    text = (save / "tester_marks.csv").read_text()
    assert text.count(",3,DUPLICATE,") == 2
    # reopened, the dock shows the saved share and the session its repeats
    with MarkingSession(None, save, user="tester", read_only=True) as again:
        assert again.repeats == 0.4 and len(again.repeat_marks) == 2


def test_repeats_turned_off_in_the_dock_keep_the_repeats_done(
    make_napari_viewer, images, tmp_path, qtbot
):
    save = tmp_path / "save"
    with MarkingSession(images, save, user="tester", repeats=0.4, repeat_seed=1) as s:
        while not s.on_repeat:  # the first of the 2 repeats: a mark
            s.next()
        s.add_mark(11.0, 12.0, 3)
        s.next()
    viewer = make_napari_viewer(show=True)
    _, dock = viewer.window.add_plugin_dock_widget("napari-imagemarker", "Image Marker")
    assert dock.session_box.layout().labelForField(dock.repeat_spin).text() == "Repeat %"
    assert dock.repeat_spin.text() == "as saved"
    dock.images_edit.setText(str(images))
    dock.save_edit.setText(str(save))
    dock.user_edit.setText("tester")
    # untouched: the saved 40 %, and the repeat still due is shown
    qtbot.mouseClick(dock.open_button, Qt.MouseButton.LeftButton)
    session = session_binding(viewer).session
    assert session.repeats == 0.4 and session.on_repeat
    assert dock.repeat_spin.text() == "40 % of the images"
    dock.close_session()
    # 0 %: off for what is to come
    dock.session_toggle.setChecked(True)
    dock.repeat_spin.lineEdit().selectAll()
    QTest.keyClicks(dock.repeat_spin, "0")
    assert dock.repeat_spin.value() == 0
    qtbot.mouseClick(dock.open_button, Qt.MouseButton.LeftButton)
    binding = session_binding(viewer)
    session = binding.session
    assert session.repeats == 0 and not session.on_repeat
    assert dock.repeat_spin.text() == "as saved"
    _canvas(viewer).setFocus()
    for _ in range(3):
        _press(viewer, qtbot, Qt.Key.Key_Tab)
        assert not session.on_repeat
    assert len(session.repeat_marks) == 1
    dock.close_session()
    # the repeat done stays in Image Marker's files
    assert (save / "tester_marks.csv").read_text().count(",3,DUPLICATE,") == 1
    with MarkingSession(None, save, user="tester", read_only=True) as again:
        assert again.repeats == 0 and len(again.repeat_marks) == 1

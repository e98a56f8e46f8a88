"""An Image Marker user's folders in the marking dock, in a real napari window (under Xvfb):
a colleague's ``tester_config.txt`` and ``imports/`` alone in a folder, the users offered,
errors in the dock, imported files as overlays with Alt+1-9 and colours, a lowered group
maximum, more categories, export, and the integer pixels of Image Marker's CSV.

Keys and clicks are Qt events on the canvas and the dock's buttons; dialogs are answered by
clicking their buttons; the session and the files on disk are checked afterwards.
"""

from __future__ import annotations

import csv
import io
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from napari.utils.notifications import notification_manager
from qtpy.QtCore import Qt, QTimer
from qtpy.QtGui import QColor
from qtpy.QtTest import QTest
from qtpy.QtWidgets import QApplication, QColorDialog, QFileDialog
from test_marking_dock import canvas, click, hover, press, settle

from napari_imagemarker import MarkingSession, read_marks
from napari_imagemarker._napari.marking.binding import binding_for
from napari_imagemarker._napari.marking.dock import EXPORT_FILTERS

DATA = Path(__file__).parents[2] / "data" / "imgmarker"
IMAGES = DATA / "images"
T0000 = "SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif"
T2347 = "SPT-CLJ2347-5101_4.39_sigma_grz_cont.tif"
PNG = "synth_gray8_120x80_nowcs.png"
DOCK = "Image Marker (napari-imagemarker)"


@pytest.fixture
def colleague(tmp_path) -> Path:
    """A folder holding only a colleague's Image Marker ``tester_config.txt`` and
    ``imports/`` (the files Image Marker 1.2 wrote), and the images beside it elsewhere."""
    folder = tmp_path / "shared"
    folder.mkdir()
    shutil.copy(DATA / "savedir" / "tester_config.txt", folder)
    shutil.copytree(DATA / "savedir" / "imports", folder / "imports")
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


@pytest.fixture
def dock(make_napari_viewer):
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1366, 768)
    _, widget = viewer.window.add_plugin_dock_widget("napari-imagemarker", "Image Marker")
    return widget


def answer(qtbot, label: str, seen: list | None = None) -> None:
    """Click the button starting with ``label`` of the next dialog, as a person would."""

    def click_button():
        box = QApplication.activeModalWidget()
        if box is None:
            QTimer.singleShot(50, click_button)
            return
        texts = [b.text() for b in box.buttons()]
        if seen is not None:
            seen.append((box.text(), box.informativeText(), texts))
        for button in box.buttons():
            if button.text().startswith(label):
                QTest.mouseClick(button, Qt.MouseButton.LeftButton)
                return
        raise AssertionError(f"no button {label!r} in {texts}")

    QTimer.singleShot(50, click_button)


def open_form(qtbot, dock, save_dir, user: str, images=None) -> None:
    dock.images_edit.setText("" if images is None else str(images))
    dock.save_edit.setText(str(save_dir))
    dock.user_edit.setText(user)
    qtbot.mouseClick(dock.open_button, Qt.MouseButton.LeftButton)
    settle(qtbot)


def messages() -> list[str]:
    return [n.message for n in notification_manager.records]


def config(folder: Path, user: str) -> dict[str, str]:
    text = (folder / f"{user}_config.txt").read_text()
    return dict(tuple(p.strip() for p in line.split("=", 1)) for line in text.split("\n"))


# -- a colleague's folder ----------------------------------------------------------------------


def test_a_colleagues_folder_is_offered_and_never_starts_an_empty_session_silently(
    dock, colleague, qtbot
):
    viewer = dock.viewer
    dock.save_edit.setText(str(colleague))
    offered = [dock.user_box.itemText(i) for i in range(dock.user_box.count())]
    assert offered[0] == "tester"
    assert "tester (Image Marker settings)" in dock.users_label.text()
    # Opening under another name asks; Cancel opens nothing and writes nothing
    seen = []
    answer(qtbot, "Cancel", seen)
    open_form(qtbot, dock, colleague, "ana", IMAGES)
    assert binding_for(viewer) is None
    assert sorted(p.name for p in colleague.iterdir()) == ["imports", "tester_config.txt"]
    text, _, buttons = seen[0]
    assert text == (
        "This save folder holds the files of tester (Image Marker settings), and none of ana."
    )
    assert buttons[:3] == [
        "Open tester's session",
        "New session as ana with tester's settings",
        "New empty session as ana",
    ]
    # A new session of one's own, with the colleague's settings
    answer(qtbot, "New session as ana with")
    open_form(qtbot, dock, colleague, "ana", IMAGES)
    session = binding_for(viewer).session
    assert (session.user, session.groups[:3]) == ("ana", ("BCG", "2", "Arc"))
    assert session.categories[0] == "Merger"
    qtbot.waitUntil(lambda: dock.active_label.text() == "Active group 1: BCG")
    dock.close_session()
    assert config(colleague, "ana")["groups"] == "BCG,2,Arc,4,5,6,7,8,9"
    assert (colleague / "tester_config.txt").read_bytes() == (
        DATA / "savedir" / "tester_config.txt"
    ).read_bytes()


def test_images_left_empty_is_a_whole_sentence_in_the_dock(dock, colleague, qtbot):
    answer(qtbot, "Open tester's session")
    open_form(qtbot, dock, colleague, "ana")  # Images left empty
    assert binding_for(dock.viewer) is None
    shown = dock.error_label.text()
    assert dock.error_label.isVisible()
    assert shown == (
        f"The Images box is empty, and nothing in the save folder {colleague} says which images "
        "tester scans. tester_config.txt names the image folder "
        "/home/tester/imgmarker/images, which is not on this computer. Choose the folder of "
        "images with the … button beside Images, then Open."
    )
    assert messages()[-1] == shown  # the notification says the same, whole
    assert "=" not in shown and "pass " not in shown
    # no file was written for anybody (only the empty lock folder, .imagemarker)
    files = sorted(p.name for p in colleague.iterdir() if not p.name.startswith("."))
    assert files == ["imports", "tester_config.txt"]
    # Once Images is filled, the colleague's session opens with the config honoured
    open_form(qtbot, dock, colleague, "tester", IMAGES)
    assert not dock.error_label.isVisible()
    assert binding_for(dock.viewer).session.groups[0] == "BCG"


def test_no_save_folder_and_a_folder_without_images_are_explained(dock, tmp_path, qtbot):
    open_form(qtbot, dock, "", "ana", IMAGES)
    assert dock.error_label.text().startswith("Choose a save folder first, with the … button")
    (tmp_path / "empty").mkdir()
    open_form(qtbot, dock, tmp_path / "save", "ana", tmp_path / "empty")
    text = dock.error_label.text()
    assert text.startswith(f"{tmp_path / 'empty'}: no images to scan")
    assert text.endswith("with the … button beside Images, then Open.")
    assert "leave Images empty" not in text


def test_the_configs_left_click_group_is_what_a_click_places_and_is_kept(dock, colleague, qtbot):
    path = colleague / "tester_config.txt"
    path.write_text(path.read_text().replace("left_click_group = 1", "left_click_group = 3"))
    open_form(qtbot, dock, colleague, "tester", IMAGES)
    viewer, binding = dock.viewer, binding_for(dock.viewer)
    settle(qtbot, 100)
    viewer.reset_view()
    canvas(viewer).setFocus()
    qtbot.waitUntil(lambda: dock.active_label.text() == "Active group 3: Arc")
    click(viewer, qtbot, 300, 200)
    assert list(binding.session.image_marks()["group"]) == [3]
    qtbot.mouseClick(dock.group_buttons[1], Qt.MouseButton.LeftButton)
    click(viewer, qtbot, 200, 300)
    assert list(binding.session.image_marks()["group"]) == [3, 2]
    dock.close_session()
    assert config(colleague, "tester")["left_click_group"] == "2"
    with MarkingSession(None, colleague, user="tester", read_only=True) as s:
        assert s.left_click_group == 2


# -- imported mark files ---------------------------------------------------------------------


def test_imports_are_overlays_toggled_with_alt_digits_in_image_markers_order(
    dock, colleague, qtbot, monkeypatch
):
    open_form(qtbot, dock, colleague, "tester", IMAGES)
    viewer, binding = dock.viewer, binding_for(dock.viewer)
    imports = binding.imports
    # Image Marker's order: the folder's own listing, as its glob returns it
    names = [p.name for p in imports.paths]
    assert sorted(names) == ["TEST_catalog.csv", "test_xy_nosize.txt"]
    layers = [viewer.layers[f"imports/{n}"] for n in names]
    assert [layer.name for layer in viewer.layers][-1] == "marks"  # one's own marks on top
    by_name = dict(zip(names, layers, strict=True))
    # the 5 x,y rows fall on every SPT image; the RA/Dec row of T0000 at its true pixel
    assert len(by_name["test_xy_nosize.txt"].data) == 5
    [(row, col)] = by_name["TEST_catalog.csv"].data
    assert (row, col) == pytest.approx((511 - 401.877, 330.084), abs=2e-3)
    # each its own colour, shown in the dock
    colors = [tuple(layer.face_color[0]) for layer in layers]
    assert colors[0] != colors[1]
    qtbot.waitUntil(lambda: dock.imports_box.isVisible())
    assert [c.text() for c in dock.import_checks] == [f"Alt+{n}  {name}" for n, name in
                                                      enumerate(names, 1)]  # fmt: skip
    canvas(viewer).setFocus()
    press(viewer, qtbot, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
    assert [layer.visible for layer in layers] == [False, True]
    qtbot.waitUntil(lambda: not dock.import_checks[0].isChecked())
    press(viewer, qtbot, Qt.Key.Key_2, Qt.KeyboardModifier.AltModifier)
    press(viewer, qtbot, Qt.Key.Key_1, Qt.KeyboardModifier.AltModifier)
    assert [layer.visible for layer in layers] == [True, False]
    assert len(binding.session.marks) == 0  # Alt+digits never mark
    press(viewer, qtbot, Qt.Key.Key_3, Qt.KeyboardModifier.AltModifier)
    assert messages()[-1] == (
        "There is no imported mark file 3: the imports folder holds 2 (Alt+1 to Alt+2)."
    )
    # a colour picker per file, kept from image to image
    k = names.index("TEST_catalog.csv")
    monkeypatch.setattr(QColorDialog, "getColor", lambda *args: QColor("#12ab34"))
    qtbot.mouseClick(dock.import_colors[k], Qt.MouseButton.LeftButton)
    press(viewer, qtbot, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: binding.shown.name == T2347)
    qtbot.mouseClick(dock.import_checks[k], Qt.MouseButton.LeftButton)  # shown again
    layer = by_name["TEST_catalog.csv"]
    assert layer.visible and len(layer.data) == 1
    np.testing.assert_allclose(layer.face_color[0], [0x12 / 255, 0xAB / 255, 0x34 / 255, 1])
    assert dock.import_colors[k].styleSheet() == "color: #12ab34;"
    # an image without WCS: the RA/Dec file has nowhere to go, and nothing breaks (Image
    # Marker 1.2 raises AttributeError here)
    binding.goto(PNG)
    qtbot.waitUntil(lambda: binding.shown.name == PNG)
    assert len(layer.data) == 0 and len(by_name["test_xy_nosize.txt"].data) == 0
    dock.close_session()
    settle(qtbot, 50)
    assert not [layer for layer in viewer.layers if layer.name.startswith("imports/")]
    # imported marks are never written into one's own files
    assert "Brightest" not in (colleague / "tester_marks.csv").read_text()


# -- group maxima, categories ------------------------------------------------------------------


def test_lowering_a_group_maximum_below_marks_asks_and_removes_nothing(dock, colleague, qtbot):
    open_form(qtbot, dock, colleague, "tester", IMAGES)
    viewer, binding = dock.viewer, binding_for(dock.viewer)
    settle(qtbot, 100)
    viewer.reset_view()
    canvas(viewer).setFocus()
    for row, col in ((100, 100), (200, 200), (300, 300)):
        hover(viewer, qtbot, row, col)
        press(viewer, qtbot, Qt.Key.Key_2)
    assert len(binding.session.image_marks()) == 3
    seen = []
    answer(qtbot, "Keep no limit", seen)
    dock.group_max[1].setValue(1)
    assert binding.session.group_max[1] is None
    qtbot.waitUntil(lambda: dock.group_max[1].value() == 0)  # shown as ∞ again
    text, info, _ = seen[0]
    assert text == (
        "Group 2 (2) would allow 1 mark(s) per image, but 1 image(s) already have more: "
        f"{T0000} has 3."
    )
    assert info.startswith("Nothing is removed either way.")
    answer(qtbot, "Set the maximum to 1")
    dock.group_max[1].setValue(1)
    assert binding.session.group_max[1] == 1
    hover(viewer, qtbot, 400, 400)
    press(viewer, qtbot, Qt.Key.Key_2)  # refused, never a silent removal
    assert len(binding.session.image_marks()) == 3
    assert "already has 3 mark(s) of group '2' (maximum 1)" in messages()[-1]
    dock.close_session()
    assert config(colleague, "tester")["group_max"].startswith("None,1,")


def test_more_categories_from_the_dock_and_ctrl_digits(dock, colleague, qtbot):
    open_form(qtbot, dock, colleague, "tester", IMAGES)
    viewer, binding = dock.viewer, binding_for(dock.viewer)
    for _ in range(2):
        qtbot.mouseClick(dock.add_category_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: len(dock.category_checks) == 7)
    assert binding.session.categories == ("Merger", "2", "3", "4", "5", "6", "7")
    canvas(viewer).setFocus()
    press(viewer, qtbot, Qt.Key.Key_7, Qt.KeyboardModifier.ControlModifier)
    press(viewer, qtbot, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    assert binding.session.image_state().categories == (1, 7)
    qtbot.waitUntil(lambda: dock.category_checks[6].isChecked())
    press(viewer, qtbot, Qt.Key.Key_8, Qt.KeyboardModifier.ControlModifier)
    assert messages()[-1].startswith("Ctrl+8: this session has 7 categories.")
    qtbot.mouseClick(dock.remove_category_button, Qt.MouseButton.LeftButton)
    assert len(binding.session.categories) == 7  # category 7 is ticked on this image
    assert "untick it there before removing the category" in messages()[-1]
    dock.category_names[6].setText("Lensed")
    dock.category_names[6].returnPressed.emit()
    dock.close_session()
    assert config(colleague, "tester")["categories"] == "Merger,2,3,4,5,6,Lensed"
    rows = list(csv.reader(io.StringIO((colleague / "tester_images.csv").read_text())))
    assert rows[1][1] == T0000 and rows[1][4] == "Merger+Lensed"


# -- export, Image Marker's pixels -----------------------------------------------------------


@pytest.mark.parametrize("fmt", ["ecsv", "csv", "votable", "ds9"])
def test_export_from_the_dock(dock, colleague, qtbot, monkeypatch, tmp_path, fmt):
    open_form(qtbot, dock, colleague, "tester", IMAGES)
    viewer, binding = dock.viewer, binding_for(dock.viewer)
    settle(qtbot, 100)
    viewer.reset_view()
    canvas(viewer).setFocus()
    click(viewer, qtbot, 300, 200)
    hover(viewer, qtbot, 150, 250)
    press(viewer, qtbot, Qt.Key.Key_2)
    placed = binding.session.marks
    target = tmp_path / "out" / "marks"  # no suffix: the filter's is added
    target.parent.mkdir()
    chosen = next(f for f, name in EXPORT_FILTERS.items() if name == fmt)
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(target), chosen))
    qtbot.mouseClick(dock.export_button, Qt.MouseButton.LeftButton)
    [written] = list(target.parent.iterdir())
    assert written.suffix == {"ecsv": ".ecsv", "csv": ".csv", "votable": ".xml",
                              "ds9": ".reg"}[fmt]  # fmt: skip
    # a region file names groups by name and holds no table meta: the session's names
    extra = {"groups": list(binding.session.groups)} if fmt == "ds9" else {}
    back = read_marks(written, images=[IMAGES / T0000], **extra)
    assert list(back["group"]) == [1, 2]
    np.testing.assert_allclose(back["x"], placed["x"], atol=1e-6)  # sub-pixel, kept
    np.testing.assert_allclose(back["y"], placed["y"], atol=1e-6)
    what = "of this frame" if fmt == "ds9" else "of the session"
    assert messages()[-1] == f"Exported 2 mark(s) {what} to {written}."


def test_image_markers_csv_gets_the_clicked_pixel_our_files_the_exact_position(
    dock, colleague, qtbot
):
    open_form(qtbot, dock, colleague, "tester", IMAGES)
    viewer, binding = dock.viewer, binding_for(dock.viewer)
    settle(qtbot, 100)
    viewer.scene.camera.zoom = 0.7  # a screen pixel is more than one image pixel: sub-pixel clicks
    canvas(viewer).setFocus()
    click(viewer, qtbot, 300.3, 200.4)
    [mark] = binding.session.image_marks()
    x, y = float(mark["x"]), float(mark["y"])
    assert x != round(x) or y != round(y)
    dock.close_session()
    rows = list(csv.reader(io.StringIO((colleague / "tester_marks.csv").read_text())))
    # display pixels of a y-up TIFF: x = column, y = 511 - row, the pixel that holds them
    assert rows[1][4:6] == [str(math.floor(x + 0.5)), str(math.floor(511 - y + 0.5))]
    with MarkingSession(None, colleague, user="tester", read_only=True) as s:
        assert (s.marks["x"][0], s.marks["y"][0]) == (x, y)


def test_an_unreadable_imported_file_is_named_and_the_others_are_shown(dock, colleague, qtbot):
    (colleague / "imports" / "notes.csv").write_text("name,mag\nA,12\n")
    open_form(qtbot, dock, colleague, "tester", IMAGES)
    imports = binding_for(dock.viewer).imports
    n = [p.name for p in imports.paths].index("notes.csv") + 1
    assert imports.layer(n) is None and len(imports) == 3
    assert sum(imports.layer(k) is not None for k in (1, 2, 3)) == 2
    assert (
        f"The imported mark file notes.csv cannot be shown: {colleague / 'imports' / 'notes.csv'}"
        ": no RA/Dec or x/y columns found (columns: name, mag). Fix it or remove it from the "
        "save folder's imports folder, then reopen the session."
    ) in messages()
    qtbot.waitUntil(lambda: dock.imports_box.isVisible())
    assert not dock.import_checks[n - 1].isEnabled()

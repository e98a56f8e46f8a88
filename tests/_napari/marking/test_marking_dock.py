"""The "Image Marker" dock in a real napari window (under Xvfb): keys and clicks go to the
canvas as Qt events, and the session and its files are checked afterwards."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from qtpy.QtCore import QPoint, Qt
from qtpy.QtGui import QColor
from qtpy.QtTest import QTest
from qtpy.QtWidgets import QApplication, QColorDialog

from napari_imagemarker import MarkingSession, open_session, read_frame
from napari_imagemarker._napari.marking.binding import binding_for
from napari_imagemarker._napari.marking.keys import KEYS

IMAGES = Path(__file__).parents[2] / "data" / "imgmarker" / "images"
T0000 = "SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif"
PNG = "synth_gray8_120x80_nowcs.png"
FITS = "synth_mef_300x200_tan.fits"
DOCS = Path(__file__).parents[3] / "docs" / "marking.md"


# -- helpers ----------------------------------------------------------------------------------


@pytest.fixture
def images(tmp_path) -> Path:
    """The five golden images (3 SPT TIFFs, a PNG, a 2-extension FITS) in a folder."""
    folder = tmp_path / "images"
    shutil.copytree(IMAGES, folder)
    return folder


@pytest.fixture
def marking(make_napari_viewer, images, tmp_path, qtbot):
    """A shown viewer of a fixed size with a session over ``images`` open in the dock."""
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1300, 820)
    session = open_session(viewer, images, tmp_path / "save", user="tester")
    binding = binding_for(viewer)
    settle(qtbot, 100)  # the dock takes its room before the view is fitted to the canvas
    viewer.reset_view()
    canvas(viewer).setFocus()
    settle(qtbot)
    return viewer, session, binding


def canvas(viewer):
    """The canvas widget: where a person's key presses and clicks arrive."""
    return viewer.window._qt_viewer.canvas.native


def has_focus(widget) -> bool:
    """Whether ``widget`` has the keyboard focus of its window (the window itself need not
    be active under Xvfb without a window manager)."""
    return widget.window().focusWidget() is widget


def settle(qtbot, ms: int = 30) -> None:
    qtbot.wait(ms)


def press(viewer, qtbot, key, modifier=Qt.KeyboardModifier.NoModifier) -> None:
    """Press and release ``key`` on the canvas, as a keyboard does."""
    QTest.keyClick(canvas(viewer), key, modifier)
    settle(qtbot)


def screen(viewer, row: float, col: float) -> QPoint:
    """Canvas widget pixel showing data position (row, col) of the image layer."""
    binding = binding_for(viewer)
    visual = viewer.window._qt_viewer.canvas.layer_to_visual[binding.image_layer]
    x, y = visual.node.get_transform(map_from="visual", map_to="canvas").map([col, row])[:2]
    return QPoint(round(x), round(y))


def hover(viewer, qtbot, row: float, col: float) -> tuple[float, float]:
    """Move the mouse over data position (row, col); return where napari's cursor is."""
    target = screen(viewer, row, col)
    # Come in from outside the canvas, so that Qt reports an enter, and from a few pixels
    # away: the pointer may already be there (from an earlier test), and then X reports no
    # motion. vispy drops moves that come less than 10 ms apart.
    start = QPoint(-20, -20) if not viewer.mouse_over_canvas else target + QPoint(7, 7)
    QTest.mouseMove(canvas(viewer), start)
    settle(qtbot)
    QTest.mouseMove(canvas(viewer), target)

    def arrived():
        here = np.asarray(viewer.cursor.position[-2:])
        return viewer.mouse_over_canvas and np.all(np.abs(here - (row, col)) < 1)

    qtbot.waitUntil(arrived, timeout=2000)
    return tuple(float(v) for v in viewer.cursor.position[-2:])


def click(viewer, qtbot, row: float, col: float) -> None:
    QTest.mouseClick(canvas(viewer), Qt.MouseButton.LeftButton, pos=screen(viewer, row, col))
    settle(qtbot)


def reopened(save_dir: Path) -> MarkingSession:
    """The session as a new process would find it on disk."""
    return MarkingSession(None, save_dir, user="tester", read_only=True)


def messages(notifications) -> list[str]:
    return [n.message for n in notifications]


DIGITS = [getattr(Qt.Key, f"Key_{g}") for g in range(10)]


# -- opening ----------------------------------------------------------------------------------


def test_open_session_shows_first_image_marks_layer_and_dock(marking, tmp_path, qtbot):
    viewer, session, binding = marking
    image, marks = binding.image_layer, binding.marks.layer
    assert [layer.name for layer in viewer.layers] == [f"{T0000} [page 0]", "marks"]
    data, _ = read_frame(IMAGES / T0000, 0)
    np.testing.assert_array_equal(image.data, data)
    assert image.metadata["wcs"] is not None and image.rgb
    assert tuple(viewer.scene.camera.orientation2d) == ("up", "right")  # y-up TIFF with WCS
    assert viewer.layers.selection.active is marks and marks.mode == "add"
    assert list(marks.features.columns) == ["id", "group", "label", "text"]
    dock = viewer.window.dock_widgets["Image Marker (napari-imagemarker)"]
    qtbot.waitUntil(lambda: dock.progress_label.text() == "Image 1 of 5 (0 seen)")
    assert dock.name_label.text() == T0000
    assert dock.frame_label.text().startswith("frame 1 of 2")
    assert dock.active_label.text() == "Active group 1: 1"
    assert binding_for(viewer).session is session


def test_manifest_contributes_the_dock(make_napari_viewer):
    from npe2 import PluginManager

    viewer = make_napari_viewer()  # first: the fixture makes napari discover the plugins
    manifest = PluginManager.instance().get_manifest("napari-imagemarker")
    assert "Image Marker" in [w.display_name for w in manifest.contributions.widgets]
    _, dock = viewer.window.add_plugin_dock_widget("napari-imagemarker", "Image Marker")
    assert dock.progress_label.text() == "No session open"
    assert not dock.next_button.isEnabled()


# -- marking keys -----------------------------------------------------------------------------


@pytest.mark.parametrize("active", ["marks", "image"])
def test_keys_1_to_9_add_a_mark_of_their_group_at_the_cursor(marking, qtbot, tmp_path, active):
    viewer, session, binding = marking
    layer = binding.marks.layer if active == "marks" else binding.image_layer
    viewer.layers.selection.active = layer
    placed = []
    for g in range(1, 10):
        row, col = hover(viewer, qtbot, 40.0 + 45 * g, 30.0 + 50 * g)
        press(viewer, qtbot, DIGITS[g])
        placed.append((g, col, row))
    marks = session.image_marks()
    assert list(marks["group"]) == [g for g, _, _ in placed]
    np.testing.assert_allclose(np.c_[marks["x"], marks["y"]], [(x, y) for _, x, y in placed])
    assert list(binding.marks.layer.features["group"]) == list(range(1, 10))
    np.testing.assert_allclose(binding.marks.layer.data, [(y, x) for _, x, y in placed])
    # napari's own digit bindings did nothing: no mode change, nothing deleted
    assert binding.marks.layer.mode == "add"
    assert len(binding.marks.layer.data) == 9
    # durable: a fresh process reading the folder sees all nine
    assert len(reopened(tmp_path / "save").image_marks(T0000)) == 9


def test_key_1_never_deletes_the_selection_as_napari_would(marking, qtbot):
    viewer, session, binding = marking
    hover(viewer, qtbot, 100, 100)
    press(viewer, qtbot, Qt.Key.Key_2)
    binding.marks.layer.mode = "select"
    binding.marks.layer.selected_data = {0}
    hover(viewer, qtbot, 200, 200)
    press(viewer, qtbot, Qt.Key.Key_1)
    assert sorted(session.image_marks()["group"]) == [1, 2]
    assert binding.marks.layer.mode == "select"  # key 3/2 did not switch modes either


def test_key_off_the_image_is_refused_with_a_message(marking, qtbot, notifications):
    viewer, session, _binding = marking
    hover(viewer, qtbot, 540, 256)  # on the canvas, above the image (shown y-up)
    press(viewer, qtbot, Qt.Key.Key_4)
    assert len(session.image_marks()) == 0
    assert any("off the image" in m for m in messages(notifications))


# -- mouse ------------------------------------------------------------------------------------


def test_left_click_adds_the_active_group_chosen_in_the_dock(marking, qtbot):
    viewer, session, binding = marking
    dock = viewer.window.dock_widgets["Image Marker (napari-imagemarker)"]
    qtbot.mouseClick(dock.group_buttons[2], Qt.MouseButton.LeftButton)
    assert binding.active_group == 3
    qtbot.waitUntil(lambda: dock.active_label.text() == "Active group 3: 3")
    click(viewer, qtbot, 300, 200)  # marks layer in add mode
    viewer.layers.selection.active = binding.image_layer
    click(viewer, qtbot, 100, 400)  # the image layer selected
    marks = session.image_marks()
    assert list(marks["group"]) == [3, 3]
    np.testing.assert_allclose(np.c_[marks["y"], marks["x"]], [(300, 200), (100, 400)], atol=1)


def test_drag_in_select_mode_moves_the_mark(marking, qtbot, tmp_path):
    viewer, session, binding = marking
    click(viewer, qtbot, 300, 200)
    press(viewer, qtbot, Qt.Key.Key_S)  # napari's select mode
    assert binding.marks.layer.mode == "select"
    start, end = screen(viewer, 300, 200), screen(viewer, 250, 260)
    QTest.mousePress(canvas(viewer), Qt.MouseButton.LeftButton, pos=start)
    for k in range(1, 11):
        QTest.mouseMove(canvas(viewer), start + (end - start) * (k / 10))
        settle(qtbot, 5)
    QTest.mouseRelease(canvas(viewer), Qt.MouseButton.LeftButton, pos=end)
    settle(qtbot)
    [mark] = session.image_marks()
    assert (mark["y"], mark["x"]) == pytest.approx((250, 260), abs=1.5)
    [saved] = reopened(tmp_path / "save").image_marks(T0000)
    assert (saved["x"], saved["y"]) == (mark["x"], mark["y"])


@pytest.mark.parametrize("key", [Qt.Key.Key_Delete, Qt.Key.Key_Backspace])
def test_delete_and_backspace_remove_the_selected_marks(marking, qtbot, key):
    viewer, session, binding = marking
    for g, (row, col) in enumerate([(100, 100), (200, 200), (300, 300)], start=1):
        hover(viewer, qtbot, row, col)
        press(viewer, qtbot, DIGITS[g])
    binding.marks.layer.mode = "select"
    binding.marks.layer.selected_data = {0, 2}
    press(viewer, qtbot, key)
    assert list(session.image_marks()["group"]) == [2]
    assert list(binding.marks.layer.features["group"]) == [2]


def test_undo_and_redo_with_ctrl_z_and_ctrl_shift_z(marking, qtbot):
    viewer, session, binding = marking
    first = hover(viewer, qtbot, 100, 100)
    press(viewer, qtbot, Qt.Key.Key_1)
    second = hover(viewer, qtbot, 200, 250)
    press(viewer, qtbot, Qt.Key.Key_2)
    binding.marks.layer.mode = "select"
    binding.marks.layer.selected_data = {0}
    press(viewer, qtbot, Qt.Key.Key_Delete)
    assert list(session.image_marks()["group"]) == [2]
    ctrl, shift = Qt.KeyboardModifier.ControlModifier, Qt.KeyboardModifier.ShiftModifier
    press(viewer, qtbot, Qt.Key.Key_Z, ctrl)  # the removal
    assert sorted(session.image_marks()["group"]) == [1, 2]
    press(viewer, qtbot, Qt.Key.Key_Z, ctrl)  # the second mark
    press(viewer, qtbot, Qt.Key.Key_Z, ctrl)  # the first mark
    assert len(session.image_marks()) == 0 and len(binding.marks.layer.data) == 0
    press(viewer, qtbot, Qt.Key.Key_Z, ctrl | shift)
    press(viewer, qtbot, Qt.Key.Key_Z, ctrl | shift)
    marks = session.image_marks()
    assert list(marks["group"]) == [1, 2]
    np.testing.assert_allclose(np.c_[marks["y"], marks["x"]], [first, second])
    press(viewer, qtbot, Qt.Key.Key_Z, ctrl | shift)  # the removal again
    assert list(session.image_marks()["group"]) == [2]


# -- navigation -------------------------------------------------------------------------------


def test_tab_shift_tab_and_arrows_move_between_images_reusing_the_layers(marking, qtbot):
    viewer, session, binding = marking
    image, marks = binding.image_layer, binding.marks.layer
    steps = [
        ((Qt.Key.Key_Tab, Qt.KeyboardModifier.NoModifier), 1),
        ((Qt.Key.Key_Right, Qt.KeyboardModifier.NoModifier), 2),
        ((Qt.Key.Key_Down, Qt.KeyboardModifier.NoModifier), 3),  # the PNG
        ((Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier), 2),  # what X sends
        ((Qt.Key.Key_Tab, Qt.KeyboardModifier.ShiftModifier), 1),
        ((Qt.Key.Key_Left, Qt.KeyboardModifier.NoModifier), 0),
        ((Qt.Key.Key_Up, Qt.KeyboardModifier.NoModifier), 0),  # stays on the first
    ]
    layers = []
    for (key, modifier), index in steps:
        press(viewer, qtbot, key, modifier)
        assert session.current.index == index
        data, _ = read_frame(session.current.path, 0)
        np.testing.assert_array_equal(binding.image_layer.data, data)
        assert has_focus(canvas(viewer))  # Tab did not move the keyboard focus
        assert len(viewer.layers) == 2 and binding.marks.layer is marks
        layers.append(binding.image_layer)
    # keys typed while another part of napari's window has the focus (napari forwards them
    # to its keymaps, which bind the same keys)
    QTest.keyClick(viewer.window._qt_viewer, Qt.Key.Key_Right)
    assert session.current.index == 1
    QTest.keyClick(viewer.window._qt_viewer, Qt.Key.Key_Left)
    assert session.current.index == 0
    # one Image layer whose data is replaced; a new one only for the grey PNG and back
    assert layers[0] is layers[1] is image
    assert layers[2] is not image and layers[3] is layers[4] is layers[5] is not layers[2]
    assert all(session.image_state(p.name).seen for p in session.paths[:4])


def test_space_cycles_frames_and_marks_remember_their_frame(marking, qtbot):
    viewer, session, binding = marking
    press(viewer, qtbot, Qt.Key.Key_Space)
    assert binding.frame == 1 and binding.image_layer.name == f"{T0000} [page 1]"
    hover(viewer, qtbot, 150, 150)
    press(viewer, qtbot, Qt.Key.Key_5)
    press(viewer, qtbot, Qt.Key.Key_Space)
    assert binding.frame == 0
    [mark] = session.image_marks()
    assert mark["frame"] == 1
    # a mark of another frame is drawn fainter
    assert binding.marks.layer.face_color[0][3] < 1
    session.goto(FITS)
    settle(qtbot)
    assert binding.image_layer.metadata["hdu"] == 1
    press(viewer, qtbot, Qt.Key.Key_Space)
    assert binding.image_layer.metadata["hdu"] == 2
    np.testing.assert_array_equal(binding.image_layer.data, read_frame(IMAGES / FITS, 1)[0])


def test_f_n_and_ctrl_digits_set_favourite_nothing_here_and_categories(
    marking, qtbot, notifications
):
    viewer, session, _binding = marking
    dock = viewer.window.dock_widgets["Image Marker (napari-imagemarker)"]
    press(viewer, qtbot, Qt.Key.Key_F)
    assert session.image_state().favorite
    qtbot.waitUntil(lambda: dock.favorite_button.isChecked())
    press(viewer, qtbot, Qt.Key.Key_1, Qt.KeyboardModifier.ControlModifier)
    press(viewer, qtbot, Qt.Key.Key_3, Qt.KeyboardModifier.ControlModifier)
    assert session.image_state().categories == (1, 3)
    qtbot.waitUntil(lambda: dock.category_checks[2].isChecked())
    assert session.images["categories"][0] == "1+3"
    press(viewer, qtbot, Qt.Key.Key_N)  # nothing here, next image
    assert session.current.index == 1
    assert session.image_state(T0000).nothing
    hover(viewer, qtbot, 50, 50)
    press(viewer, qtbot, Qt.Key.Key_7)
    press(viewer, qtbot, Qt.Key.Key_N)  # refused: this image has a mark
    assert session.current.index == 1
    assert any("remove them before" in m for m in messages(notifications))


def test_alt_m_and_alt_l_in_the_comment_box_toggle_and_type_nothing(marking, qtbot):
    """Typing a comment, then Alt+M and Alt+L: the marks and their labels are hidden, no
    "m" or "l" is typed, napari's Layers menu does not open; Enter stores the text."""
    viewer, session, binding = marking
    binding.add_mark_at(100, 100, 1)
    dock = viewer.window.dock_widgets["Image Marker (napari-imagemarker)"]
    window = viewer.window._qt_window
    window.activateWindow()  # mnemonics work in the active window only
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    dock.comment_edit.setFocus()
    QTest.keyClicks(dock.comment_edit, "bcg offset")
    QTest.keyClick(dock.comment_edit, Qt.Key.Key_M, Qt.KeyboardModifier.AltModifier)
    QTest.keyClick(dock.comment_edit, Qt.Key.Key_L, Qt.KeyboardModifier.AltModifier)
    settle(qtbot)
    layer = binding.marks.layer
    assert not layer.visible and not layer.text.visible
    assert QApplication.activePopupWidget() is None
    assert window.menuBar().activeAction() is None
    assert dock.comment_edit.text() == "bcg offset"
    QTest.keyClick(dock.comment_edit, Qt.Key.Key_Return)
    settle(qtbot)
    assert session.image_state().comment == "bcg offset"


def test_comment_box_keys_never_mark_and_enter_stores_and_returns_to_canvas(marking, qtbot):
    viewer, session, _binding = marking
    dock = viewer.window.dock_widgets["Image Marker (napari-imagemarker)"]
    hover(viewer, qtbot, 100, 100)
    dock.comment_edit.setFocus()
    QTest.keyClicks(dock.comment_edit, "2 BCGs F N 1")
    QTest.keyClick(dock.comment_edit, Qt.Key.Key_Return)
    settle(qtbot)
    assert session.image_state().comment == "2 BCGs F N 1"
    assert len(session.image_marks()) == 0 and not session.image_state().favorite
    assert session.current.index == 0
    assert has_focus(canvas(viewer))
    press(viewer, qtbot, Qt.Key.Key_3)  # keys work again at once
    assert list(session.image_marks()["group"]) == [3]


# -- the dock ---------------------------------------------------------------------------------


def test_dock_edits_names_colours_maxima_symbols_and_labels(marking, qtbot, monkeypatch):
    viewer, session, binding = marking
    dock = viewer.window.dock_widgets["Image Marker (napari-imagemarker)"]
    dock.group_names[0].setFocus()
    dock.group_names[0].selectAll()
    QTest.keyClicks(dock.group_names[0], "BCG")
    QTest.keyClick(dock.group_names[0], Qt.Key.Key_Return)
    assert session.groups[0] == "BCG"
    qtbot.waitUntil(lambda: dock.active_label.text() == "Active group 1: BCG")
    dock.category_names[0].setText("Merger")
    dock.category_names[0].returnPressed.emit()
    assert session.categories[0] == "Merger"
    dock.group_max[1].setValue(1)
    assert session.group_max[1] == 1
    dock.group_symbols[1].setCurrentText("square")
    hover(viewer, qtbot, 100, 100)
    press(viewer, qtbot, Qt.Key.Key_2)
    where = hover(viewer, qtbot, 200, 200)
    press(viewer, qtbot, Qt.Key.Key_2)  # maximum 1: replaces
    [mark] = session.image_marks()
    assert (mark["y"], mark["x"]) == where
    assert list(binding.marks.layer.symbol) == ["square"]
    monkeypatch.setattr(QColorDialog, "getColor", lambda *args: QColor("#00aaff"))
    qtbot.mouseClick(dock.group_colors[1], Qt.MouseButton.LeftButton)
    assert session.group_colors[1] == "#00aaff"
    np.testing.assert_allclose(binding.marks.layer.face_color[0], [0, 2 / 3, 1, 1])
    qtbot.waitUntil(lambda: dock.marks_table.rowCount() == 1)
    dock.marks_table.item(0, 1).setText("knot, café")
    [mark] = session.image_marks()
    assert mark["label"] == "knot, café"
    assert list(binding.marks.layer.features["text"]) == ["knot, café"]
    hover(viewer, qtbot, 300, 300)
    press(viewer, qtbot, Qt.Key.Key_1)
    # a mark without own label shows no text; its group name is in the dock's list
    assert list(binding.marks.layer.features["text"]) == ["knot, café", ""]
    qtbot.waitUntil(lambda: dock.marks_table.rowCount() == 2)
    assert dock.marks_table.item(1, 0).text() == "1 BCG"


def test_help_and_docs_list_every_binding(marking, qtbot):
    viewer, session, _ = marking
    dock = viewer.window.dock_widgets["Image Marker (napari-imagemarker)"]
    press(viewer, qtbot, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: dock.help_window is not None and dock.help_window.isVisible())
    text = dock.help_window.label.text()
    docs = DOCS.read_text(encoding="utf-8")
    for key in KEYS:
        # only the session's categories, and no imported files in this folder
        listed = key.action != "toggle_import" and (
            key.action != "toggle_category" or key.args[0] <= len(session.categories)
        )
        assert (key.shown.replace("&", "&amp;") in text) == listed, key.shown
        assert key.shown in docs, f"{key.shown} is missing from docs/marking.md"


def test_script_changes_move_the_viewer(marking, qtbot):
    viewer, session, binding = marking
    mark_id = session.add_mark(10.0, 20.0, 6, label="from a script")
    settle(qtbot)
    np.testing.assert_allclose(binding.marks.layer.data, [[20.0, 10.0]])
    assert list(binding.marks.layer.features["id"]) == [mark_id]
    session.goto(PNG)
    settle(qtbot)
    assert binding.image_layer.name == PNG and not binding.image_layer.rgb
    assert tuple(viewer.scene.camera.orientation2d) == ("down", "right")  # no WCS: as stored
    assert len(binding.marks.layer.data) == 0


def test_image_shown_callbacks_follow_images_and_frames(marking, qtbot):
    viewer, session, binding = marking
    shown = []
    binding.image_shown.append(lambda s: shown.append((s.name, s.frame, s.wcs is not None)))
    press(viewer, qtbot, Qt.Key.Key_Space)
    press(viewer, qtbot, Qt.Key.Key_Tab)
    session.goto(PNG)
    settle(qtbot)
    # the frame carries over to the next image (Image Marker's habit), clamped to its frames
    assert shown == [(T0000, 1, True), (session.paths[1].name, 1, True), (PNG, 0, False)]


def test_prefetch_holds_the_neighbours_and_nothing_grows(marking, qtbot):
    viewer, session, binding = marking
    for _ in range(3):
        press(viewer, qtbot, Qt.Key.Key_Right)
        press(viewer, qtbot, Qt.Key.Key_Left)
    binding.prefetcher.wait()
    held = {Path(p).name for p, _ in binding.prefetcher.held()}
    assert session.paths[1].name in held
    assert len(binding.prefetcher.held()) <= binding.prefetcher.keep
    assert len(viewer.layers) == 2


# -- what goes wrong --------------------------------------------------------------------------


def test_no_images_gives_advice_and_opens_nothing(make_napari_viewer, tmp_path, notifications):
    viewer = make_napari_viewer()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ValueError):
        open_session(viewer, empty, tmp_path / "save", user="tester")
    assert any("FITS, TIFF, PNG or JPEG" in m for m in messages(notifications))
    assert binding_for(viewer) is None and len(viewer.layers) == 0


def test_unreadable_image_is_reported_and_skipped(
    make_napari_viewer, images, tmp_path, qtbot, notifications
):
    (images / "SPT-CLJ2347-5101_4.39_sigma_grz_cont.tif").write_bytes(b"II*\x00broken")
    viewer = make_napari_viewer(show=True)
    session = open_session(viewer, images, tmp_path / "save", user="tester")
    binding_for(viewer).prefetcher.wait()  # it has tried to read ahead, and failed
    press(viewer, qtbot, Qt.Key.Key_Tab)
    assert session.current.name == "SPT-CLJ2359-5051_4.92_sigma_grz_cont.tif"
    assert any("SPT-CLJ2347" in m and "Skipped" in m for m in messages(notifications))
    np.testing.assert_array_equal(
        binding_for(viewer).image_layer.data, read_frame(session.current.path)[0]
    )


def test_unwritable_save_folder_gives_advice(make_napari_viewer, images, tmp_path, notifications):
    viewer = make_napari_viewer()
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    save_dir = locked / "save"
    if os.access(locked, os.W_OK):  # root writes anywhere: use a folder nobody can create
        save_dir = Path("/sys/fs/imagemarker-test")
    try:
        with pytest.raises(OSError):
            open_session(viewer, images, save_dir, user="tester")
    finally:
        locked.chmod(0o700)
    assert any("Choose a folder you can write to" in m for m in messages(notifications))
    assert binding_for(viewer) is None


def test_second_viewer_on_the_same_session_is_refused_and_loses_nothing(
    marking, make_napari_viewer, images, tmp_path, qtbot, notifications
):
    viewer, session, _binding = marking
    hover(viewer, qtbot, 100, 100)
    press(viewer, qtbot, Qt.Key.Key_1)
    other = make_napari_viewer()
    with pytest.raises(RuntimeError, match="already open"):
        open_session(other, images, tmp_path / "save", user="tester")
    assert any("Close the session in the other viewer" in m for m in messages(notifications))
    assert len(session.image_marks()) == 1 and binding_for(other) is None
    hover(viewer, qtbot, 200, 200)
    press(viewer, qtbot, Qt.Key.Key_2)  # the first viewer goes on
    assert len(reopened(tmp_path / "save").image_marks(T0000)) == 2


def test_close_and_reopen_resumes_with_everything(make_napari_viewer, images, tmp_path, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1300, 820)
    session = open_session(viewer, images, tmp_path / "save", user="tester")
    binding = binding_for(viewer)
    binding.add_mark_at(50, 100, 1)
    binding.add_mark_at(60, 200, 3)
    binding.toggle_favorite()
    binding.set_comment("two BCGs")
    binding.next_image()
    dock = viewer.window.dock_widgets["Image Marker (napari-imagemarker)"]
    dock.close_session()
    settle(qtbot)
    assert binding_for(viewer) is None and len(viewer.layers) == 0
    assert (tmp_path / "save" / "tester_marks.csv").is_file()  # Image Marker's files too
    session = open_session(viewer, None, tmp_path / "save", user="tester")
    assert session.current.index == 1  # the first unseen image
    assert len(session.image_marks(T0000)) == 2
    state = session.image_state(T0000)
    assert state.favorite and state.comment == "two BCGs" and state.seen
    session.goto(T0000)
    settle(qtbot)
    assert len(binding_for(viewer).marks.layer.data) == 2
    assert [layer.name for layer in viewer.layers] == [f"{T0000} [page 0]", "marks"]


def test_opening_over_an_open_session_closes_it_and_keeps_two_layers(marking, images, qtbot):
    viewer, session, _ = marking
    other = open_session(viewer, images, session.save_dir.parent / "other", user="tester")
    with pytest.raises(RuntimeError, match="closed"):
        session.add_mark(1.0, 1.0, 1)  # the first one was closed (and saved)
    settle(qtbot)
    assert binding_for(viewer).session is other
    assert [layer.name for layer in viewer.layers] == [f"{T0000} [page 0]", "marks"]
    assert all(layer.visible for layer in viewer.layers)


def test_dock_form_opens_an_image_marker_save_folder(make_napari_viewer, tmp_path, qtbot):
    """Images left empty: the save folder written by Image Marker 1.2 resumes, with its
    names, marks (in our pixel convention), categories and favourite."""
    shutil.copytree(IMAGES.parent / "savedir", tmp_path / "savedir")
    shutil.copytree(IMAGES, tmp_path / "images")  # its images sit beside the save folder
    viewer = make_napari_viewer(show=True)
    _, dock = viewer.window.add_plugin_dock_widget("napari-imagemarker", "Image Marker")
    dock.save_edit.setText(str(tmp_path / "savedir"))
    dock.user_edit.setText("tester")
    qtbot.mouseClick(dock.open_button, Qt.MouseButton.LeftButton)
    session = binding_for(viewer).session
    assert session.groups[:3] == ("BCG", "2", "Arc") and session.categories[0] == "Merger"
    # resumed on an image Image Marker had seen
    qtbot.waitUntil(lambda: dock.progress_label.text() == "Image 5 of 5 (5 seen) · seen before")
    session.goto(T0000)
    settle(qtbot)
    marks = binding_for(viewer).marks.layer
    assert list(marks.features["group"]) == [1, 2, 3, 9, 1]
    assert list(marks.features["text"]) == ["", "knot, café", "", "", ""]
    # Image Marker's (x, y) = (100, 50), from the top-left as displayed, is row 511 - 50 of
    # the array our reader returns (rows flipped once to the FITS grid of the STIFF WCS)
    np.testing.assert_allclose(marks.data[0], [511 - 50, 100])
    qtbot.waitUntil(lambda: dock.favorite_button.isChecked())
    assert [c.isChecked() for c in dock.category_checks] == [True, False, True, False, False]


def test_copy_paste_redo_with_ctrl_y_and_undo_across_images(marking, qtbot):
    viewer, session, binding = marking
    ctrl = Qt.KeyboardModifier.ControlModifier
    where = hover(viewer, qtbot, 120, 140)
    press(viewer, qtbot, Qt.Key.Key_4)
    binding.marks.layer.selected_data = {0}
    press(viewer, qtbot, Qt.Key.Key_C, ctrl)
    press(viewer, qtbot, Qt.Key.Key_Tab)
    press(viewer, qtbot, Qt.Key.Key_V, ctrl)
    [pasted] = session.image_marks()
    assert session.current.index == 1 and pasted["group"] == 4
    assert (pasted["y"], pasted["x"]) == where
    press(viewer, qtbot, Qt.Key.Key_Z, ctrl)  # the paste
    press(viewer, qtbot, Qt.Key.Key_Z, ctrl)  # the first mark: back on the first image
    assert session.current.index == 0 and len(session.image_marks()) == 0
    press(viewer, qtbot, Qt.Key.Key_Y, ctrl)
    assert list(session.image_marks()["group"]) == [4]
    assert list(binding.marks.layer.features["group"]) == [4]


def test_esc_in_a_name_box_drops_the_edit_and_returns_to_the_canvas(marking, qtbot):
    viewer, session, _ = marking
    dock = viewer.window.dock_widgets["Image Marker (napari-imagemarker)"]
    dock.comment_edit.setFocus()
    QTest.keyClicks(dock.comment_edit, "typo")
    QTest.keyClick(dock.comment_edit, Qt.Key.Key_Escape)
    settle(qtbot)
    assert dock.comment_edit.text() == "" and session.image_state().comment == ""
    assert has_focus(canvas(viewer))
    dock.group_names[2].setFocus()
    QTest.keyClicks(dock.group_names[2], "x")
    QTest.keyClick(dock.group_names[2], Qt.Key.Key_Escape)
    assert session.groups[2] == "3" and dock.group_names[2].text() == "3"


def test_dock_shuffle_with_a_seed_orders_the_images_reproducibly(
    make_napari_viewer, images, tmp_path, qtbot
):
    from napari_imagemarker.images.lists import resolve_images, shuffled

    viewer = make_napari_viewer()
    _, dock = viewer.window.add_plugin_dock_widget("napari-imagemarker", "Image Marker")
    dock.images_edit.setText(str(images))
    dock.save_edit.setText(str(tmp_path / "save"))
    dock.shuffle_check.setChecked(True)
    dock.seed_spin.setValue(42)
    qtbot.mouseClick(dock.open_button, Qt.MouseButton.LeftButton)
    session = binding_for(viewer).session
    assert session.shuffle_seed == 42
    assert session.paths == shuffled(resolve_images(images), 42)
    assert binding_for(viewer).image_layer.metadata["path"] == str(session.paths[0])


def test_closing_the_window_closes_the_session(make_napari_viewer, images, tmp_path, qtbot):
    viewer = make_napari_viewer()
    session = open_session(viewer, images, tmp_path / "save", user="tester")
    binding_for(viewer).add_mark_at(10, 20, 5)
    viewer.close()
    qtbot.waitUntil(lambda: binding_for(viewer) is None, timeout=3000)
    with pytest.raises(RuntimeError, match="closed"):
        session.add_mark(1.0, 1.0, 1)
    # the lock is free: the same user opens it for writing again, with the mark
    again = MarkingSession(None, tmp_path / "save", user="tester")
    assert list(again.image_marks(T0000)["group"]) == [5]
    again.close()


def test_the_python_example_of_the_docs_runs(tmp_path, qtbot, monkeypatch):
    import re

    code = re.search(r"```python\n(.*?)```", DOCS.read_text(encoding="utf-8"), re.S).group(1)
    monkeypatch.chdir(DOCS.parents[1])
    code = code.replace('"spt-marks"', repr(str(tmp_path / "marks"))).replace("napari.run()", "")
    scope: dict = {}
    exec(code, scope)
    viewer, session = scope["viewer"], scope["session"]
    try:
        settle(qtbot)
        assert session.current.name == "SPT-CLJ2359-5051_4.92_sigma_grz_cont.tif"
        assert binding_for(viewer).image_layer.metadata["path"] == str(session.current.path)
        assert list(session.image_marks(T0000)["group"]) == [1]
    finally:
        viewer.close()

"""Image Marker users' habits in a real napari window (under Xvfb): the mouse buttons and
modifiers, frames that carry over, Tab round the end, the clipboard, Alt+M / Alt+L, undo
that changes image, and the view fitted to each image.

Clicks are QTest mouse presses on the canvas at the screen position of a data coordinate
(through vispy's transforms); keys are QTest key presses on the canvas; the session and
what napari shows are checked afterwards.
"""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from qtpy.QtCore import QPoint, QPointF, Qt
from qtpy.QtGui import QWheelEvent
from qtpy.QtTest import QTest
from qtpy.QtWidgets import QApplication, QPushButton
from test_marking_dock import (
    DIGITS,
    FITS,
    IMAGES,
    PNG,
    T0000,
    canvas,
    click,
    hover,
    messages,
    press,
    reopened,
    screen,
    settle,
)

from napari_imagemarker import open_session, read_frame
from napari_imagemarker._napari.marking.binding import binding_for

LEFT, MIDDLE, RIGHT = (Qt.MouseButton.LeftButton, Qt.MouseButton.MiddleButton,
                       Qt.MouseButton.RightButton)  # fmt: skip
NONE = Qt.KeyboardModifier.NoModifier
SHIFT, CTRL, ALT = (Qt.KeyboardModifier.ShiftModifier, Qt.KeyboardModifier.ControlModifier,
                    Qt.KeyboardModifier.AltModifier)  # fmt: skip


@pytest.fixture
def marking(make_napari_viewer, tmp_path, qtbot):
    """A shown viewer with a session over the five golden images (3 SPT TIFFs of two
    pages, a PNG, a 2-extension FITS), the view fitted, the canvas focused."""
    shutil.copytree(IMAGES, tmp_path / "images")
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1300, 820)
    session = open_session(viewer, tmp_path / "images", tmp_path / "save", user="tester")
    settle(qtbot, 100)
    viewer.reset_view()
    canvas(viewer).setFocus()
    settle(qtbot)
    return viewer, session, binding_for(viewer)


def mouse(viewer, qtbot, row, col, button=LEFT, modifier=NONE) -> None:
    """Press and release ``button`` (with ``modifier`` held) over data position (row, col)."""
    QTest.mouseClick(canvas(viewer), button, modifier, screen(viewer, row, col))
    settle(qtbot)


def drag(viewer, qtbot, start: QPoint, end: QPoint, button=LEFT) -> None:
    """Press at ``start``, move in ten steps, release at ``end`` (canvas pixels)."""
    QTest.mousePress(canvas(viewer), button, NONE, start)
    for k in range(1, 11):
        QTest.mouseMove(canvas(viewer), start + (end - start) * (k / 10))
        settle(qtbot, 15)
    QTest.mouseRelease(canvas(viewer), button, NONE, end)
    settle(qtbot)


def center(viewer) -> np.ndarray:
    return np.asarray(viewer.scene.camera.center[-2:], dtype=float)


def put(binding, where) -> list[int]:
    """Marks of group 1 placed at data positions ``where`` by script; their ids."""
    return [binding.add_mark_at(row, col, 1) for row, col in where]


# -- the mouse --------------------------------------------------------------------------------

LAYERS = ["marks add", "marks select", "marks pan_zoom", "image"]


def activate(binding, viewer, which: str) -> None:
    if which == "image":
        viewer.layers.selection.active = binding.image_layer
    else:
        viewer.layers.selection.active = binding.marks.layer
        binding.marks.layer.mode = which.split()[1]


@pytest.mark.parametrize("which", LAYERS)
def test_keys_3_2_9_then_a_click_places_the_active_group(marking, qtbot, which):
    viewer, session, binding = marking
    activate(binding, viewer, which)
    for digit, (row, col) in zip((3, 2, 9), [(100, 100), (150, 300), (300, 120)]):
        hover(viewer, qtbot, row, col)
        press(viewer, qtbot, DIGITS[digit])
    click(viewer, qtbot, 400, 350)
    marks = session.image_marks()
    assert list(marks["group"]) == [3, 2, 9, 1]  # the dock's active group, not the last key's
    assert (marks["y"][-1], marks["x"][-1]) == pytest.approx((400, 350), abs=1)
    assert list(binding.marks.layer.features["group"]) == [3, 2, 9, 1]
    binding.set_active_group(4)
    click(viewer, qtbot, 420, 200)
    assert list(session.image_marks()["group"]) == [3, 2, 9, 1, 4]


@pytest.mark.parametrize("which", LAYERS)
def test_right_middle_and_alt_clicks_never_mark_middle_and_alt_centre(marking, qtbot, which):
    viewer, session, binding = marking
    activate(binding, viewer, which)
    viewer.scene.camera.zoom *= 2  # zoomed in, so that centring has room to move
    settle(qtbot)
    mouse(viewer, qtbot, 200, 200, RIGHT)
    assert len(session.image_marks()) == 0
    for (row, col), (button, modifier) in zip(
        [(300, 320), (220, 180)], [(MIDDLE, NONE), (LEFT, ALT)]
    ):
        target = np.asarray(binding.image_layer.data_to_world((row, col))[-2:])
        mouse(viewer, qtbot, row, col, button, modifier)
        np.testing.assert_allclose(center(viewer), target, atol=1.5)
    assert len(session.image_marks()) == 0 and len(binding.marks.layer.data) == 0


@pytest.mark.parametrize("which", LAYERS)
def test_shift_click_deletes_the_mark_under_the_cursor_undoably(marking, qtbot, which, tmp_path):
    viewer, session, binding = marking
    activate(binding, viewer, which)
    first, second = put(binding, [(200, 200), (210, 300)])
    settle(qtbot)
    radius = binding.marks.size / 2
    mouse(viewer, qtbot, 200, 200 + 2 * radius, modifier=SHIFT)  # beside it: nothing
    assert list(session.image_marks()["id"]) == [first, second]
    mouse(viewer, qtbot, 200 + radius / 2, 200, modifier=SHIFT)
    assert list(session.image_marks()["id"]) == [second]
    assert len(binding.marks.layer.data) == 1
    assert len(reopened(tmp_path / "save").image_marks(T0000)) == 1
    press(viewer, qtbot, Qt.Key.Key_Z, CTRL)
    marks = session.image_marks()
    assert len(marks) == 2 and sorted(marks["y"]) == [200, 210]


@pytest.mark.parametrize("which", LAYERS)
def test_ctrl_click_toggles_selection_and_a_selected_mark_drags(marking, qtbot, which, tmp_path):
    viewer, session, binding = marking
    activate(binding, viewer, which)
    [mark_id, other] = put(binding, [(200, 200), (350, 350)])
    settle(qtbot)
    mouse(viewer, qtbot, 201, 199, modifier=CTRL)
    assert binding.marks.selected_ids == [mark_id]
    mouse(viewer, qtbot, 201, 199, modifier=CTRL)
    assert binding.marks.selected_ids == []
    mouse(viewer, qtbot, 200, 200, modifier=CTRL)
    assert len(session.image_marks()) == 2  # selecting added nothing
    before = center(viewer)
    drag(viewer, qtbot, screen(viewer, 200, 200), screen(viewer, 260, 150))
    marks = session.image_marks()
    assert len(marks) == 2
    moved = marks[list(marks["id"]).index(mark_id)]
    assert (moved["y"], moved["x"]) == pytest.approx((260, 150), abs=1.5)
    np.testing.assert_allclose(center(viewer), before)  # the view did not pan
    saved = reopened(tmp_path / "save").image_marks(T0000)
    assert sorted(saved["y"]) == sorted(marks["y"])
    press(viewer, qtbot, Qt.Key.Key_Z, CTRL)  # the move is undone
    [back] = [m for m in session.image_marks() if m["id"] == mark_id]
    assert (back["y"], back["x"]) == (200, 200)
    assert other in list(session.image_marks()["id"])


@pytest.mark.parametrize("which", LAYERS)
def test_left_drag_pans_and_the_wheel_zooms_without_marking(marking, qtbot, which):
    viewer, session, binding = marking
    activate(binding, viewer, which)
    mark_id = put(binding, [(100, 100)])[0]
    settle(qtbot)
    before = center(viewer)
    start = screen(viewer, 300, 300)
    drag(viewer, qtbot, start, start + QPoint(80, 40))
    assert np.linalg.norm(center(viewer) - before) > 20  # napari's pan
    zoom = viewer.scene.camera.zoom
    for _ in range(3):
        QTest.mouseMove(canvas(viewer), start)
        qtbot.wait(15)
    pos = QPointF(start)
    wheel = QWheelEvent(pos, canvas(viewer).mapToGlobal(pos), QPoint(0, 0), QPoint(0, 120),
                        Qt.MouseButton.NoButton, NONE, Qt.ScrollPhase.NoScrollPhase,
                        False)  # fmt: skip
    QApplication.sendEvent(canvas(viewer), wheel)
    settle(qtbot)
    assert viewer.scene.camera.zoom > zoom
    marks = session.image_marks()
    assert list(marks["id"]) == [mark_id]  # neither added nor moved
    assert (marks["y"][0], marks["x"][0]) == (100, 100)


def test_two_quick_clicks_are_two_marks_and_do_not_zoom(marking, qtbot):
    viewer, session, binding = marking
    zoom = viewer.scene.camera.zoom
    # what X sends for two quick clicks: press, release, double click (for the second press),
    # release
    where = screen(viewer, 250, 250)
    QTest.mouseClick(canvas(viewer), LEFT, NONE, where)
    QTest.mouseDClick(canvas(viewer), LEFT, NONE, where)
    QTest.mouseRelease(canvas(viewer), LEFT, NONE, where)
    settle(qtbot)
    assert len(session.image_marks()) == 2  # Qt made the second press a double click
    assert viewer.scene.camera.zoom == zoom  # napari's double-click zoom is off while marking
    binding.close()
    settle(qtbot)
    assert any(f.__name__ == "double_click_to_zoom" for f in viewer.mouse_double_click_callbacks)


def test_a_mark_is_added_where_the_click_is_within_a_pixel(marking, qtbot):
    viewer, session, _ = marking
    viewer.scene.camera.zoom *= 3
    viewer.scene.camera.center = (250, 260)
    settle(qtbot)
    for row, col in [(240.3, 255.7), (262.0, 270.5)]:
        click(viewer, qtbot, row, col)
    marks = session.image_marks()
    expected = [(240.3, 255.7), (262, 270.5)]  # within a pixel: the click is at a whole
    np.testing.assert_allclose(np.c_[marks["y"], marks["x"]], expected, atol=1)  # screen pixel


# -- frames -----------------------------------------------------------------------------------


def test_space_then_tab_shows_the_same_frame_on_the_next_image(marking, qtbot):
    viewer, session, binding = marking
    told = []
    binding.listeners.append(told.append)
    press(viewer, qtbot, Qt.Key.Key_Space)
    assert binding.frame == 1 and binding.shown.frame == 1
    press(viewer, qtbot, Qt.Key.Key_Tab)
    assert session.current.index == 1
    assert binding.frame == 1 and binding.shown.frame == 1 and binding.shown.n_frames == 2
    assert binding.shown.frame_name == "page 1"
    np.testing.assert_array_equal(binding.image_layer.data, read_frame(session.current.path, 1)[0])
    assert told.count("frame") >= 2
    press(viewer, qtbot, Qt.Key.Key_Space, SHIFT)  # back
    assert binding.frame == 0
    np.testing.assert_array_equal(binding.image_layer.data, read_frame(session.current.path, 0)[0])
    press(viewer, qtbot, Qt.Key.Key_Space, SHIFT)  # round: the last frame
    assert binding.frame == 1
    # the PNG has one frame: clamped to it; the FITS after it has two: the one chosen
    session.goto(PNG)
    settle(qtbot)
    assert binding.frame == 0 and binding.shown.n_frames == 1
    press(viewer, qtbot, Qt.Key.Key_Tab)
    assert session.current.name == FITS and binding.frame == 1
    np.testing.assert_array_equal(binding.image_layer.data, read_frame(session.current.path, 1)[0])


def test_an_image_of_one_frame_does_not_lose_the_frame_chosen(marking, qtbot):
    """Space on the third SPT cutout, Tab to the PNG (one frame), Tab to the FITS (two),
    Shift+Tab twice back to the cutout: the second frame each time it exists."""
    viewer, session, binding = marking
    session.goto(2)
    settle(qtbot)
    press(viewer, qtbot, Qt.Key.Key_Space)
    assert binding.frame == 1
    binding.prefetcher.wait()
    press(viewer, qtbot, Qt.Key.Key_Tab)
    assert session.current.name == PNG and binding.frame == 0
    # the PNG was read ahead as "frame 1" (clamped to 0) and that read is what is shown
    held = binding.prefetcher.held()
    assert (str(session.current.path), 1) in held and (str(session.current.path), 0) in held
    press(viewer, qtbot, Qt.Key.Key_Tab)
    assert session.current.name == FITS and binding.frame == 1
    np.testing.assert_array_equal(binding.image_layer.data, read_frame(session.current.path, 1)[0])
    press(viewer, qtbot, Qt.Key.Key_Tab, SHIFT)
    press(viewer, qtbot, Qt.Key.Key_Tab, SHIFT)
    assert session.current.index == 2 and binding.frame == 1
    assert binding.shown.frame == 1 and binding.shown.n_frames == 2
    np.testing.assert_array_equal(binding.image_layer.data, read_frame(session.current.path, 1)[0])


def test_a_resumed_session_opens_on_the_frame_chosen_last(make_napari_viewer, tmp_path, qtbot):
    """Space (the contour page of an SPT cutout), a mark, Tab, close; open the folder again
    in a new window: the second page is shown, the mark was on it, and an image of one
    frame then keeps the choice for the next."""
    shutil.copytree(IMAGES, tmp_path / "images")
    viewer = make_napari_viewer(show=True)
    open_session(viewer, tmp_path / "images", tmp_path / "save", user="tester")
    binding = binding_for(viewer)
    settle(qtbot, 100)
    canvas(viewer).setFocus()
    press(viewer, qtbot, Qt.Key.Key_Space)
    click(viewer, qtbot, 120, 140)
    press(viewer, qtbot, Qt.Key.Key_Tab)
    assert binding.frame == 1
    viewer.close()
    settle(qtbot)
    viewer = make_napari_viewer(show=True)
    session = open_session(viewer, None, tmp_path / "save", user="tester")
    binding = binding_for(viewer)
    settle(qtbot, 100)
    assert session.current.index == 1 and session.chosen_frame == 1
    assert binding.frame == 1 and binding.shown.frame == 1
    assert binding.shown.frame_name == "page 1"
    np.testing.assert_array_equal(binding.image_layer.data, read_frame(session.current.path, 1)[0])
    session.goto(T0000)
    settle(qtbot)
    assert len(binding.marks.layer.data) == 1  # the mark placed on page 1, shown there
    session.goto(PNG)  # one frame: shown, and the choice kept for the FITS after it
    settle(qtbot)
    assert binding.frame == 0
    canvas(viewer).setFocus()
    press(viewer, qtbot, Qt.Key.Key_Tab)
    assert session.current.name == FITS and binding.frame == 1 and session.chosen_frame == 1


def test_the_carried_frame_is_prefetched(marking, qtbot):
    viewer, session, binding = marking
    press(viewer, qtbot, Qt.Key.Key_Space)
    qtbot.wait(300)
    binding.prefetcher.wait()
    held = binding.prefetcher.held()
    assert (str(session.paths[1]), 1) in held


# -- habits -----------------------------------------------------------------------------------


def test_tab_on_the_last_image_wraps_to_the_first_and_says_so(marking, qtbot, notifications):
    viewer, session, binding = marking
    session.goto(len(session) - 1)
    settle(qtbot)
    press(viewer, qtbot, Qt.Key.Key_Tab)
    assert session.current.index == 0 and binding.shown.name == T0000
    assert any("last image" in m and "back to the first" in m for m in messages(notifications))
    assert session.image_state(FITS).seen
    press(viewer, qtbot, Qt.Key.Key_Backtab, SHIFT)  # the first: stays, and says so
    assert session.current.index == 0
    assert any("This is the first image" in m for m in messages(notifications))


def test_ctrl_c_copies_ra_dec_to_the_clipboard_and_ctrl_v_still_pastes(marking, qtbot):
    viewer, session, binding = marking
    ids = put(binding, [(100, 120), (300, 310)])
    settle(qtbot)
    QApplication.clipboard().setText("before")
    for row, col in [(100, 120), (300, 310)]:
        mouse(viewer, qtbot, row, col, modifier=CTRL)
    assert sorted(binding.marks.selected_ids) == sorted(ids)
    press(viewer, qtbot, Qt.Key.Key_C, CTRL)
    text = QApplication.clipboard().text()
    marks = session.image_marks()
    got = np.loadtxt(text.splitlines())
    np.testing.assert_allclose(got, np.c_[marks["ra"], marks["dec"]], atol=1e-6)
    press(viewer, qtbot, Qt.Key.Key_Tab)
    press(viewer, qtbot, Qt.Key.Key_V, CTRL)
    pasted = session.image_marks()
    assert session.current.index == 1 and len(pasted) == 2
    np.testing.assert_allclose(np.c_[pasted["x"], pasted["y"]], np.c_[marks["x"], marks["y"]])
    # without a WCS: 1-based FITS pixels
    session.goto(PNG)
    settle(qtbot)
    put(binding, [(20.0, 30.0)])
    settle(qtbot)
    mouse(viewer, qtbot, 20, 30, modifier=CTRL)
    press(viewer, qtbot, Qt.Key.Key_C, CTRL)
    assert QApplication.clipboard().text().split() == ["31.00", "21.00"]


def test_alt_m_and_alt_l_hide_marks_and_labels_and_open_no_menu(marking, qtbot):
    viewer, session, binding = marking
    [mark_id] = put(binding, [(100, 100)])
    session.set_label(mark_id, "BCG?")
    settle(qtbot)
    layer = binding.marks.layer
    window = viewer.window._qt_window
    menu_bar = window.menuBar()
    assert "&Layers" in [a.text() for a in menu_bar.actions()]  # Alt+L is its mnemonic
    window.activateWindow()  # mnemonics work in the active window only
    qtbot.waitUntil(lambda: QApplication.activeWindow() is window)
    canvas(viewer).setFocus()
    settle(qtbot)
    press(viewer, qtbot, Qt.Key.Key_L, ALT)
    assert not layer.text.visible and layer.visible
    assert QApplication.activePopupWidget() is None and menu_bar.activeAction() is None
    press(viewer, qtbot, Qt.Key.Key_L, ALT)
    assert layer.text.visible
    press(viewer, qtbot, Qt.Key.Key_M, ALT)
    assert not layer.visible
    assert QApplication.activePopupWidget() is None and menu_bar.activeAction() is None
    press(viewer, qtbot, Qt.Key.Key_M, ALT)
    assert layer.visible
    # the marking keys still work afterwards
    hover(viewer, qtbot, 200, 200)
    press(viewer, qtbot, Qt.Key.Key_2)
    assert list(session.image_marks()["group"]) == [1, 2]


def test_hidden_marks_are_never_changed_unseen(marking, qtbot, tmp_path, notifications):
    """Alt+M hides the marks; then Shift+click, Ctrl+click, a drag from a mark and Delete
    leave them as they are (a drag pans), and a click or a key adds a mark and shows the
    marks again, saying so. The table's remove button still removes rows seen there."""
    viewer, session, binding = marking
    [first, second] = put(binding, [(200, 200), (300, 300)])
    binding.marks.layer.selected_data = {1}  # the second, selected before hiding
    settle(qtbot)
    press(viewer, qtbot, Qt.Key.Key_M, ALT)
    layer = binding.marks.layer
    assert not layer.visible
    mouse(viewer, qtbot, 200, 200, modifier=SHIFT)
    mouse(viewer, qtbot, 200, 200, modifier=CTRL)
    press(viewer, qtbot, Qt.Key.Key_Delete)
    before = center(viewer)
    drag(viewer, qtbot, screen(viewer, 200, 200), screen(viewer, 260, 150))
    assert not np.allclose(center(viewer), before)  # the drag panned the view
    marks = session.image_marks()
    assert list(marks["id"]) == [first, second]
    assert [(m["y"], m["x"]) for m in marks] == [(200, 200), (300, 300)]
    assert binding.marks.selected_ids == [second] and not layer.visible
    said = messages(notifications)
    for what in ("Shift+click deletes nothing", "Ctrl+click selects nothing",
                 "Delete removes no mark"):  # fmt: skip
        assert f"{what}: the marks are hidden; Alt+M shows them." in said
    viewer.reset_view()
    settle(qtbot)
    hover(viewer, qtbot, 120, 330)
    press(viewer, qtbot, Qt.Key.Key_4)  # a key first, then a click
    assert layer.visible
    assert any(m.startswith("The marks are shown again") for m in messages(notifications))
    press(viewer, qtbot, Qt.Key.Key_M, ALT)
    click(viewer, qtbot, 350, 100)
    assert layer.visible
    marks = session.image_marks()
    assert list(marks["group"]) == [1, 1, 4, 1]
    assert (marks["y"][-1], marks["x"][-1]) == pytest.approx((350, 100), abs=1)
    assert len(layer.data) == 4
    saved = reopened(tmp_path / "save").image_marks(T0000)
    assert sorted(saved["y"]) == sorted(marks["y"])
    # hidden again, a row chosen in the dock's table is removed by its button
    press(viewer, qtbot, Qt.Key.Key_M, ALT)
    layer.selected_data = {0}
    [remove] = [b for b in viewer.window._qt_window.findChildren(QPushButton)
                if b.text() == "Remove selected (Delete)"]  # fmt: skip
    remove.click()
    settle(qtbot)
    assert first not in list(session.image_marks()["id"]) and len(session.image_marks()) == 3


def test_sequences_with_the_marks_hidden_keep_every_mark(marking, qtbot, tmp_path, notifications):
    """With the marks hidden: Tab then a click marks the new image; Ctrl+Z, Ctrl+Y, Delete
    all then Ctrl+Z and Ctrl+V each leave the session and the layer agreeing, show the
    marks again, and never raise inside napari (its hidden layer is not sliced)."""
    viewer, session, binding = marking
    layer = binding.marks.layer
    click(viewer, qtbot, 200, 200)
    click(viewer, qtbot, 300, 300)
    press(viewer, qtbot, Qt.Key.Key_M, ALT)
    press(viewer, qtbot, Qt.Key.Key_Tab)
    click(viewer, qtbot, 150, 150)
    assert session.current.index == 1 and binding.shown.name == session.current.name
    assert len(session.image_marks()) == 1 and len(session.image_marks(T0000)) == 2
    assert layer.visible and len(layer.data) == 1
    for key, n in [(Qt.Key.Key_Z, 0), (Qt.Key.Key_Y, 1)]:  # undo, then redo, that mark
        press(viewer, qtbot, Qt.Key.Key_M, ALT)
        press(viewer, qtbot, key, CTRL)
        assert len(session.image_marks()) == n and len(layer.data) == n and layer.visible
    session.goto(T0000)
    settle(qtbot)
    press(viewer, qtbot, Qt.Key.Key_M, ALT)
    assert binding.delete_all_marks() == 2
    assert len(layer.data) == 0 and not layer.visible
    press(viewer, qtbot, Qt.Key.Key_Z, CTRL)
    assert sorted(session.image_marks()["y"]) == pytest.approx([200, 300], abs=1)
    assert len(layer.data) == 2
    layer.selected_data = {0}
    press(viewer, qtbot, Qt.Key.Key_C, CTRL)
    session.goto(2)  # another SPT cutout, as large
    settle(qtbot)
    press(viewer, qtbot, Qt.Key.Key_M, ALT)
    press(viewer, qtbot, Qt.Key.Key_V, CTRL)
    assert len(session.image_marks()) == 1 and len(layer.data) == 1 and layer.visible
    said = messages(notifications)
    assert not [m for m in said if "out of bounds" in m or "Error" in m], said
    assert any("the pasted marks are shown" in m for m in said)
    saved = reopened(tmp_path / "save")
    assert [len(saved.image_marks(path.name)) for path in saved.paths[:3]] == [2, 1, 1]


def test_undo_that_changes_image_says_so(marking, qtbot, notifications):
    viewer, session, _ = marking
    click(viewer, qtbot, 150, 150)
    press(viewer, qtbot, Qt.Key.Key_Tab)
    press(viewer, qtbot, Qt.Key.Key_Z, CTRL)
    assert session.current.name == T0000 and len(session.image_marks()) == 0
    assert any(m.startswith(f"Undo: back to image {T0000} to remove the mark")
               for m in messages(notifications))  # fmt: skip
    press(viewer, qtbot, Qt.Key.Key_Tab)
    press(viewer, qtbot, Qt.Key.Key_Z, CTRL | SHIFT)
    assert session.current.name == T0000 and len(session.image_marks()) == 1
    assert any(m.startswith(f"Redo: back to image {T0000}") for m in messages(notifications))


def test_each_new_image_is_fitted_to_the_view(marking, qtbot):
    viewer, _, _ = marking
    viewer.scene.camera.zoom *= 4
    viewer.scene.camera.center = (10, 10)
    settle(qtbot)
    press(viewer, qtbot, Qt.Key.Key_Tab)
    # the whole image is on the canvas: its corners map inside the canvas widget
    size = canvas(viewer).size()
    for row, col in [(0, 0), (511, 511), (0, 511), (511, 0)]:
        p = screen(viewer, row, col)
        assert 0 <= p.x() <= size.width() and 0 <= p.y() <= size.height()
    np.testing.assert_allclose(center(viewer), [255.5, 255.5], atol=1)


def inside(viewer, corners) -> bool:
    size = canvas(viewer).size()
    points = [screen(viewer, row, col) for row, col in corners]
    return all(0 <= p.x() <= size.width() and 0 <= p.y() <= size.height() for p in points)


def test_the_first_image_is_whole_at_1366x768_and_refitted_until_zoomed(
    make_napari_viewer, tmp_path, qtbot
):
    shutil.copytree(IMAGES, tmp_path / "images")
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1366, 768)
    open_session(viewer, tmp_path / "images", tmp_path / "save", user="tester")
    corners = [(0, 0), (511, 511), (0, 511), (511, 0)]
    qtbot.waitUntil(lambda: inside(viewer, corners), timeout=3000)  # after the dock took room
    viewer.window._qt_window.resize(1100, 700)
    qtbot.waitUntil(lambda: inside(viewer, corners), timeout=3000)
    viewer.scene.camera.zoom *= 3  # the person zooms in: it stays so
    settle(qtbot)
    zoom = viewer.scene.camera.zoom
    viewer.window._qt_window.resize(1366, 768)
    settle(qtbot, 200)
    assert viewer.scene.camera.zoom == zoom

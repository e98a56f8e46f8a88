"""How the marking dock feels in a real napari window of 1366x768 (under Xvfb): the cursor
readout, the frame list, "Delete all marks", "seen before", the keys window (F1 / ?), Tab in
the comment box, what is in sight, and closing. Real key presses and mouse events go to the
canvas and the dock; the session, its files and what the dock shows are checked."""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from qtpy.QtCore import QPoint, QRect, Qt
from qtpy.QtTest import QTest
from qtpy.QtWidgets import QScrollArea
from test_marking_dock import canvas, has_focus, hover, messages, press, reopened, settle

from napari_imagemarker import open_session, read_frame
from napari_imagemarker._napari.display.keys import help_rows as display_rows
from napari_imagemarker._napari.marking.binding import binding_for
from napari_imagemarker._napari.marking.frames import frame_text
from napari_imagemarker._napari.marking.keys import KEYS
from napari_imagemarker.images.read import image_frames

DOCK = "Image Marker (napari-imagemarker)"
T0000 = "SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif"
T2347 = "SPT-CLJ2347-5101_4.39_sigma_grz_cont.tif"
GROUPS = ["BCG", "member", "arc", "4", "5", "6", "7", "8", "9"]
CATEGORIES = ["merger", "lensing", "bad data", "4", "5"]


@pytest.fixture
def laptop(make_napari_viewer, images, tmp_path, qtbot):
    """A session opened from the dock in a napari window the size of a 1366x768 screen."""
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.setGeometry(0, 0, 1366, 768)
    settle(qtbot, 100)
    session = open_session(
        viewer, images, tmp_path / "save", user="tester", groups=GROUPS, categories=CATEGORIES
    )
    binding = binding_for(viewer)
    settle(qtbot, 100)
    viewer.reset_view()
    canvas(viewer).setFocus()
    settle(qtbot)
    return viewer, session, binding, viewer.window.dock_widgets[DOCK]


@pytest.fixture
def images(tmp_path):
    import shutil

    from test_marking_dock import IMAGES

    folder = tmp_path / "images"
    shutil.copytree(IMAGES, folder)
    return folder


def expected_readout(binding, images) -> tuple[str, str, str, str]:
    """Pixel, value, RA/Dec in degrees and sexagesimal under napari's cursor, from the file
    (read again) and astropy's ``pixel_to_world``."""
    viewer = binding.viewer
    row, col = binding.image_layer.world_to_data(viewer.cursor.position)[-2:]
    frame = binding.frame
    data, _ = read_frame(images / binding.shown.name, frame)
    wcs = image_frames(images / binding.shown.name)[frame].wcs
    i, j = int(np.floor(row + 0.5)), int(np.floor(col + 0.5))
    value = "(" + ", ".join(str(int(v)) for v in data[i, j]) + ")"
    sky = wcs.pixel_to_world(col, row)
    ra = sky.ra.to_string(unit=u.hourangle, sep=":", precision=3, pad=True)
    dec = sky.dec.to_string(unit=u.deg, sep=":", precision=2, pad=True, alwayssign=True)
    return (
        f"x {col + 1:.2f}, y {row + 1:.2f}",
        value,
        f"{sky.ra.deg:.7f}, {sky.dec.deg:+.7f}",
        f"{ra}, {dec}",
    )


def status_bar_text(viewer) -> str:
    """What napari's status bar shows as coordinates."""
    from qtpy.QtWidgets import QLabel

    label = viewer.window._qt_window.statusBar().findChild(QLabel, "coordinates status")
    return label.text()


def in_sight(widget, dock) -> bool:
    """Whether all of ``widget`` is inside the dock's visible (scrolled) area."""
    viewport = dock.findChild(QScrollArea).viewport()
    top_left = widget.mapTo(viewport, QPoint(0, 0))
    shown = QRect(top_left, widget.size())
    return (
        widget.isVisible()
        and not widget.visibleRegion().isEmpty()
        and viewport.rect().contains(shown)
    )


# -- cursor readout ----------------------------------------------------------------------------


def test_readout_under_the_mouse_in_the_dock_and_status_bar_and_after_tab(laptop, images, qtbot):
    viewer, _session, binding, dock = laptop
    hover(viewer, qtbot, 313.3, 260.6)  # the bright galaxy above the centre
    want = expected_readout(binding, images)

    def shows(expected):
        text, status = dock.cursor_readout.text(), viewer.status
        return all(part in text for part in expected) and all(
            part in status["coordinates"] for part in expected
        )

    qtbot.waitUntil(lambda: shows(want), timeout=2000)
    assert "RA, Dec" in dock.cursor_readout.text()
    qtbot.waitUntil(lambda: all(part in status_bar_text(viewer) for part in want), timeout=2000)
    # Tab without moving the mouse: the next image's pixel, value and sky position
    press(viewer, qtbot, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: binding.shown.name == T2347)
    after = expected_readout(binding, images)
    assert after[2] != want[2]  # another field of the sky
    qtbot.waitUntil(lambda: shows(after), timeout=2000)
    # the readout follows the mouse on the new image too
    hover(viewer, qtbot, 100.0, 400.0)
    moved = expected_readout(binding, images)
    qtbot.waitUntil(lambda: shows(moved), timeout=2000)


def test_readout_of_a_fits_extension_and_an_image_without_wcs(laptop, qtbot):
    viewer, session, binding, dock = laptop
    binding.goto("synth_gray8_120x80_nowcs.png")
    settle(qtbot, 100)
    viewer.reset_view()
    settle(qtbot)
    row, col = hover(viewer, qtbot, 40, 60)
    data, _ = read_frame(session.current.path, 0)
    i, j = int(np.floor(row + 0.5)), int(np.floor(col + 0.5))
    qtbot.waitUntil(lambda: f"· {int(data[i, j])}" in dock.cursor_readout.text())
    assert "RA" not in dock.cursor_readout.text()  # no WCS: no sky position, not a wrong one
    binding.goto("synth_mef_300x200_tan.fits")
    settle(qtbot, 100)
    viewer.reset_view()
    settle(qtbot)
    row, col = hover(viewer, qtbot, 120.4, 150.2)
    wcs = image_frames(session.current.path)[0].wcs
    sky = wcs.pixel_to_world(col, row)
    qtbot.waitUntil(lambda: f"{sky.ra.deg:.7f}" in dock.cursor_readout.text())
    assert f"{sky.dec.deg:+.7f}" in viewer.status["coordinates"]


# -- frames ------------------------------------------------------------------------------------


def choose_frame(dock, qtbot, index: int) -> None:
    """Open the dock's frame list with the mouse and pick entry ``index`` with the keys."""
    box = dock.frames.box
    QTest.mouseClick(box, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: box.view().isVisible())
    for _ in range(index - box.currentIndex()):
        QTest.keyClick(box.view(), Qt.Key.Key_Down)
    QTest.keyClick(box.view(), Qt.Key.Key_Return)
    settle(qtbot, 60)


def test_frame_list_jumps_to_a_frame_and_the_label_names_the_frame_shown(laptop, images, qtbot):
    viewer, _session, binding, dock = laptop
    names = [f.name for f in image_frames(images / T0000)]
    assert names == ["page 0", "page 1"]
    assert dock.frames.box.count() == 2 and dock.frame_label.text() == "frame 1 of 2: page 0"
    choose_frame(dock, qtbot, 1)
    assert binding.frame == 1
    np.testing.assert_array_equal(binding.image_layer.data, read_frame(images / T0000, 1)[0])
    qtbot.waitUntil(lambda: dock.frame_label.text() == "frame 2 of 2: page 1")
    assert has_focus(canvas(viewer))  # the keys work on the image again at once
    press(viewer, qtbot, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: dock.frame_label.text() == "frame 1 of 2: page 0")
    assert dock.frames.box.currentIndex() == 0
    # after Tab the label names the frame of the new image that is shown, at once
    for _ in range(4):
        press(viewer, qtbot, Qt.Key.Key_Tab)
        shown = binding.shown
        frames = image_frames(images / shown.name)
        if len(frames) > 1:
            want = frame_text(shown.frame, len(frames), frames[shown.frame].name)
            qtbot.waitUntil(lambda want=want: dock.frame_label.text() == want)
            assert dock.frames.box.currentIndex() == shown.frame
            assert dock.frames.box.itemText(0).endswith(frames[0].name)
        else:
            qtbot.waitUntil(lambda: dock.frames.isHidden())
    # the FITS file: its two image extensions by name
    assert binding.shown.name == "synth_mef_300x200_tan.fits"
    assert dock.frames.box.count() == 2


# -- delete all, seen --------------------------------------------------------------------------


def test_delete_all_marks_then_ctrl_z_restores_them_all(laptop, qtbot, tmp_path, notifications):
    viewer, session, binding, dock = laptop
    places = [(300, 200), (250, 260), (200, 330)]
    for key, (row, col) in zip((Qt.Key.Key_1, Qt.Key.Key_2, Qt.Key.Key_3), places):
        hover(viewer, qtbot, row, col)
        press(viewer, qtbot, key)
    press(viewer, qtbot, Qt.Key.Key_Space)  # a mark on the second frame too
    hover(viewer, qtbot, 120, 120)
    press(viewer, qtbot, Qt.Key.Key_2)
    before = session.image_marks(T0000)
    assert len(before) == 4
    QTest.mouseClick(dock.delete_all_button, Qt.MouseButton.LeftButton)
    settle(qtbot, 60)
    assert len(session.image_marks(T0000)) == 0
    assert len(binding.marks.layer.data) == 0
    assert len(reopened(tmp_path / "save").image_marks(T0000)) == 0
    assert any(
        "Deleted 4 mark(s)" in m and "Ctrl+Z restores them" in m for m in messages(notifications)
    )
    qtbot.waitUntil(lambda: dock.marks_table.rowCount() == 0)
    assert has_focus(canvas(viewer))
    press(viewer, qtbot, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)  # one step: all
    after = session.image_marks(T0000)
    assert sorted(zip(after["group"], after["x"], after["y"], after["frame"])) == sorted(
        zip(before["group"], before["x"], before["y"], before["frame"])
    )
    assert len(reopened(tmp_path / "save").image_marks(T0000)) == 4


def test_delete_all_on_an_image_without_marks_says_so(laptop, qtbot, notifications):
    *_, dock = laptop
    QTest.mouseClick(dock.delete_all_button, Qt.MouseButton.LeftButton)
    settle(qtbot)
    assert any("has no marks" in m for m in messages(notifications))


def test_a_revisited_image_says_seen_before(laptop, qtbot):
    viewer, _session, _binding, dock = laptop
    qtbot.waitUntil(lambda: dock.progress_label.text() == "Image 1 of 5 (0 seen)")
    press(viewer, qtbot, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: dock.progress_label.text() == "Image 2 of 5 (1 seen)")
    press(viewer, qtbot, Qt.Key.Key_Backtab)
    qtbot.waitUntil(lambda: dock.progress_label.text() == "Image 1 of 5 (2 seen) · seen before")
    # another frame of the same visit is the same visit
    press(viewer, qtbot, Qt.Key.Key_Space)
    qtbot.waitUntil(lambda: dock.frame_label.text().startswith("frame 2"))
    assert dock.progress_label.text().endswith("· seen before")
    press(viewer, qtbot, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: dock.progress_label.text() == "Image 2 of 5 (2 seen) · seen before")
    press(viewer, qtbot, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: dock.progress_label.text().startswith("Image 3 of 5"))
    assert "seen before" not in dock.progress_label.text()
    press(viewer, qtbot, Qt.Key.Key_Backtab)
    qtbot.waitUntil(lambda: dock.progress_label.text().startswith("Image 2 of 5"))
    assert dock.progress_label.text().endswith("· seen before")


# -- keys window -------------------------------------------------------------------------------


def test_f1_and_question_mark_show_every_key_with_the_session_names(laptop, qtbot):
    viewer, session, _binding, dock = laptop
    press(viewer, qtbot, Qt.Key.Key_F1)
    window = dock.help_window
    qtbot.waitUntil(lambda: window is not None and window.isVisible())
    text = window.label.text()
    for g, name in enumerate(GROUPS, start=1):
        assert f"group {g}, {name}," in text
    for c, name in enumerate(CATEGORIES, start=1):
        assert f"category {c}, {name}," in text
    assert "Ctrl+6" not in text  # the session has five categories
    for key in KEYS:
        if key.action not in ("toggle_category", "toggle_import"):
            assert key.shown.replace("&", "&amp;") in text, key.shown
    for shown, _ in display_rows():
        assert f"<b>{shown}</b>" in text
    # renamed in the dock: the open window follows
    session.rename_group(3, "lensed arc")
    qtbot.waitUntil(lambda: "group 3, lensed arc," in window.label.text())
    QTest.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.isVisible())
    assert has_focus(canvas(viewer))
    QTest.keyClick(canvas(viewer), Qt.Key.Key_Question, Qt.KeyboardModifier.ShiftModifier)
    qtbot.waitUntil(window.isVisible)
    QTest.keyClick(window, Qt.Key.Key_F1)
    qtbot.waitUntil(lambda: not window.isVisible())


# -- comment box -------------------------------------------------------------------------------


def test_tab_in_the_comment_box_stores_it_and_goes_to_the_next_image(laptop, qtbot, tmp_path):
    viewer, session, binding, dock = laptop
    QTest.mouseClick(dock.comment_edit, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: has_focus(dock.comment_edit))
    QTest.keyClicks(dock.comment_edit, "arc SW, check")
    QTest.keyClick(dock.comment_edit, Qt.Key.Key_Tab)
    settle(qtbot, 60)
    assert session.image_state(T0000).comment == "arc SW, check"
    assert reopened(tmp_path / "save").image_state(T0000).comment == "arc SW, check"
    assert binding.shown.name == T2347
    assert has_focus(canvas(viewer))  # not stranded in the marks table
    qtbot.waitUntil(lambda: dock.comment_edit.text() == "")  # the new image has none
    # the keys work on the canvas at once
    hover(viewer, qtbot, 200, 200)
    press(viewer, qtbot, Qt.Key.Key_2)
    assert list(session.image_marks(T2347)["group"]) == [2]
    # Shift+Tab in the box: stored, and back to the previous image
    QTest.mouseClick(dock.comment_edit, Qt.MouseButton.LeftButton)
    QTest.keyClicks(dock.comment_edit, "two members")
    QTest.keyClick(dock.comment_edit, Qt.Key.Key_Backtab, Qt.KeyboardModifier.ShiftModifier)
    settle(qtbot, 60)
    assert session.image_state(T2347).comment == "two members"
    assert binding.shown.name == T0000
    qtbot.waitUntil(lambda: dock.comment_edit.text() == "arc SW, check")


# -- layout ------------------------------------------------------------------------------------


def test_at_1366x768_the_essentials_are_in_sight_when_the_session_opens(laptop, qtbot):
    viewer, _session, _binding, dock = laptop
    assert viewer.window._qt_window.height() <= 768
    settle(qtbot, 60)
    for widget in (
        dock.progress_label, dock.cursor_readout, dock.frames, dock.active_label,
        dock.group_buttons[8], dock.comment_edit, dock.favorite_button, dock.nothing_button,
        dock.delete_all_button, dock.help_button, dock.next_button,
    ):  # fmt: skip
        assert in_sight(widget, dock), widget
    # the canvas keeps most of the window's width
    assert canvas(viewer).width() > dock.width()
    # the rarely used settings fold out, and fold back
    dock.group_section.toggle.click()
    settle(qtbot)
    assert dock.group_names[0].isVisible()
    dock.group_section.toggle.click()
    settle(qtbot)
    assert not dock.group_names[0].isVisible()


def test_a_long_file_name_is_shortened_and_the_dock_keeps_its_width(laptop, images, qtbot):
    """A survey's 90-character file name (underscores: no place to wrap) is shortened in
    the middle; Redo, the group buttons and Delete all stay in sight; Tab to it and back."""
    viewer, session, _binding, dock = laptop
    long = "SPT_CLJ0000_5141_4.80_sigma_grz_cont_legacy_survey_dr10_decals_south_v2_final.tif"
    (images / T0000).rename(images / long)
    save = session.save_dir
    binding_for(viewer).close()
    settle(qtbot, 100)
    session = open_session(viewer, images, save, user="tester")
    settle(qtbot, 100)
    width = dock.width()
    session.goto(long)
    settle(qtbot, 100)
    assert dock.name_label.text() == long  # the whole name for scripts and the tooltip
    shown = dock.name_label.shown_text()
    assert "…" in shown and shown.startswith("SPT_CLJ0000") and shown.endswith("final.tif")
    assert dock.name_label.toolTip() == long
    window = viewer.window._qt_window
    for widget in (dock.redo_button, dock.group_buttons[8], dock.delete_all_button):
        assert in_sight(widget, dock), widget
        assert widget.mapTo(window, QPoint(widget.width(), 0)).x() <= window.width()
    assert dock.width() == width
    press(viewer, qtbot, Qt.Key.Key_Tab)
    assert dock.name_label.shown_text() == session.current.name  # a short name: whole


# -- closing -----------------------------------------------------------------------------------


def test_closing_says_saving_then_closed(laptop, qtbot):
    viewer, session, _binding, dock = laptop
    said: list = []
    viewer.events.status.connect(lambda event: said.append(event.value))
    dock.session_toggle.click()
    QTest.mouseClick(dock.close_button, Qt.MouseButton.LeftButton)
    settle(qtbot)
    texts = [s for s in said if isinstance(s, str)]
    assert texts[0].startswith("Saving and closing the session of tester")
    assert texts[-1].startswith("Closed the session of tester; everything is saved")
    with pytest.raises(RuntimeError):  # closed: nothing more is written
        session.add_mark(1.0, 1.0, 1)
    assert dock.cursor_readout.readout is None

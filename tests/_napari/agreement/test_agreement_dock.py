"""The Agreement dock in a real window: tables of a team's folder, and the review of the
disputed images with every user's marks in their colour, saved as a new user."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
from napari.utils.colormaps.standardize_color import transform_color
from qtpy.QtCore import Qt
from qtpy.QtTest import QTest

from napari_imagemarker import MarkingSession, agreement
from napari_imagemarker._napari.agreement.dock import OVERLAY
from napari_imagemarker._napari.marking.binding import binding_for

IMAGES = Path(__file__).parents[2] / "data" / "imgmarker" / "images"
T0000 = "SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif"
T2359 = "SPT-CLJ2359-5051_4.92_sigma_grz_cont.tif"
PNG = "synth_gray8_120x80_nowcs.png"


def _user(images, save, user, marks, merger=()):
    with MarkingSession(images, save, user=user, categories=["Merger", "2", "3", "4", "5"]) as s:
        for x, y, g, image in marks:
            s.add_mark(x, y, g, image=image)
        for image in merger:
            s.set_categories(["Merger"], image=image)
        for _ in s.paths:
            s.next()


@pytest.fixture
def team(tmp_path) -> Path:
    images = tmp_path / "images"
    shutil.copytree(IMAGES, images)
    save = tmp_path / "team"
    _user(images, save, "alice", [(256, 256, 1, T0000), (300, 120, 2, T0000)], [T0000])
    _user(images, save, "bob", [(258, 255, 1, T0000), (20, 10, 1, PNG)], [T2359])
    _user(images, save, "carol", [(255, 258, 1, T0000), (310, 400, 2, T0000)], [T0000])
    return save


def test_tables_then_review_with_each_users_marks(make_napari_viewer, team, qtbot):
    viewer = make_napari_viewer(show=True)
    viewer.window._qt_window.resize(1400, 850)
    _, dock = viewer.window.add_plugin_dock_widget("napari-imagemarker", "Agreement")
    dock.folder_edit.setText(str(team))
    qtbot.mouseClick(dock.compute_button, Qt.MouseButton.LeftButton)
    assert "3 user(s) (alice, bob, carol)" in dock.summary.text()
    tabs = [dock.tabs.tabText(k) for k in range(dock.tabs.count())]
    assert tabs == ["Kappa", "Pairs", "Consensus", "Users", "Disputed"]
    kappa = dock.tabs.widget(0)
    assert kappa.item(0, 0).text() == "Merger"
    expected = agreement(team)["categories"]["Merger"]["fleiss_kappa"]
    assert kappa.item(0, 1).text() == f"{expected:.2f}"
    disputed = dock.tabs.widget(4)
    first = disputed.item(0, 0).text()
    assert first == agreement(team)["images"][0]["image"]

    dock.n_spin.setValue(3)
    qtbot.mouseClick(dock.review_button, Qt.MouseButton.LeftButton)
    binding = binding_for(viewer)
    session = binding.session
    assert session.user == "consensus" and session.save_dir == team
    assert [p.name for p in session.paths] == dock.review.names
    assert session.current.name == first
    overlay = viewer.layers[OVERLAY]
    assert viewer.layers.selection.active is binding.marks.layer

    def shows_users_marks(name):
        marks = dock.review.marks_on(name)
        points = np.concatenate([np.c_[m.y, m.x] for m in marks]) if marks else np.zeros((0, 2))
        if not np.array_equal(overlay.data, points):
            return False
        colors = [transform_color(m.color)[0] for m in marks for _ in m.x]
        return np.allclose(overlay.border_color, colors) if colors else True

    qtbot.waitUntil(lambda: shows_users_marks(session.current.name))
    if session.current.name == T0000:
        assert len(overlay.data) == 5  # 3 BCG marks, 2 members
    assert "alice" in dock.legend.text() and "carol" in dock.legend.text()
    # the next disputed image: the overlay follows
    QTest.keyClick(viewer.window._qt_viewer.canvas.native, Qt.Key.Key_Tab)
    qtbot.waitUntil(lambda: session.current.index == 1)
    qtbot.waitUntil(lambda: shows_users_marks(session.current.name))
    # the reviewer's decision is saved as a new user of the folder
    session.goto(T0000)
    qtbot.waitUntil(lambda: shows_users_marks(T0000))
    session.add_mark(256.0, 256.0, 1)
    binding.close()
    again = agreement(team)
    assert again["settings"]["users"] == ["alice", "bob", "carol", "consensus"]
    assert again["users"]["consensus"]["n_marks"] == 1


def test_folder_without_users_is_a_message(make_napari_viewer, tmp_path, qtbot):
    from napari.utils.notifications import notification_manager

    viewer = make_napari_viewer()
    _, dock = viewer.window.add_plugin_dock_widget("napari-imagemarker", "Agreement")
    dock.folder_edit.setText(str(tmp_path))
    assert dock.compute() is False
    assert any("no marking sessions" in n.message for n in notification_manager.records)
    assert dock.tabs.count() == 0

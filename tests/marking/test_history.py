"""Undo and redo of mark changes (MarkHistory), on a real session and without Qt."""

from __future__ import annotations

from pathlib import Path

import pytest

from napari_imagemarker import MarkingSession
from napari_imagemarker.marking.history import MarkHistory

IMAGES = Path(__file__).parents[1] / "data" / "imgmarker" / "images"
T0000 = "SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif"


@pytest.fixture
def session(tmp_path):
    with MarkingSession(IMAGES, tmp_path / "save", user="tester") as session:
        yield session


def rows(session, image=None):
    return [
        (int(m["group"]), float(m["x"]), float(m["y"]), str(m["label"]))
        for m in session.image_marks(image)
    ]


def test_undo_redo_add_move_relabel_remove(session, tmp_path):
    history = MarkHistory(session)
    a = history.add(10, 20, 1)
    b = history.add(30, 40, 2, label="knot")
    history.move(a, 11, 21)
    history.relabel(b, "arc?")
    history.remove([a])
    assert rows(session) == [(2, 30, 40, "arc?")]
    steps = [
        [(2, 30, 40, "arc?"), (1, 11, 21, "")],  # the removal undone (a comes back last)
        [(2, 30, 40, "knot"), (1, 11, 21, "")],
        [(2, 30, 40, "knot"), (1, 10, 20, "")],
        [(1, 10, 20, "")],
        [],
    ]
    for expected in steps:
        history.undo()
        assert sorted(rows(session)) == sorted(expected)
    assert history.undo() is None
    for expected in reversed(steps[:-1]):
        history.redo()
        assert sorted(rows(session)) == sorted(expected)
    history.redo()
    assert rows(session) == [(2, 30, 40, "arc?")]
    assert history.redo() is None
    # all of it is saved: a new process sees the same
    reopened = MarkingSession(None, tmp_path / "save", user="tester", read_only=True)
    assert rows(reopened, T0000) == [(2, 30, 40, "arc?")]


def test_undo_of_a_replacing_mark_puts_the_old_one_back(session):
    session.set_group_max(1, 1)
    history = MarkHistory(session)
    history.add(10, 20, 1)
    history.add(50, 60, 1)  # replaces: one BCG per image
    assert rows(session) == [(1, 50, 60, "")]
    history.undo()
    assert rows(session) == [(1, 10, 20, "")]
    history.redo()
    assert rows(session) == [(1, 50, 60, "")]


def test_a_new_change_clears_redo_and_undo_follows_its_image(session):
    history = MarkHistory(session)
    history.add(10, 20, 3)
    assert history.undo_target() == (T0000, 0)
    history.undo()
    history.add(5, 5, 4, frame=1)
    assert not history.can_redo
    session.next()
    assert history.undo_target() == (T0000, 1)
    history.undo()
    assert rows(session, T0000) == []

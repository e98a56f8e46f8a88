"""Repeats (Image Marker's duplicates): which images are shown again and where, and how a
session shows them, stores them apart and writes them to Image Marker's files."""

import csv
import re
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from PIL import Image

from napari_imagemarker import MarkingSession, agreement, read_marks
from napari_imagemarker.imgmarker.savedir import read_savedir
from napari_imagemarker.marking.events import GroupFullError
from napari_imagemarker.marking.repeats import (
    MIN_GAP,
    REPEAT_ID_START,
    check_fraction,
    repeat_schedule,
)
from napari_imagemarker.marking.state import ImageState


def test_schedule_is_fixed_by_seed_and_names():
    names = [f"img{i:03d}.fits" for i in range(200)]
    plan = repeat_schedule(names, 0.1, seed=7)
    assert len(plan) == 20
    assert plan == repeat_schedule(names, 0.1, seed=7)
    assert plan != repeat_schedule(names, 0.1, seed=8)
    assert len({name for _, name in plan}) == 20
    for after, name in plan:
        i = names.index(name)
        assert after >= min(i + MIN_GAP, len(names) - 1)
        assert after < len(names)
    assert [a for a, _ in plan] == sorted(a for a, _ in plan)
    # adding images keeps most of the chosen ones
    more = repeat_schedule([*names, "extra.fits"], 0.1, seed=7)
    assert len({n for _, n in plan} & {n for _, n in more}) >= 18


@pytest.mark.parametrize("n", [0, 1, 2, 3, 7])
def test_any_number_of_images(n):
    names = [f"i{k}.png" for k in range(n)]
    plan = repeat_schedule(names, 1.0, seed=1)
    assert sorted(name for _, name in plan) == sorted(names)  # every image repeated
    for after, name in plan:
        assert names.index(name) <= after < n


def test_fraction_is_checked():
    assert check_fraction(0.25) == 0.25
    for bad in (-0.1, 1.5, "ten", float("nan")):
        with pytest.raises(ValueError, match="repeats must be a fraction"):
            check_fraction(bad)


# -- repeats in a session ------------------------------------------------------------------------


def _images(folder: Path, n: int) -> Path:
    folder.mkdir()
    for k in range(n):
        Image.fromarray(np.full((40, 60), k, np.uint8)).save(folder / f"img{k:02d}.png")
    return folder


def _walk(session: MarkingSession, steps: int | None = None) -> list[tuple[str, bool]]:
    """Press Next until the end (or ``steps`` times): (image, repeat?) of each image shown."""
    shown = [(session.current.name, session.on_repeat)]
    for _ in range(steps if steps is not None else 10_000):
        before = (session.current, session.on_repeat)
        session.next()
        if (session.current, session.on_repeat) == before:
            break
        shown.append((session.current.name, session.on_repeat))
    return shown


def test_repeats_come_later_look_new_and_are_stored_apart(tmp_path):
    images = _images(tmp_path / "images", 12)
    save = tmp_path / "save"
    events = []
    with MarkingSession(images, save, user="ann", repeats=0.25, repeat_seed=5) as s:
        s.connect(events.append)
        assert s.repeats == 0.25 and s.repeat_seed == 5
        plan = repeat_schedule([p.name for p in s.paths], 0.25, 5)
        assert len(plan) == 3
        repeated = {name for _, name in plan}
        shown = [(s.current.name, s.on_repeat)]
        while True:
            name, on_repeat = s.current.name, s.on_repeat
            if not on_repeat:  # the first look: a mark, a category, a comment
                s.add_mark(10, 20, 1)
                s.set_categories([1])
                s.set_comment("first look")
            else:  # looks new: nothing of the first look is shown
                assert len(s.image_marks()) == 0
                assert s.image_state() == ImageState()
                mark = s.add_mark(12, 21, 2, label="again")
                assert mark >= REPEAT_ID_START
                s.set_categories([2])
            s.next()
            if (s.current.name, s.on_repeat) == (name, on_repeat):
                break
            shown.append((s.current.name, s.on_repeat))
        firsts = [n for n, r in shown if not r]
        repeats = [n for n, r in shown if r]
        assert firsts == [p.name for p in s.paths]
        assert sorted(repeats) == sorted(repeated)
        for name in repeats:  # at least MIN_GAP images after the first look, where possible
            first, again = shown.index((name, False)), shown.index((name, True))
            gap = sum(1 for n, r in shown[first + 1 : again] if not r)
            assert gap >= min(MIN_GAP, 12 - 1 - firsts.index(name))
        # the first look is untouched; the repeats' work is apart
        assert s.on_repeat  # the last repeat: Next stays there, like on the last image
        s.goto(0)
        assert not s.on_repeat
        assert len(s.marks) == 12 and set(s.marks["group"]) == {1}
        assert sorted(s.repeat_marks["image"]) == sorted(repeated)
        assert set(s.repeat_marks["group"]) == {2} and set(s.repeat_marks["label"]) == {"again"}
        for name in repeated:
            assert s.image_state(name).categories == (1,)
            assert s.image_state(name).comment == "first look"
        again = s.repeat_images
        assert sorted(again["image"]) == sorted(repeated)
        assert set(again["categories"]) == {"2"} and all(again["seen"])
        navigated = [e.image for e in events if e.type == "navigated"]
        assert navigated == [n for n, _ in shown[1:]] + [firsts[0]]

    # on disk: our files apart, Image Marker's files as it writes duplicates
    assert (save / "repeats" / "ann_marks.ecsv").is_file()
    assert len(read_marks(save / "ann_marks.ecsv")) == 12
    assert len(read_marks(save / "repeats" / "ann_marks.ecsv")) == 3
    lines = (save / "ann_marks.csv").read_text().splitlines()
    duplicates = [line for line in lines if "DUPLICATE" in line]
    assert len(duplicates) == 3 and all(',2,"again, DUPLICATE",' in d for d in duplicates)
    assert lines[1 : 1 + 12] == [line for line in lines[1:] if "DUPLICATE" not in line]
    rows = (save / "ann_images.csv").read_text().splitlines()[1:]
    assert len(rows) == 15
    assert [r.split(",")[1] for r in rows[12:]] == [n for n in repeats]
    assert all(r.split(",")[4] == "2" for r in rows[12:])

    # the agreement report finds the same self-consistency in both kinds of files
    ours = agreement(save)["self_consistency"]["ann"]
    only_csv = tmp_path / "imgmarker_copy"
    only_csv.mkdir()
    for f in ("ann_marks.csv", "ann_images.csv", "ann_config.txt"):
        shutil.copy(save / f, only_csv / f)
    theirs = agreement(only_csv, radius=3)["self_consistency"]["ann"]
    assert ours["n_repeats"] == theirs["n_repeats"] == 3
    assert ours["marks"]["matched"] == theirs["marks"]["matched"] == 0  # other group
    assert ours["categories"]["1"]["observed"] == theirs["categories"]["1"]["observed"] == 0


def test_resume_shows_the_repeats_not_shown_yet(tmp_path):
    images = _images(tmp_path / "images", 10)
    save = tmp_path / "save"
    with MarkingSession(images, save, user="bo", repeats=0.3, repeat_seed=11) as s:
        whole = _walk(s)
    assert sum(r for _, r in whole) == 3
    shutil.rmtree(save)
    # the same campaign, closed and reopened at every step
    seen = []
    for _ in whole:
        with MarkingSession(images, save, user="bo", repeats=0.3, repeat_seed=11) as s:
            seen.append((s.current.name, s.on_repeat))
            s.next()
    assert seen == whole
    with MarkingSession(images, save, user="bo") as s:  # all done: on the last image
        assert (s.current.name, s.on_repeat) == ("img09.png", False)
    # the seed is saved: reopened without it, the same repeats are due
    with MarkingSession(images, save, user="bo") as s:
        assert s.repeat_seed == 11 and s.repeats == 0.3


def test_one_image_and_going_back(tmp_path):
    images = _images(tmp_path / "images", 1)
    with MarkingSession(images, tmp_path / "save", user="cy", repeats=1.0) as s:
        assert _walk(s) == [("img00.png", False), ("img00.png", True)]
        s.next()  # at the end: stays on the repeat's image
        assert s.current.name == "img00.png"
    images = _images(tmp_path / "more", 8)
    with MarkingSession(images, tmp_path / "save2", user="cy", repeats=1.0, repeat_seed=3) as s:
        shown = _walk(s)
        assert len(shown) == 16
    with MarkingSession(images, tmp_path / "save3", user="cy", repeats=1.0, repeat_seed=3) as s:
        while not s.on_repeat:
            s.next()
        name, index = s.current.name, s.current.index
        mark = s.add_mark(1, 1, 1)
        s.previous()  # back to the image the repeat followed: not a repeat
        assert not s.on_repeat and s.current.index == index
        s.remove_mark(mark)  # by id: the repeat's mark, from anywhere
        assert len(s.repeat_marks) == 0
        s.goto(name)
        assert not s.on_repeat and len(s.image_marks()) == 0


def test_no_repeats_by_default(tmp_path):
    images = _images(tmp_path / "images", 4)
    with MarkingSession(images, tmp_path / "save", user="di") as s:
        assert s.repeats == 0.0 and s.repeat_seed is None
        assert [r for _, r in _walk(s)] == [False] * 4
        assert len(s.repeat_marks) == 0 and len(s.repeat_images) == 0
    assert not (tmp_path / "save" / "repeats").exists()
    with pytest.raises(ValueError, match="repeats must be a fraction"):
        MarkingSession(images, tmp_path / "save", user="di", repeats=10)


# -- names: a repeat's files use the session's group and category names ---------------------

CATS = ["Merger", "Lensed", "3", "4", "5"]
GROUPS = ["BCG", "member", *(str(g) for g in range(3, 10))]


def _csv(path: Path) -> list[list[str]]:
    with open(path, newline="") as f:
        return list(csv.reader(f))[1:]


def _duplicate_rows(save: Path, user: str) -> list[list[str]]:
    """Rows of ``<user>_images.csv`` after each image's first row: its duplicates."""
    rows, first = [], set()
    for row in _csv(save / f"{user}_images.csv"):
        (rows.append(row) if row[1] in first else first.add(row[1]))
    return rows


def _ecsv_session_meta(path: Path) -> dict:
    return Table.read(path, format="ascii.ecsv").meta["session"]


def _mark_every_look(s: MarkingSession, first: list[str], again: list[str]) -> None:
    """Press Next to the end, placing a mark of group 1 and ticking categories ``first``
    on each first look and ``again`` on each repeat."""
    while True:
        before = (s.current.name, s.on_repeat)
        s.add_mark(10, 20, 1)
        s.set_categories(again if s.on_repeat else first)
        s.next()
        if (s.current.name, s.on_repeat) == before:
            break


def test_repeats_are_written_with_the_sessions_names(tmp_path):
    images = _images(tmp_path / "images", 3)
    save = tmp_path / "save"
    with MarkingSession(
        images, save, user="ann", groups=GROUPS, categories=CATS, repeats=1.0, repeat_seed=1
    ) as s:
        _mark_every_look(s, ["Merger"], ["Merger"])
        assert len(s.repeat_marks) == 3
        assert list(s.repeat_images["categories"]) == ["Merger"] * 3
    # Image Marker's files: names on the duplicates' rows as on the first looks'
    rows = _csv(save / "ann_images.csv")
    assert len(rows) == 6 and [r[4] for r in rows] == ["Merger"] * 6
    duplicates = [r for r in _csv(save / "ann_marks.csv") if r[3] == "DUPLICATE"]
    assert len(duplicates) == 3 and {r[2] for r in duplicates} == {"BCG"}
    # our files of the repeats name them too
    meta = _ecsv_session_meta(save / "repeats" / "ann_images.ecsv")
    assert meta["categories"] == CATS and meta["groups"] == GROUPS
    assert read_marks(save / "repeats" / "ann_marks.ecsv").meta["groups"] == GROUPS
    # agreement from Image Marker's files alone is the one from ours
    only_csv = tmp_path / "imgmarker_copy"
    only_csv.mkdir()
    for f in ("ann_marks.csv", "ann_images.csv", "ann_config.txt"):
        shutil.copy(save / f, only_csv / f)
    ours = agreement(save)["self_consistency"]["ann"]["categories"]["Merger"]
    theirs = agreement(only_csv, radius=3)["self_consistency"]["ann"]["categories"]["Merger"]
    assert ours["observed"] == theirs["observed"] == 1.0


def test_repeat_names_survive_resume_and_follow_renames(tmp_path):
    images = _images(tmp_path / "images", 8)
    save = tmp_path / "save"
    opened = dict(groups=GROUPS, categories=CATS, repeats=0.25, repeat_seed=2)
    with MarkingSession(images, save, user="bo", **opened) as s:
        while not s.on_repeat:
            s.next()
        repeated = s.current.name
        s.add_mark(5, 5, 1)
        s.set_categories(["Merger"])
        s.next()
    with MarkingSession(images, save, user="bo") as s:  # resumed: the saved names
        assert s.categories == tuple(CATS)
        assert list(s.repeat_images["categories"]) == ["Merger"]
        s.rename_category(1, "Major merger")
        s.rename_group(1, "brightest")
        assert list(s.repeat_images["categories"]) == ["Major merger"]
    # as Image Marker does: the files use the current names, duplicates included
    (row,) = _duplicate_rows(save, "bo")
    assert row[1] == repeated and row[4] == "Major merger"
    (mark,) = [r for r in _csv(save / "bo_marks.csv") if r[3] == "DUPLICATE"]
    assert mark[1] == repeated and mark[2] == "brightest"
    meta = _ecsv_session_meta(save / "repeats" / "bo_images.ecsv")
    assert meta["categories"] == ["Major merger", *CATS[1:]]
    assert meta["groups"] == ["brightest", *GROUPS[1:]]
    for marks in (save / "bo_marks.ecsv", save / "repeats" / "bo_marks.ecsv"):
        assert read_marks(marks).meta["groups"] == ["brightest", *GROUPS[1:]]
    with MarkingSession(images, save, user="bo", read_only=True) as s:
        assert list(s.repeat_images["categories"]) == ["Major merger"]


def test_group_maxima_hold_on_repeats(tmp_path):
    images = _images(tmp_path / "images", 2)
    save = tmp_path / "save"
    maxima = [1, 2, *([None] * 7)]
    with MarkingSession(
        images, save, user="cy", groups=GROUPS, group_max=maxima, repeats=1.0, repeat_seed=4
    ) as s:
        while not s.on_repeat:
            s.next()
        s.add_mark(5, 5, 1)
        s.add_mark(6, 6, 1)  # replaces the first: "BCG" holds one mark per image
        s.add_mark(7, 7, 2)
        s.add_mark(8, 8, 2)
        with pytest.raises(GroupFullError, match="'member'"):
            s.add_mark(9, 9, 2)
        assert sorted(s.image_marks()["group"]) == [1, 2, 2]
    duplicates = [r for r in _csv(save / "cy_marks.csv") if r[3] == "DUPLICATE"]
    assert sorted((r[2], r[4]) for r in duplicates) == [
        ("BCG", "6"),
        ("member", "7"),
        ("member", "8"),
    ]


def test_a_category_ticked_on_a_repeat_is_not_removed(tmp_path):
    images = _images(tmp_path / "images", 1)
    save = tmp_path / "save"
    with MarkingSession(images, save, user="di", categories=CATS, repeats=1.0) as s:
        s.next()
        assert s.on_repeat
        s.set_categories(["Lensed", "5"])
        with pytest.raises(ValueError, match="'5' is set on 1 image"):
            s.set_category_names(CATS[:4])
        assert s.categories == tuple(CATS)
    (row,) = _duplicate_rows(save, "di")
    assert row[4] == "Lensed+5"


def _as_written_before(save: Path, user: str) -> None:
    """Make ``user``'s files what versions before the fix wrote: a category ticked on a
    repeat as its number on the duplicate's row, the repeats' files naming the defaults."""
    path = save / f"{user}_images.csv"
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    first = set()
    for row in rows[1:]:
        if row[1] in first and row[4] != "None":
            row[4] = "+".join(str(CATS.index(c) + 1) for c in row[4].split("+"))
        first.add(row[1])
    with open(path, "w", newline="") as f:
        csv.writer(f).writerows(rows)
    defaults = {"categories": "['1', '2', '3', '4', '5']", "groups": str([*"123456789"])}
    for name in (f"{user}_images.ecsv", f"{user}_marks.ecsv"):
        ecsv = save / "repeats" / name
        text = re.sub(
            r"^(#\s+(?:- )?(categories|groups): ).*$",
            lambda m: m.group(1) + defaults[m.group(2)],
            ecsv.read_text(),
            flags=re.MULTILINE,
        )
        ecsv.write_text(text)


def test_files_written_with_numbers_for_names_are_read_right(tmp_path):
    images = _images(tmp_path / "images", 3)
    save = tmp_path / "save"
    with MarkingSession(
        images, save, user="ann", groups=GROUPS, categories=CATS, repeats=1.0, repeat_seed=1
    ) as s:
        _mark_every_look(s, ["Merger"], ["Merger", "Lensed"])
    _as_written_before(save, "ann")
    assert [r[4] for r in _duplicate_rows(save, "ann")] == ["1+2"] * 3
    # Image Marker's files alone: the numbers are read as the names at their positions
    only_csv = tmp_path / "imgmarker_copy"
    only_csv.mkdir()
    for f in ("ann_marks.csv", "ann_images.csv", "ann_config.txt"):
        shutil.copy(save / f, only_csv / f)
    saved = read_savedir(only_csv, "ann")
    assert [r["categories"] for r in saved.repeats] == ["Merger+Lensed"] * 3
    report = agreement(only_csv, radius=3)["self_consistency"]["ann"]["categories"]
    assert report["Merger"]["observed"] == 1.0 and report["Lensed"]["observed"] == 0.0
    # our files: the session gives the repeats its names on opening, and writes them
    with MarkingSession(None, save, user="ann", read_only=True) as s:
        assert list(s.repeat_images["categories"]) == ["Merger+Lensed"] * 3
    with MarkingSession(None, save, user="ann") as s:
        assert list(s.repeat_images["categories"]) == ["Merger+Lensed"] * 3
    assert [r[4] for r in _duplicate_rows(save, "ann")] == ["Merger+Lensed"] * 3
    meta = _ecsv_session_meta(save / "repeats" / "ann_images.ecsv")
    assert meta["categories"] == CATS and meta["groups"] == GROUPS
    assert read_marks(save / "repeats" / "ann_marks.ecsv").meta["groups"] == GROUPS


def test_a_number_that_is_a_category_name_stays_that_name(tmp_path):
    (tmp_path / "eve_config.txt").write_text(
        "image_dir = None\ngroups = 1,2,3,4,5,6,7,8,9\ncategories = Major,1,Minor\n"
        "group_max = None,None,None,None,None,None,None,None,None\n"
        "randomize_order = False\nleft_click_group = 1"
    )
    rows = ["a.png,nan,nan,Major,None", "b.png,nan,nan,None,None"]
    rows += ["a.png,nan,nan,1,None", "b.png,nan,nan,1+3,None", "a.png,nan,nan,4,None"]
    text = "date,image,RA,DEC,categories,comment\r\n"
    text += "".join(f"2026-01-02,{r}\r\n" for r in rows)
    (tmp_path / "eve_images.csv").write_text(text, newline="")
    saved = read_savedir(tmp_path, "eve")
    # "1" is the second category's name: kept; "3" names none: the third; "4" is no position
    assert [r["categories"] for r in saved.repeats] == ["1", "1+Minor", "4"]


def test_repeats_turned_off_keep_the_repeats_done(tmp_path):
    images = _images(tmp_path / "images", 8)
    save = tmp_path / "save"
    with MarkingSession(images, save, user="fy", categories=CATS, repeats=0.5, repeat_seed=3) as s:
        while not s.on_repeat:
            s.next()
        done = s.current.name
        s.add_mark(3, 4, 1)
        s.set_categories(["Lensed"])
        s.next()
    with MarkingSession(images, save, user="fy", repeats=0) as s:  # off from now on
        assert s.repeats == 0
        assert not any(on_repeat for _, on_repeat in _walk(s))
        assert list(s.repeat_marks["image"]) == [done]
        assert list(s.repeat_images["categories"]) == ["Lensed"]
    with MarkingSession(None, save, user="fy") as s:  # the saved setting: off
        assert s.repeats == 0 and len(s.repeat_marks) == 1
    # Image Marker's files and the agreement report still have the repeat done
    (row,) = _duplicate_rows(save, "fy")
    assert row[1] == done and row[4] == "Lensed"
    (mark,) = [r for r in _csv(save / "fy_marks.csv") if r[3] == "DUPLICATE"]
    assert mark[1] == done
    assert agreement(save)["self_consistency"]["fy"]["n_repeats"] == 1


def test_marks_on_a_repeat_are_removed_and_undone_through_the_history(tmp_path):
    """What the viewer does on a repeat: add through MarkHistory, then remove, undo, redo.
    Before, mark_records read only the first looks: adding raised KeyError(1000000000)
    (shown by napari as a bare number) and removing said "has no mark with id ..."."""
    from napari_imagemarker.marking.history import MarkHistory

    images = _images(tmp_path / "images", 12)
    with MarkingSession(images, tmp_path / "save", user="ann", repeats=0.25, repeat_seed=5) as s:
        s.add_mark(10, 20, 1)
        while not s.on_repeat:
            s.next()
        name = s.current.name
        history = MarkHistory(s)
        mark = history.add(5.0, 6.0, 2, None, 0, name)
        assert mark >= REPEAT_ID_START and list(s.mark_records()) == [mark]
        history.remove([mark], name)
        assert len(s.image_marks()) == 0 and len(s.repeat_marks) == 0
        history.undo()  # the mark comes back (under a new repeat id), where it was
        [back] = s.image_marks()
        assert back["id"] >= REPEAT_ID_START and (back["x"], back["y"], back["group"]) == (5, 6, 2)
        history.redo()
        assert len(s.image_marks()) == 0
        assert len(s.marks) == 1  # the first look's mark of the first image, untouched

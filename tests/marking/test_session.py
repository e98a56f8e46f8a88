"""MarkingSession: image lists, marks, per-image state, durability, lock, Image Marker folders.

The SIGKILL test is in test_session_killtest.py. These tests use the real SPT TIFFs, the FITS
and the PNG of tests/data/imgmarker and small generated images.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table
from PIL import Image

from napari_imagemarker import MarkingSession, image_frames, read_marks
from napari_imagemarker.images.lists import resolve_images, shuffled
from napari_imagemarker.marking.session import (
    DataLossWarning,
    GroupFullError,
    ImageSkippedWarning,
    SessionEvent,
    SessionLockedError,
)
from napari_imagemarker.marking.store import marks_snapshot
from napari_imagemarker.marks.schema import MARK_COLUMNS, normalise_marks

DATA = Path(__file__).parents[1] / "data" / "imgmarker"
IMAGES = DATA / "images"
T0000 = "SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif"
T2347 = "SPT-CLJ2347-5101_4.39_sigma_grz_cont.tif"
T2359 = "SPT-CLJ2359-5051_4.92_sigma_grz_cont.tif"
PNG = "synth_gray8_120x80_nowcs.png"
FITS = "synth_mef_300x200_tan.fits"
ORDER = [T0000, T2347, T2359, PNG, FITS]


def _png(path: Path, shape=(8, 10)) -> Path:
    Image.fromarray(np.zeros(shape, np.uint8)).save(path)
    return path


@pytest.fixture
def session(tmp_path):
    with MarkingSession(IMAGES, tmp_path / "save", user="ann", mirror=False) as s:
        yield s


def _reopen(tmp_path, **kwargs) -> MarkingSession:
    kwargs.setdefault("mirror", False)
    return MarkingSession(IMAGES, tmp_path / "save", user="ann", **kwargs)


# -- image lists --------------------------------------------------------------------------------


def test_folder_is_in_natural_order_and_other_files_are_ignored(tmp_path):
    for name in ["img10.png", "img2.png", "img1.png", "Img1.png", "notes.txt"]:
        _png(tmp_path / name) if name.endswith(".png") else (tmp_path / name).write_text("x")
    assert [p.name for p in resolve_images(tmp_path)] == [
        "Img1.png",  # equal but for case: then in code-point order, the same everywhere
        "img1.png",
        "img2.png",
        "img10.png",
    ]
    assert [p.name for p in resolve_images(str(tmp_path / "img*.png"))] == [
        "img1.png",
        "img2.png",
        "img10.png",
    ]


def test_a_folder_of_gzipped_fts_files_scans(tmp_path):
    from astropy.io import fits

    folder = tmp_path / "images"
    folder.mkdir()
    for i in (10, 2):
        fits.PrimaryHDU(np.zeros((6, 8), np.float32)).writeto(folder / f"cut{i}.FTS.gz")
    assert [p.name for p in resolve_images(folder)] == ["cut2.FTS.gz", "cut10.FTS.gz"]
    with MarkingSession(folder, tmp_path / "save", user="ann", mirror=False) as s:
        assert [p.name for p in s.paths] == ["cut2.FTS.gz", "cut10.FTS.gz"]
        s.add_mark(7, 5, 1)
        assert s.image_marks()["image"][0] == "cut2.FTS.gz"


def test_list_file_paths_are_relative_to_it_and_keep_their_order(tmp_path):
    (tmp_path / "sub").mkdir()
    _png(tmp_path / "sub" / "b.png")
    _png(tmp_path / "a.png")
    listing = tmp_path / "list.txt"
    listing.write_text("# my campaign\nsub/b.png\n\n" + str(tmp_path / "a.png") + "\n")
    assert resolve_images(listing) == [tmp_path / "sub" / "b.png", tmp_path / "a.png"]


def test_two_images_with_one_file_name_are_refused(tmp_path):
    with pytest.raises(ValueError, match=r"two images have the file name 'x\.png'"):
        resolve_images([tmp_path / "a" / "x.png", tmp_path / "b" / "x.png"])


def test_shuffle_is_reproducible_and_stable_when_images_are_added():
    paths = [Path(f"img{i}.fits") for i in range(50)]
    order = shuffled(paths, 7)
    assert order == shuffled(list(reversed(paths)), 7)
    assert order != paths and order != shuffled(paths, 8)
    bigger = shuffled([*paths, Path("new.fits")], 7)
    assert [p for p in bigger if p.name != "new.fits"] == order


def test_shuffled_session_keeps_its_seed_on_resume(tmp_path):
    with MarkingSession(IMAGES, tmp_path, user="ann", shuffle_seed=3, mirror=False) as s:
        order = [p.name for p in s.paths]
    assert sorted(order) == sorted(ORDER) and order != ORDER
    with MarkingSession(IMAGES, tmp_path, user="ann", mirror=False) as s:
        assert [p.name for p in s.paths] == order
        assert s.shuffle_seed == 3


# -- marks --------------------------------------------------------------------------------------


def test_marks_have_the_schema_and_exact_sky_positions(session):
    assert session.current.name == T0000
    first = session.add_mark(100, 461, 1)
    second = session.add_mark(0.4, 12.25, 2, label="knot, café")
    marks = session.marks
    assert marks.colnames == [*MARK_COLUMNS, "id"]
    assert list(marks["id"]) == [first, second] and first != second
    wcs = image_frames(IMAGES / T0000)[0].wcs
    ra, dec = wcs.pixel_to_world_values(0.4, 12.25)
    assert marks["ra"][1] == pytest.approx(ra, abs=1e-12)
    assert marks["dec"][1] == pytest.approx(dec, abs=1e-12)
    # GOLDEN.md mark 1: display (100, 50) of T0000 is our (x, y) = (100, 461)
    assert marks["ra"][0] == pytest.approx(0.2203411874, abs=1e-9)
    assert marks["dec"][0] == pytest.approx(-51.6790327529, abs=1e-9)
    assert list(marks["label"]) == ["", "knot, café"]
    assert set(marks["user"]) == {"ann"} and marks["time"][0].endswith("Z")
    assert marks.meta["pixel_origin"] == 0 and len(marks.meta["groups"]) == 9


def test_fits_frame_and_png_without_wcs(session):
    session.goto(FITS)
    mark = session.add_mark(99, 59, 3, frame=1)
    row = session.marks[session.marks["id"] == mark][0]
    assert (row["frame"], row["ra"], row["dec"]) == (1, pytest.approx(150.1), pytest.approx(2.2))
    session.goto(PNG)
    session.add_mark(119, 79, 9)
    assert np.isnan(session.image_marks()["ra"][0])
    with pytest.raises(ValueError, match=r"outside synth_gray8_120x80_nowcs\.png"):
        session.add_mark(120, 10, 1)
    with pytest.raises(ValueError, match="no frame 1"):
        session.add_mark(1, 1, 1, frame=1)
    with pytest.raises(ValueError, match="group must be 1-9"):
        session.add_mark(1, 1, 10)


def test_move_relabel_remove(session):
    a = session.add_mark(10, 10, 1)
    b = session.add_mark(20, 20, 2)
    session.move_mark(a, 30.5, 40.0)
    session.set_label(b, "arc?")
    marks = session.marks
    wcs = image_frames(IMAGES / T0000)[0].wcs
    assert (marks["x"][0], marks["y"][0]) == (30.5, 40.0)
    assert marks["ra"][0] == pytest.approx(float(wcs.pixel_to_world_values(30.5, 40.0)[0]))
    assert marks["label"][1] == "arc?"
    session.remove_mark(a)
    assert list(session.marks["id"]) == [b]
    with pytest.raises(KeyError, match=f"no mark with id {a}"):
        session.remove_mark(a)


def test_group_maximum_one_replaces_and_larger_maximum_refuses(tmp_path):
    group_max = [1, 2, None, None, None, None, None, None, None]
    with MarkingSession(IMAGES, tmp_path, user="ann", group_max=group_max, mirror=False) as s:
        old = s.add_mark(1, 1, 1)
        new = s.add_mark(2, 2, 1)
        assert list(s.marks["id"]) == [new] and new != old
        s.add_mark(1, 1, 2)
        s.add_mark(2, 2, 2)
        with pytest.raises(GroupFullError, match="already has 2 mark"):
            s.add_mark(3, 3, 2)
        s.next()
        s.add_mark(1, 1, 1)  # the maximum is per image
        assert len(s.marks) == 4
        assert s.group_max[:2] == (1, 2)


def test_marks_added_from_several_threads_get_unique_ids_and_all_survive(tmp_path):
    # The napari dock marks from the GUI thread while scripts or plugins may call from others.
    group_max = [None, 3, 1, None, None, None, None, None, None]
    n_threads, per_thread = 4, 200
    ids: list[list[int]] = [[] for _ in range(n_threads)]
    start = threading.Barrier(n_threads)
    errors: list[BaseException] = []

    def mark(t: int) -> None:
        start.wait()
        try:
            add(t)
        except BaseException as exc:  # a thread's exception would not fail the test
            errors.append(exc)

    def add(t: int) -> None:
        for i in range(per_thread):
            ids[t].append(s.add_mark(i % 50, t, 1, label=f"t{t}-{i}"))
            if i % 10 == 0:
                with contextlib.suppress(GroupFullError):
                    s.add_mark(i % 50, t, 2)  # at most 3 on the image
                s.add_mark(i % 50, t, 3)  # replaces the one before

    with _reopen(tmp_path, group_max=group_max) as s:
        threads = [threading.Thread(target=mark, args=(t,)) for t in range(n_threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert errors == []
        placed = [i for t in ids for i in t]
        assert len(set(placed)) == len(placed) == n_threads * per_thread
    with _reopen(tmp_path) as s:
        marks = s.marks
        group1 = marks[marks["group"] == 1]
        assert sorted(group1["id"]) == sorted(placed)
        assert sorted(group1["label"]) == sorted(
            f"t{t}-{i}" for t in range(n_threads) for i in range(per_thread)
        )
        assert list(np.bincount(marks["group"], minlength=4)[2:4]) == [3, 1]
        assert len(set(marks["id"])) == len(marks)


# -- per-image state and navigation ------------------------------------------------------------


def test_categories_comment_favourite_and_nothing(session):
    session.rename_category(1, "Merger")
    session.set_categories(["Merger", 3])
    session.set_comment('two "BCG"s, check later')
    session.set_favorite()
    session.next()
    session.mark_nothing()
    session.add_mark(5, 5, 1, image=T2359)
    with pytest.raises(ValueError, match="has 1 mark"):
        session.mark_nothing(T2359)
    images = session.images
    assert images.colnames == [
        "image", "seen", "categories", "comment", "favorite", "seconds", "nothing"
    ]  # fmt: skip
    assert list(images["image"]) == ORDER
    assert list(images["categories"][:2]) == ["Merger+3", ""]
    assert images["comment"][0] == 'two "BCG"s, check later'
    assert list(images["favorite"][:2]) == [True, False]
    assert list(images["seen"]) == [True, True, False, False, False]
    assert list(images["nothing"][:3]) == [False, True, False]
    assert session.toggle_category(3, image=T0000) is False
    assert session.images["categories"][0] == "Merger"
    assert images["seconds"][0] > 0


def test_navigation_and_resume_at_the_first_unseen_image(tmp_path):
    with _reopen(tmp_path) as s:
        assert s.current.index == 0
        assert s.next().name == T2347
        assert s.goto(-1).name == FITS
        assert s.previous().name == PNG
        assert s.goto(T2347).index == 1
        with pytest.raises(KeyError):
            s.goto("nope.fits")
        with pytest.raises(IndexError):
            s.goto(5)
    with _reopen(tmp_path) as s:  # seen: T0000, T2347, FITS, PNG
        assert s.current.name == T2359
        assert s.n_seen == 4
        s.next()
    with _reopen(tmp_path) as s:
        assert s.n_seen == 5
        assert s.current.name == FITS  # all seen: the last image


@pytest.mark.parametrize("snapshot_every", [1, 2000])  # from the snapshot / the journal
def test_the_frame_chosen_last_is_kept_for_the_next_opening(tmp_path, snapshot_every):
    with _reopen(tmp_path, snapshot_every=snapshot_every) as s:
        assert s.chosen_frame == 0
        s.set_chosen_frame(1)
        s.set_chosen_frame(np.int64(3))  # more than some images have: a viewer clamps it
        for bad in (-1, 1.5, "2", True, None):
            with pytest.raises(ValueError, match="frame must be a whole number"):
                s.set_chosen_frame(bad)
    with _reopen(tmp_path, snapshot_every=snapshot_every) as s:
        assert s.chosen_frame == 3
        s.set_chosen_frame(0)
    with _reopen(tmp_path) as s:
        assert s.chosen_frame == 0


def test_next_on_the_last_image_marks_it_seen_and_stays(session):
    session.goto(FITS)
    assert session.next().name == FITS
    assert session.images["seen"][-1]


def test_images_none_resumes_the_saved_list(tmp_path):
    with _reopen(tmp_path) as s:
        s.add_mark(1, 1, 1)
    with MarkingSession(None, tmp_path / "save", user="ann", mirror=False) as s:
        assert [p.name for p in s.paths] == ORDER and len(s.marks) == 1
    with pytest.raises(ValueError, match="no image list saved for user 'bob'"):
        MarkingSession(None, tmp_path / "save", user="bob")


def test_missing_and_unreadable_images_are_reported_and_skipped(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    for name in ["a1.png", "a3.png"]:
        _png(folder / name)
    (folder / "a2.png").write_bytes(b"not a png at all")
    events = []
    with pytest.warns(ImageSkippedWarning, match="not found"):
        s = MarkingSession(
            [folder / "a0.png", *sorted(folder.iterdir())], tmp_path / "save", mirror=False
        )
    with s:
        s.connect(events.append)
        assert [p.name for p in s.paths] == ["a1.png", "a2.png", "a3.png"]
        with pytest.warns(ImageSkippedWarning, match="a2.png"):
            assert s.next().name == "a3.png"
        assert [e.type for e in events] == ["image_changed", "image_skipped", "navigated"]
        assert any("a2.png" in p for p in s.problems) and any("a0.png" in p for p in s.problems)


def test_events_reach_callbacks_after_each_change(session):
    events: list[SessionEvent] = []
    session.connect(events.append)
    a = session.add_mark(3, 4, 2)
    session.move_mark(a, 5, 6)
    session.set_label(a, "x")
    session.remove_mark(a)
    session.set_favorite()
    session.rename_group(1, "BCG")
    session.next()
    session.disconnect(events.append)
    session.add_mark(1, 1, 1)
    assert [e.type for e in events] == [
        "mark_added", "mark_moved", "mark_relabelled", "mark_removed", "image_changed",
        "names_changed", "image_changed", "navigated",
    ]  # fmt: skip
    assert events[0].mark_id == a and events[0].data["group"] == 2
    assert (events[-2].image, events[-2].mark_id, events[-2].data) == (T0000, None, {"seen": True})
    assert events[-1].image == T2347 and events[-1].index == 1
    assert session.groups[0] == "BCG"


def test_callbacks_run_after_the_session_lock_is_released(session):
    # A callback may wait for another thread that changes the session (a GUI thread
    # handing work over): it must not deadlock.
    others: list[int] = []
    asked = threading.Event()

    def callback(event: SessionEvent) -> None:
        if event.type == "mark_added" and not asked.is_set():
            asked.set()
            thread = threading.Thread(target=lambda: others.append(session.add_mark(2, 2, 1)))
            thread.start()
            thread.join(timeout=20)
            assert not thread.is_alive(), "the other thread is blocked on the session"

    session.connect(callback)
    first = session.add_mark(1, 1, 1)
    assert others == [first + 1]


def test_names_are_checked_for_image_marker(session):
    # the rule and the message of Image Marker's writer
    with pytest.raises(ValueError, match="groups: 'a,b' cannot be written to Image Marker's"):
        session.rename_group(2, "a,b")
    with pytest.raises(ValueError, match="categories: 'x\\+y' cannot be written"):
        session.rename_category(2, "x+y")
    with pytest.raises(ValueError, match="categories: 10 names, expected 1 to 9"):
        MarkingSession(IMAGES, session.save_dir, user="bob", categories=list("abcdefghij"))


# -- durability -------------------------------------------------------------------------------


def test_everything_returns_after_close_and_reopen(tmp_path):
    with _reopen(tmp_path, groups=[f"g{i}" for i in range(1, 10)]) as s:
        ids = [s.add_mark(i, 2 * i, 1 + i % 9, label=f"m{i}") for i in range(30)]
        s.remove_mark(ids[3])
        s.move_mark(ids[4], 7.5, 8.5)
        s.set_comment("c")
        s.set_categories([2])
        before = s.marks
        images_before = s.images
    with _reopen(tmp_path) as s:
        after = s.marks
        for name in [*MARK_COLUMNS, "id"]:
            assert list(after[name]) == list(before[name]), name
        assert s.groups[0] == "g1"
        assert list(s.images["comment"]) == list(images_before["comment"])
        assert list(s.images["categories"]) == list(images_before["categories"])
        assert s.add_mark(1, 1, 1) > max(ids)  # ids are never reused


def test_snapshots_are_ecsv_that_astropy_and_the_schema_read(tmp_path):
    with _reopen(tmp_path, snapshot_every=5) as s:
        for i in range(12):
            s.add_mark(i, i, 1, label="" if i % 2 else f'label {i}, with "quotes"')
        s.flush()
        segments = list((tmp_path / "save" / ".imagemarker" / "ann").glob("journal-*"))
        # compacted: nothing left to replay (only the empty segment the next change goes
        # to, which a writer always keeps)
        assert [p.stat().st_size for p in segments] == [0]
        expected = s.marks
    table = Table.read(tmp_path / "save" / "ann_marks.ecsv", format="ascii.ecsv")
    assert list(table["x"]) == list(expected["x"])
    assert list(table["id"]) == list(expected["id"])
    marks = normalise_marks(table)  # empty labels come back masked, normalised to ""
    assert list(marks["label"]) == list(expected["label"])
    assert marks.meta["pixel_origin"] == 0
    via_read_marks = read_marks(tmp_path / "save" / "ann_marks.ecsv")
    assert list(via_read_marks["label"]) == list(expected["label"])
    assert list(via_read_marks["y"]) == list(expected["y"])
    images = Table.read(tmp_path / "save" / "ann_images.ecsv", format="ascii.ecsv")
    assert list(images["image"]) == ORDER


def test_text_with_line_breaks_quotes_and_accents_survives_reopening(tmp_path):
    comment = 'line 1\nline 2\r\nline 3\rend, "quoted" café ✓'
    label = 'arc\n"2", é'
    with _reopen(tmp_path, mirror=True) as s:
        s.add_mark(1, 2, 3, label=label)
        s.set_comment(comment)
        s.add_mark(4, 5, 6, label="after")  # rows after the one with line breaks
        s.next()
        s.set_comment("\n")
    assert not list((tmp_path / "save" / ".imagemarker" / "ann").glob("journal-*"))
    for _ in range(2):  # from the snapshots written on close, twice
        with _reopen(tmp_path, mirror=True) as s:
            assert list(s.marks["label"]) == [label, "after"]
            assert list(s.images["comment"][:2]) == [comment, "\n"]
            assert list(s.marks["group"]) == [3, 6]
    # Image Marker's files, rewritten on close from the reopened state, hold the same text
    images_csv = _crlf_rows(tmp_path / "save" / "ann_images.csv", check_crlf=False)
    assert [r[5] for r in images_csv[1:3]] == [comment, "\n"]
    marks_csv = _crlf_rows(tmp_path / "save" / "ann_marks.csv", check_crlf=False)
    assert marks_csv[1][3] == label


def _crash(session: MarkingSession) -> None:
    """Leave a session as a killed process would: no close(), lock released by death.

    Reaches into the session on purpose: these tests stop it at one chosen instant, which
    no public call can do; test_a_killed_process_left_changes_and_its_lock and the SIGKILL
    tests kill real processes."""
    session._worker.stop()
    session._store.close()  # the journal's file closed, the lock released
    session._closed = True


def test_files_follow_the_umask_like_image_markers(tmp_path):
    # Colleagues share save folders: with umask 002 every file the session writes is
    # group-writable, its snapshots as much as Image Marker's files.
    script = textwrap.dedent(
        f"""
        from napari_imagemarker import MarkingSession
        with MarkingSession({str(IMAGES)!r}, {str(tmp_path / "save")!r}, user="ann") as s:
            s.add_mark(1, 2, 3)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        preexec_fn=lambda: os.umask(0o002),
    )
    assert result.returncode == 0, result.stderr
    modes = {
        name: oct((tmp_path / "save" / name).stat().st_mode & 0o777)
        for name in ["ann_marks.ecsv", "ann_images.ecsv", "ann_marks.csv", "ann_images.csv"]
    }
    assert set(modes.values()) == {"0o664"}, modes


def test_changes_survive_without_close(tmp_path):
    s = _reopen(tmp_path)
    a = s.add_mark(1, 2, 3)
    s.set_favorite()
    s.next()
    _crash(s)
    with _reopen(tmp_path) as s:
        assert list(s.marks["id"]) == [a]
        assert s.images["favorite"][0] and s.current.name == T2347


def test_torn_last_journal_line_is_skipped_and_reported(tmp_path):
    s = _reopen(tmp_path)
    s.add_mark(1, 2, 3)
    _crash(s)
    (segment,) = (tmp_path / "save" / ".imagemarker" / "ann").glob("journal-*.jsonl")
    with open(segment, "ab") as f:
        f.write(b'1234abcd {"seq": 99, "op": "add", "id"')  # a write cut short by a kill
    # A kill during the write, or damage after it: the reader cannot tell, so it says so.
    with pytest.warns(DataLossWarning, match=r"line 3 is damaged.*seq 99, op \"add\""):
        s = _reopen(tmp_path)
    with s:
        assert len(s.marks) == 1
        s.add_mark(4, 5, 6)
    with pytest.warns(DataLossWarning, match="1 earlier loss"):
        s = _reopen(tmp_path)
    with s:
        assert list(s.marks["group"]) == [3, 6]


def test_crash_between_the_two_snapshot_files_applies_each_change_once(tmp_path):
    s = _reopen(tmp_path)
    s.add_mark(1, 2, 3)
    s.set_comment("before")
    # The marks snapshot got written at the current seq, the images snapshot not yet, and
    # the journal was not yet trimmed (a kill in the middle of a compaction).
    with s._lock:
        state = s._store.state.copy()
        seq = s._store.journal.seq
    (tmp_path / "save" / "ann_marks.ecsv").write_bytes(marks_snapshot(state, state.marks, seq))
    _crash(s)
    with _reopen(tmp_path) as s:
        assert len(s.marks) == 1
        assert s.images["comment"][0] == "before"


def test_a_killed_process_left_changes_and_its_lock(tmp_path):
    script = textwrap.dedent(
        f"""
        import os
        from napari_imagemarker import MarkingSession
        s = MarkingSession({str(IMAGES)!r}, {str(tmp_path / "save")!r}, user="ann")
        s.add_mark(10, 20, 4, label="survivor")
        s.set_comment("kept")
        os.kill(os.getpid(), 9)
        """
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert result.returncode == -9, result.stderr
    lock = tmp_path / "save" / ".imagemarker" / "ann.lock"
    assert json.loads(lock.read_text())["pid"] != os.getpid()  # left behind
    with _reopen(tmp_path) as s:  # the stale lock does not block
        assert list(s.marks["label"]) == ["survivor"]
        assert s.images["comment"][0] == "kept"


# -- lock and users ---------------------------------------------------------------------------


def test_second_writer_is_refused_with_the_owner_named(tmp_path):
    with _reopen(tmp_path):
        with pytest.raises(SessionLockedError, match="already open in this process"):
            _reopen(tmp_path)
        script = textwrap.dedent(
            f"""
            from napari_imagemarker import MarkingSession
            MarkingSession({str(IMAGES)!r}, {str(tmp_path / "save")!r}, user="ann")
            """
        )
        result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        assert result.returncode == 1
        assert "SessionLockedError" in result.stderr
        assert f"open for writing by process {os.getpid()} on host" in result.stderr
        with (
            _reopen(tmp_path, read_only=True) as reader,  # reading is always allowed
            pytest.raises(RuntimeError, match="read_only"),
        ):
            reader.add_mark(1, 1, 1)
        with MarkingSession(IMAGES, tmp_path / "save", user="bob", mirror=False) as bob:
            bob.add_mark(1, 1, 1)
    with _reopen(tmp_path) as s:  # released on close
        assert len(s.marks) == 0


def test_a_stale_lock_file_of_a_dead_process_does_not_block(tmp_path):
    lock = tmp_path / "save" / ".imagemarker" / "ann.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text(json.dumps({"pid": 999999999, "host": "elsewhere", "since": "then"}))
    with _reopen(tmp_path) as s:
        assert json.loads(lock.read_text())["pid"] == os.getpid()
        s.add_mark(1, 1, 1)
    assert not lock.exists()


def test_closed_session_refuses_changes(tmp_path):
    s = _reopen(tmp_path)
    s.close()
    s.close()
    with pytest.raises(RuntimeError, match="is closed"):
        s.add_mark(1, 1, 1)


# -- Image Marker save folders ---------------------------------------------------------------


@pytest.fixture
def golden_copy(tmp_path) -> Path:
    save = tmp_path / "savedir"
    shutil.copytree(DATA / "savedir", save)
    for path in [save, *save.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return save


def _crlf_rows(path: Path, check_crlf: bool = True) -> list[list[str]]:
    import csv
    import io

    data = path.read_bytes()
    if check_crlf:
        assert data.count(b"\r\n") == data.count(b"\n")  # CRLF on every line
    return list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))


def test_image_marker_folder_resumes_with_everything(golden_copy, golden):
    with MarkingSession(IMAGES, golden_copy, user="tester") as s:
        assert s.groups[:3] == ("BCG", "2", "Arc") and s.categories[0] == "Merger"
        assert s.n_seen == 5 and s.current.name == FITS
        marks = s.marks
        assert len(marks) == 15
        for row, fact in zip(marks, golden["marks"], strict=True):
            col, our_row = fact["true_wcs_pixel"] or (fact["col"], fact["row"])
            assert (row["image"], row["x"], row["y"]) == (fact["image"], col, our_row)
            assert row["group"] == fact["group_index"]
            if fact["true_ra"] is not None:
                assert row["ra"] == pytest.approx(fact["true_ra"], abs=1e-9)
                assert row["dec"] == pytest.approx(fact["true_dec"], abs=1e-9)
        assert marks["label"][1] == "knot, café"
        images = s.images
        assert list(images["categories"]) == ["Merger+3", "", "", "", ""]
        assert images["comment"][2] == 'two "BCG"s, check later'
        assert list(images["favorite"]) == [True, False, False, False, False]


def test_image_marker_files_are_kept_in_its_layout(golden_copy):
    with MarkingSession(IMAGES, golden_copy, user="tester") as s:
        s.goto(T2347)
        s.add_mark(255, 511 - 300, 3)  # display (255, 300) of a flipped TIFF
        s.set_comment("new, one")
    marks = _crlf_rows(golden_copy / "tester_marks.csv")
    original = _crlf_rows(DATA / "savedir" / "tester_marks.csv")
    assert marks[0] == ["date", "image", "group", "label", "x", "y", "RA", "DEC"]
    # Same rows, same display x/y; only RA/DEC differ (ours are the true positions). The
    # new mark replaces T2347's "seen, no marks" row.
    new_row = [T2347, "Arc", "None", "255", "300"]
    none_row = [T2347, "None", "None", "nan", "nan"]
    assert [r[1:6] for r in marks[1:]] == [
        new_row if r[1:6] == none_row else r[1:6] for r in original[1:]
    ]
    assert [r[6:] for r in marks[1:]] != [r[6:] for r in original[1:]]
    images = _crlf_rows(golden_copy / "tester_images.csv")
    assert [r[4:] for r in images[1:3]] == [["Merger+3", "None"], ["None", "new, one"]]
    favorites = _crlf_rows(golden_copy / "tester_favorites.csv")
    assert [r[1] for r in favorites[1:]] == [T0000]
    assert (golden_copy / "tester_marks.ecsv").is_file()


def test_image_marker_files_follow_navigation(tmp_path):
    with MarkingSession(IMAGES, tmp_path, user="ann", mirror_delay=3600) as s:
        s.add_mark(100, 461, 1)
        s.next()
        marks_csv = tmp_path / "ann_marks.csv"
        for _ in range(200):  # rewritten in the background right after next()
            if marks_csv.exists() and b",100,50," in marks_csv.read_bytes():
                break
            time.sleep(0.05)
        assert b",1,None,100,50," in marks_csv.read_bytes()


def test_a_folder_without_images_is_a_clear_error_and_leaves_no_lock(tmp_path, monkeypatch):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("not an image")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ValueError) as error:
        MarkingSession("empty", tmp_path / "save", user="ann")
    message = str(error.value)
    assert message.startswith(f"{tmp_path / 'empty'}: no images to scan")  # absolute
    for suffix in (".fits", ".fits.fz", ".fts.gz", ".tif", ".png", ".jpeg"):
        assert suffix in message
    assert not (tmp_path / "save" / ".imagemarker" / "ann.lock").exists()
    with MarkingSession(IMAGES, tmp_path / "save", user="ann", mirror=False) as s:
        assert len(s) == 5


def test_when_no_image_can_be_read_the_error_gives_the_first_reason(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "bad.png").write_bytes(b"not a png at all")
    with pytest.warns(ImageSkippedWarning), pytest.raises(ValueError) as error:
        MarkingSession(folder, tmp_path / "save", user="ann", mirror=False)
    message = str(error.value)
    assert message.startswith("none of the 1 images can be read")
    assert f"{folder / 'bad.png'}: not a readable PNG/JPEG image" in message
    assert not (tmp_path / "save" / ".imagemarker" / "ann.lock").exists()


def test_n_seen_follows_every_way_an_image_becomes_seen_and_survives_resume(tmp_path):
    with _reopen(tmp_path) as s:
        assert s.n_seen == 0
        s.next()
        s.next()  # T0000, T2347 left: seen
        assert s.n_seen == 2
        s.previous()  # T2359 left: seen; T2347 already was
        assert s.n_seen == 3
        s.mark_nothing(FITS)  # "seen, nothing here" without visiting it
        assert s.n_seen == 4 == int(s.images["seen"].sum())
    with _reopen(tmp_path) as s:
        assert s.n_seen == 4
        assert s.current.name == PNG  # the first image not seen


def test_mark_records_are_the_marks_of_one_image_by_id(session):
    a = session.add_mark(10.0, 20.0, 2, "bcg")
    b = session.add_mark(5.5, 6.5, 1)
    session.add_mark(1.0, 1.0, 1, image=T2359)
    records = session.mark_records()
    assert list(records) == [a, b]
    assert (records[a].group, records[a].label, records[a].x, records[a].y) == (2, "bcg", 10, 20)
    assert records[b].image == T0000 and records[b].frame == 0
    [other] = session.mark_records(T2359).values()
    assert other.x == 1.0


def test_image_headers_for_image_markers_files_are_read_ahead_in_a_pause(tmp_path):
    """Image Marker's ``_images.csv`` holds the RA/Dec of every image seen, from its header;
    a resumed session reads those headers in its first pauses, not when it closes (reading
    2,000 SPT headers takes seconds): here the images are gone by then, and the RA/Dec are
    still written."""
    shutil.copytree(IMAGES, tmp_path / "images")
    with MarkingSession(tmp_path / "images", tmp_path / "save", user="ann") as s:
        for _ in ORDER:
            s.next()
    with MarkingSession(None, tmp_path / "save", user="ann") as s:
        assert s.n_seen == len(ORDER)
        time.sleep(1.5)  # a pause: the session's thread reads ahead
        (tmp_path / "images").rename(tmp_path / "gone")
        s.set_comment("the images are gone now")  # Image Marker's files are rewritten
    rows = _crlf_rows(tmp_path / "save" / "ann_images.csv", check_crlf=False)
    sky = {r[1]: (r[2], r[3]) for r in rows[1:]}
    for name in (T0000, T2347, T2359, FITS):
        ra, dec = (float(v) for v in sky[name])
        assert np.isfinite(ra) and np.isfinite(dec), name

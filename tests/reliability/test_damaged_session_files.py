"""Session files damaged, deleted, edited or left behind by a crash: nothing acknowledged is
lost silently, and no text a user types makes a session unreadable (issue 17, items 2-6, 15).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from reliability_helpers import make_images, run_child

from napari_imagemarker import MarkingSession, read_marks, write_marks
from napari_imagemarker.marking.session import DataLossWarning


@pytest.fixture
def images(tmp_path) -> list[Path]:
    """Three small FITS images."""
    return make_images(tmp_path / "images")


def _open(images, save, **kwargs) -> MarkingSession:
    return MarkingSession(images, save, user="ann", mirror_delay=0.01, **kwargs)


def _crash_after(images, save, code: str) -> None:
    """Run ``code`` on an open session ``s`` in a child process that then dies without
    closing anything (its lock file stays, as after a kill)."""
    run_child(
        f"""
        import os
        from napari_imagemarker import MarkingSession
        s = MarkingSession({[str(p) for p in images]!r}, {str(save)!r}, user="ann")
        {code}
        os._exit(0)
        """
    )


def _segments(save: Path) -> list[Path]:
    return sorted((save / ".imagemarker" / "ann").glob("journal-*.jsonl"))


def _losses(images, save) -> list[str]:
    """Open the session; return the messages of the DataLossWarnings it issued."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with _open(images, save, read_only=True):
            pass
    return [str(w.message) for w in caught if issubclass(w.category, DataLossWarning)]


# -- 2. a full disk -------------------------------------------------------------------------


@pytest.mark.skipif(sys.platform == "win32", reason="RLIMIT_FSIZE is POSIX")
def test_a_failed_append_cannot_swallow_the_next_acknowledged_change(tmp_path, images):
    # RLIMIT_FSIZE makes the journal write stop part-way, as a full disk does: the failing
    # add_mark leaves part of its line behind. Then space comes back, a change is
    # acknowledged, and the process dies.
    save = tmp_path / "save"
    run_child(
        f"""
        import os, resource, signal
        from napari_imagemarker import MarkingSession
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
        s = MarkingSession({[str(p) for p in images]!r}, {str(save)!r}, user="ann")
        s.add_mark(1, 1, 1, label="first")
        (segment,) = [p for p in s._store.journal_dir.glob("journal-*") if p.stat().st_size]
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (segment.stat().st_size + 40, hard))
        try:
            s.add_mark(2, 2, 1, label="not saved " * 20)
        except OSError as err:
            print("refused:", err)
        else:
            raise SystemExit("the write did not fail")
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        s.add_mark(3, 3, 1, label="acknowledged after the disk was freed")
        os._exit(0)
        """
    )
    assert _losses(images, save) == []
    with _open(images, save) as s:
        assert list(s.marks["label"]) == ["first", "acknowledged after the disk was freed"]


# -- 3. any text, any length --------------------------------------------------------------------


def test_a_comment_and_label_longer_than_the_csv_field_limit_reopen(tmp_path, images):
    save = tmp_path / "save"
    long_text = "x" * 140_000 + '\n,"end"'
    with _open(images, save) as s:
        s.set_comment(long_text)
        s.add_mark(1, 1, 1, label=long_text)
    with _open(images, save) as s:  # from the snapshots
        assert s.image_state(images[0].name).comment == long_text
        assert s.marks["label"][0] == long_text


def test_read_marks_reads_the_long_labels_write_marks_wrote(tmp_path, images):
    with _open(images, tmp_path / "save") as s:
        s.add_mark(1, 1, 1, label="y" * 200_000)
        table = s.marks
    for name in ("m.csv", "m.ecsv"):
        write_marks(table, tmp_path / name)
        assert read_marks(tmp_path / name)["label"][0] == "y" * 200_000


@pytest.mark.parametrize("where", ["label", "comment", "group name", "category name"])
def test_a_lone_surrogate_is_refused_at_the_door(tmp_path, images, where):
    save = tmp_path / "save"
    with _open(images, save) as s:
        s.add_mark(1, 1, 1, label="kept")
        with pytest.raises(ValueError, match="surrogate"):
            if where == "label":
                s.add_mark(2, 2, 1, label="bad \ud800")
            elif where == "comment":
                s.set_comment("bad \udfff")
            elif where == "group name":
                s.rename_group(1, "bad \ud800")
            else:
                s.rename_category(1, "bad \ud800")
        s.flush()  # nothing unsaveable got in
    with _open(images, save) as s:
        assert list(s.marks["label"]) == ["kept"]


# -- 4. damaged, deleted and edited files -----------------------------------------------------


def _comment_then_crash(images, save) -> None:
    _crash_after(images, save, 's.add_mark(1, 1, 1)\n        s.set_comment("acknowledged")')


@pytest.mark.parametrize("damage", ["cut by 3 bytes", "one bit flipped"])
def test_damage_to_the_last_journal_line_is_a_loud_warning(tmp_path, images, damage):
    save = tmp_path / "save"
    _comment_then_crash(images, save)
    (segment,) = [p for p in _segments(save) if p.stat().st_size]
    data = bytearray(segment.read_bytes())
    if damage == "cut by 3 bytes":
        del data[-3:]
    else:
        data[-20] ^= 0x04
    segment.write_bytes(bytes(data))
    (message,) = _losses(images, save)
    assert str(segment) in message and "line 3" in message and "image" in message
    with _open(images, save) as s:  # the loss is in problems, for the dock to show
        assert any(str(segment) in p for p in s.problems)


def test_a_journal_deleted_after_a_crash_is_reported(tmp_path, images):
    save = tmp_path / "save"
    _comment_then_crash(images, save)
    shutil.rmtree(save / ".imagemarker" / "ann")
    (message,) = _losses(images, save)
    assert "journal is missing" in message and "ended without closing" in message


def test_a_journal_deleted_after_a_clean_close_loses_nothing_and_says_nothing(tmp_path, images):
    save = tmp_path / "save"
    with _open(images, save) as s:
        s.add_mark(1, 1, 1)
    shutil.rmtree(save / ".imagemarker")
    assert _losses(images, save) == []


def test_a_deleted_marks_snapshot_is_reported(tmp_path, images):
    save = tmp_path / "save"
    with _open(images, save) as s:
        s.add_mark(1, 1, 1)
    (save / "ann_marks.ecsv").unlink()
    (message,) = _losses(images, save)
    assert "ann_marks.ecsv" in message and "missing" in message


def test_a_gap_in_the_journal_is_reported(tmp_path, images):
    save = tmp_path / "save"
    _crash_after(images, save, "s.add_mark(1, 1, 1)\n        s._store.journal.rotate()\n"
                 "        s.add_mark(2, 2, 1)\n        s._store.journal.rotate()\n"
                 "        s.add_mark(3, 3, 1)")  # fmt: skip
    segments = [p for p in _segments(save) if p.stat().st_size]
    assert len(segments) == 3
    segments[1].unlink()  # it held the second mark
    (message,) = _losses(images, save)
    assert str(segments[2]) in message and "are missing from the journal" in message
    with _open(images, save, read_only=True) as s:
        assert sorted(s.marks["x"]) == [1, 3]


def test_an_edited_snapshot_is_not_taken_silently(tmp_path, images):
    save = tmp_path / "save"
    with _open(images, save) as s:
        s.add_mark(1.5, 2.5, 1, label="mine")
    path = save / "ann_marks.ecsv"
    path.write_text(path.read_text().replace('"mine"', '"edited"'))
    (message,) = _losses(images, save)
    assert str(path) in message and "checksum" in message


def test_a_warned_loss_stays_reported_after_compaction(tmp_path, images):
    save = tmp_path / "save"
    _crash_after(images, save, 's.add_mark(1, 1, 1)\n        s.set_comment("lost")\n'
                 '        s.add_mark(2, 2, 1)')  # fmt: skip
    (segment,) = [p for p in _segments(save) if p.stat().st_size]
    lines = segment.read_bytes().split(b"\n")
    lines[2] = lines[2].replace(b"lost", b"LOST")  # a middle line: checksum fails
    segment.write_bytes(b"\n".join(lines))
    with pytest.warns(DataLossWarning, match="line 3 is damaged"), _open(images, save) as s:
        assert len(s.marks) == 2  # warned; then compacted on close
    assert not any(p.stat().st_size for p in _segments(save))  # compacted
    kept = list((save / ".imagemarker" / "ann" / "damaged").iterdir())
    assert len(kept) == 1 and b"LOST" in kept[0].read_bytes()  # the evidence is kept
    for _ in range(2):  # on every later open
        (message,) = _losses(images, save)
        assert "earlier loss" in message and "line 3 is damaged" in message


def test_an_empty_snapshot_names_the_problem(tmp_path, images):
    save = tmp_path / "save"
    with _open(images, save) as s:
        s.add_mark(1, 1, 1)
    (save / "ann_marks.ecsv").write_bytes(b"")
    with pytest.raises(ValueError, match=r"ann_marks.ecsv: the file is empty") as err:
        _open(images, save)
    assert "Errno" not in str(err.value)


# -- 5. marked images that left the list --------------------------------------------------------


def _imgmarker_rows(save: Path) -> list[str]:
    return (save / "ann_marks.csv").read_text().splitlines()[1:]


def test_marks_on_images_no_longer_in_the_list_keep_image_markers_file_current(tmp_path, images):
    save = tmp_path / "save"
    with _open(images, save) as s:
        s.add_mark(1, 1, 1, image=images[2].name)
    with _open(images[:2], save) as s:  # a subset of the list
        s.add_mark(2, 2, 1, label="new")
        s.flush()
        rows = _imgmarker_rows(save)
        assert any(",img2.fits," in r for r in rows) and any(",new," in r for r in rows)
    images[2].unlink()  # the file itself is gone: its mark cannot be placed in display pixels
    left_out = r"1 mark\(s\) on 1 image\(s\).*img2.fits"
    with pytest.warns(UserWarning, match=left_out), _open(images[:2], save) as s:
        s.add_mark(3, 3, 1, label="newer")
        s.flush()
        assert any(",newer," in r for r in _imgmarker_rows(save))
        assert len(s.marks) == 3  # the session keeps it


# -- 6. write permission lost mid-session -------------------------------------------------------


@contextlib.contextmanager
def _unwritable(*folders: Path):
    """Make ``folders`` unwritable for this process: ``chmod`` for a user; for root, who
    ignores permissions, the immutable attribute (``chattr +i``) where the file system has
    it."""
    if os.geteuid() != 0:
        for folder in folders:
            folder.chmod(0o555)
        undo = [lambda f=f: f.chmod(0o755) for f in folders]
    else:
        chattr = shutil.which("chattr")
        if chattr is None or subprocess.run([chattr, "+i", *folders]).returncode:
            pytest.skip("root, and no immutable attribute here: cannot take permission away")
        undo = [lambda: subprocess.run([chattr, "-i", *folders], check=True)]
    try:
        yield
    finally:
        for step in undo:
            step()


def test_losing_write_permission_releases_the_lock(tmp_path, images):
    # The folder becomes unwritable under an open session: close() fails and says so, yet
    # the lock is released; once the permission is back, the same process reopens and
    # finds every acknowledged change.
    save = tmp_path / "save"
    s = _open(images, save)
    s.add_mark(1, 1, 1, label="acknowledged")
    with _unwritable(save, save / ".imagemarker"):
        with pytest.raises(PermissionError):
            s.close()
        with _open(images, save, read_only=True) as reader:  # readable meanwhile
            assert list(reader.marks["label"]) == ["acknowledged"]
    with _open(images, save) as again:  # not "locked by its own pid"
        assert list(again.marks["label"]) == ["acknowledged"]


# -- 15. a symbolic link out of the save folder --------------------------------------------------


def test_a_symlinked_imagemarker_folder_is_refused(tmp_path, images):
    save, elsewhere = tmp_path / "save", tmp_path / "elsewhere"
    save.mkdir()
    elsewhere.mkdir()
    (save / ".imagemarker").symlink_to(elsewhere)
    with pytest.raises(ValueError, match=r"\.imagemarker: is a symbolic link"):
        _open(images, save)
    assert list(elsewhere.iterdir()) == []

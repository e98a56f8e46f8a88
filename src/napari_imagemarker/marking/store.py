"""One user's session on disk: snapshot files, the journal, and the writer's lock.

:class:`SessionStore` loads the state (snapshots, then the journal records they lack), makes
each change durable before applying it (:meth:`SessionStore.commit`: one fsynced journal
line) and compacts the journal into the snapshots (:meth:`SessionStore.write_snapshots`,
each file replaced atomically). The records and their effect are
:mod:`napari_imagemarker.marking.state`; the journal format is
:mod:`napari_imagemarker.marking.journal`.

Every change is appended as one checksummed JSON line to the journal and fsynced before the
method that made it returns: the cost of one small ``fdatasync``, whatever the number of
marks. The journal is compacted into two snapshot files, replaced atomically, every
``snapshot_every`` changes (in a background thread, in a pause) and on ``close()``. Files in
``save_dir`` for user ``<user>``:

``<user>_marks.ecsv``
    Every mark (the marks schema plus an ``id`` column); read it with
    :func:`~napari_imagemarker.read_marks` or :meth:`astropy.table.Table.read`.
``<user>_images.ecsv``
    Per image: seen, categories, comment, favourite, seconds, "nothing here", path.
``.imagemarker/<user>/journal-*.jsonl``, ``.imagemarker/<user>.lock``
    The journal since the last snapshot, and the writer's lock.
``<user>_marks.csv``, ``<user>_images.csv``, ``<user>_favorites.csv``, ``<user>_config.txt``
    Image Marker's files in its exact layout, written by
    :class:`napari_imagemarker.marking.imgmarker_mirror.Mirror` for its users' scripts. Rewriting
    them costs time proportional to the number of marks, so the background thread rewrites
    them in the first pause after ``next()`` / ``previous()`` / ``goto()``, ``mirror_delay``
    seconds after the last change (at most ``10 * mirror_delay`` seconds behind while
    changes keep coming), and the session synchronously on ``flush()`` and ``close()``.
    They are copies: after a crash they may be a few seconds behind, and the next session
    rewrites them.

Snapshots are ECSV (``delimiter: ','``) readable by :func:`astropy.table.Table.read` and
:func:`napari_imagemarker.read_marks`. Their header is produced by astropy; their rows are
written and read with the :mod:`csv` module, about 8x faster than astropy's ECSV code at
100,000 marks (the format is identical; a test checks astropy reads it back unchanged).
"""

from __future__ import annotations

import csv
import functools
import gc
import io
import os
import threading
import warnings
import zlib
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from napari_imagemarker.files import allow_long_csv_fields, atomic_write
from napari_imagemarker.marking.journal import DataLossWarning, Journal, has_segments, read_journal
from napari_imagemarker.marking.lock import SessionLock
from napari_imagemarker.marking.state import ImageState, Mark, SessionState
from napari_imagemarker.marks.schema import MARK_COLUMNS, MARK_DTYPES

__all__ = ["SessionStore", "images_snapshot", "load_snapshots", "marks_snapshot", "read_ecsv"]


class SessionStore:
    """Where the session of ``user`` in ``save_dir`` lives, and how a change becomes durable.

    Parameters
    ----------
    save_dir : Path
        Absolute path of the save folder.
    user : str
        Checked already: usable in a file name.
    read_only : bool
        Load without the writer's lock; write nothing.

    Attributes
    ----------
    state : SessionState
        What the files hold, then every committed change.
    lock : threading.RLock
        Guards ``state`` and the journal between the callers' threads and the background
        worker. A change holds it from its checks through its :meth:`commit`.
    replayed : int
        How many journal records the load applied (a long journal asks for compaction).
    """

    def __init__(self, save_dir: Path, user: str, read_only: bool) -> None:
        self.save_dir = save_dir
        self.user = user
        self.read_only = read_only
        self.lock = threading.RLock()
        self.state = SessionState()
        self.replayed = 0
        self.journal: Journal | None = None
        meta_dir = save_dir / ".imagemarker"
        self.journal_dir = meta_dir / user
        self.marks_path = save_dir / f"{user}_marks.ecsv"
        self.images_path = save_dir / f"{user}_images.ecsv"
        self._file_lock = SessionLock(
            meta_dir / f"{user}.lock", f"the session of user {user!r} in {save_dir}"
        )
        self._file_seq = [0, 0]  # seq of the marks and images snapshot files on disk
        #: Messages about data lost to damaged or missing files: this load's, then earlier
        #: ones kept in the images snapshot (a loss is reported on every open, never dropped).
        self.losses: list[str] = []
        self._damaged: set[Path] = set()  # journal segments with damaged lines
        self.new_losses: list[str] = []  # those found by this load
        self._losses_unsaved = False

    # -- opening and closing -------------------------------------------------------------------

    def open(self) -> None:
        """Take the writer's lock (unless read-only) and load the state.

        Raises
        ------
        SessionLockedError
            Another live process, or another session of this one, is writing it.
        ValueError
            A damaged snapshot file (the message names it).
        """
        _check_inside(self.save_dir, self.journal_dir)
        if not self.read_only:
            self.save_dir.mkdir(parents=True, exist_ok=True)
            self._file_lock.acquire()
        try:
            # A reader (read_only) may race the writer's compaction, which replaces the
            # snapshots and then deletes the journal they cover: load again if a snapshot
            # changed meanwhile.
            for _ in range(5):
                before = self._snapshot_ids()
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", DataLossWarning)
                    state, replayed, losses, damaged = self._load()
                if self._snapshot_ids() == before:
                    break
            for warning in caught:  # only those of the load that counted
                warnings.warn_explicit(
                    warning.message, warning.category, warning.filename, warning.lineno
                )
        except BaseException:
            self._file_lock.release()
            raise
        self.state, self.replayed = state, replayed
        # What a writer that died left in the lock file (a reader only peeks: a live writer
        # always has a journal segment, so "none" means lost in both cases)
        previous = self._file_lock.previous if not self.read_only else self._file_lock.peek()
        if previous and previous.get("journal") and not has_segments(self.journal_dir):
            message = (
                f"{self.journal_dir}: the journal is missing, but the last session of "
                f"{self.user!r} (process {previous.get('pid', '?')} on "
                f"{previous.get('host', '?')}, since {previous.get('since', '?')}) ended "
                "without closing: the changes it made after its last snapshot are lost"
            )
            warnings.warn(message, DataLossWarning, stacklevel=3)
            state.losses.append(message)
        self.losses, self._damaged = state.losses, damaged
        self.new_losses = [m for m in losses if m not in state.earlier_losses]
        self._losses_unsaved = bool(self.new_losses)  # the next snapshot keeps them
        self._file_seq = [state.marks_seq, state.images_seq]

    @property
    def is_new(self) -> bool:
        """Whether nothing of this user's session was saved here yet."""
        return self.state.seq == 0 and not self.marks_path.exists()

    def start_journal(self) -> None:
        """Get ready to :meth:`commit`: later records go to a new journal segment."""
        if self.journal is None:
            self.journal = Journal(self.journal_dir, self.state.seq)
            self.journal.open()
            # from now on, a crash leaves this segment: tell the next owner to expect one
            self._file_lock.note(journal=True)

    def close(self) -> None:
        """Close the journal and release the writer's lock (safe to call twice; the lock is
        released even when the folder can no longer be written)."""
        try:
            if self.journal is not None:
                self.journal.close()
        finally:
            self._file_lock.release()

    def _snapshot_ids(self) -> tuple:
        ids = []
        for path in (self.marks_path, self.images_path):
            try:
                st = path.stat()
                ids.append((st.st_ino, st.st_mtime_ns))
            except FileNotFoundError:
                ids.append(None)
        return tuple(ids)

    def _load(self) -> tuple[SessionState, int, list[str], set[Path]]:
        """State from the snapshot files and the journal; how many records were replayed;
        what was lost (messages, each also warned) and the journal segments with damage."""
        state = SessionState()
        losses: list[str] = []
        damaged: set[Path] = set()
        gc_enabled = gc.isenabled()
        gc.disable()  # bulk-creating 100,000 marks: collections would only slow it down
        try:
            load_snapshots(state, self.marks_path, self.images_path, losses)
        finally:
            if gc_enabled:
                gc.enable()
        replayed = 0
        records = read_journal(
            self.journal_dir,
            after=min(state.marks_seq, state.images_seq),
            losses=losses,
            damaged=damaged,
            # one snapshot without the other: the journal must hold everything since 1
            known=max(state.marks_seq, state.images_seq)
            if self.marks_path.exists() == self.images_path.exists()
            else 0,
        )
        for record in records:
            state.apply(record)
            replayed += 1
        state.earlier_losses = list(state.losses)
        state.losses += [m for m in losses if m not in state.losses]
        return state, replayed, state.losses, damaged

    # -- changes -------------------------------------------------------------------------------

    def commit(self, record: dict[str, Any]) -> int:
        """Append ``record`` to the journal, durably, then apply it to :attr:`state`.

        Returns
        -------
        int
            The record's sequence number (also set in ``record["seq"]``). When this returns,
            the change survives a kill of the process.
        """
        assert self.journal is not None, "start_journal() first (or the session is read-only)"
        with self.lock:
            record["seq"] = self.journal.append(record)
            self.state.apply(record)
        return record["seq"]

    def copy_state(self) -> SessionState:
        """A copy of :attr:`state` to read or write out without holding the lock."""
        with self.lock:
            return self.state.copy()

    def write_snapshots(self) -> None:
        """Compact now: snapshots of the current state, then drop the journal they cover.

        Only the state is copied under the lock; the files are written outside it, so
        changes go on meanwhile (into a new journal segment).
        """
        assert self.journal is not None
        with self.lock:
            self.journal.rotate()
            state = self.state.copy()
            seq = self.journal.seq
        # A file whose part of the state did not change since it was written stays: the
        # replay filter only needs "no change of its kind after its seq" (browsing 100,000
        # marks must not rewrite them on close).
        if state.marks_last > self._file_seq[0] or not self.marks_path.exists():
            atomic_write(self.marks_path, marks_snapshot(state, state.marks, seq))
            self._file_seq[0] = seq
        if (
            state.images_last > self._file_seq[1]
            or not self.images_path.exists()
            or self._losses_unsaved  # its meta keeps them, before the evidence moves
        ):
            data = images_snapshot(state, state.images, state.paths, seq)
            atomic_write(self.images_path, data)
            self._file_seq[1] = seq
            self._losses_unsaved = False
        self.journal.drop_through(seq, keep=self._damaged)
        self._damaged = set()


def _check_inside(save_dir: Path, journal_dir: Path) -> None:
    """Refuse a session folder whose ``.imagemarker`` (or the user's journal folder, or the
    lock) is a symbolic link: the journal and the lock would be written wherever it points."""
    meta = journal_dir.parent
    for path in (meta, journal_dir, meta / f"{journal_dir.name}.lock"):
        if path.is_symlink():
            raise ValueError(
                f"{path}: is a symbolic link (to {os.readlink(path)}); the session's journal "
                f"and lock must stay inside {save_dir}: replace the link by a folder"
            )


# -- snapshot files ---------------------------------------------------------------------------

_DTYPE_NAMES = {"U": "string", "i": "int64", "f": "float64", "b": "bool"}


def _ecsv_header(columns: Sequence[tuple[str, str]], meta: dict[str, Any]) -> str:
    """ECSV header (and column-name line) from astropy for columns ``(name, kind)``."""
    from astropy.table import Table

    dtypes = {"U": "U1", "i": np.int64, "f": np.float64, "b": bool}
    table = Table({name: np.zeros(0, dtype=dtypes[kind]) for name, kind in columns})
    table.meta.update(meta)
    out = io.StringIO()
    table.write(out, format="ascii.ecsv", delimiter=",")
    return out.getvalue()


def write_ecsv(
    path: Path, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence], meta: dict
) -> bytes:
    """Return the bytes of an ECSV file (comma-delimited) with these columns, rows and meta.

    Strings are always quoted (an empty string is ``""``), numbers are written with ``repr``
    precision, NaN as ``nan``, booleans as ``True``/``False``.
    """
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerows(rows)
    body = out.getvalue().encode("utf-8")
    # The checksum of the rows lets a reader tell an edited or damaged file from ours.
    meta = {**meta, "rows_crc32": f"{zlib.crc32(body):08x}"}
    return _ecsv_header(columns, meta).encode("utf-8") + body


def read_ecsv(path: Path) -> tuple[list[str], list[list[Any]], dict[str, Any]]:
    """Read a file written by :func:`write_ecsv`: column names, columns as lists, meta.

    The rows are parsed as one stream, so a quoted value keeps its line breaks (``\\n``,
    ``\\r\\n`` and a lone ``\\r`` alike) exactly as they were written.

    Raises
    ------
    ValueError
        Not such a file; the message names it, and the line of a bad row.
    """
    from astropy.table import Table

    data = path.read_bytes()
    if not data.strip():
        raise ValueError(
            f"{path}: the file is empty ({len(data)} bytes): it should hold this session's "
            "data. Restore it from a backup, or move it away to start without what it held"
        )
    try:
        # Not read_text(): universal newlines would turn a "\r" inside a value into "\n".
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a session snapshot (not UTF-8: {exc})") from None
    # The header is the "#" lines and the line of column names; values start after it.
    start, n_header = 0, 0
    while text.startswith("#", start):
        start = text.find("\n", start) + 1 or len(text)
        n_header += 1
    body_start = text.find("\n", start) + 1 or len(text)
    try:
        empty = Table.read(text[:body_start], format="ascii.ecsv")
    except Exception as exc:
        raise ValueError(f"{path}: not a session snapshot ({exc})") from None
    names = empty.colnames
    crc = empty.meta.get("rows_crc32")
    if crc is not None:
        body_bytes = data[len(text[:body_start].encode("utf-8")) :]
        if f"{zlib.crc32(body_bytes):08x}" != crc:
            empty.meta["damaged"] = (
                f"{path}: the file was changed after this program wrote it (its rows do not "
                "match their checksum): its values are used as they are now, but an edited "
                "or damaged value may be wrong"
            )
    allow_long_csv_fields()
    convert = {"U": str, "i": int, "f": float, "b": lambda v: v == "True"}
    converters = [convert.get(empty[name].dtype.kind, str) for name in names]
    body = text[body_start:]
    rows = [row for row in csv.reader(io.StringIO(body, newline="")) if row]
    first_line = n_header + 2
    for k, row in enumerate(rows):
        if len(row) != len(names):
            line = first_line + _row_line(body, k)
            raise ValueError(f"{path}: line {line} has {len(row)} values, not {len(names)}")
    # Column by column: map() converts in C, about 5x faster than a loop over rows.
    columns = [list(col) for col in zip(*rows, strict=True)] or [[] for _ in names]
    for k, (name, f) in enumerate(zip(names, converters, strict=True)):
        try:
            columns[k] = list(map(f, columns[k]))
        except ValueError as exc:
            bad = next(i for i, v in enumerate(columns[k]) if not _converts(f, v))
            line = first_line + _row_line(body, bad)
            raise ValueError(f"{path}: line {line}, column {name!r}: {exc}") from None
    return names, columns, dict(empty.meta)


def _row_line(body: str, index: int) -> int:
    """0-based line of ``body`` on which non-empty row ``index`` starts (for messages only:
    a value with line breaks makes rows and lines differ)."""
    allow_long_csv_fields()
    reader = csv.reader(io.StringIO(body, newline=""))
    start, k = 0, 0
    for row in reader:
        if row:
            if k == index:
                return start
            k += 1
        start = reader.line_num
    return start


def _converts(f, value) -> bool:
    try:
        f(value)
    except ValueError:
        return False
    return True


MARKS_FILE_COLUMNS: tuple[tuple[str, str], ...] = (
    *((name, MARK_DTYPES[name].kind) for name in MARK_COLUMNS),
    ("id", "i"),
)
IMAGES_FILE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("image", "U"),
    ("seen", "b"),
    ("categories", "U"),
    ("comment", "U"),
    ("favorite", "b"),
    ("seconds", "f"),
    ("nothing", "b"),
    ("path", "U"),
)


def marks_snapshot(state: SessionState, marks: dict[int, Mark], seq: int) -> bytes:
    """Bytes of ``<user>_marks.ecsv`` for ``marks`` (a copy of ``state.marks``) at ``seq``."""
    meta = state.marks_meta()
    meta["session"] = {"seq": seq, "next_id": state.next_id}
    rows = ((*mark, mark_id) for mark_id, mark in marks.items())
    return write_ecsv(Path(), MARKS_FILE_COLUMNS, rows, meta)


def images_snapshot(
    state: SessionState, images: dict[str, ImageState], paths: Sequence[str], seq: int
) -> bytes:
    """Bytes of ``<user>_images.ecsv``: one row per image in ``paths``, then other images
    with recorded state (files no longer in the list keep their state)."""
    meta = {
        "session": {
            "seq": seq,
            "groups": list(state.groups),
            "group_colors": list(state.group_colors),
            "categories": list(state.categories),
            "group_max": list(state.group_max),
            "seed": state.seed,
            "left_click_group": state.left_click_group,
            "unresolved": list(state.unresolved),
            "losses": list(state.losses),
        }
    }
    if state.repeats:
        meta["session"]["repeats"] = dict(state.repeats)
    if state.display:
        meta["session"]["display"] = state.display
    if state.frame:
        meta["session"]["frame"] = state.frame
    by_name = {os.path.basename(p): p for p in paths}
    names = list(by_name) + [n for n in images if n not in by_name]

    def row(name: str) -> tuple:
        s = images.get(name, ImageState())
        cats = "+".join(str(c) for c in s.categories)
        return (name, s.seen, cats, s.comment, s.favorite, s.seconds, s.nothing,
                by_name.get(name, ""))  # fmt: skip

    return write_ecsv(Path(), IMAGES_FILE_COLUMNS, (row(n) for n in names), meta)


def load_snapshots(
    state: SessionState, marks_path: Path, images_path: Path, losses: list[str] | None = None
) -> None:
    """Fill ``state`` from the snapshot files that exist; ``losses`` gets a message (also
    warned) for a snapshot missing beside the other one, or changed since it was written."""
    losses = [] if losses is None else losses

    def lost(message: str) -> None:
        losses.append(message)
        warnings.warn(message, DataLossWarning, stacklevel=4)

    # The marks snapshot is always written first, and both stay once written: one without
    # the other was deleted.
    if images_path.exists() and not marks_path.exists():
        lost(
            f"{marks_path}: is missing beside {images_path.name}: the marks it held are lost "
            "(except those the journal still has)"
        )
    if marks_path.exists():
        names, columns, meta = read_ecsv(marks_path)
        if "damaged" in meta:
            lost(meta.pop("damaged"))
        if tuple(names) != tuple(n for n, _ in MARKS_FILE_COLUMNS):
            raise ValueError(f"{marks_path}: unexpected columns {names}")
        session = meta.get("session", {})
        state.marks_seq = int(session.get("seq", 0))
        ids = columns[-1]
        make = functools.partial(tuple.__new__, Mark)  # Mark(*row) at C speed
        state.marks = dict(zip(ids, map(make, zip(*columns[:-1])), strict=True))
        by_image = state.by_image
        for mark_id, image in zip(ids, columns[0], strict=True):
            by_image.setdefault(image, []).append(mark_id)
        state.next_id = max(int(session.get("next_id", 1)), max(ids, default=0) + 1)
        state.groups = list(meta.get("groups", state.groups))
        state.group_colors = list(meta.get("group_colors", state.group_colors))
    if images_path.exists():
        names, columns, meta = read_ecsv(images_path)
        if "damaged" in meta:
            lost(meta.pop("damaged"))
        session = meta.get("session", {})
        state.losses = [str(m) for m in session.get("losses") or []]
        state.images_seq = int(session.get("seq", 0))
        for key in ("groups", "group_colors", "categories", "group_max"):
            if key in session:
                setattr(state, key, list(session[key]))
        state.seed = session.get("seed")
        state.repeats = session.get("repeats")
        state.display = session.get("display")
        state.left_click_group = int(session.get("left_click_group", 1))
        state.frame = int(session.get("frame", 0))
        state.unresolved = list(session.get("unresolved") or [])
        col = dict(zip(names, columns, strict=True))
        for i, name in enumerate(col["image"]):
            cats = col["categories"][i]
            image = ImageState(
                seen=col["seen"][i],
                categories=tuple(int(c) for c in cats.split("+")) if cats else (),
                comment=col["comment"][i],
                favorite=col["favorite"][i],
                seconds=col["seconds"][i],
                nothing=col["nothing"][i],
            )
            if image != ImageState():
                state.images[name] = image
        state.paths = [p for p in col["path"] if p]
    state.seq = max(state.marks_seq, state.images_seq)

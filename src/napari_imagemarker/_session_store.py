"""The session's state in memory, the journal records that change it, and its snapshots.

Plain data and functions, no I/O policy: :mod:`napari_imagemarker.session` decides when to
journal and when to snapshot.

State is split in two *targets*, each with its own snapshot file and sequence number:

* marks (``<user>_marks.ecsv``): records ``add``, ``remove``, ``move``, ``label``;
* images (``<user>_images.ecsv``): records ``image`` (seen, categories, comment, favourite,
  time spent, "nothing here") and ``config`` (group and category names, group maxima, seed).

A record is applied to its target only if its ``seq`` is above that target's snapshot ``seq``.
The two snapshots are replaced one after the other, so after a crash between the two each
still gets exactly the records it lacks.

Snapshots are ECSV (``delimiter: ','``) readable by :func:`astropy.table.Table.read` and
:func:`napari_imagemarker.read_marks`. Their header is produced by astropy; their rows are
written and read with the :mod:`csv` module, about 8x faster than astropy's ECSV code at
100,000 marks (the format is identical; a test checks astropy reads it back unchanged).
"""

from __future__ import annotations

import csv
import functools
import io
import math
import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from .io.marks_schema import (
    DEFAULT_CATEGORIES,
    DEFAULT_GROUP_COLORS,
    DEFAULT_GROUPS,
    MARK_COLUMNS,
    MARK_DTYPES,
)

__all__ = ["IMAGE_COLUMNS", "ImageState", "Mark", "SessionState"]

MARK_OPS = frozenset({"add", "remove", "move", "label"})
IMAGE_OPS = frozenset({"image", "config"})

#: Columns of ``MarkingSession.images`` (and of the images snapshot, plus ``path``).
IMAGE_COLUMNS: tuple[str, ...] = (
    "image",
    "seen",
    "categories",
    "comment",
    "favorite",
    "seconds",
    "nothing",
)


class Mark(NamedTuple):
    """One mark, in the order of :data:`MARK_COLUMNS`."""

    image: str
    frame: int
    group: int
    label: str
    x: float
    y: float
    ra: float
    dec: float
    user: str
    time: str


class ImageState(NamedTuple):
    """What a person recorded about one image (immutable; replaced on change)."""

    seen: bool = False
    categories: tuple[int, ...] = ()  # 1-based category numbers, sorted
    comment: str = ""
    favorite: bool = False
    seconds: float = 0.0
    nothing: bool = False


_IMAGE_FIELDS = frozenset(ImageState._fields) - {"seconds"}


class SessionState:
    """Everything a session knows, rebuilt from snapshots plus journal records."""

    def __init__(self) -> None:
        self.marks: dict[int, Mark] = {}  # insertion order = placement order
        self.by_image: dict[str, list[int]] = {}
        self.images: dict[str, ImageState] = {}
        self.paths: list[str] = []  # image list of the last session (for images=None)
        self.groups: list[str] = list(DEFAULT_GROUPS)
        self.group_colors: list[str] = list(DEFAULT_GROUP_COLORS)
        self.categories: list[str] = list(DEFAULT_CATEGORIES)
        self.group_max: list[int | None] = [None] * len(DEFAULT_GROUPS)
        self.seed: int | None = None
        self.unresolved: list[dict] = []  # Image Marker marks on images never found
        self.next_id = 1
        self.marks_seq = 0  # last seq in the marks snapshot
        self.images_seq = 0  # last seq in the images snapshot
        self.seq = 0  # last seq applied
        self.marks_last = 0  # seq of the last change to the marks (0: none since the file)
        self.images_last = 0  # seq of the last change to the image states and names

    # -- applying records -------------------------------------------------------------------

    def apply(self, record: dict[str, Any]) -> None:
        """Apply one journal record (skipped if its target's snapshot already holds it)."""
        seq = record["seq"]
        op = record["op"]
        if op in MARK_OPS:
            if seq > self.marks_seq:
                getattr(self, f"_apply_{op}")(record)
                self.marks_last = seq
        elif op in IMAGE_OPS:
            if seq > self.images_seq:
                getattr(self, f"_apply_{op}")(record)
                self.images_last = seq
        else:
            raise ValueError(f"unknown journal record {op!r} (written by a newer version?)")
        self.seq = max(self.seq, seq)

    def _apply_add(self, r: dict[str, Any]) -> None:
        for replaced in r.get("replaces", ()):
            self._remove(replaced)
        mark_id = r["id"]
        self.marks[mark_id] = Mark(*(r[name] for name in MARK_COLUMNS))
        self.by_image.setdefault(r["image"], []).append(mark_id)
        self.next_id = max(self.next_id, mark_id + 1)

    def _apply_remove(self, r: dict[str, Any]) -> None:
        self._remove(r["id"])

    def _remove(self, mark_id: int) -> None:
        mark = self.marks.pop(mark_id, None)
        if mark is not None:
            ids = self.by_image[mark.image]
            ids.remove(mark_id)
            if not ids:
                del self.by_image[mark.image]

    def _apply_move(self, r: dict[str, Any]) -> None:
        mark = self.marks.get(r["id"])
        if mark is not None:
            self.marks[r["id"]] = mark._replace(
                x=r["x"], y=r["y"], ra=r["ra"], dec=r["dec"], time=r["time"]
            )

    def _apply_label(self, r: dict[str, Any]) -> None:
        mark = self.marks.get(r["id"])
        if mark is not None:
            self.marks[r["id"]] = mark._replace(label=r["label"], time=r["time"])

    def _apply_image(self, r: dict[str, Any]) -> None:
        name = r["image"]
        state = self.images.get(name, ImageState())
        changes = {k: v for k, v in r.items() if k in _IMAGE_FIELDS}
        if "categories" in changes:
            changes["categories"] = tuple(changes["categories"])
        if "add_seconds" in r:
            changes["seconds"] = state.seconds + r["add_seconds"]
        self.images[name] = state._replace(**changes)

    def _apply_config(self, r: dict[str, Any]) -> None:
        for key in ("groups", "categories", "group_max", "group_colors"):
            if key in r:
                setattr(self, key, list(r[key]))
        if "seed" in r:
            self.seed = r["seed"]
        if "paths" in r:
            self.paths = list(r["paths"])

    # -- views ------------------------------------------------------------------------------

    def marks_table(self, ids: Iterable[int] | None = None):
        """The marks (all, or ``ids`` in that order) as a Table with an ``id`` column."""
        from astropy.table import Table

        ids = list(self.marks) if ids is None else list(ids)
        rows = [self.marks[i] for i in ids]
        columns = {}
        for k, name in enumerate(MARK_COLUMNS):
            values = [row[k] for row in rows]
            columns[name] = (
                np.array(values, dtype=MARK_DTYPES[name])
                if rows
                else np.zeros(0, dtype=MARK_DTYPES[name])
            )
        columns["id"] = np.array(ids, dtype=np.int64)
        table = Table(columns)
        table.meta.update(self.marks_meta())
        return table

    def marks_meta(self) -> dict[str, Any]:
        return {
            "pixel_origin": 0,
            "groups": list(self.groups),
            "group_colors": list(self.group_colors),
        }


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
    out.write(_ecsv_header(columns, meta))
    writer = csv.writer(out, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


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

    try:
        # Not read_text(): universal newlines would turn a "\r" inside a value into "\n".
        text = path.read_bytes().decode("utf-8")
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
            "unresolved": list(state.unresolved),
        }
    }
    by_name = {os.path.basename(p): p for p in paths}
    names = list(by_name) + [n for n in images if n not in by_name]

    def row(name: str) -> tuple:
        s = images.get(name, ImageState())
        cats = "+".join(str(c) for c in s.categories)
        return (name, s.seen, cats, s.comment, s.favorite, s.seconds, s.nothing,
                by_name.get(name, ""))  # fmt: skip

    return write_ecsv(Path(), IMAGES_FILE_COLUMNS, (row(n) for n in names), meta)


def load_snapshots(state: SessionState, marks_path: Path, images_path: Path) -> None:
    """Fill ``state`` from the snapshot files that exist."""
    if marks_path.exists():
        names, columns, meta = read_ecsv(marks_path)
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
        session = meta.get("session", {})
        state.images_seq = int(session.get("seq", 0))
        for key in ("groups", "group_colors", "categories", "group_max"):
            if key in session:
                setattr(state, key, list(session[key]))
        state.seed = session.get("seed")
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


def finite(value: float) -> float:
    """``value`` as a float, or ValueError if it is NaN or infinite."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"coordinate must be finite, got {value}")
    return value

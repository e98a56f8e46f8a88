"""Read every user's work from one save folder: our sessions and Image Marker's files.

A user with our session files (``<user>_marks.ecsv`` / ``<user>_images.ecsv`` and the
journal) is read from them, journal included, without taking the session's lock; a user with
only Image Marker's files (``<user>_marks.csv`` ...) is read from those. Repeats (duplicates)
come from ``repeats/`` for our sessions, and for Image Marker's files from the marks labelled
``DUPLICATE`` and the second row of an image in ``<user>_images.csv``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from astropy.table import Table

from napari_imagemarker.agreement.work import Gold, Marks, UserWork
from napari_imagemarker.imgmarker.config import image_search_dirs, read_config
from napari_imagemarker.imgmarker.marks_file import read_records
from napari_imagemarker.imgmarker.savedir import (
    DUPLICATE,
    IMAGES_HEADER,
    read_savedir,
    savedir_users,
)
from napari_imagemarker.marking.repeats import REPEATS_DIR, repeats_saved
from napari_imagemarker.marking.state import ImageState
from napari_imagemarker.marking.store import SessionStore
from napari_imagemarker.marks.schema import MARK_COLUMNS

__all__ = ["is_duplicate_label", "load_gold", "load_users", "session_users"]


def is_duplicate_label(label: str) -> bool:
    """Whether an Image Marker label marks a repeat: ``DUPLICATE`` or ``<text>, DUPLICATE``."""
    return label == DUPLICATE or label.endswith(", " + DUPLICATE)


def session_users(save_dir: Path) -> list[str]:
    """Users with our session files in ``save_dir``."""
    users = set()
    for path in save_dir.iterdir():
        for suffix in ("_marks.ecsv", "_images.ecsv"):
            if path.name.endswith(suffix) and not path.name.startswith("."):
                users.add(path.name[: -len(suffix)])
    meta = save_dir / ".imagemarker"
    if meta.is_dir():
        users |= {p.name for p in meta.iterdir() if p.is_dir()}
    return sorted(users)


def _state_work(user: str, state, repeat_state=None) -> UserWork:
    def marks_of(st) -> Marks:
        if st is None:
            return Marks.empty()
        if isinstance(st, _Snapshot):
            f = st.marks
            if f is None or not len(f):
                return Marks.empty()
            return Marks(
                f["image"].to_numpy(dtype="U"),
                f["group"].to_numpy(dtype=np.int64),
                *(f[c].to_numpy(dtype=np.float64) for c in ("x", "y", "ra", "dec")),
            )
        if not st.marks:
            return Marks.empty()
        rows = list(st.marks.values())
        cols = list(zip(*rows, strict=True))  # Mark fields in MARK_COLUMNS order
        return Marks(
            np.array(cols[0], dtype="U"),
            np.array(cols[2], dtype=np.int64),
            *(np.array(cols[k], dtype=np.float64) for k in (4, 5, 6, 7)),
        )

    def seen_of(st) -> tuple[list[str], dict[str, tuple[int, ...]]]:
        seen, cats = [], {}
        if st is None:
            return seen, cats
        for name, s in st.images.items():
            if s.seen or s.categories:
                seen.append(name)
            if s.categories:
                cats[name] = tuple(s.categories)
        return seen, cats

    seen, cats = seen_of(state)
    r_seen, r_cats = seen_of(repeat_state)
    r_marks = marks_of(repeat_state)
    r_seen = sorted(set(r_seen) | set(r_marks.image.tolist()))
    return UserWork(
        user,
        seen,
        cats,
        marks_of(state),
        r_seen,
        r_cats,
        r_marks,
        list(state.groups),
        list(state.categories),
        {os.path.basename(p): p for p in state.paths},
    )


def _load_session(save_dir: Path, user: str) -> UserWork:
    state = _read_state(save_dir, user)
    repeat_state = None
    if repeats_saved(save_dir, user):
        repeat_state = _read_state(save_dir / REPEATS_DIR, user)
    return _state_work(user, state, repeat_state)


def _read_state(save_dir: Path, user: str):
    """The state of a session as its files hold it (journal included), without its lock.

    A closed session has no journal left: its two snapshot files are read column-wise with
    pandas (about 20x faster than replaying them into a session's state); otherwise the
    session's own store reads it."""
    if not _has_journal(save_dir / ".imagemarker" / user):
        try:
            return _read_snapshots(
                save_dir / f"{user}_marks.ecsv", save_dir / f"{user}_images.ecsv"
            )
        except (OSError, ValueError, KeyError, TypeError):
            pass  # anything unexpected: the store says what is wrong, naming the file
    store = SessionStore(save_dir, user, read_only=True)
    store.open()
    return store.state


def _has_journal(folder: Path) -> bool:
    if not folder.is_dir():
        return False
    return any(p.name.startswith("journal") and p.stat().st_size for p in folder.iterdir())


class _Snapshot:
    """What :func:`_state_work` reads of a session's state, from its snapshot files."""

    def __init__(self) -> None:
        from napari_imagemarker.marks.schema import DEFAULT_CATEGORIES, DEFAULT_GROUPS

        self.marks = None  # DataFrame
        self.images = {}
        self.paths = []
        self.groups = list(DEFAULT_GROUPS)
        self.categories = list(DEFAULT_CATEGORIES)


def _read_ecsv_fast(path: Path):
    """``(meta, DataFrame)`` of a snapshot file written by the session store."""
    import io

    import pandas as pd
    import yaml

    text = path.read_text(encoding="utf-8")
    header, pos = [], 0
    while text.startswith("#", pos):
        end = text.index("\n", pos)
        header.append(text[pos + 2 : end])
        pos = end + 1
    if header[:2] != ["%ECSV 1.0", "---"]:
        raise ValueError(f"{path}: not an ECSV file")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    meta = dict(yaml.load("\n".join(header[2:]), Loader=loader).get("meta") or [])
    text_columns = {"image": str, "label": str, "categories": str, "comment": str, "path": str}
    frame = pd.read_csv(
        io.StringIO(text[pos:]), dtype=text_columns, keep_default_na=False,
        na_values={c: ["nan"] for c in ("x", "y", "ra", "dec", "seconds")},
    )  # fmt: skip
    return meta, frame


def _read_snapshots(marks_path: Path, images_path: Path) -> _Snapshot:
    state = _Snapshot()
    if marks_path.exists():
        meta, frame = _read_ecsv_fast(marks_path)
        if list(frame.columns[:10]) != [*MARK_COLUMNS]:
            raise ValueError(f"{marks_path}: unexpected columns")
        state.marks = frame
        state.groups = list(meta.get("groups", state.groups))
    if images_path.exists():
        meta, frame = _read_ecsv_fast(images_path)
        session = meta.get("session", {})
        state.groups = list(session.get("groups", state.groups))
        state.categories = list(session.get("categories", state.categories))
        columns = (frame[c].tolist() for c in ("image", "seen", "categories"))
        for name, seen, cats in zip(*columns, strict=True):
            numbers = tuple(int(c) for c in cats.split("+")) if cats else ()
            if seen or numbers:
                state.images[name] = ImageState(seen=bool(seen), categories=numbers)
        state.paths = [p for p in frame["path"] if p]
    return state


def _load_imgmarker(save_dir: Path, user: str) -> UserWork:
    saved = read_savedir(save_dir, user)
    if saved.problems:
        raise ValueError("; ".join(saved.problems))
    marks = saved.marks
    labels = np.array([str(v) for v in marks["label"]], dtype=object)
    dup = np.array([is_duplicate_label(v) for v in labels], dtype=bool)
    first = Marks.from_table(marks[~dup])
    repeat = Marks.from_table(marks[dup])
    names = list(saved.categories)

    def numbers(text: str) -> tuple[int, ...]:
        return (
            tuple(sorted(names.index(c) + 1 for c in text.split("+") if c in names))
            if text
            else ()
        )

    seen, cats = [], {}
    for row in saved.images:
        name = str(row["image"])
        if row["seen"]:
            seen.append(name)
        c = numbers(str(row["categories"]))
        if c:
            cats[name] = c
    r_seen, r_cats = [], {}
    for row in saved.repeats:
        name = row["image"]
        r_seen.append(name)
        c = numbers("" if row["categories"] == "None" else row["categories"])
        if c:
            r_cats[name] = c
    r_seen = sorted(set(r_seen) | set(repeat.image.tolist()))
    folders = [d for d in image_search_dirs(save_dir, read_config(save_dir / f"{user}_config.txt"))
               if d.is_dir()]  # fmt: skip
    paths = {}
    for name in seen:
        found = next((d / name for d in folders if (d / name).is_file()), None)
        if found is not None:
            paths[name] = str(found)
    return UserWork(
        user, seen, cats, first, r_seen, r_cats, repeat, list(saved.groups), names, paths
    )


def load_users(save_dir, users: Sequence[str] | None = None) -> list[UserWork]:
    """Every (or the named) user's work in ``save_dir``.

    Raises
    ------
    ValueError
        No such folder, no users, a named user without files, or a damaged file (the
        message names it).
    """
    save_dir = Path(save_dir).expanduser()
    if not save_dir.is_dir():
        raise ValueError(f"{save_dir}: not a folder")
    ours = set(session_users(save_dir))
    theirs = set(savedir_users(save_dir))
    found = sorted(ours | theirs)
    if users is None:
        users = found
    else:
        users = [str(u).strip() for u in users]
        missing = [u for u in users if u not in found]
        if missing:
            raise ValueError(
                f"{save_dir}: no files of user(s) {', '.join(missing)} "
                f"(users here: {', '.join(found) or 'none'})"
            )
    if not users:
        raise ValueError(f"{save_dir}: no marking sessions or Image Marker files here")
    return [
        _load_session(save_dir, u) if u in ours else _load_imgmarker(save_dir, u) for u in users
    ]


def load_gold(paths, images=None):
    """A :class:`Gold` from one or more files: marks files (any format ``read_marks``
    reads) and/or categories files (a table with ``image`` and ``categories`` columns, names
    joined by ``+``, like Image Marker's ``<user>_images.csv`` or our ``_images.ecsv``)."""
    from napari_imagemarker.marks.io import read_marks

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    gold = Gold(source=", ".join(str(p) for p in paths))
    for path in map(Path, paths):
        if not path.exists():
            raise ValueError(f"{path}: gold standard file not found")
        table = _categories_table(path)
        if table is not None:
            names = table.meta.get("session", {}).get("categories")
            cats = dict(gold.categories or {})
            for row in table:
                text = str(row["categories"])
                values = [] if text in ("", "None", "--") else text.split("+")
                if names is not None:  # our snapshot stores numbers
                    values = [names[int(v) - 1] for v in values]
                cats[str(row["image"])] = values
            gold.categories = cats
        else:
            m = Marks.from_table(read_marks(path, images=images))
            if gold.marks is not None:
                m = Marks(
                    *(
                        np.concatenate([getattr(gold.marks, f), getattr(m, f)])
                        for f in m.__dataclass_fields__
                    )
                )
            gold.marks = m
    return gold


def _categories_table(path: Path) -> Table | None:
    """The file as a table if it has ``image`` and ``categories`` columns, else None."""
    if path.is_dir() or path.suffix.lower() not in (".csv", ".ecsv", ".txt"):
        return None
    try:
        if path.suffix.lower() == ".ecsv":
            table = Table.read(path, format="ascii.ecsv")
            cols = {c.lower() for c in table.colnames}
            return table if {"image", "categories"} <= cols else None
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: cannot read the gold standard: {exc}") from None
    first = text.splitlines()[0].lower() if text else ""
    if "categories" not in first:
        return None
    _, records = read_records(text, str(path), [h.lower() for h in IMAGES_HEADER])
    rows = [rec for _, rec in records]
    return Table(
        {
            "image": [r.get("image", "") for r in rows] or np.zeros(0, "U"),
            "categories": [r.get("categories", "") for r in rows] or np.zeros(0, "U"),
        }
    )

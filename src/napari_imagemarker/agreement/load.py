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
from napari_imagemarker.marking.repeats import REPEATS_DIR
from napari_imagemarker.marking.store import SessionStore

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
        if st is None or not st.marks:
            return Marks.empty()
        rows = list(st.marks.values())
        cols = list(zip(*rows, strict=True))  # Mark fields in MARK_COLUMNS order
        return Marks(
            np.array(cols[0], dtype="U"),
            np.array(cols[2], dtype=np.int64),
            np.array(cols[4], dtype=np.float64),
            np.array(cols[5], dtype=np.float64),
            np.array(cols[6], dtype=np.float64),
            np.array(cols[7], dtype=np.float64),
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
    store = SessionStore(save_dir, user, read_only=True)
    store.open()
    repeat_state = None
    repeat_dir = save_dir / REPEATS_DIR
    if (repeat_dir / f"{user}_marks.ecsv").exists() or (
        repeat_dir / ".imagemarker" / user
    ).is_dir():
        rstore = SessionStore(repeat_dir, user, read_only=True)
        rstore.open()
        repeat_state = rstore.state
    return _state_work(user, store.state, repeat_state)


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

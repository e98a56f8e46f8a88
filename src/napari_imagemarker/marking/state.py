"""The session's state in memory, and the journal records that change it.

Plain data, no I/O: :mod:`napari_imagemarker.marking.store` loads it from the snapshot
files and the journal and makes each change durable before applying it here.

State is split in two *targets*, each with its own snapshot file and sequence number:

* marks (``<user>_marks.ecsv``): records ``add``, ``remove``, ``move``, ``label``;
* images (``<user>_images.ecsv``): records ``image`` (seen, categories, comment, favourite,
  time spent, "nothing here") and ``config`` (group and category names, group maxima and
  colours, seed, image list).

A record is applied to its target only if its ``seq`` is above that target's snapshot ``seq``.
The two snapshots are replaced one after the other, so after a crash between the two each
still gets exactly the records it lacks.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from napari_imagemarker.marking.events import GroupFullError
from napari_imagemarker.marks.schema import (
    DEFAULT_CATEGORIES,
    DEFAULT_GROUP_COLORS,
    DEFAULT_GROUPS,
    MARK_COLUMNS,
    MARK_DTYPES,
)

__all__ = ["IMAGE_COLUMNS", "ImageState", "Mark", "SessionState", "finite", "images_table"]

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
        self.repeats: dict | None = None  # {"fraction": f, "seed": s}: images shown again
        self.display: dict[str, Any] | None = None  # display settings (display.DisplaySettings)
        self.left_click_group = 1  # the active group when a viewer shows the session
        self.frame = 0  # the frame chosen last (0-based): where a viewer starts
        self.unresolved: list[dict] = []  # Image Marker marks on images never found
        self.losses: list[str] = []  # what damaged or missing files lost (never forgotten)
        self.earlier_losses: list[str] = []  # those already reported by an earlier session
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
                if op == "config" and ("groups" in record or "group_colors" in record):
                    self.marks_last = seq  # the marks file names the groups: rewrite it too
        elif op == "import":  # an Image Marker folder's content, both targets in one record
            if seq > self.marks_seq:
                self.apply_import(record, marks=True, images=False)
                self.marks_last = seq
            if seq > self.images_seq:
                self.apply_import(record, marks=False, images=True)
                self.images_last = seq
        else:
            raise ValueError(f"unknown journal record {op!r} (written by a newer version?)")
        self.seq = max(self.seq, seq)

    def apply_import(self, r: dict[str, Any], marks: bool = True, images: bool = True) -> None:
        """Apply an ``import`` record (see ``_session_imgmarker.import_record``): its marks
        (ids 1, 2, ... in file order) and its names, maxima and image states."""
        if marks:
            for mark_id, row in enumerate(r["marks"], start=1):
                self._apply_add({"id": mark_id, **dict(zip(MARK_COLUMNS, row, strict=True))})
        if images:
            self.groups = list(r["groups"])
            self.categories = list(r["categories"])
            self.group_max = list(r["group_max"])
            self.left_click_group = int(r.get("left_click_group", 1))
            if r.get("seed") is not None:
                self.seed = r["seed"]
            for name, seen, categories, comment, favorite in r["images"]:
                self.images[name] = ImageState(
                    seen=seen, categories=tuple(categories), comment=comment, favorite=favorite
                )
            self.unresolved = list(r["unresolved"])

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
        if "display" in r:
            self.display = r["display"]
        if "seed" in r:
            self.seed = r["seed"]
        if "repeats" in r:
            self.repeats = r["repeats"]
        if "left_click_group" in r:
            self.left_click_group = int(r["left_click_group"])
        if "frame" in r:
            self.frame = int(r["frame"])
        if "paths" in r:
            self.paths = list(r["paths"])

    # -- questions --------------------------------------------------------------------------

    def replaced_by(self, image: str, group: int) -> list[int]:
        """Ids of the marks a new mark of ``group`` on ``image`` replaces: the group's one
        mark if its maximum is 1, else none.

        Raises
        ------
        GroupFullError
            The group's maximum (above 1) is reached on the image, or the image has more
            marks of the group than its maximum (lowered after they were placed).
        """
        same = [i for i in self.by_image.get(image, ()) if self.marks[i].group == group]
        limit = self.group_max[group - 1]
        if limit == 1 and len(same) <= 1:
            return same
        # above a maximum lowered after marking: refused, never a silent removal (as in
        # Image Marker); the person removes marks or raises the maximum
        if limit is not None and len(same) >= limit:
            raise GroupFullError(
                f"{image} already has {len(same)} mark(s) of group "
                f"{self.groups[group - 1]!r} (maximum {limit}): remove one first, or raise "
                "the group's maximum"
            )
        return []

    def over_limit(self, group: int, maximum: int | None) -> dict[str, int]:
        """Images with more marks of ``group`` than ``maximum`` (None: no limit), and how
        many marks each has."""
        if maximum is None:
            return {}
        counts: dict[str, int] = {}
        for image, ids in self.by_image.items():
            n = sum(1 for i in ids if self.marks[i].group == group)
            if n > maximum:
                counts[image] = n
        return counts

    # -- copies -----------------------------------------------------------------------------

    def copy(self) -> SessionState:
        """A copy that later changes leave alone, cheap enough to take under the session's
        lock (two dict copies at C speed; marks and image states are immutable, lists are
        replaced, never changed in place). Its ``by_image`` is empty: see
        :meth:`index_images`."""
        copy = SessionState()
        copy.__dict__.update(self.__dict__)
        copy.marks = dict(self.marks)
        copy.images = dict(self.images)
        copy.paths = list(self.paths)
        copy.by_image = {}
        return copy

    def index_images(self) -> None:
        """Rebuild ``by_image`` from ``marks`` (for a :meth:`copy`, outside the lock)."""
        self.by_image = {}
        for mark_id, mark in self.marks.items():
            self.by_image.setdefault(mark.image, []).append(mark_id)

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


def images_table(state: SessionState, order: Sequence[Path]):
    """Per-image state as a Table (``MarkingSession.images``): one row per image of
    ``order``, then images with recorded state that are no longer in it.

    Columns :data:`IMAGE_COLUMNS`; ``categories`` are names joined by ``"+"`` as Image Marker
    writes them; ``nothing`` is "seen, nothing here" of an image without marks.
    """
    from astropy.table import Table

    names = [p.name for p in order]
    listed = set(names)
    names += [n for n in state.images if n not in listed]
    rows = []
    for name in names:
        s = state.images.get(name, ImageState())
        cats = "+".join(state.categories[c - 1] for c in s.categories)
        nothing = s.nothing and not state.by_image.get(name)
        rows.append((name, s.seen, cats, s.comment, s.favorite, s.seconds, nothing))
    dtypes = ("U", bool, "U", "U", bool, np.float64, bool)
    return Table(
        {
            col: np.array([r[k] for r in rows], dtype=dt) if rows else np.zeros(0, dtype=dt)
            for k, (col, dt) in enumerate(zip(IMAGE_COLUMNS, dtypes, strict=True))
        }
    )


def finite(value: float) -> float:
    """``value`` as a float, or ValueError if it is NaN or infinite."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"coordinate must be finite, got {value}")
    return value

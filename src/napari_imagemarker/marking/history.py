"""Undo and redo of mark changes, on top of :class:`~napari_imagemarker.MarkingSession`.

The session saves every change for good and has no undo of its own; undoing is simply the
opposite change, saved the same way. :class:`MarkHistory` makes the change, remembers how to
reverse it, and follows marks through their new ids (a mark that is removed and put back is
a new mark with a new id). Plain Python: no Qt, no napari.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from napari_imagemarker.marking.state import Mark

__all__ = ["MarkHistory"]


#: A mark as the session records it (state.Mark), with the id it had when recorded.
IdMark = tuple[int, Mark]


@dataclass
class _Entry:
    """One user action: marks it added and removed, and marks it moved or relabelled."""

    what: str
    image: str
    frame: int
    added: list[IdMark] = field(default_factory=list)
    removed: list[IdMark] = field(default_factory=list)
    # mark id -> (before, after); values are (x, y) for moves, the label for relabels
    moved: dict[int, tuple[Any, Any]] = field(default_factory=dict)
    relabelled: dict[int, tuple[str, str]] = field(default_factory=dict)


class MarkHistory:
    """Make mark changes through a session and undo or redo them.

    Parameters
    ----------
    session : MarkingSession
        Where the changes are made (and saved).
    limit : int
        How many actions can be undone.

    Notes
    -----
    Only mark changes (add, remove, move, relabel) are recorded; categories, comments and
    favourites are set directly. An action is one call here: removing five selected marks is
    one action. Undoing and redoing are themselves saved changes, so they survive a crash.
    """

    def __init__(self, session, limit: int = 1000) -> None:
        self.session = session
        self._undo: deque[_Entry] = deque(maxlen=limit)
        self._redo: list[_Entry] = []
        self._alias: dict[int, int] = {}  # id a mark had -> id it has now

    # -- changes ------------------------------------------------------------------------------

    def add(
        self,
        x: float,
        y: float,
        group: int,
        label: str | None = None,
        frame: int = 0,
        image: str | None = None,
    ) -> int:
        """Place a mark (see :meth:`MarkingSession.add_mark`) and return its id."""
        image = self.session.current.name if image is None else image
        same_group = self._marks(image, lambda m: m.group == group)
        mark_id = self.session.add_mark(x, y, group, label, frame, image=image)
        # a group whose maximum is 1 replaces its mark: remember it, to put it back on undo
        now = self.session.mark_records(image)
        replaced = [(i, m) for i, m in same_group if i not in now]
        self._push(
            _Entry("add", image, int(frame), added=[(mark_id, now[mark_id])], removed=replaced)
        )
        return mark_id

    def remove(self, mark_ids, image: str | None = None) -> None:
        """Delete the marks ``mark_ids`` of ``image`` (default the current one), as one
        action."""
        mark_ids = [int(i) for i in mark_ids]
        if not mark_ids:
            return
        marks = self._lookup(mark_ids, image)
        for mark_id, _ in marks:
            self.session.remove_mark(mark_id)
        first = marks[0][1]
        self._push(_Entry("remove", first.image, first.frame, removed=marks))

    def move(self, mark_id: int, x: float, y: float, image: str | None = None) -> None:
        """Move a mark of ``image`` (default the current one) to column ``x``, row ``y``."""
        self.move_many({mark_id: (x, y)}, image)

    def move_many(
        self, positions: dict[int, tuple[float, float]], image: str | None = None
    ) -> None:
        """Move several marks of ``image`` at once (one action); ``positions`` maps
        id -> (x, y)."""
        if not positions:
            return
        marks = dict(self._lookup(list(positions), image))
        moved = {}
        for mark_id, (x, y) in positions.items():
            self.session.move_mark(int(mark_id), x, y)
            old = marks[int(mark_id)]
            moved[int(mark_id)] = ((old.x, old.y), (float(x), float(y)))
        first = next(iter(marks.values()))
        self._push(_Entry("move", first.image, first.frame, moved=moved))

    def relabel(self, mark_id: int, label: str | None, image: str | None = None) -> None:
        """Set the own label of a mark of ``image`` (``""`` or None: none)."""
        [(old_id, old)] = self._lookup([mark_id], image)
        label = label or ""
        if label == old.label:
            return
        self.session.set_label(old_id, label)
        self._push(_Entry("label", old.image, old.frame, relabelled={old_id: (old.label, label)}))

    # -- undo / redo --------------------------------------------------------------------------

    @property
    def can_redo(self) -> bool:
        return bool(self._redo)

    def undo_target(self) -> tuple[str, int] | None:
        """``(image, frame)`` the next :meth:`undo` changes, or None if nothing to undo."""
        return (self._undo[-1].image, self._undo[-1].frame) if self._undo else None

    def redo_target(self) -> tuple[str, int] | None:
        """``(image, frame)`` the next :meth:`redo` changes, or None if nothing to redo."""
        return (self._redo[-1].image, self._redo[-1].frame) if self._redo else None

    def undo_action(self) -> str | None:
        """What the next :meth:`undo` reverses (``"add"``, ``"remove"``, ``"move"``,
        ``"label"``), or None."""
        return self._undo[-1].what if self._undo else None

    def redo_action(self) -> str | None:
        """What the next :meth:`redo` makes again, or None."""
        return self._redo[-1].what if self._redo else None

    def undo(self) -> str | None:
        """Reverse the last action; return what it was (``"add"``, ...), None if none."""
        if not self._undo:
            return None
        entry = self._undo.pop()
        self._apply(entry, reverse=True)
        self._redo.append(entry)
        return entry.what

    def redo(self) -> str | None:
        """Make the last undone action again; return what it was, None if none."""
        if not self._redo:
            return None
        entry = self._redo.pop()
        self._apply(entry, reverse=False)
        self._undo.append(entry)
        return entry.what

    def clear(self) -> None:
        """Forget every action."""
        self._undo.clear()
        self._redo.clear()
        self._alias.clear()

    # -- internals ----------------------------------------------------------------------------

    def _push(self, entry: _Entry) -> None:
        self._undo.append(entry)
        self._redo.clear()

    def _apply(self, entry: _Entry, reverse: bool) -> None:
        gone, back = (entry.added, entry.removed) if reverse else (entry.removed, entry.added)
        present = self._ids(entry.image)
        for mark_id, _ in gone:
            current = self._resolve(mark_id)
            if current in present:
                self.session.remove_mark(current)
        for mark_id, mark in back:
            new_id = self.session.add_mark(
                mark.x, mark.y, mark.group, mark.label, mark.frame, image=mark.image
            )
            self._alias[mark_id] = new_id
        for mark_id, (before, after) in entry.moved.items():
            x, y = before if reverse else after
            self.session.move_mark(self._resolve(mark_id), x, y)
        for mark_id, (before, after) in entry.relabelled.items():
            self.session.set_label(self._resolve(mark_id), before if reverse else after)

    def _resolve(self, mark_id: int) -> int:
        while mark_id in self._alias:
            mark_id = self._alias[mark_id]
        return mark_id

    def _marks(self, image: str, keep=lambda m: True) -> list[IdMark]:
        return [(i, m) for i, m in self.session.mark_records(image).items() if keep(m)]

    def _ids(self, image: str) -> set[int]:
        return set(self.session.mark_records(image))

    def _lookup(self, mark_ids: list[int], image: str | None) -> list[IdMark]:
        """The marks ``mark_ids`` of ``image`` (KeyError naming a missing one)."""
        image = self.session.current.name if image is None else image
        found = self.session.mark_records(image)
        missing = [i for i in mark_ids if int(i) not in found]
        if missing:
            raise KeyError(f"{image} has no mark with id {missing[0]}")
        return [(int(i), found[int(i)]) for i in mark_ids]

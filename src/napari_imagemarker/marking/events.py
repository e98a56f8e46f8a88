"""What a marking session tells its listeners and callers: events, the current image, errors.

These are public through :mod:`napari_imagemarker.marking.session`; they live here so that the
session's parts (navigation, changes) can use them without importing the session itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

__all__ = [
    "CurrentImage",
    "GroupFullError",
    "ImageSkippedWarning",
    "NoImageListError",
    "OthersFilesWarning",
    "SessionEvent",
    "record_events",
]


class GroupFullError(ValueError):
    """The image already holds the maximum number of marks of that group."""


class NoImageListError(ValueError):
    """A session opened without images in a save folder that does not say which images
    its user scans. ``save_dir`` and ``user`` say where and whose."""

    def __init__(self, save_dir, user: str) -> None:
        self.save_dir, self.user = save_dir, user
        super().__init__(
            f"{save_dir}: no image list saved for user {user!r}; pass images= (a folder, "
            "glob, list file or list of paths)"
        )


class ImageSkippedWarning(UserWarning):
    """An image in the list is missing or unreadable and is skipped."""


class OthersFilesWarning(UserWarning):
    """A new session starts in a save folder that holds other users' files and none of its
    user's: perhaps the user name is not the one meant (the message names the others)."""


class CurrentImage(NamedTuple):
    """The image a session is on."""

    index: int  #: 0-based position in the session's order
    name: str  #: file name (how marks and Image Marker name the image)
    path: Path


@dataclass(frozen=True)
class SessionEvent:
    """What changed, passed to the callbacks registered with
    :meth:`~napari_imagemarker.MarkingSession.connect`.

    Attributes
    ----------
    type : str
        ``"navigated"`` (current image changed), ``"mark_added"``, ``"mark_removed"``,
        ``"mark_moved"``, ``"mark_relabelled"``, ``"image_changed"`` (seen, categories,
        comment, favourite or "nothing here" of ``image``), ``"names_changed"`` (group or
        category names, group maxima, group colours), ``"display_changed"`` (the display
        settings saved with the session, in ``data["display"]``), ``"image_skipped"``
        (``data["reason"]``), ``"closed"``.
    image : str or None
        File name of the image concerned.
    index : int or None
        Its position in the session's order.
    mark_id : int or None
        The mark concerned (for ``mark_*`` events).
    data : dict
        Details: for ``mark_added`` the mark's columns, and ``replaced`` (ids removed because
        the group allows one mark); for ``mark_moved`` the new ``x, y, ra, dec``; for
        ``image_changed`` and ``names_changed`` the fields set.
    """

    type: str
    image: str | None = None
    index: int | None = None
    mark_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


_MARK_FIELDS = ("frame", "group", "label", "x", "y", "ra", "dec")
_NOT_FIELDS = frozenset({"seq", "op", "image", "add_seconds"})


def record_events(record: dict[str, Any], image: str | None, index: int | None) -> list:
    """The events that announce a committed journal ``record`` about ``image`` (the image
    of the mark, for mark records) at position ``index`` of the session's order."""
    op = record["op"]
    if op == "add":
        data = {k: record[k] for k in _MARK_FIELDS}
        data["replaced"] = replaced = list(record.get("replaces", ()))
        removed = [SessionEvent("mark_removed", image, index, old) for old in replaced]
        return [*removed, SessionEvent("mark_added", image, index, record["id"], data)]
    if op == "remove":
        return [SessionEvent("mark_removed", image, index, record["id"])]
    if op == "move":
        data = {k: record[k] for k in ("x", "y", "ra", "dec")}
        return [SessionEvent("mark_moved", image, index, record["id"], data)]
    if op == "label":
        data = {"label": record["label"]}
        return [SessionEvent("mark_relabelled", image, index, record["id"], data)]
    fields = {k: v for k, v in record.items() if k not in _NOT_FIELDS}
    if op == "image":  # time spent alone (on close) is not announced
        return [SessionEvent("image_changed", image, index, data=fields)] if fields else []
    if set(fields) == {"display"}:
        return [SessionEvent("display_changed", data=fields)]
    return [SessionEvent("names_changed", data=fields)]

"""The scanning session: an image list, marks, categories, comments and favourites that are
never lost.

:class:`MarkingSession` is plain Python (no Qt, no napari): the napari dock, scripts and tests
drive the same object. Positions follow DESIGN.md: ``x`` = 0-based column and ``y`` = 0-based
row of the array as :func:`napari_imagemarker.read_frame` returns it; RA/Dec are
``wcs.pixel_to_world_values(x, y)`` of that frame (exact, unlike Image Marker's, which is one
pixel off in y).

Saving
------
Every method that changes something returns only after the change is on disk: it is appended
as one checksummed JSON line to a journal and fsynced (about 0.2 ms on a local SSD, whatever
the number of marks). The journal is compacted into two snapshot files, replaced atomically,
every ``snapshot_every`` changes (in a background thread) and on :meth:`~MarkingSession.close`.
Files in ``save_dir`` for user ``<user>``:

``<user>_marks.ecsv``
    Every mark (the marks schema plus an ``id`` column); read it with
    :func:`~napari_imagemarker.read_marks` or :meth:`astropy.table.Table.read`.
``<user>_images.ecsv``
    Per image: seen, categories, comment, favourite, seconds, "nothing here", path.
``.imagemarker/<user>/journal-*.jsonl``, ``.imagemarker/<user>.lock``
    The journal since the last snapshot, and the writer's lock.
``<user>_marks.csv``, ``<user>_images.csv``, ``<user>_favorites.csv``, ``<user>_config.txt``
    Image Marker's files in its exact layout (:func:`~napari_imagemarker.io.imgmarker.
    write_savedir`), for its users' scripts. Rewriting them costs time proportional to the
    number of marks, so they are rewritten at well-defined moments, in a background thread:
    after every :meth:`~MarkingSession.next` / :meth:`~MarkingSession.previous` /
    :meth:`~MarkingSession.goto`, ``mirror_delay`` seconds after the last change (at most
    ``10 * mirror_delay`` seconds behind while changes keep coming), and synchronously on
    :meth:`~MarkingSession.flush` and :meth:`~MarkingSession.close`. They are copies: after
    a crash they may be a few seconds behind, and the next session rewrites them.
"""

from __future__ import annotations

import gc
import getpass
import os
import threading
import time
import warnings
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple

from ._journal import Journal, read_journal
from ._lock import SessionLock, SessionLockedError
from ._session_imgmarker import check_max as _check_max
from ._session_imgmarker import has_imgmarker_files, import_saved, read_imgmarker
from ._session_store import (
    IMAGE_COLUMNS,
    ImageState,
    SessionState,
    finite,
    images_snapshot,
    load_snapshots,
    marks_snapshot,
)
from ._session_worker import Worker
from .imagelist import resolve_images, shuffled
from .io._files import atomic_write
from .io.imgmarker import (
    N_CATEGORIES,
    _check_names,  # Image Marker's rule for names, and its message
)
from .io.marks_schema import N_GROUPS

__all__ = [
    "N_CATEGORIES",
    "CurrentImage",
    "GroupFullError",
    "ImageSkippedWarning",
    "ImageState",
    "MarkingSession",
    "SessionEvent",
    "SessionLockedError",
]


class GroupFullError(ValueError):
    """The image already holds the maximum number of marks of that group."""


class ImageSkippedWarning(UserWarning):
    """An image in the list is missing or unreadable and is skipped."""


class CurrentImage(NamedTuple):
    """The image a session is on."""

    index: int  #: 0-based position in the session's order
    name: str  #: file name (how marks and Image Marker name the image)
    path: Path


@dataclass(frozen=True)
class SessionEvent:
    """What changed, passed to the callbacks registered with :meth:`MarkingSession.connect`.

    Attributes
    ----------
    type : str
        ``"navigated"`` (current image changed), ``"mark_added"``, ``"mark_removed"``,
        ``"mark_moved"``, ``"mark_relabelled"``, ``"image_changed"`` (seen, categories,
        comment, favourite or "nothing here" of ``image``), ``"names_changed"`` (group or
        category names, group maxima), ``"image_skipped"`` (``data["reason"]``), ``"closed"``.
    image : str or None
        File name of the image concerned.
    index : int or None
        Its position in the session's order.
    mark_id : int or None
        The mark concerned (for ``mark_*`` events).
    data : dict
        Details: for ``mark_added`` the mark's columns, and ``replaced`` (ids removed because
        the group allows one mark); for ``image_changed`` the fields set.
    """

    type: str
    image: str | None = None
    index: int | None = None
    mark_id: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def _check_user(user: str) -> str:
    user = str(user).strip()
    if not user or user.startswith(".") or any(c in user for c in '/\\:*?"<>|'):
        raise ValueError(
            f"user {user!r} cannot be part of a file name: use letters, digits, '-' or '_'"
        )
    return user


def _nothing_to_scan(images, paths: Sequence[Path]) -> str:
    """The error for an image list without any file to scan: where we looked, and for what."""
    from .io.images import IMAGE_SUFFIXES

    if paths:
        first = os.path.abspath(paths[0])
        return f"none of the {len(paths)} images exist (the first: {first})"
    if not isinstance(images, (str, os.PathLike)):
        return "no images to scan: the list of images is empty"
    where = os.path.abspath(os.path.expanduser(os.fspath(images)))
    if os.path.isfile(where):
        return f"{where}: no images to scan: the list file names none"
    return (
        f"{where}: no images to scan (looked for files ending in "
        f"{', '.join(IMAGE_SUFFIXES)}, in upper or lower case)"
    )


class MarkingSession:
    """A marking campaign over a list of images for one user, saved as it goes.

    Parameters
    ----------
    images : folder, glob, text file, sequence of paths, or None
        A folder (its FITS, TIFF, PNG and JPEG files in natural order: ``img2`` before
        ``img10``), a glob pattern, a text file listing one path per line, or a list of paths
        (order kept). ``None`` resumes the list of the last session in ``save_dir`` (or, for
        an Image Marker save folder, its configured image folder).
    save_dir : path-like
        Folder for the session files (created if missing). Several users may share it.
    user : str, optional
        Whose session; default the login name. Files are named ``<user>_...``.
    groups : sequence of 9 str, optional
        Group names (default ``"1"`` ... ``"9"``, or the saved names). No commas.
    categories : sequence of 5 str, optional
        Category names (default ``"1"`` ... ``"5"``, or the saved names). No commas or ``+``.
    shuffle_seed : int, optional
        Scan in a pseudo-random order fixed by this seed (see
        :func:`napari_imagemarker.imagelist.shuffled`): the same on every machine and version,
        unlike Image Marker's. Default: the saved seed, else natural/list order.
    group_max : sequence of 9 (int or None), optional
        Most marks of each group per image; ``1`` means a new mark *replaces* the old one,
        ``None`` (default) means no limit.
    read_only : bool
        Open without the lock and without writing anything; changing methods raise.
    snapshot_every : int
        Compact the journal into the snapshot files after this many changes.
    mirror : bool
        Keep Image Marker's files (``<user>_marks.csv`` ...) current.
    mirror_delay : float
        Seconds without changes after which Image Marker's files are rewritten.

    Raises
    ------
    SessionLockedError
        Another live process has this user's session in ``save_dir`` open for writing.
    ValueError
        No readable image, a bad argument, or damaged session files (the message names the
        file).

    Notes
    -----
    Resuming: the session opens on the first image in its order that is not *seen*. An image
    becomes seen when the session moves away from it (:meth:`next`, :meth:`previous`,
    :meth:`goto`) or by :meth:`mark_nothing`. Missing files are reported (a
    :class:`ImageSkippedWarning`, :attr:`problems`) and left out of the order; unreadable
    files are reported and skipped when navigation reaches them. Their saved marks and state
    are kept.

    Opening a folder written by Image Marker (``<user>_marks.csv`` etc. and no
    ``<user>_marks.ecsv``) imports its marks (converted from its display pixels to ours),
    group and category names, group maxima, categories, comments, favourites and seen images.
    """

    def __init__(
        self,
        images: str | os.PathLike | Sequence[str | os.PathLike] | None,
        save_dir: str | os.PathLike,
        user: str | None = None,
        groups: Sequence[str] | None = None,
        categories: Sequence[str] | None = None,
        shuffle_seed: int | None = None,
        *,
        group_max: Sequence[int | None] | None = None,
        read_only: bool = False,
        snapshot_every: int = 2000,
        mirror: bool = True,
        mirror_delay: float = 2.0,
    ) -> None:
        self.save_dir = Path(save_dir).expanduser().absolute()
        self.user = _check_user(user if user is not None else getpass.getuser())
        self.read_only = bool(read_only)
        self.snapshot_every = max(1, int(snapshot_every))
        self.mirror_delay = float(mirror_delay)
        self._mirror_enabled = bool(mirror) and not self.read_only
        self._callbacks: list[Callable[[SessionEvent], Any]] = []
        self._problems: list[str] = []
        self._frames_cache: OrderedDict[str, list] = OrderedDict()
        self._frames_guard = threading.Lock()  # image_frames() may run in a reader thread
        # Guards state, journal and position between callers' threads and the worker; a
        # change holds it from its checks through its commit (see _change).
        self._lock = threading.RLock()
        self._events: list[SessionEvent] | None = None  # of the change in progress
        self._closed = False
        self._journal: Journal | None = None
        self._worker: Worker | None = None
        self._mirror_index = None

        meta_dir = self.save_dir / ".imagemarker"
        self._journal_dir = meta_dir / self.user
        self._marks_path = self.save_dir / f"{self.user}_marks.ecsv"
        self._images_path = self.save_dir / f"{self.user}_images.ecsv"
        self._file_lock = SessionLock(
            meta_dir / f"{self.user}.lock", f"the session of user {self.user!r} in {self.save_dir}"
        )
        if not self.read_only:
            self.save_dir.mkdir(parents=True, exist_ok=True)
            self._file_lock.acquire()
        try:
            self._open(images, groups, categories, shuffle_seed, group_max)
        except BaseException:
            if self._worker is not None:
                self._worker.stop()
            if self._journal is not None:
                self._journal.close()
            self._file_lock.release()
            raise

    # -- opening ------------------------------------------------------------------------------

    def _open(self, images, groups, categories, shuffle_seed, group_max) -> None:
        # A reader (read_only) may race the writer's compaction, which replaces the snapshots
        # and then deletes the journal they cover: load again if a snapshot changed meanwhile.
        for _ in range(5):
            before = self._snapshot_ids()
            state, replayed = self._load()
            if self._snapshot_ids() == before:
                break
        self._state = state
        self._file_seq = [state.marks_seq, state.images_seq]
        has_native = state.seq > 0 or self._marks_path.exists()

        imported = None
        if not has_native and has_imgmarker_files(self.save_dir, self.user):
            imported = read_imgmarker(self.save_dir, self.user, images)
            for problem in imported["saved"].problems:
                self._report(problem)
        if images is None:
            if state.paths:
                images = state.paths
            elif imported is not None and imported.get("paths"):
                images = imported["paths"]
            else:
                raise ValueError(
                    f"{self.save_dir}: no image list saved for user {self.user!r}; "
                    "pass images= (a folder, glob, list file or list of paths)"
                )
        paths = resolve_images(images)
        if imported is not None:
            import_saved(state, imported["saved"])

        changes: dict[str, Any] = {}
        if groups is not None and list(groups) != state.groups:
            changes["groups"] = _check_names(groups, N_GROUPS, "groups", ",")
        if categories is not None and list(categories) != state.categories:
            changes["categories"] = _check_names(categories, N_CATEGORIES, "categories", ",+")
        if group_max is not None and _check_max(group_max) != state.group_max:
            changes["group_max"] = _check_max(group_max)
        if shuffle_seed is not None and shuffle_seed != state.seed:
            changes["seed"] = int(shuffle_seed)
        path_strings = [os.path.abspath(p) for p in paths]
        if path_strings != state.paths:
            changes["paths"] = path_strings

        missing = [p for p in paths if not os.path.isfile(p)]
        if missing:
            shown = ", ".join(str(p) for p in missing[:5]) + (" ..." if len(missing) > 5 else "")
            self._report(f"{len(missing)} image(s) not found and skipped: {shown}")
        present = [p for p in paths if p not in set(missing)] if missing else list(paths)
        if not present:
            raise ValueError(_nothing_to_scan(images, paths))

        if not self.read_only:
            self._journal = Journal(self._journal_dir, state.seq)
            if imported is not None:
                self._write_snapshots()
            if changes:
                self._commit({"op": "config", **changes})
            self._worker = Worker(self)
            if replayed >= self.snapshot_every:
                self._worker.request_snapshot()
            if self._mirror_enabled and (replayed or imported is not None):
                # the last session may have ended before its mirror was current
                self._worker.request_mirror()
        elif changes:
            state._apply_config(changes)

        seed = changes.get("seed", state.seed)
        self._order = shuffled(present, seed) if seed is not None else present
        self._position = {p.name: i for i, p in enumerate(self._order)}
        self._pos = -1
        self._entered = time.monotonic()
        first = next(
            (i for i, p in enumerate(self._order) if not self._image_state(p.name).seen),
            len(self._order) - 1,
        )
        with self._change(writable=False) as events:
            landed = self._land(first, +1) or self._land(first, -1)
        if landed is None:
            reason = next(e.data["reason"] for e in events if e.type == "image_skipped")
            raise ValueError(
                f"none of the {len(self._order)} images can be read; the first: {reason}"
            )

    def _snapshot_ids(self) -> tuple:
        ids = []
        for path in (self._marks_path, self._images_path):
            try:
                st = path.stat()
                ids.append((st.st_ino, st.st_mtime_ns))
            except FileNotFoundError:
                ids.append(None)
        return tuple(ids)

    def _load(self) -> tuple[SessionState, int]:
        """State from the snapshot files and the journal; and how many records were replayed."""
        state = SessionState()
        gc_enabled = gc.isenabled()
        gc.disable()  # bulk-creating 100,000 marks: collections would only slow it down
        try:
            load_snapshots(state, self._marks_path, self._images_path)
        finally:
            if gc_enabled:
                gc.enable()
        replayed = 0
        for record in read_journal(
            self._journal_dir, after=min(state.marks_seq, state.images_seq)
        ):
            state.apply(record)
            replayed += 1
        return state, replayed

    # -- durable changes ----------------------------------------------------------------------

    def _check_writable(self) -> None:
        if self._closed:
            raise RuntimeError(f"the session of user {self.user!r} in {self.save_dir} is closed")
        if self.read_only:
            raise RuntimeError("this session was opened with read_only=True")

    @contextmanager
    def _change(self, writable: bool = True) -> Iterator[list[SessionEvent]]:
        """Hold the lock for one change, from its checks through its commit, and collect its
        events; they are emitted after the lock is released (a callback may block, e.g. on
        a GUI thread, without holding up the others). Changes may nest."""
        outer, events = False, []
        try:
            with self._lock:
                if self._events is None:
                    outer, self._events = True, events
                try:
                    if writable:
                        self._check_writable()
                    elif self._closed:
                        raise RuntimeError(
                            f"the session of user {self.user!r} in {self.save_dir} is closed"
                        )
                    yield self._events
                finally:
                    if outer:
                        self._events = None
        finally:  # also after an error: what was committed before it is announced
            for event in events if outer else ():
                self._emit(event)

    def _commit(self, record: dict[str, Any]) -> None:
        """Journal ``record`` (durably) and apply it; the caller emits the event."""
        assert self._journal is not None
        with self._lock:
            record["seq"] = self._journal.append(record)
            self._state.apply(record)
        if self._worker is not None:
            self._worker.touched(changed=True)

    def _write_snapshots(self) -> None:
        """Compact now: snapshots of the current state, then drop the journal they cover."""
        with self._lock:
            assert self._journal is not None
            self._journal.rotate()
            copy = self._state_copy()
            seq = self._journal.seq
        self._write_snapshot_files(copy, seq)

    def _state_copy(self) -> tuple[SessionState, list[str]]:
        state = self._state
        copy = SessionState()
        copy.__dict__.update(state.__dict__)
        copy.marks = dict(state.marks)
        copy.images = dict(state.images)
        copy.by_image = {}
        return copy, list(state.paths)

    def _write_snapshot_files(self, copy: tuple[SessionState, list[str]], seq: int) -> None:
        state, paths = copy
        # A file whose part of the state did not change since it was written stays: the
        # replay filter only needs "no change of its kind after its seq" (browsing 100,000
        # marks must not rewrite them on close).
        if state.marks_last > self._file_seq[0] or not self._marks_path.exists():
            atomic_write(self._marks_path, marks_snapshot(state, state.marks, seq))
            self._file_seq[0] = seq
        if state.images_last > self._file_seq[1] or not self._images_path.exists():
            atomic_write(self._images_path, images_snapshot(state, state.images, paths, seq))
            self._file_seq[1] = seq
        assert self._journal is not None
        self._journal.drop_through(seq)

    def _write_mirror(self) -> None:
        """Rewrite Image Marker's files from the current state."""
        from .io.image_index import ImageIndex
        from .io.imgmarker import write_savedir

        with self._lock:
            state, _ = self._state_copy()
        state.by_image = {}  # the copy's own index, built outside the lock
        for mark_id, mark in state.marks.items():
            state.by_image.setdefault(mark.image, []).append(mark_id)
        marks = state.marks_table()
        images = self._images_table(state, mirror=True)
        image_dir = str(self._order[0].parent) if self._order else None
        if self._mirror_index is None:  # reads each image's header once per session
            self._mirror_index = ImageIndex([str(p) for p in self._order])
        write_savedir(
            self.save_dir,
            self.user,
            marks,
            images,
            state.groups,
            state.categories,
            group_max=state.group_max,
            randomize_order=state.seed is not None,
            image_dir=image_dir,
            image_paths=self._mirror_index,
            unresolved=state.unresolved,
        )

    # -- navigation ---------------------------------------------------------------------------

    @property
    def current(self) -> CurrentImage:
        """The image the session is on: ``(index, name, path)``."""
        path = self._order[self._pos]
        return CurrentImage(self._pos, path.name, path)

    @property
    def paths(self) -> list[Path]:
        """Every image in the session's order (missing files left out)."""
        return list(self._order)

    def __len__(self) -> int:
        return len(self._order)

    @property
    def frames(self) -> list:
        """Frames of the current image (:class:`~napari_imagemarker.io.frames.FrameInfo`,
        from headers only)."""
        return self._frames(self._order[self._pos])

    def image_frames(self, image: int | str | os.PathLike | None = None) -> list:
        """Frames of an image of the session (default the current one), from headers only.

        Cached, and safe to call from another thread: a viewer reads the next image's
        headers ahead of time this way, so that :meth:`next` finds them ready.

        Parameters
        ----------
        image : int, str or path-like, optional
            Position in the session's order, or file name or path.
        """
        if image is None:
            path = self._order[self._pos]
        elif isinstance(image, int):
            path = self._order[image]
        else:
            path = self._path_of(Path(image).name)
        return self._frames(path)

    def next(self) -> CurrentImage:
        """Mark the current image seen and move to the next readable one.

        On the last image, it is marked seen and the session stays there.
        """
        return self._move(self._pos + 1, +1)

    def previous(self) -> CurrentImage:
        """Mark the current image seen and move to the previous readable one."""
        return self._move(self._pos - 1, -1)

    def goto(self, image: int | str | os.PathLike) -> CurrentImage:
        """Mark the current image seen and move to ``image``.

        Parameters
        ----------
        image : int, str or path-like
            0-based position in the session's order (negative counts from the end), or the
            file name or path of an image in the session.

        Raises
        ------
        IndexError, KeyError
            No such position or image. If the image cannot be read it is reported and the
            session moves on to the next readable image.
        """
        if isinstance(image, int):
            if not -len(self._order) <= image < len(self._order):
                raise IndexError(f"image {image} is out of range (0-{len(self._order) - 1})")
            target = image % len(self._order)
        else:
            name = Path(image).name
            if name not in self._position:
                raise KeyError(f"{name!r} is not one of the images of this session")
            target = self._position[name]
        return self._move(target, +1)

    def _move(self, target: int, step: int) -> CurrentImage:
        with self._change(writable=False) as events:
            if target == self._pos:
                return self.current
            left = self._order[self._pos]
            seconds = time.monotonic() - self._entered
            if not self.read_only:
                self._commit(
                    {"op": "image", "image": left.name, "seen": True, "add_seconds": seconds}
                )
                index = self._position[left.name]
                events.append(SessionEvent("image_changed", left.name, index, data={"seen": True}))
            if 0 <= target < len(self._order):
                self._land(target, step)
            self._entered = time.monotonic()
            current = self.current
        if self._worker is not None and self._mirror_enabled:
            self._worker.request_mirror(soon=True)
        return current

    def _land(self, target: int, step: int) -> CurrentImage | None:
        """Make the first readable image from ``target`` in direction ``step`` current."""
        assert self._events is not None  # called inside a change
        events = self._events
        i = target
        while 0 <= i < len(self._order):
            path = self._order[i]
            try:
                self._frames(path)
            except (OSError, ValueError) as exc:
                self._report(f"{path}: skipped: {exc}")
                events.append(
                    SessionEvent("image_skipped", path.name, i, data={"reason": str(exc)})
                )
                i += step
                continue
            self._pos = i
            events.append(SessionEvent("navigated", path.name, i))
            return self.current
        return None

    def _frames(self, path: Path) -> list:
        with self._frames_guard:
            cached = self._frames_cache.get(path.name)
            if cached is not None:
                self._frames_cache.move_to_end(path.name)
                return cached
        from .io.images import image_frames

        frames = image_frames(path)  # outside the lock: two threads may both read a header
        if not frames:
            raise ValueError(f"{path}: has no image data")
        with self._frames_guard:
            self._frames_cache[path.name] = frames
            self._frames_cache.move_to_end(path.name)
            if len(self._frames_cache) > 64:
                self._frames_cache.popitem(last=False)
        return frames

    def _path_of(self, name: str) -> Path:
        if name in self._position:
            return self._order[self._position[name]]
        for p in self._state.paths:
            if Path(p).name == name:
                return Path(p)
        raise KeyError(f"{name!r} is not one of the images of this session")

    # -- marks --------------------------------------------------------------------------------

    def add_mark(
        self,
        x: float,
        y: float,
        group: int,
        label: str | None = None,
        frame: int = 0,
        *,
        image: str | os.PathLike | None = None,
    ) -> int:
        """Place a mark and return its id once it is saved.

        Parameters
        ----------
        x, y : float
            0-based column and row of the frame's array as
            :func:`~napari_imagemarker.read_frame` returns it (napari's data coordinates
            ``(y, x)``). Must lie on the image (within half a pixel of its edge pixels).
        group : int
            1-9.
        label : str, optional
            Own text; by default none (``""``: shown as the group's name).
        frame : int
            Frame of the image (TIFF page, FITS image extension).
        image : str or path-like, optional
            File name or path of an image of the session; default the current image.

        Returns
        -------
        int
            The mark's id, unique in this session, never reused.

        Raises
        ------
        GroupFullError
            The group's maximum (greater than 1) is reached on this image. With a maximum of
            1 the new mark replaces the old one instead (the event lists ``replaced``).
        ValueError
            Bad group, frame or position.
        """
        self._check_writable()
        group = self._check_group(group)
        name = self.current.name if image is None else Path(image).name
        path = self._path_of(name)
        info, wcs = self._frame_info(path, frame)
        x, y = finite(x), finite(y)
        if not (-0.5 <= x < info.width - 0.5 and -0.5 <= y < info.height - 0.5):
            raise ValueError(
                f"({x}, {y}) is outside {name} frame {frame} ({info.width} x {info.height} pixels)"
            )
        ra, dec = self._sky(wcs, x, y)
        # From the group check to the commit under the lock: two threads must neither get
        # the same id nor both pass a group's maximum.
        with self._change() as events:
            same = [
                i
                for i in self._state.by_image.get(name, ())
                if self._state.marks[i].group == group
            ]
            limit = self._state.group_max[group - 1]
            replaces: list[int] = []
            if limit == 1:
                replaces = same
            elif limit is not None and len(same) >= limit:
                group_name = self._state.groups[group - 1]
                raise GroupFullError(
                    f"{name} already has {len(same)} mark(s) of group {group_name!r} "
                    f"(maximum {limit})"
                )
            mark_id = self._state.next_id
            record = {
                "op": "add",
                "id": mark_id,
                "image": name,
                "frame": int(frame),
                "group": group,
                "label": "" if label is None else str(label),
                "x": x,
                "y": y,
                "ra": ra,
                "dec": dec,
                "user": self.user,
                "time": _now(),
            }
            if replaces:
                record["replaces"] = replaces
            self._commit(record)
            data = {k: record[k] for k in ("frame", "group", "label", "x", "y", "ra", "dec")}
            data["replaced"] = list(replaces)
            index = self._position.get(name)
            events.extend(SessionEvent("mark_removed", name, index, old) for old in replaces)
            events.append(SessionEvent("mark_added", name, index, mark_id, data))
        return mark_id

    def remove_mark(self, mark_id: int) -> None:
        """Delete mark ``mark_id`` (KeyError if there is none)."""
        with self._change() as events:
            mark = self._mark(mark_id)
            self._commit({"op": "remove", "id": int(mark_id)})
            index = self._position.get(mark.image)
            events.append(SessionEvent("mark_removed", mark.image, index, mark_id))

    def move_mark(self, mark_id: int, x: float, y: float) -> None:
        """Move mark ``mark_id`` to column ``x``, row ``y`` (0-based, see :meth:`add_mark`);
        its RA/Dec are recomputed."""
        self._check_writable()
        mark = self._mark(mark_id)
        info, wcs = self._frame_info(self._path_of(mark.image), mark.frame)
        x, y = finite(x), finite(y)
        if not (-0.5 <= x < info.width - 0.5 and -0.5 <= y < info.height - 0.5):
            raise ValueError(f"({x}, {y}) is outside {mark.image} frame {mark.frame}")
        ra, dec = self._sky(wcs, x, y)
        record = {"op": "move", "id": int(mark_id), "x": x, "y": y, "ra": ra, "dec": dec}
        with self._change() as events:
            self._mark(mark_id)  # still there
            self._commit({**record, "time": _now()})
            index = self._position.get(mark.image)
            data = {"x": x, "y": y, "ra": ra, "dec": dec}
            events.append(SessionEvent("mark_moved", mark.image, index, mark_id, data))

    def set_label(self, mark_id: int, label: str | None) -> None:
        """Set the own text of mark ``mark_id`` (``None`` or ``""``: none, show the group)."""
        label = "" if label is None else str(label)
        with self._change() as events:
            mark = self._mark(mark_id)
            self._commit({"op": "label", "id": int(mark_id), "label": label, "time": _now()})
            index = self._position.get(mark.image)
            data = {"label": label}
            events.append(SessionEvent("mark_relabelled", mark.image, index, mark_id, data))

    def _mark(self, mark_id: int):
        try:
            return self._state.marks[int(mark_id)]
        except (KeyError, TypeError, ValueError):
            raise KeyError(f"no mark with id {mark_id!r}") from None

    def _check_group(self, group: int) -> int:
        if isinstance(group, bool) or int(group) != group or not 1 <= group <= N_GROUPS:
            raise ValueError(f"group must be 1-{N_GROUPS}, got {group!r}")
        return int(group)

    def _frame_info(self, path: Path, frame: int):
        from .io.image_index import frame_wcs

        frames = self._frames(path)
        if isinstance(frame, bool) or int(frame) != frame or not 0 <= frame < len(frames):
            raise ValueError(f"{path.name} has {len(frames)} frame(s); no frame {frame!r}")
        return frames[int(frame)], frame_wcs(frames, int(frame))

    @staticmethod
    def _sky(wcs, x: float, y: float) -> tuple[float, float]:
        from .wcs import pixel_to_sky

        ra, dec = pixel_to_sky(wcs, x, y)
        return float(ra), float(dec)

    @property
    def marks(self):
        """Every mark of this user's session, as an :class:`astropy.table.Table`.

        Columns: ``image, frame, group, label, x, y, ra, dec, user, time`` (the marks schema
        of DESIGN.md; x/y 0-based column/row, RA/Dec in degrees, NaN without WCS, time ISO
        UTC) and ``id``. Rows in placement order. Built on each access (O(number of marks));
        use :meth:`image_marks` for one image.
        """
        with self._lock:
            return self._state.marks_table()

    def image_marks(self, image: str | os.PathLike | None = None):
        """The marks of one image (default the current one), same columns as :attr:`marks`."""
        name = self.current.name if image is None else Path(image).name
        with self._lock:
            return self._state.marks_table(self._state.by_image.get(name, ()))

    # -- per-image state ----------------------------------------------------------------------

    def _image_state(self, name: str) -> ImageState:
        return self._state.images.get(name, ImageState())

    def image_state(self, image: str | os.PathLike | None = None) -> ImageState:
        """What is recorded about one image (default the current one), in O(1).

        Returns
        -------
        ImageState
            Named tuple: ``seen``, ``categories`` (1-based numbers), ``comment``,
            ``favorite``, ``seconds``, ``nothing``.
        """
        name = self.current.name if image is None else Path(image).name
        return self._image_state(name)

    def _set_image(self, image, **fields) -> None:
        with self._change() as events:
            name = self.current.name if image is None else Path(image).name
            self._path_of(name)
            self._commit({"op": "image", "image": name, **fields})
            events.append(
                SessionEvent("image_changed", name, self._position.get(name), data=fields)
            )

    def set_categories(
        self, categories: Iterable[int | str], image: str | os.PathLike | None = None
    ) -> None:
        """Set which categories apply to the image (default the current one).

        Parameters
        ----------
        categories : iterable of int or str
            Category numbers (1-5) or current names; replaces the previous set. Empty: none.
        """
        with self._change():  # names read and change written as one
            self._set_image(image, categories=self._category_numbers(categories))

    def _category_numbers(self, categories: Iterable[int | str]) -> list[int]:
        numbers = set()
        for c in categories:
            if isinstance(c, str):
                if c not in self._state.categories:
                    raise ValueError(f"no category named {c!r} (have {self._state.categories})")
                numbers.add(self._state.categories.index(c) + 1)
            elif isinstance(c, bool) or int(c) != c or not 1 <= c <= N_CATEGORIES:
                raise ValueError(f"category must be 1-{N_CATEGORIES} or a name, got {c!r}")
            else:
                numbers.add(int(c))
        return sorted(numbers)

    def toggle_category(self, category: int | str, image=None) -> bool:
        """Switch one category on or off; return whether it is now on."""
        with self._change():  # read and write as one change
            name = self.current.name if image is None else Path(image).name
            number = (
                self._state.categories.index(category) + 1
                if isinstance(category, str)
                else category
            )
            current = set(self._image_state(name).categories)
            current ^= {number}
            self.set_categories(current, name)
        return number in current

    def set_comment(self, text: str | None, image: str | os.PathLike | None = None) -> None:
        """Set the image's comment (``None`` or ``""`` clears it)."""
        self._set_image(image, comment="" if text is None else str(text))

    def set_favorite(self, favorite: bool = True, image: str | os.PathLike | None = None) -> None:
        """Mark the image (default the current one) as a favourite or not."""
        self._set_image(image, favorite=bool(favorite))

    def mark_nothing(self, image: str | os.PathLike | None = None) -> None:
        """Record "seen, nothing here" for the image (default the current one).

        Raises
        ------
        ValueError
            The image has marks (remove them first).
        """
        with self._change():
            name = self.current.name if image is None else Path(image).name
            n = len(self._state.by_image.get(name, ()))
            if n:
                raise ValueError(f"{name} has {n} mark(s); remove them before marking it empty")
            self._set_image(name, seen=True, nothing=True)

    @property
    def images(self):
        """Per-image state as an :class:`astropy.table.Table`, one row per image in the
        session's order (then images with saved state that are no longer in the list).

        Columns: ``image`` (file name), ``seen`` (bool), ``categories`` (names joined by
        ``"+"``, as Image Marker writes them), ``comment``, ``favorite`` (bool), ``seconds``
        (time spent on the image), ``nothing`` ("seen, nothing here" and no marks).
        """
        with self._lock:
            return self._images_table(self._state)

    def _images_table(self, state: SessionState, mirror: bool = False):
        import numpy as np
        from astropy.table import Table

        names = [p.name for p in self._order]
        names += [n for n in state.images if n not in self._position]
        rows = []
        for name in names:
            s = state.images.get(name, ImageState())
            cats = "+".join(state.categories[c - 1] for c in s.categories)
            nothing = s.nothing and not state.by_image.get(name)
            seen = s.seen
            if mirror:  # Image Marker drops unseen images: keep anything recorded
                seen = seen or s != ImageState(seconds=s.seconds)
            rows.append((name, seen, cats, s.comment, s.favorite, s.seconds, nothing))
        dtypes = ("U", bool, "U", "U", bool, np.float64, bool)
        columns = {
            col: np.array([r[k] for r in rows], dtype=dt) if rows else np.zeros(0, dtype=dt)
            for k, (col, dt) in enumerate(zip(IMAGE_COLUMNS, dtypes, strict=True))
        }
        if mirror:
            columns["path"] = np.array(
                [str(self._order[self._position[n]]) if n in self._position else "" for n in names]
            )
        return Table(columns)

    @property
    def n_seen(self) -> int:
        """How many images of the session's order are seen."""
        return sum(1 for p in self._order if self._image_state(p.name).seen)

    # -- names --------------------------------------------------------------------------------

    @property
    def groups(self) -> tuple[str, ...]:
        """The 9 group names (group ``g`` is ``groups[g - 1]``)."""
        return tuple(self._state.groups)

    @property
    def categories(self) -> tuple[str, ...]:
        """The 5 category names (category ``c`` is ``categories[c - 1]``)."""
        return tuple(self._state.categories)

    @property
    def group_max(self) -> tuple[int | None, ...]:
        """Most marks per image of each group (None: no limit; 1: a new mark replaces)."""
        return tuple(self._state.group_max)

    @property
    def group_colors(self) -> tuple[str, ...]:
        """Colours of groups 1-9 (Image Marker's: red, orange, yellow, green, cyan, ...)."""
        return tuple(self._state.group_colors)

    @property
    def shuffle_seed(self) -> int | None:
        """The seed of the order, or None for natural/list order."""
        return self._state.seed

    def rename_group(self, group: int, name: str) -> None:
        """Rename group ``group`` (1-9). Marks without own label show the new name."""
        with self._change():
            names = list(self._state.groups)
            names[self._check_group(group) - 1] = name
            self._config(groups=_check_names(names, N_GROUPS, "groups", ","))

    def rename_category(self, category: int, name: str) -> None:
        """Rename category ``category`` (1-5)."""
        if isinstance(category, bool) or not 1 <= int(category) <= N_CATEGORIES:
            raise ValueError(f"category must be 1-{N_CATEGORIES}, got {category!r}")
        with self._change():
            names = list(self._state.categories)
            names[int(category) - 1] = name
            self._config(categories=_check_names(names, N_CATEGORIES, "categories", ",+"))

    def set_group_max(self, group: int, maximum: int | None) -> None:
        """Set the most marks of ``group`` per image (None: no limit; 1: replace)."""
        with self._change():
            values = list(self._state.group_max)
            values[self._check_group(group) - 1] = maximum
            self._config(group_max=_check_max(values))

    def set_group_color(self, group: int, color: str) -> None:
        """Set the colour of ``group`` (1-9) as ``"#rrggbb"``; Image Marker's files do not
        store colours, ours do."""
        text = str(color).strip().lower()
        if len(text) != 7 or text[0] != "#" or any(c not in "0123456789abcdef" for c in text[1:]):
            raise ValueError(f"colour must be written #rrggbb, got {color!r}")
        with self._change():
            colors = list(self._state.group_colors)
            colors[self._check_group(group) - 1] = text
            self._config(group_colors=colors)

    def _config(self, **changes) -> None:
        with self._change() as events:
            self._commit({"op": "config", **changes})
            events.append(SessionEvent("names_changed", data=changes))

    # -- events -------------------------------------------------------------------------------

    def connect(self, callback: Callable[[SessionEvent], Any]) -> Callable[[SessionEvent], Any]:
        """Call ``callback(event)`` after every change and navigation (see
        :class:`SessionEvent`). Callbacks run in the thread that made the change, after it
        is saved; an exception in a callback propagates to that caller. Returns
        ``callback``, so this works as a decorator."""
        self._callbacks.append(callback)
        return callback

    def disconnect(self, callback: Callable[[SessionEvent], Any]) -> None:
        """Stop calling ``callback``."""
        self._callbacks.remove(callback)

    def _emit(self, event: SessionEvent) -> None:
        for callback in list(self._callbacks):
            callback(event)

    # -- problems, saving, closing ------------------------------------------------------------

    @property
    def problems(self) -> list[str]:
        """Messages about images that were missing or unreadable and about background saves
        that failed (each was also issued as a warning)."""
        return list(self._problems)

    def _report(self, message: str) -> None:
        self._problems.append(message)
        warnings.warn(message, ImageSkippedWarning, stacklevel=3)

    def flush(self) -> None:
        """Write the snapshots and Image Marker's files now (every change is already durable
        in the journal; this makes the other files current, e.g. before copying them)."""
        self._check_writable()
        if self._worker is not None:
            self._worker.pause()
        try:
            self._write_snapshots()
            if self._mirror_enabled:
                self._write_mirror()
        finally:
            if self._worker is not None:
                self._worker.resume()

    def close(self) -> None:
        """Save the time spent on the current image, write the snapshots and Image Marker's
        files, and release the lock. Safe to call twice."""
        if self._closed:
            return
        if self._worker is not None:
            self._worker.stop()  # not under the lock: its job may be waiting for it
        with self._lock:  # changes of other threads come before, or find it closed
            if self._closed:
                return
            try:
                if not self.read_only:
                    seconds = time.monotonic() - self._entered
                    record = {"op": "image", "image": self.current.name, "add_seconds": seconds}
                    self._commit(record)
                    self._write_snapshots()
                    if self._mirror_enabled:
                        self._write_mirror()
            finally:
                self._closed = True
                if self._journal is not None:
                    self._journal.close()
                self._file_lock.release()
        self._emit(SessionEvent("closed"))

    def __enter__(self) -> MarkingSession:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"on {self.current.name!r}"
        return (
            f"<MarkingSession user={self.user!r} save_dir={str(self.save_dir)!r} "
            f"{len(self._order)} images, {len(self._state.marks)} marks, {state}>"
        )

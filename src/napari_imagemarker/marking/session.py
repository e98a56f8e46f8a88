"""The scanning session: an image list, marks, categories, comments and favourites that are
never lost.

:class:`MarkingSession` is plain Python (no Qt, no napari): the napari dock, scripts and tests
drive the same object. Positions follow DESIGN.md: ``x`` = 0-based column and ``y`` = 0-based
row of the array as :func:`napari_imagemarker.read_frame` returns it; RA/Dec are
``wcs.pixel_to_world_values(x, y)`` of that frame (exact, unlike Image Marker's, which is one
pixel off in y).

Every method that changes something returns only after the change is on disk: one
checksummed journal line, fsynced. Snapshots of the state and Image Marker's files are
rewritten from time to time in a background thread (:mod:`~napari_imagemarker.marking.store`
lists the files and says when each is written). A session may be called from several
threads: each change holds the session's lock from its checks through its commit, so ids stay
unique and group maxima hold; callbacks run after the lock is released, in the thread that
made the change.

This module is the front. Behind it: :mod:`~napari_imagemarker.marking.state` (the state and
the records that change it), :mod:`~napari_imagemarker.marking.store` (snapshots, journal,
lock), :mod:`~napari_imagemarker.marking.navigation` (order, current image, headers),
:mod:`~napari_imagemarker.marking.names` (checks of names and numbers),
:mod:`~napari_imagemarker.marking.imgmarker_mirror` (Image Marker's folders, both ways),
:mod:`~napari_imagemarker.marking.events` and :mod:`~napari_imagemarker.marking.writer`
(the background thread).
"""

from __future__ import annotations

import getpass
import json
import operator
import os
import time
import warnings
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from napari_imagemarker.display import DisplaySettings
from napari_imagemarker.files import check_text
from napari_imagemarker.images.lists import resolve_images, shuffled
from napari_imagemarker.imgmarker.config import N_CATEGORIES
from napari_imagemarker.marking.events import (
    CurrentImage,
    GroupFullError,
    ImageSkippedWarning,
    NoImageListError,
    OthersFilesWarning,
    SessionEvent,
    record_events,
)
from napari_imagemarker.marking.imgmarker_mirror import (
    Mirror,
    has_imgmarker_files,
    import_record,
    read_imgmarker,
    read_settings,
    settings_config,
)
from napari_imagemarker.marking.journal import DataLossWarning
from napari_imagemarker.marking.lock import SessionLockedError
from napari_imagemarker.marking.names import (
    category_numbers,
    check_category,
    check_category_names,
    check_color,
    check_group,
    check_group_names,
    check_max,
    check_user,
    opening_changes,
)
from napari_imagemarker.marking.navigation import Navigator, nothing_to_scan
from napari_imagemarker.marking.repeats import (
    RepeatPass,
    open_repeats,
    repeat_changes,
    repeats_saved,
)
from napari_imagemarker.marking.state import ImageState, Mark, SessionState, images_table
from napari_imagemarker.marking.store import SessionStore
from napari_imagemarker.marking.writer import Worker

__all__ = [
    "N_CATEGORIES",
    "CurrentImage",
    "DataLossWarning",
    "GroupFullError",
    "ImageSkippedWarning",
    "ImageState",
    "MarkingSession",
    "NoImageListError",
    "OthersFilesWarning",
    "SessionEvent",
    "SessionLockedError",
]


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


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
    categories : sequence of str, optional
        Category names, 1 to 9 of them (default ``"1"`` ... ``"5"`` as in Image Marker, or
        the saved names). No commas or ``+``.
    shuffle_seed : int, optional
        Scan in a pseudo-random order fixed by this seed (see
        :func:`napari_imagemarker.images.lists.shuffled`): the same on every machine and version,
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
    repeats : float, optional
        Fraction of the images (0-1: Image Marker's "percentage of dataset to duplicate"
        / 100) shown a second time later in the scan, looking new: the marks, categories,
        comment and favourite of the first look are hidden, and what is done on the repeat
        is kept apart (:attr:`repeat_marks`, :attr:`repeat_images`; ``repeats/`` in
        ``save_dir``; marks labelled ``DUPLICATE`` in Image Marker's files). See
        :mod:`napari_imagemarker.marking.repeats`. Default: the saved value, else none.
        ``0`` turns repeats off from now on: none is shown any more, and the repeats done
        stay in the files.
    repeat_seed : int, optional
        Fixes which images are repeated and where. Default: the saved seed, else a new one
        (saved with the session).
    settings_from : str, optional
        For a user new to ``save_dir``: take the settings (group and category names, group
        maxima, left-click group, random order) from this user's ``<user>_config.txt`` in
        ``save_dir``, e.g. the one a colleague copied there. Arguments given here win.

    Raises
    ------
    SessionLockedError
        Another live process has this user's session in ``save_dir`` open for writing.
    NoImageListError
        ``images`` is None and nothing in ``save_dir`` says which images to scan (a
        ValueError).
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
    categories, comments, favourites and seen images, and the settings of
    ``<user>_config.txt``: group and category names, group maxima, the left-click group and
    ``randomize_order`` (a seed is drawn once and kept, so the order survives reopening). A
    ``<user>_config.txt`` alone is read the same way. From then on Image Marker's files are
    rewritten from the session, the config with these settings.
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
        repeats: float | None = None,
        repeat_seed: int | None = None,
        settings_from: str | None = None,
    ) -> None:
        self.save_dir = Path(save_dir).expanduser().absolute()
        self.user = check_user(user if user is not None else getpass.getuser())
        self.read_only = bool(read_only)
        self.snapshot_every = max(1, int(snapshot_every))
        self.mirror_delay = float(mirror_delay)
        self._mirror_enabled = bool(mirror) and not self.read_only
        self._mirror: Mirror | None = None
        self._callbacks: list[Callable[[SessionEvent], Any]] = []
        self._problems: list[str] = []
        self._events: list[SessionEvent] | None = None  # of the change in progress
        self._closed = False
        self._worker: Worker | None = None
        self._repeats: RepeatPass | None = None
        self._store = SessionStore(self.save_dir, self.user, self.read_only)
        # Guards state, journal and position between callers' threads and the worker.
        self._lock = self._store.lock
        self._store.open()
        try:
            repeat = (repeats, repeat_seed)
            self._open(images, groups, categories, shuffle_seed, group_max, repeat, settings_from)
        except BaseException:
            if self._worker is not None:
                self._worker.stop()
            if self._repeats is not None:
                self._repeats.store.close()
            self._store.close()
            raise

    def _open(
        self, images, groups, categories, shuffle_seed, group_max, repeat, settings_from
    ) -> None:
        store, state = self._store, self._store.state
        self._problems.extend(store.new_losses)  # each was warned as the files were read
        earlier = [m for m in store.losses if m not in store.new_losses]
        if earlier:  # reported on every open: a loss never becomes silent
            self._problems.extend(earlier)
            warnings.warn(
                f"{self.save_dir}: {len(earlier)} earlier loss(es) of data in the files of "
                f"user {self.user!r} (see MarkingSession.problems); the first: {earlier[0]}",
                DataLossWarning,
                stacklevel=3,
            )
        imported = settings = None
        if store.is_new and has_imgmarker_files(self.save_dir, self.user):
            imported = read_imgmarker(self.save_dir, self.user, images)
            for problem in imported["saved"].problems:
                self._report(problem)
        elif store.is_new and settings_from is not None:
            source = check_user(settings_from)
            settings = read_settings(self.save_dir, source)
            if settings is None:
                raise ValueError(
                    f"{self.save_dir / (source + '_config.txt')}: no such file, so its "
                    "settings cannot be used"
                )
        if images is None:
            if state.paths:
                images = state.paths
            elif imported is not None and imported.get("paths"):
                images = imported["paths"]
            else:
                raise NoImageListError(self.save_dir, self.user)
        if store.is_new and imported is None and settings is None and not self.read_only:
            self._warn_of_others()
        paths = resolve_images(images)
        if imported is not None:
            # One journal record: a crash leaves all of the folder imported, or none of it
            # (and Image Marker's files untouched, to be imported again).
            record = import_record(imported["saved"])
            if self.read_only:
                state.apply_import(record)
            else:
                store.start_journal()
                store.commit(record)
        changes = opening_changes(state, groups, categories, group_max, shuffle_seed, paths)
        if settings is not None:  # a colleague's settings; the arguments given here win
            changes = {**settings_config(settings), **changes}
        repeat_config = repeat_changes(state.repeats, *repeat)
        if repeat_config is not None:
            changes["repeats"] = repeat_config
        missing = [p for p in paths if not os.path.isfile(p)]
        if missing:
            shown = ", ".join(map(str, missing[:5])) + (" ..." if len(missing) > 5 else "")
            self._report(f"{len(missing)} image(s) not found and skipped: {shown}")
        present = [p for p in paths if p not in set(missing)] if missing else list(paths)
        if not present:
            raise ValueError(nothing_to_scan(images, paths))

        if self.read_only:
            state._apply_config(changes)
        else:
            store.start_journal()
            if changes:
                store.commit({"op": "config", **changes})
        seed = state.seed
        self._nav = Navigator(
            shuffled(present, seed) if seed is not None else present, self._report
        )
        # counted once here, then kept by _commit: n_seen is O(1) for the views
        self._n_seen = sum(1 for p in self._nav.order if self._image_state(p.name).seen)
        fraction = state.repeats.get("fraction", 0) if state.repeats else 0
        if fraction > 0 or repeats_saved(self.save_dir, self.user):
            # turned off (0), the repeats done stay: in Image Marker's files, the report
            names = [p.name for p in self._nav.order]
            self._repeats = open_repeats(
                self.save_dir,
                self.user,
                self.read_only,
                self._lock,
                names,
                state.repeats or {"fraction": 0.0, "seed": 0},
                state,
            )
            self._problems.extend(self._repeats.store.losses)  # warned as they were read
        if self._mirror_enabled:
            self._mirror = Mirror(self.save_dir, self.user, self._nav.order)
        if not self.read_only:
            self._worker = Worker(
                self._store.write_snapshots,
                self._write_mirror if self._mirror_enabled else None,
                self._problems.append,
                snapshot_every=self.snapshot_every,
                mirror_delay=self.mirror_delay,
                name=f"imagemarker-save-{self.user}",
                where=str(self.save_dir),
                warm=self._warm_mirror if self._mirror_enabled else None,
            )
            if store.replayed >= self.snapshot_every:
                self._worker.request_snapshot()
            if self._mirror is not None and (
                store.replayed or imported is not None or settings is not None
            ):
                # the last session may have ended before its mirror was current
                self._worker.request_mirror()

        order = self._nav.order
        first = next(
            (i for i, p in enumerate(order) if not self._image_state(p.name).seen),
            len(order),
        )
        due = self._first_due_repeat(first)  # a repeat not shown yet comes first
        first = due[0] if due is not None else min(first, len(order) - 1)
        with self._change(writable=False) as events:
            landed = self._nav.land(first, +1, events) or self._nav.land(first, -1, events)
        if landed is None:
            reason = next(e.data["reason"] for e in events if e.type == "image_skipped")
            raise ValueError(f"none of the {len(order)} images can be read; the first: {reason}")
        if due is not None and landed.index == due[0]:
            self._repeats.shown = due[1]

    def _warn_of_others(self) -> None:
        """A new, empty session beside other users' files only: say so, never silently."""
        from napari_imagemarker.imgmarker.savedir import savedir_files

        others = [u for u in savedir_files(self.save_dir) if u != self.user]
        if others:
            warnings.warn(
                f"{self.save_dir} holds the files of {', '.join(others)} and none of user "
                f"{self.user!r}: a new, empty session of {self.user!r} starts beside them "
                f"(user={others[0]!r} resumes theirs, settings_from={others[0]!r} starts "
                "with their settings)",
                OthersFilesWarning,
                stacklevel=4,
            )

    # -- changes: lock, durability, events -----------------------------------------------------

    @property
    def _state(self) -> SessionState:
        return self._store.state

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
                    if writable or self._closed:
                        self._check_writable()
                    yield self._events
                finally:
                    if outer:
                        self._events = None
        finally:  # also after an error: what was committed before it is announced
            for event in events if outer else ():
                self._emit(event)

    def _commit(self, record: dict[str, Any], image: str | None = None) -> None:
        """Journal ``record`` durably, apply it, and queue the events that announce it
        (inside :meth:`_change`; ``image``: the image concerned, or the mark's)."""
        assert self._events is not None, "commit inside a change"
        newly_seen = (
            record.get("seen") is True
            and image in self._nav.position
            and not self._image_state(image).seen
        )
        self._store_of(record).commit(record)
        if record["op"] == "config" and self._repeats is not None:
            self._repeats.follow(record)  # the same names and maxima on repeats
        self._n_seen += newly_seen
        self._events.extend(record_events(record, image, self._nav.position.get(image)))
        if self._worker is not None:
            self._worker.touched(changed=True)

    def _write_snapshots(self) -> None:
        self._store.write_snapshots()
        if self._repeats is not None:
            self._repeats.store.write_snapshots()

    def _warm_mirror(self) -> bool:
        return self._mirror is None or self._mirror.warm(self._store.copy_state())

    def _write_mirror(self) -> None:
        if self._mirror is not None:
            repeats = self._repeats.store.copy_state() if self._repeats is not None else None
            for problem in self._mirror.write(self._store.copy_state(), repeats):
                if problem not in self._problems:  # once per session, not per rewrite
                    self._report(problem)

    # -- navigation ---------------------------------------------------------------------------

    @property
    def current(self) -> CurrentImage:
        """The image the session is on: ``(index, name, path)``. On a repeat: the image
        repeated, with the index of the image it follows."""
        r = self._repeats
        if r is not None and r.shown is not None:
            return CurrentImage(self._nav.pos, r.shown, self._nav.path_of(r.shown))
        return self._nav.current

    @property
    def paths(self) -> list[Path]:
        """Every image in the session's order (missing files left out)."""
        return list(self._nav.order)

    def __len__(self) -> int:
        return len(self._nav.order)

    @property
    def frames(self) -> list:
        """Frames of the current image (:class:`~napari_imagemarker.images.frames.FrameInfo`,
        from headers only)."""
        return self._nav.frames(self.current.path)

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
            path = self.current.path
        elif isinstance(image, int):
            path = self._nav.order[image]
        else:
            path = self._path_of(Path(image).name)
        return self._nav.frames(path)

    def next(self) -> CurrentImage:
        """Mark the current image seen and move to the next readable one.

        On the last image, it is marked seen and the session stays there.
        """
        return self._move(lambda: self._nav.pos + 1, +1)

    def previous(self) -> CurrentImage:
        """Mark the current image seen and move to the previous readable one."""
        return self._move(lambda: self._nav.pos - 1, -1)

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
        return self._move(lambda: self._nav.index_of(image), +1)

    def _move(self, target: Callable[[], int], step: int) -> CurrentImage:
        def leave(name: str, seconds: float) -> None:  # the image left becomes seen
            if not self.read_only:
                record = {"op": "image", "image": name, "seen": True, "add_seconds": seconds}
                self._commit(record, name)

        with self._change(writable=False) as events:
            if self._repeats is None:
                current = self._nav.move(target(), step, leave, events)
            else:
                current = self._move_with_repeats(self._repeats, target(), step, leave, events)
        if self._worker is not None and self._mirror is not None:
            self._worker.request_mirror(soon=True)
        return current

    # -- repeats ------------------------------------------------------------------------------

    def _pending_repeats(self, after: int, start: str | None = None) -> list[str]:
        """Repeats due after position ``after`` whose image is seen, not shown yet."""
        return self._repeats.pending(after, lambda n: self._image_state(n).seen, start)

    def _first_due_repeat(self, first_unseen: int) -> tuple[int, str] | None:
        """``(after, name)`` of the first repeat due before ``first_unseen`` not shown yet
        (where a resumed session starts), or None."""
        if self._repeats is None:
            return None
        for after in sorted(self._repeats.schedule):
            if after >= first_unseen:
                break
            due = self._pending_repeats(after)
            if due:
                return after, due[0]
        return None

    def _move_with_repeats(self, r: RepeatPass, target: int, step: int, leave, events):
        """Move like ``Navigator.move``, showing the repeats due after an image when going
        forward one image at a time (Next). Going back or to an image skips them."""
        nav = self._nav
        forward = step > 0 and target == nav.pos + 1
        if r.shown is not None:
            name = r.shown
            leave(name, time.monotonic() - r.entered)  # seen, in the repeats' store
            following = self._pending_repeats(nav.pos, start=name) if forward else []
            if forward and not following and nav.pos + 1 >= len(nav.order):
                r.entered = time.monotonic()  # the last of all: stay, like on the last image
                return self.current
            r.shown = None
            nav.entered = time.monotonic()
            if following:
                return self._show_repeat(r, following[0], events)
            if forward:
                target = nav.pos + 1
            elif step < 0 and target == nav.pos - 1:  # Previous: the image shown before
                target = nav.pos
            if target == nav.pos or not nav.land(target, step, events):
                events.append(SessionEvent("navigated", nav.current.name, nav.pos))
            return nav.current
        if not forward:
            return nav.move(target, step, leave, events)
        here = nav.pos
        leave(nav.current.name, time.monotonic() - nav.entered)
        nav.entered = time.monotonic()
        due = self._pending_repeats(here)
        if due:
            return self._show_repeat(r, due[0], events)
        if here + 1 < len(nav.order):
            nav.land(here + 1, +1, events)
        return nav.current

    def _show_repeat(self, r: RepeatPass, name: str, events: list) -> CurrentImage:
        r.shown = name
        r.entered = time.monotonic()
        current = self.current
        events.append(SessionEvent("navigated", name, current.index))
        return current

    def _target(self, name: str) -> SessionStore:
        """Where changes to image ``name`` go: the repeats' store while its repeat is
        shown, else the session's."""
        r = self._repeats
        return r.store if r is not None and r.shown == name else self._store

    def _store_of(self, record: dict[str, Any]) -> SessionStore:
        """The store a journal record goes to (mark records by their id)."""
        r = self._repeats
        if r is not None and record["op"] in ("remove", "move", "label"):
            return r.store if r.owns(record["id"]) else self._store
        if record["op"] in ("add", "image"):
            return self._target(record["image"])
        return self._store

    @property
    def on_repeat(self) -> bool:
        """Whether the image shown is a repeat (for scripts and tests: the dock does not
        tell the person marking)."""
        return self._repeats is not None and self._repeats.shown is not None

    @property
    def repeats(self) -> float:
        """Fraction of the images shown a second time (0: none)."""
        config = self._state.repeats
        return float(config["fraction"]) if config else 0.0

    @property
    def repeat_seed(self) -> int | None:
        """The seed that fixes which images are repeated and where (None: no repeats)."""
        config = self._state.repeats
        return int(config["seed"]) if config else None

    @property
    def repeat_marks(self):
        """Marks placed on repeats, same columns as :attr:`marks` (ids from 1,000,000,000
        on); empty without repeats."""
        with self._lock:
            if self._repeats is None:
                return self._state.marks_table([])
            return self._repeats.store.state.marks_table()

    @property
    def repeat_images(self):
        """What was recorded on repeats, one row per repeated image seen again, in the
        order they are due; same columns as :attr:`images`."""
        with self._lock:
            r = self._repeats
            if r is None:
                return images_table(SessionState(), [])
            state = r.store.state
            names = [n for after in sorted(r.schedule) for n in r.schedule[after]]
            shown = [self._nav.path_of(n) for n in names if n in state.images]
            return images_table(state, shown)

    def _path_of(self, name: str) -> Path:
        return self._nav.path_of(name, self._state.paths)

    def _name(self, image: str | os.PathLike | None) -> str:
        return self.current.name if image is None else Path(image).name

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
        group = check_group(group)
        name = self._name(image)
        ra, dec = self._sky(name, frame, x, y)
        x, y = float(x), float(y)
        label = "" if label is None else check_text(label, "label")
        # From the group check to the commit under the lock: two threads must neither get
        # the same id nor both pass a group's maximum.
        with self._change():
            state = self._target(name).state  # the repeats' while a repeat is shown
            replaces = state.replaced_by(name, group)  # or GroupFullError
            mark_id = state.next_id
            record = {"op": "add", "id": mark_id, "image": name, "frame": int(frame)}
            record.update(group=group, label=label, x=x, y=y, ra=ra, dec=dec, user=self.user)
            record["time"] = _now()
            if replaces:
                record["replaces"] = replaces
            self._commit(record, name)
        return mark_id

    def remove_mark(self, mark_id: int) -> None:
        """Delete mark ``mark_id`` (KeyError if there is none)."""
        with self._change():
            self._commit({"op": "remove", "id": int(mark_id)}, self._mark(mark_id).image)

    def move_mark(self, mark_id: int, x: float, y: float) -> None:
        """Move mark ``mark_id`` to column ``x``, row ``y`` (0-based, see :meth:`add_mark`);
        its RA/Dec are recomputed."""
        self._check_writable()
        mark = self._mark(mark_id)
        ra, dec = self._sky(mark.image, mark.frame, x, y)
        record = dict(op="move", id=int(mark_id), x=float(x), y=float(y), ra=ra, dec=dec)
        with self._change():
            self._mark(mark_id)  # still there
            self._commit({**record, "time": _now()}, mark.image)

    def set_label(self, mark_id: int, label: str | None) -> None:
        """Set the own text of mark ``mark_id`` (``None`` or ``""``: none, show the group)."""
        label = "" if label is None else check_text(label, "label")
        with self._change():
            record = {"op": "label", "id": int(mark_id), "label": label, "time": _now()}
            self._commit(record, self._mark(mark_id).image)

    def _mark(self, mark_id: int):
        r = self._repeats
        try:
            store = r.store if r is not None and r.owns(mark_id) else self._store
            return store.state.marks[int(mark_id)]
        except (KeyError, TypeError, ValueError):
            raise KeyError(f"no mark with id {mark_id!r}") from None

    def _sky(self, name: str, frame: int, x: float, y: float) -> tuple[float, float]:
        return self._nav.sky(self._path_of(name), frame, x, y)

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
        name = self._name(image)
        with self._lock:
            state = self._target(name).state
            return state.marks_table(state.by_image.get(name, ()))

    def mark_records(self, image: str | os.PathLike | None = None) -> dict[int, Mark]:
        """The marks of one image (default the current one) as records, by mark id.

        Each is a :class:`~napari_imagemarker.marking.state.Mark` named tuple (``image``,
        ``frame``, ``group``, ``label``, ``x``, ``y`` (0-based column, row), ``ra``, ``dec``,
        ``user``, ``time``), in the order they were placed; cheaper than :meth:`image_marks`.
        While the image's repeat is shown, its repeat's marks, as :meth:`image_marks` gives.
        """
        name = self._name(image)
        with self._lock:
            state = self._target(name).state
            return {i: state.marks[i] for i in state.by_image.get(name, ())}

    def export_marks(
        self,
        path: str | os.PathLike,
        format: str | None = None,
        *,
        image: str | os.PathLike | None = None,
        frame: int | None = None,
    ) -> int:
        """Write the marks (all, or one image's) to a file; return how many were written.

        Parameters
        ----------
        path : path-like
            The file, replaced atomically.
        format : {"ecsv", "csv", "votable", "ds9"}, optional
            Default from the suffix (``.ecsv``, ``.csv``, ``.xml``/``.vot``, ``.reg``); see
            :func:`napari_imagemarker.write_marks`. x/y keep their sub-pixel values,
            0-based (``pixel_origin`` is written into the file).
        image : str or path-like, optional
            Only the marks of this image of the session. A DS9 region file holds one image:
            default the current one.
        frame : int, optional
            Only the marks of this frame (DS9: default the first frame with marks).

        Raises
        ------
        ValueError
            An unknown format, or a DS9 file without marks to write.
        """
        from napari_imagemarker.marks.io import write_marks, writing_format

        fmt = writing_format(path, format)
        table = self.marks if image is None and fmt != "ds9" else self.image_marks(image)
        if fmt == "ds9" and frame is None and len(table):
            frame = int(table["frame"][0])
        if frame is not None:
            table = table[table["frame"] == int(frame)]
        if fmt == "ds9" and not len(table):
            raise ValueError(f"{self._name(image)} has no marks to write to a DS9 region file")
        table.remove_column("id")
        write_marks(table, path, format=fmt)
        return len(table)

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
        name = self._name(image)
        return self._target(name).state.images.get(name, ImageState())

    def _set_image(self, image, **fields) -> None:
        with self._change():
            name = self._name(image)
            self._path_of(name)
            self._commit({"op": "image", "image": name, **fields}, name)

    def set_categories(
        self, categories: Iterable[int | str], image: str | os.PathLike | None = None
    ) -> None:
        """Set which categories apply to the image (default the current one).

        Parameters
        ----------
        categories : iterable of int or str
            Category numbers (1 to the number of categories) or current names; replaces the
            previous set. Empty: none.
        """
        with self._change():  # names read and change written as one
            numbers = category_numbers(categories, self._state.categories)
            self._set_image(image, categories=numbers)

    def toggle_category(self, category: int | str, image=None) -> bool:
        """Switch one category on or off; return whether it is now on."""
        with self._change():  # read and write as one change
            name = self._name(image)
            (number,) = category_numbers([category], self._state.categories)
            current = set(self.image_state(name).categories) ^ {number}
            self.set_categories(current, name)
        return number in current

    def set_comment(self, text: str | None, image: str | os.PathLike | None = None) -> None:
        """Set the image's comment (``None`` or ``""`` clears it)."""
        self._set_image(image, comment="" if text is None else check_text(text, "comment"))

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
            name = self._name(image)
            n = len(self._target(name).state.by_image.get(name, ()))
            if n:
                raise ValueError(f"{name} has {n} mark(s); remove them before marking it empty.")
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
            return images_table(self._state, self._nav.order)

    @property
    def n_seen(self) -> int:
        """How many images of the session's order are seen (kept as they become seen)."""
        return self._n_seen

    # -- names --------------------------------------------------------------------------------

    @property
    def groups(self) -> tuple[str, ...]:
        """The 9 group names (group ``g`` is ``groups[g - 1]``)."""
        return tuple(self._state.groups)

    @property
    def categories(self) -> tuple[str, ...]:
        """The category names, 1 to 9 of them (category ``c`` is ``categories[c - 1]``;
        Image Marker has 5)."""
        return tuple(self._state.categories)

    @property
    def left_click_group(self) -> int:
        """The group a left click places when a viewer opens the session (1-9), Image
        Marker's ``left_click_group``; the dock's active group, kept as it changes."""
        return self._state.left_click_group

    def set_left_click_group(self, group: int) -> None:
        """Set :attr:`left_click_group` (written to Image Marker's config)."""
        group = check_group(group)
        if group != self._state.left_click_group:
            with self._change():
                self._commit({"op": "config", "left_click_group": group})

    @property
    def chosen_frame(self) -> int:
        """The frame (0-based: TIFF page, FITS image extension) chosen last, which a viewer
        shows first when it opens the session (clamped to the frames of the image; see
        :attr:`frames`)."""
        return self._state.frame

    def set_chosen_frame(self, frame: int) -> None:
        """Set :attr:`chosen_frame` (a viewer does, as the person changes frame).

        Raises
        ------
        ValueError
            ``frame`` is not a whole number >= 0.
        """
        try:
            number = -1 if isinstance(frame, bool) else operator.index(frame)
        except TypeError:
            number = -1
        if number < 0:
            raise ValueError(f"frame must be a whole number >= 0 (0 is the first), not {frame!r}")
        if number != self._state.frame:
            with self._change():
                self._commit({"op": "config", "frame": number})

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

    @property
    def display(self) -> dict[str, Any] | None:
        """The display settings saved with the session (stretch, limits, blur, colormap, as
        :meth:`napari_imagemarker.display.DisplaySettings.to_dict` writes them), or None."""
        display = self._state.display
        return None if display is None else json.loads(json.dumps(display))

    def set_display(self, settings: dict[str, Any] | None) -> None:
        """Save display settings with the session (they carry over from image to image).

        Parameters
        ----------
        settings : dict or None
            What :meth:`napari_imagemarker.display.DisplaySettings.to_dict` returns; None
            forgets them (each image then starts from the readers' default).

        Raises
        ------
        ValueError
            ``settings`` are not display settings.
        """
        if settings is not None:
            settings = DisplaySettings.from_dict(settings).to_dict()  # checked, JSON-able
        with self._change():
            self._commit({"op": "config", "display": settings})

    def rename_group(self, group: int, name: str) -> None:
        """Rename group ``group`` (1-9). Marks without own label show the new name."""
        self._set_one("groups", check_group(group), name, check_group_names)

    def rename_category(self, category: int, name: str) -> None:
        """Rename category ``category`` (1 to the number of categories)."""
        number = check_category(category, len(self._state.categories))
        self._set_one("categories", number, name, check_category_names)

    def set_category_names(self, names: Sequence[str]) -> None:
        """Set all category names at once, and so their number (1 to 9; Image Marker
        shows the first 5). Removing categories is refused while an image has them set.

        Raises
        ------
        ValueError
            A name Image Marker cannot store, a number of names outside 1-9, or a removed
            category still set on an image (the message says how many).
        """
        names = check_category_names(names)
        with self._change():
            states = [self._state.images]
            if self._repeats is not None:  # a category ticked on a repeat is set too
                states.append(self._repeats.store.state.images)
            used = [
                name
                for images in states
                for name, s in images.items()
                if any(c > len(names) for c in s.categories)
            ]
            if used:
                removed = ", ".join(repr(n) for n in self._state.categories[len(names) :])
                raise ValueError(
                    f"category {removed} is set on {len(used)} image(s), the first "
                    f"{used[0]}: untick it there before removing the category"
                )
            if names != self._state.categories:
                self._commit({"op": "config", "categories": names})

    def over_limit(self, group: int, maximum: int | None) -> dict[str, int]:
        """Images that have more marks of ``group`` than ``maximum`` (None: no limit), with
        their numbers of marks: what lowering the group's maximum would leave above it."""
        group = check_group(group)
        with self._lock:
            return self._state.over_limit(group, None if not maximum else int(maximum))

    def set_group_max(self, group: int, maximum: int | None) -> None:
        """Set the most marks of ``group`` per image (None: no limit; 1: replace)."""
        self._set_one("group_max", check_group(group), maximum, check_max)

    def set_group_color(self, group: int, color: str) -> None:
        """Set the colour of ``group`` (1-9) as ``"#rrggbb"``; Image Marker's files do not
        store colours, ours do."""
        color = check_color(color)
        self._set_one("group_colors", check_group(group), color, list)

    def _set_one(self, key: str, number: int, value, check: Callable[[list], list]) -> None:
        """Set item ``number`` (1-based) of the list ``key`` of the configuration."""
        with self._change():
            values = list(getattr(self._state, key))
            values[number - 1] = value
            self._commit({"op": "config", key: check(values)})

    # -- events -------------------------------------------------------------------------------

    def connect(self, callback: Callable[[SessionEvent], Any]) -> Callable[[SessionEvent], Any]:
        """Call ``callback(event)`` after every change and navigation (see
        :class:`SessionEvent`). Callbacks run in the thread that made the change, after it
        is saved and the session's lock is released; an exception in a callback propagates
        to that caller. Returns ``callback``, so this works as a decorator."""
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
                    r = self._repeats
                    entered = r.entered if self.on_repeat else self._nav.entered
                    name = self.current.name
                    record = {"op": "image", "image": name}
                    record["add_seconds"] = time.monotonic() - entered
                    self._store_of(record).commit(record)
                    self._write_snapshots()
                    self._write_mirror()
            finally:
                self._closed = True
                if self._repeats is not None:
                    self._repeats.store.close()
                self._store.close()
        self._emit(SessionEvent("closed"))

    def __enter__(self) -> MarkingSession:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self._closed else f"on {self.current.name!r}"
        return (
            f"<MarkingSession user={self.user!r} save_dir={str(self.save_dir)!r} "
            f"{len(self)} images, {len(self._state.marks)} marks, {state}>"
        )

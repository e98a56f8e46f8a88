"""Repeats (Image Marker's "duplicates"): images shown a second time to test a user's
consistency.

A fraction of the session's images is shown again later in the scan, looking like any new
image: the repeat starts with no marks, categories, comment or favourite. What is done on a
repeat is kept apart from the first look, in its own session files under ``repeats/`` in
the save folder (``repeats/<user>_marks.ecsv``, ``repeats/<user>_images.ecsv`` and their
journal), and written into Image Marker's files as Image Marker writes duplicates (marks
labelled ``DUPLICATE``, a second row for the image in ``<user>_images.csv``).

Which images and where is fixed by a seed and the file names (SHA-256, like
:func:`napari_imagemarker.images.lists.shuffled`): the same on every machine and version, so a
resumed session shows the repeats it had not shown yet at the same places. Unlike Image
Marker, which picks at random among images already marked while scanning (and fails when
it has fewer such images than it wants), any number of images works: ``round(fraction * N)``
images are chosen, each repeated at least :data:`MIN_GAP` images after its first look where
the list allows, and a repeat is only shown once its image has been seen.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import time
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = [
    "MIN_GAP",
    "REPEATS_DIR",
    "REPEAT_ID_START",
    "SHARED_SETTINGS",
    "RepeatPass",
    "check_fraction",
    "new_seed",
    "repeat_schedule",
    "repeats_saved",
]

#: Folder of the save folder that holds the repeats' session files.
REPEATS_DIR = "repeats"
#: Ids of marks placed on repeats start here, apart from first-look marks.
REPEAT_ID_START = 1_000_000_000
#: Images shown between an image and its repeat, where the list is long enough.
MIN_GAP = 5
#: Settings of the session that its repeats' store holds too, always the session's: group
#: and category names (written into the repeats' files), group colours and maxima (a repeat
#: is marked under the same rules as a first look).
SHARED_SETTINGS = ("groups", "group_colors", "categories", "group_max")


def check_fraction(fraction) -> float:
    """A fraction of images to repeat, 0-1 (Image Marker's percentage / 100)."""
    try:
        value = float(fraction)
    except (TypeError, ValueError):
        raise ValueError(f"repeats must be a fraction 0-1, got {fraction!r}") from None
    if not (math.isfinite(value) and 0.0 <= value <= 1.0):
        raise ValueError(f"repeats must be a fraction 0-1 (0.1 for 10%), got {fraction!r}")
    return value


def new_seed() -> int:
    """A seed for a session that did not give one (saved, so resuming keeps it)."""
    return secrets.randbelow(2**31)


def _unit(seed: int, what: str, name: str) -> bytes:
    return hashlib.sha256(f"{int(seed)}:{what}:{name}".encode()).digest()


def repeat_schedule(names: Sequence[str], fraction: float, seed: int) -> list[tuple[int, str]]:
    """Which images are shown again, and after which position.

    Parameters
    ----------
    names : sequence of str
        The session's images (file names) in scan order.
    fraction : float
        0-1; ``round(fraction * len(names))`` images are repeated.
    seed : int

    Returns
    -------
    list of (after, name)
        Show image ``name`` again right after position ``after`` of ``names`` (0-based),
        in this order. ``after`` is at least ``MIN_GAP`` past the image's own position
        where the list allows, else the last position.
    """
    n = len(names)
    k = min(n, math.floor(check_fraction(fraction) * n + 0.5))
    position = {name: i for i, name in enumerate(names)}
    chosen = sorted(names, key=lambda name: _unit(seed, "repeat", name))[:k]
    out = []
    for name in chosen:
        i = position[name]
        lo = min(i + MIN_GAP, n - 1)
        u = int.from_bytes(_unit(seed, "after", name)[:8], "big") / 2.0**64
        out.append((lo + int(u * (n - lo)), name))
    out.sort(key=lambda t: (t[0], position[t[1]]))
    return out


class RepeatPass:
    """The repeats of one user's session: the schedule, the one shown, and their store.

    Parameters
    ----------
    store : SessionStore
        Of ``save_dir / REPEATS_DIR`` for the same user, opened, sharing the session's lock.
    names : sequence of str
        The session's order.
    fraction, seed
        See :func:`repeat_schedule`.
    """

    def __init__(self, store, names: Sequence[str], fraction: float, seed: int) -> None:
        self.store = store
        state = store.state
        state.next_id = max(state.next_id, REPEAT_ID_START)
        self.schedule: dict[int, list[str]] = {}
        for after, name in repeat_schedule(names, fraction, seed):
            self.schedule.setdefault(after, []).append(name)
        self.shown: str | None = None  # image name of the repeat on screen
        self.after = -1  # position in the order the repeat follows
        self.entered = time.monotonic()

    def follow(self, settings) -> None:
        """Give the repeats' store the session's :data:`SHARED_SETTINGS` where they differ.

        Parameters
        ----------
        settings : SessionState or dict
            The session's state, or a ``config`` record the session just committed (only its
            keys in :data:`SHARED_SETTINGS` count). The change is committed to the repeats'
            journal (durable), or only applied to a read-only store.
        """
        get = settings.get if isinstance(settings, dict) else lambda k: getattr(settings, k)
        state = self.store.state
        changes = {}
        for key in SHARED_SETTINGS:
            value = get(key)
            if value is not None and list(value) != list(getattr(state, key)):
                changes[key] = list(value)
        if not changes:
            return
        if self.store.read_only:
            for key, value in changes.items():
                setattr(state, key, value)
        else:
            self.store.commit({"op": "config", **changes})

    def done(self, name: str) -> bool:
        """Whether the repeat of ``name`` was seen."""
        s = self.store.state.images.get(name)
        return s is not None and s.seen

    def pending(
        self, after: int, seen: Callable[[str], bool], start: str | None = None
    ) -> list[str]:
        """Repeats due after position ``after`` not shown yet whose image has been seen,
        in order (those after ``start`` if given)."""
        names = self.schedule.get(after, [])
        if start is not None and start in names:
            names = names[names.index(start) + 1 :]
        return [n for n in names if seen(n) and not self.done(n)]

    def owns(self, mark_id: int) -> bool:
        """Whether ``mark_id`` is the id of a mark placed on a repeat."""
        return int(mark_id) >= REPEAT_ID_START

    @staticmethod
    def folder(save_dir: Path) -> Path:
        return save_dir / REPEATS_DIR


def repeat_changes(saved: dict | None, fraction, seed) -> dict | None:
    """The ``repeats`` configuration to record on opening, or None to keep the saved one.

    Parameters
    ----------
    saved : dict or None
        ``{"fraction": f, "seed": s}`` saved by an earlier session.
    fraction, seed : as given to the session (None: keep the saved value)
    """
    if fraction is None and seed is None:
        return None
    saved = saved or {}
    value = check_fraction(fraction if fraction is not None else saved.get("fraction", 0.0))
    if seed is None:
        seed = saved.get("seed")
        if seed is None:
            seed = new_seed()
    elif isinstance(seed, bool) or int(seed) != seed:
        raise ValueError(f"repeat_seed must be an integer, got {seed!r}")
    config = {"fraction": value, "seed": int(seed)}
    return None if config == saved else config


def repeats_saved(save_dir: Path, user: str) -> bool:
    """Whether ``save_dir`` holds repeats of ``user`` (their files or journal): a session
    opens them even with repeats turned off, so that those done stay in its files."""
    folder = save_dir / REPEATS_DIR
    return (folder / f"{user}_marks.ecsv").exists() or (folder / ".imagemarker" / user).is_dir()


def open_repeats(
    save_dir: Path, user: str, read_only: bool, lock, names, config, settings
) -> RepeatPass:
    """The :class:`RepeatPass` of a session whose configuration asks for repeats, or that
    has repeats saved (a ``fraction`` of 0: none is shown, those done are kept): its store
    (``save_dir / REPEATS_DIR``) opened, sharing the session's ``lock`` and holding the
    session's ``settings`` (its state: see :meth:`RepeatPass.follow`), whatever the repeats'
    files held (earlier versions left the default names in them)."""
    from napari_imagemarker.marking.store import SessionStore

    store = SessionStore(save_dir / REPEATS_DIR, user, read_only)
    store.lock = lock  # one lock for both: a change holds it from its checks to its commit
    store.open()
    try:
        if not read_only:
            store.start_journal()
        repeats = RepeatPass(store, names, config["fraction"], config["seed"])
        repeats.follow(settings)
        return repeats
    except BaseException:
        store.close()
        raise

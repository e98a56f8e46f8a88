"""The session's background thread: journal compaction and Image Marker's files.

Both jobs take time proportional to the number of marks (about a second at 100,000 marks), so
no user action waits for them. They run in the *pauses* between a person's actions: a Python
thread doing CPU work delays the thread that marks by up to the interpreter's switch interval
(5 ms) each time that thread waits on the disk, so running them during a burst of clicks would
make those clicks slower. Hard limits keep them from being postponed forever by a person who
never pauses: the snapshot after ``10 * snapshot_every`` changes, Image Marker's files after
``10 * mirror_delay`` seconds.

Nothing is lost while a job waits: every change is already in the journal.
"""

from __future__ import annotations

import threading
import time
import warnings
from collections.abc import Callable

__all__ = ["Worker"]

#: Seconds without any call after which a pending job starts (navigation and compaction).
QUIET = 0.25


class Worker:
    """Runs the two jobs it is given when they are due, in a thread of its own.

    Parameters
    ----------
    write_snapshots : callable
        Writes the session's snapshots (and compacts the journal).
    write_mirror : callable or None
        Writes Image Marker's files; None when the session keeps none.
    report : callable
        Called with a message when a job failed (it is tried again later).
    snapshot_every : int
        Changes after which a snapshot is due.
    mirror_delay : float
        Seconds after the last change at which Image Marker's files are due.
    name : str
        The thread's name.
    where : str
        The save folder, for messages.
    warm : callable, optional
        Run in pauses until it returns True: reads ahead, a little at a time, what Image
        Marker's files need, so that writing them (when the session closes, too) does not
        wait for it.
    """

    def __init__(
        self,
        write_snapshots: Callable[[], None],
        write_mirror: Callable[[], None] | None,
        report: Callable[[str], None],
        *,
        snapshot_every: int,
        mirror_delay: float,
        name: str,
        where: str,
        warm: Callable[[], bool] | None = None,
    ) -> None:
        self._jobs = {"snapshot": write_snapshots, "mirror": write_mirror, "warm": warm}
        self._warm_asked = warm is not None
        self._report = report
        self.snapshot_every = snapshot_every
        self.mirror_delay = mirror_delay
        self.where = where
        self._cond = threading.Condition()
        self._changes = 0  # since the last snapshot
        self._snapshot_asked = False
        self._mirror_dirty = False
        self._mirror_soon = False
        self._dirty_since = 0.0
        self._last_call = time.monotonic()
        self._stop = False
        self._paused = 0
        self._busy = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._thread.start()

    # -- called by the session ------------------------------------------------------------------

    def touched(self, changed: bool) -> None:
        """A call happened (``changed``: a change was journaled)."""
        with self._cond:
            now = time.monotonic()
            self._last_call = now
            if changed:
                self._changes += 1
                if not self._mirror_dirty:
                    self._dirty_since = now
                self._mirror_dirty = True
            self._cond.notify()

    def request_snapshot(self) -> None:
        with self._cond:
            self._snapshot_asked = True
            self._cond.notify()

    def request_mirror(self, soon: bool = False) -> None:
        """Image Marker's files are stale; ``soon``: write them at the next pause (navigation)
        rather than after ``mirror_delay``."""
        with self._cond:
            if not self._mirror_dirty:
                self._dirty_since = time.monotonic()
            self._mirror_dirty = True
            self._mirror_soon = self._mirror_soon or soon
            self._cond.notify()

    # -- scheduling -----------------------------------------------------------------------------

    def _next_job(self, now: float) -> tuple[str | None, float | None]:
        """The job to run now, or (None, seconds to wait; None = until notified)."""
        quiet = min(QUIET, self.mirror_delay)
        idle_at = self._last_call + quiet
        waits = []
        if self._snapshot_asked or self._changes >= self.snapshot_every:
            if (
                self._snapshot_asked
                or now >= idle_at
                or (self._changes >= 10 * self.snapshot_every)
            ):
                return "snapshot", None
            waits.append(idle_at - now)
        if self._mirror_dirty and self._jobs["mirror"] is not None:
            due = min(
                idle_at if self._mirror_soon else self._last_call + self.mirror_delay,
                self._dirty_since + 10 * self.mirror_delay,
            )
            if now >= due:
                return "mirror", None
            waits.append(due - now)
        if self._warm_asked:
            if now >= idle_at:
                return "warm", None
            waits.append(idle_at - now)
        return None, (min(waits) if waits else None)

    def _run(self) -> None:
        while True:
            with self._cond:
                while True:
                    if self._stop:
                        return
                    job, wait = (None, None) if self._paused else self._next_job(time.monotonic())
                    if job is not None:
                        break
                    self._cond.wait(wait)
                if job == "snapshot":
                    self._snapshot_asked = False
                    self._changes = 0
                elif job == "warm":
                    self._warm_asked = False
                else:
                    self._mirror_dirty = self._mirror_soon = False
                    self._dirty_since = 0.0
                self._busy = True
            try:
                done = self._jobs[job]()
                if job == "warm" and not done:
                    with self._cond:
                        self._warm_asked = True  # more at the next pause
            except Exception as exc:  # keep going: the journal holds every change
                if job != "warm":  # a read-ahead only: writing reads what it needs
                    message = f"background save ({job}) in {self.where} failed: {exc}"
                    self._report(message)
                    warnings.warn(message, RuntimeWarning, stacklevel=1)
                with self._cond:  # try again later, not in a tight loop
                    if job == "mirror":
                        self._mirror_dirty = True
                        self._dirty_since = time.monotonic()
                    elif job == "snapshot":
                        self._changes = self.snapshot_every
                    self._last_call = time.monotonic() + 10 * self.mirror_delay
            finally:
                with self._cond:
                    self._busy = False
                    self._cond.notify_all()

    def pause(self) -> None:
        """Wait for the running job, and start no other until :meth:`resume`."""
        with self._cond:
            self._paused += 1
            while self._busy:
                self._cond.wait()

    def resume(self) -> None:
        with self._cond:
            self._paused -= 1
            self._cond.notify_all()

    def stop(self) -> None:
        """Finish the running job and end the thread (close() writes what is pending)."""
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join()

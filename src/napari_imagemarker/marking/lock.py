"""One writer per user and save folder: a lock file holding the owner's pid and host.

The lock is an ``flock`` on the file (POSIX), so the kernel releases it the moment its process
dies, even by SIGKILL: a lock left by a killed process never blocks the next open, and a
recycled pid cannot fool it. The file's text (pid, host, start time) is only there to name the
owner in the error. Where ``flock`` is missing (Windows), a lock whose pid no longer runs on
this host is taken over instead.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import time
from pathlib import Path

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

__all__ = ["SessionLock", "SessionLockedError"]

# Locks this process holds, by path: flock does conflict between two descriptors of one
# process, but the pid fallback would not, so check here first in both cases.
_HELD: set[str] = set()
_HELD_GUARD = threading.Lock()


class SessionLockedError(RuntimeError):
    """Another live process (or another session in this one) is writing this session."""


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover - another user's process
        return True
    except OSError:  # pragma: no cover - e.g. Windows semantics
        return False
    return True


class SessionLock:
    """Exclusive lock on ``path`` for one writing session.

    Parameters
    ----------
    path : path-like
        The lock file (created if missing; removed on :meth:`release`).
    what : str
        How the error names the locked thing, e.g. ``"the session of user 'ann' in /data"``.
    """

    def __init__(self, path: str | os.PathLike, what: str) -> None:
        self.path = Path(path)
        self.what = what
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock.

        Raises
        ------
        SessionLockedError
            Held by a live process; the message names its pid, host and start time.
        """
        key = str(self.path.resolve())
        with _HELD_GUARD:
            if key in _HELD:
                raise SessionLockedError(
                    f"{self.what} is already open in this process (pid {os.getpid()}); "
                    "close that MarkingSession first"
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = self._open_locked()
            try:
                info = {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                }
                os.ftruncate(fd, 0)
                os.write(fd, json.dumps(info).encode())
            except BaseException:
                os.close(fd)
                raise
            self._fd = fd
            _HELD.add(key)

    def _open_locked(self) -> int:
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                if fcntl is None:  # pragma: no cover - Windows
                    owner = self._owner()
                    if owner and (
                        owner.get("host") != socket.gethostname()
                        or _pid_alive(int(owner.get("pid", -1)))
                    ):
                        raise SessionLockedError(self._message(owner))
                    return fd
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                except OSError:
                    raise SessionLockedError(self._message(self._owner())) from None
                # The owner may have deleted the file between our open and our flock; then
                # we hold a lock on a file nobody else sees: start again.
                try:
                    if os.stat(self.path).st_ino == os.fstat(fd).st_ino:
                        return fd
                except FileNotFoundError:
                    pass
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)

    def release(self) -> None:
        """Remove the lock file and release the lock (safe to call twice)."""
        if self._fd is None:
            return
        with _HELD_GUARD:
            _HELD.discard(str(self.path.resolve()))
            # Unlink while still holding the lock, so nobody locks the file we delete.
            self.path.unlink(missing_ok=True)
            os.close(self._fd)
            self._fd = None

    def _owner(self) -> dict:
        try:
            return json.loads(self.path.read_text() or "{}")
        except (OSError, ValueError):
            return {}

    def _message(self, owner: dict) -> str:
        if owner:
            who = (
                f"process {owner.get('pid', '?')} on host {owner.get('host', '?')} "
                f"(since {owner.get('since', '?')})"
            )
        else:
            who = "another process"
        return (
            f"{self.what} is open for writing by {who}. Close it there first; "
            f"if that process no longer runs, delete {self.path}."
        )

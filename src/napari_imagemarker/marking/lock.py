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
        self._info: dict = {}
        #: What the lock file said when this lock was taken: the owner that did not release
        #: it (a process that died), or None if there was no such file.
        self.previous: dict | None = None

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
                self.previous = _read_info(fd)
                info = {
                    "pid": os.getpid(),
                    "host": socket.gethostname(),
                    "since": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
                }
                os.ftruncate(fd, 0)
                os.lseek(fd, 0, os.SEEK_SET)
                os.write(fd, json.dumps(info).encode())
            except BaseException:
                os.close(fd)
                raise
            self._fd, self._info = fd, info
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

    def peek(self) -> dict | None:
        """The lock file's text as a dict, without taking the lock (None: no such file)."""
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError:
            return None
        try:
            return _read_info(fd)
        finally:
            os.close(fd)

    def note(self, **info) -> None:
        """Add ``info`` to the text of the lock file (what the next owner reads as
        :attr:`previous` if this process dies holding the lock)."""
        if self._fd is None:
            return
        self._info.update(info)
        text = json.dumps(self._info).encode()
        os.ftruncate(self._fd, 0)
        os.lseek(self._fd, 0, os.SEEK_SET)
        os.write(self._fd, text)

    def release(self) -> None:
        """Remove the lock file and release the lock (safe to call twice). The lock is
        released even if the file cannot be removed (e.g. the folder became read-only):
        the file then stays, and names no live owner."""
        if self._fd is None:
            return
        with _HELD_GUARD:
            _HELD.discard(str(self.path.resolve()))
            try:
                # Unlink while still holding the lock, so nobody locks the file we delete.
                self.path.unlink(missing_ok=True)
            except OSError:
                pass
            finally:
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


def _read_info(fd: int) -> dict | None:
    """The JSON text of an open lock file, or None when it is empty or not such text."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        data = os.read(fd, 4096)
        info = json.loads(data) if data else None
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) else None

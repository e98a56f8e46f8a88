"""The marking session's append-only journal of changes.

The journal is a folder of *segments*, ``journal-<first seq>.jsonl``. Each line is one change::

    <crc32 of the JSON, 8 hex digits> <JSON object with "seq" and "op">\\n

A change is durable when :meth:`Journal.append` returns: the line was written with one
``os.write`` to a file opened ``O_APPEND`` and then ``fdatasync``'ed. A process killed while
writing leaves at most one incomplete or unchecksummed *last* line in its segment; readers
ignore it (that change had not returned, so nobody was told it was saved). Every process that
writes starts a new segment, so it never appends behind such a torn line.

Snapshots (see :mod:`napari_imagemarker.marking.store`), replaced atomically with
:func:`napari_imagemarker.files.atomic_write`, carry the sequence number they
include; segments whose records are all in a durable snapshot are deleted afterwards, so any
crash point leaves the records needed to rebuild the state, and replay skips those a snapshot
already holds. That is what makes every returned change present exactly once.
"""

from __future__ import annotations

import itertools
import json
import os
import re
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from napari_imagemarker.files import fsync_folder as fsync_dir  # one for every writer

__all__ = ["Journal", "read_journal"]

_SEGMENT = re.compile(r"^journal-(\d{12})\.jsonl$")
# fdatasync flushes the data and the file size (all a reader needs); macOS and Windows lack it.
_datasync = getattr(os, "fdatasync", os.fsync)


def _encode(record: dict[str, Any]) -> bytes:
    body = json.dumps(record, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return b"%08x %s\n" % (zlib.crc32(body), body)


def _segments(folder: Path) -> list[tuple[int, Path]]:
    if not folder.is_dir():
        return []
    found = []
    for entry in os.scandir(folder):
        match = _SEGMENT.match(entry.name)
        if match:
            found.append((int(match.group(1)), Path(entry.path)))
    return sorted(found)


def _read_segment(path: Path) -> Iterator[dict[str, Any]]:
    data = path.read_bytes()
    lines = data.split(b"\n")
    # After split, the last element is b"" when the file ends with a newline; anything else is
    # a line whose write was cut short by a kill: that change never returned, so drop it.
    complete, tail = lines[:-1], lines[-1]
    for number, line in enumerate(complete, start=1):
        record = _decode(line)
        if record is None:
            if number == len(complete) and not tail:
                break  # torn last line (e.g. zero-filled after a power cut): never returned
            warnings.warn(
                f"{path}: line {number} is damaged and was skipped", RuntimeWarning, stacklevel=3
            )
            continue
        yield record


def _decode(line: bytes) -> dict[str, Any] | None:
    if len(line) < 10 or line[8:9] != b" ":
        return None
    body = line[9:]
    try:
        if int(line[:8], 16) != zlib.crc32(body):
            return None
        record = json.loads(body)
    except ValueError:
        return None
    if not isinstance(record, dict) or not isinstance(record.get("seq"), int):
        return None
    return record


def read_journal(folder: str | os.PathLike, after: int = 0) -> Iterator[dict[str, Any]]:
    """Yield the intact records of every segment in ``folder``, in sequence order.

    Parameters
    ----------
    folder : path-like
        The journal folder.
    after : int
        Skip records with ``seq <= after`` (already in a snapshot).

    Yields
    ------
    dict
        One change, with at least ``seq`` and ``op``. Sequence numbers strictly increase;
        a record that repeats an earlier number is skipped.
    """
    last = after
    for _, path in _segments(Path(folder)):
        for record in _read_segment(path):
            if record["seq"] > last:
                last = record["seq"]
                yield record


class Journal:
    """Appends change records durably to the newest segment of a journal folder.

    Parameters
    ----------
    folder : path-like
        Created if missing.
    last_seq : int
        The highest sequence number already used (from the snapshots and the replay).
    """

    def __init__(self, folder: str | os.PathLike, last_seq: int) -> None:
        self.folder = Path(folder)
        self.seq = last_seq
        self._fd: int | None = None

    def append(self, record: dict[str, Any]) -> int:
        """Give ``record`` the next sequence number, write it and fsync it.

        Returns
        -------
        int
            The record's sequence number. When this returns, the record survives a kill of the
            process (and, on a disk that honours fsync, a power cut).
        """
        if self._fd is None:
            self._open_segment(self.seq + 1)
        seq = self.seq + 1
        line = _encode({"seq": seq, **record})
        assert self._fd is not None
        written = os.write(self._fd, line)
        if written != len(line):  # pragma: no cover - a short write on a regular file: disk full
            raise OSError(f"{self.folder}: could not write the journal (disk full?)")
        _datasync(self._fd)
        self.seq = seq
        return seq

    def rotate(self) -> None:
        """Close the current segment; the next append starts a new one."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    def drop_through(self, seq: int) -> None:
        """Delete closed segments whose records all have a sequence number <= ``seq``.

        Call only once a snapshot holding every change up to ``seq`` is durable.
        """
        segments = _segments(self.folder)
        removed = False
        for (_, path), following in itertools.pairwise(segments):
            # A segment ends where the next begins, so it holds only records < next first.
            if following[0] <= seq + 1:
                path.unlink(missing_ok=True)
                removed = True
        if segments and segments[-1][0] <= seq:
            # The newest segment is fully covered too (on close(), or after a rotation that
            # no append has followed yet). The segment open for appending always starts
            # after the snapshot's seq, because snapshots rotate first.
            last_path = segments[-1][1]
            if all(r["seq"] <= seq for r in _read_segment(last_path)):
                last_path.unlink(missing_ok=True)
                removed = True
        if removed:
            fsync_dir(self.folder)

    def close(self) -> None:
        """Close the open segment (records already appended stay durable)."""
        self.rotate()

    def _open_segment(self, first_seq: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"journal-{first_seq:012d}.jsonl"
        # A segment of this name can only exist if an earlier process created it and died
        # before any of its records became intact; whatever it holds was never returned.
        # 0o666 less the umask, as open() would: colleagues may share the save folder
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o666)
        fsync_dir(self.folder)

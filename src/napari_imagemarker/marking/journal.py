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

import contextlib
import errno
import itertools
import json
import os
import re
import time
import warnings
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from napari_imagemarker.files import fsync_folder as fsync_dir  # one for every writer

__all__ = ["DataLossWarning", "Journal", "has_segments", "read_journal"]


class DataLossWarning(UserWarning):
    """Session files were damaged or deleted: the message names the file and what was lost."""


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


def has_segments(folder: str | os.PathLike) -> bool:
    """Whether ``folder`` holds any journal segment (even an empty one)."""
    return bool(_segments(Path(folder)))


def _read_segment(path: Path, losses: list[str] | None = None) -> Iterator[dict[str, Any]]:
    data = path.read_bytes()
    lines = data.split(b"\n")
    # After split, the last element is b"" when the file ends with a newline; anything else
    # is a line without its end: a write cut short, or a file cut short afterwards.
    complete, tail = lines[:-1], lines[-1]
    for number, line in enumerate(complete, start=1):
        record = _decode(line)
        if record is None:
            _lost(path, number, line, losses)
            continue
        yield record
    if tail.strip(b"\0"):  # zeros: a power cut after the size grew, nothing was written
        _lost(path, len(complete) + 1, tail, losses)


def _lost(path: Path, number: int, line: bytes, losses: list[str] | None) -> None:
    """Warn that line ``number`` of a segment is damaged, naming what it held if that can
    still be read. A change is acknowledged only once its whole line is on disk, so a damaged
    line is either the change a crash interrupted or a change the file lost afterwards;
    the reader cannot tell which, so it always says so."""
    what = _describe(line)
    message = (
        f"{path}: line {number} is damaged and was skipped ({what}); if that change was "
        "acknowledged before a crash or the file was damaged later, it is lost"
    )
    if losses is not None:
        losses.append(message)
    warnings.warn(message, DataLossWarning, stacklevel=4)


def _describe(line: bytes) -> str:
    """What a damaged line seems to hold: op, image and sequence number, where readable."""
    found = []
    for key in ("seq", "op", "image", "id"):
        match = re.search(rb'"%s": ?("[^"]{0,80}"|-?\d{1,12})' % key.encode(), line)
        if match:
            found.append(f"{key} {match.group(1).decode('ascii', 'replace')}")
    return ", ".join(found) if found else f"{len(line)} unreadable bytes"


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


def read_journal(
    folder: str | os.PathLike,
    after: int = 0,
    losses: list[str] | None = None,
    damaged: set[Path] | None = None,
    known: int = 0,
) -> Iterator[dict[str, Any]]:
    """Yield the intact records of every segment in ``folder``, in sequence order.

    Parameters
    ----------
    folder : path-like
        The journal folder.
    after : int
        Skip records with ``seq <= after`` (already in a snapshot).
    losses : list, optional
        Gets a message for every damaged line and every gap in the sequence numbers (each
        also issued as a :class:`DataLossWarning`).
    damaged : set, optional
        Gets the segments that hold a damaged line (kept, not deleted, at compaction).
    known : int
        The highest sequence number the snapshots hold: the journal must go on from there
        without a gap.

    Yields
    ------
    dict
        One change, with at least ``seq`` and ``op``. Sequence numbers strictly increase;
        a record that repeats an earlier number is skipped.
    """
    last, top = after, max(after, known)
    for _, path in _segments(Path(folder)):
        found: list[str] = []
        reported = 0  # damaged lines are reported by themselves: no gap message for them
        for record in _read_segment(path, found):
            seq = record["seq"]
            if seq > top + 1 and len(found) == reported:
                message = (
                    f"{path}: changes {top + 1} to {seq - 1} are missing from the journal "
                    "(a journal file was deleted or cut): they are lost"
                )
                found.append(message)
                warnings.warn(message, DataLossWarning, stacklevel=2)
            top, reported = max(top, seq), len(found)
            if seq > last:
                last = seq
                yield record
        if found:
            if losses is not None:
                losses.extend(found)
            if damaged is not None:
                damaged.add(path)


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
        self._path = self.folder

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
        end = os.lseek(self._fd, 0, os.SEEK_END)
        try:
            written = os.write(self._fd, line)
            if written != len(line):  # a short write on a regular file: the disk is full
                raise OSError(errno.ENOSPC, "the disk is full (the change was not saved)")
            _datasync(self._fd)
        except OSError as err:
            self._fence(end)
            raise OSError(
                err.errno, f"{self.folder}: could not write the journal ({err.strerror or err})"
            ) from err
        self.seq = seq
        return seq

    def _fence(self, end: int) -> None:
        """After a failed append: cut the segment back to ``end``, where the last good line
        ends, and close it, so that the next change starts a new segment. Whatever part of
        the failed line stayed on disk (truncating may fail too, e.g. on a read-only file
        system) is then the last line of its segment: it can never swallow a later change."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(fd, end)
            _datasync(fd)
        with contextlib.suppress(OSError):
            os.close(fd)

    def open(self) -> None:
        """Create the segment the next change goes to, now (a writer always has one, so
        that a journal deleted after a crash is noticed; see ``SessionStore``)."""
        if self._fd is None:
            self._open_segment(self.seq + 1)

    def rotate(self) -> None:
        """Close the current segment and start a new one for the next change."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
            self._open_segment(self.seq + 1)

    def drop_through(self, seq: int, keep: set[Path] = frozenset()) -> None:
        """Delete closed segments whose records all have a sequence number <= ``seq``.

        Call only once a snapshot holding every change up to ``seq`` is durable. Segments in
        ``keep`` (those with a damaged line) are moved into ``damaged/`` instead, as evidence.
        """
        segments = _segments(self.folder)
        removed = False
        for (_, path), following in itertools.pairwise(segments):
            # A segment ends where the next begins, so it holds only records < next first.
            if following[0] <= seq + 1:
                self._drop(path, keep)
                removed = True
        if segments and segments[-1][0] <= seq:
            # The newest segment is fully covered too (on close(), or after a rotation that
            # no append has followed yet). The segment open for appending always starts
            # after the snapshot's seq, because snapshots rotate first.
            last_path = segments[-1][1]
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DataLossWarning)  # reported on load
                covered = all(r["seq"] <= seq for r in _read_segment(last_path))
            if covered:
                self._drop(last_path, keep)
                removed = True
        if removed:
            fsync_dir(self.folder)

    def _drop(self, path: Path, keep: set[Path]) -> None:
        if path in keep:
            self.quarantine(path)
        else:
            path.unlink(missing_ok=True)

    def quarantine(self, path: Path) -> Path:
        """Move a segment with damaged lines into ``damaged/`` (kept as evidence, never
        replayed again); return its new path."""
        target_dir = self.folder / "damaged"
        target_dir.mkdir(exist_ok=True)
        target = target_dir / f"{time.strftime('%Y%m%dT%H%M%S')}-{path.name}"
        os.replace(path, target)
        fsync_dir(target_dir)
        return target

    def close(self) -> None:
        """Close the open segment (records already appended stay durable); an empty one is
        removed."""
        fd, self._fd = self._fd, None
        if fd is None:
            return
        empty = os.fstat(fd).st_size == 0
        os.close(fd)
        if empty:
            with contextlib.suppress(OSError):
                self._path.unlink()

    def _open_segment(self, first_seq: int) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        path = self.folder / f"journal-{first_seq:012d}.jsonl"
        # A segment of this name can only exist if an earlier process created it and died
        # before any of its records became intact: keep what it holds as evidence (the
        # load warned about it) rather than truncating it.
        if path.exists() and path.stat().st_size:
            self.quarantine(path)
        # 0o666 less the umask, as open() would: colleagues may share the save folder
        self._path = path
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o666)
        fsync_dir(self.folder)

"""Small file helpers shared by every writer: decoding, atomic writes, natural sorting."""

from __future__ import annotations

import csv
import os
import re
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

_BOM = "\ufeff"


def read_text(path: str | Path, encoding: str = "utf-8") -> str:
    """Return the text of a file, without a UTF-8 byte-order mark.

    Raises
    ------
    ValueError
        The bytes are not valid in ``encoding``; the message names the file, the line and
        the column (both 1-based) of the first bad byte.
    """
    data = Path(path).read_bytes()
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as err:
        line = data.count(b"\n", 0, err.start) + 1
        column = err.start - (data.rfind(b"\n", 0, err.start) + 1) + 1
        raise ValueError(
            f"{path}: line {line}, column {column}: byte 0x{data[err.start]:02x} is not valid "
            f"{encoding} (files written on Windows may need encoding='cp1252')"
        ) from None
    return text[1:] if text.startswith(_BOM) else text


def atomic_write(path: str | Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` so that readers see the old file or the new, never half.

    See :func:`atomic_output`, which this uses.
    """
    with atomic_output(path) as tmp, open(tmp, "wb") as f:
        f.write(data)


@contextmanager
def atomic_output(path: str | Path) -> Iterator[Path]:
    """Give a temporary path to write ``path`` through, then put it in place atomically.

    The temporary file is in the same folder and ends with the same suffixes as ``path``
    (so that e.g. astropy still gzips a ``.fits.gz``). When the block ends without an
    exception, the file is fsynced, renamed over ``path`` with :func:`os.replace` and the
    folder fsynced, so a crash or power cut leaves the old file or the new, never half of
    one, and never an empty file under the final name. On an exception the temporary file
    is removed and ``path`` is untouched. The file gets ordinary permissions (umask).

    Raises
    ------
    IsADirectoryError
        ``path`` is an existing folder.
    """
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path}: is a folder; give a file name to write")
    fd, tmp_name = tempfile.mkstemp(
        prefix=f".tmp-{os.getpid()}-", suffix=f"-{path.name}", dir=path.parent
    )
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        # mkstemp makes the file private (0600); give it the mode open() would, so that
        # colleagues sharing a save folder can read each other's files
        os.chmod(tmp, 0o666 & ~_UMASK)
        yield tmp
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make a rename or new file in ``folder`` durable (no-op where folders cannot be synced)."""
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open folders
        return
    try:
        os.fsync(dir_fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(dir_fd)


def allow_long_csv_fields() -> None:
    """Let the :mod:`csv` module read fields of any length.

    Its default limit (131,072 characters) would make a file unreadable that holds one long
    comment or label, though writing it succeeded. The limit is process-wide; this only
    ever raises it.
    """
    limit = 2**31 - 1  # the largest a C long takes everywhere
    if csv.field_size_limit() < limit:
        csv.field_size_limit(limit)


def check_text(value: object, what: str) -> str:
    """``value`` as a string that every file format can store (UTF-8 encodable).

    Raises
    ------
    ValueError
        The text holds a lone surrogate (e.g. ``"\\ud800"``, which no UTF-8 file can hold).
    """
    text = str(value)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as err:
        bad = text[err.start : err.end]
        raise ValueError(
            f"{what}: character {bad!r} at position {err.start} cannot be saved "
            "(a lone surrogate is not text: no file can store it)"
        ) from None
    return text


def error_reason(err: BaseException) -> str:
    """The first line of an exception's message (or its type), for one-line error messages."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__


def natural_key(name: str) -> list:
    """Sort key that puts ``img2`` before ``img10`` (case-insensitive)."""
    # isdecimal, not isdigit: "²" is a digit that int() refuses
    return [int(part) if part.isdecimal() else part.lower() for part in re.split(r"(\d+)", name)]


def _read_umask() -> int:
    # os.umask can only be read by setting it; do it once, at import, before any threads
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()

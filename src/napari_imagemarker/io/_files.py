"""Small file helpers shared by the marks readers and writers: decoding and atomic writes."""

from __future__ import annotations

import os
import re
import tempfile
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

    The bytes go to a temporary file in the same folder, are flushed and fsynced, and the
    temporary file is renamed over ``path`` with :func:`os.replace`; the folder is fsynced
    afterwards where the platform allows it.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        # mkstemp makes the file private (0600); give it the mode open() would, so that
        # colleagues sharing a save folder can read each other's files
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    try:
        dir_fd = os.open(path.parent, os.O_RDONLY)
    except OSError:  # pragma: no cover - Windows cannot open folders
        return
    try:
        os.fsync(dir_fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(dir_fd)


def natural_key(name: str) -> list:
    """Sort key that puts ``img2`` before ``img10`` (case-insensitive)."""
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def _read_umask() -> int:
    # os.umask can only be read by setting it; do it once, at import, before any threads
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()

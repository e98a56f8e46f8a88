"""ECSV, the native marks format: every column, dtype and the meta round-trip exactly."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from astropy.table import Table

from napari_imagemarker.files import atomic_write, read_text
from napari_imagemarker.marks.schema import REQUIRED_COLUMNS, normalise_marks

__all__ = ["read", "write"]

_NUMERIC = ("frame", "group", "x", "y", "ra", "dec")


def _locate(text: str, path: Path, err: Exception) -> str:
    """Find the line and column of a value astropy could not parse; else astropy's reason."""
    lines = text.splitlines()
    header = next((n for n, line in enumerate(lines) if not line.startswith("#")), None)
    if header is None:
        return f"{path}: not an ECSV table ({err})"
    comma = any(line.replace(" ", "") == "#delimiter:','" for line in lines[:header])
    rows = csv.reader(io.StringIO("\n".join(lines[header:])), delimiter="," if comma else " ")
    names = next(rows)
    for number, values in enumerate(rows, start=header + 2):
        for name, value in zip(names, values, strict=False):
            if name in _NUMERIC:
                try:
                    float(value)
                except ValueError:
                    return f"{path}: line {number}, column {name!r}: {value!r} is not a number"
    return f"{path}: not a valid ECSV marks table ({err})"


def read(path: str | Path, *, encoding: str = "utf-8") -> Table:
    """Read marks written by :func:`write` (or any ECSV table with group, x, y columns).

    ``x``/``y`` are converted to 0-based if the file's ``pixel_origin`` is 1. Columns beyond
    the schema are kept.
    """
    path = Path(path)
    text = read_text(path, encoding)
    if not text.strip():
        raise ValueError(f"{path}: the file is empty")
    try:
        # lines, not the text: astropy takes a string without a newline for a file name
        table = Table.read(text.splitlines(), format="ascii.ecsv")
    except Exception as err:  # astropy raises many types for a malformed table
        raise ValueError(_locate(text, path, err)) from None
    header = next(
        (n for n, line in enumerate(text.splitlines(), 1) if not line.startswith("#")), 1
    )
    for name in REQUIRED_COLUMNS:
        if name not in table.colnames:
            raise ValueError(f"{path}: line {header}, column {name!r}: missing")
    origin = table.meta.get("pixel_origin", 0)
    if origin not in (0, 1):
        raise ValueError(f"{path}: pixel_origin must be 0 or 1, got {origin!r}")
    if origin == 1:
        table["x"] = table["x"] - 1.0
        table["y"] = table["y"] - 1.0
        table.meta["pixel_origin"] = 0
    return normalise_marks(table, source=str(path), keep_extra=True)


def write(table: Table, path: str | Path) -> None:
    """Write marks as ECSV (atomically), schema columns first, ``pixel_origin: 0`` in meta."""
    table = normalise_marks(table, keep_extra=True)
    buffer = io.StringIO()
    table.write(buffer, format="ascii.ecsv")
    atomic_write(path, buffer.getvalue().encode("utf-8"))

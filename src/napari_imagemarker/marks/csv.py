"""Plain CSV marks: the schema's columns, with the pixel origin stated in a comment line.

Layout (UTF-8, LF)::

    # napari-imagemarker marks
    # pixel_origin: 0
    # groups: ["BCG", "2", "Arc", "4", "5", "6", "7", "8", "9"]
    # group_colors: ["#ff0000", ...]
    image,frame,group,label,x,y,ra,dec,user,time
    a.fits,0,1,,99.0,149.0,150.1,2.2,ana,2026-11-21T10:00:00.000Z

``x`` is the column and ``y`` the row of the array as our reader returns it, counted from
``pixel_origin`` (0, or 1 for the FITS/DS9 habit). Missing RA/Dec are written ``nan``.
"""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import numpy as np
from astropy.table import Table

from napari_imagemarker.files import atomic_write, read_text
from napari_imagemarker.marks.schema import (
    MARK_COLUMNS,
    MARK_DTYPES,
    N_GROUPS,
    REQUIRED_COLUMNS,
    normalise_marks,
)

__all__ = ["MAGIC", "identify", "is_marks_csv", "read", "write"]

MAGIC = "# napari-imagemarker marks"
_META_KEYS = ("pixel_origin", "groups", "group_colors")


def is_marks_csv(text: str) -> bool:
    """Whether the text starts like a file :func:`write` produced (states its pixel_origin)."""
    for line in text.lstrip("\ufeff").splitlines():
        if not line.startswith("#"):
            return False
        if line.replace(" ", "").startswith("#pixel_origin:"):
            return True
    return False


def identify(path: str | Path) -> bool:
    """Whether a file starts like one :func:`write` produced; False if it cannot be read."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError:
        return False
    return is_marks_csv(head.decode("utf-8", errors="replace"))


def _format(value, name: str) -> str:
    if MARK_DTYPES[name].kind == "f":
        value = float(value)
        return "nan" if math.isnan(value) else repr(value)
    return str(value)


def write(table: Table, path: str | Path, *, pixel_origin: int = 0) -> None:
    """Write marks as plain CSV (atomically) with ``x, y`` counted from ``pixel_origin``."""
    if pixel_origin not in (0, 1):
        raise ValueError(f"pixel_origin must be 0 or 1, got {pixel_origin!r}")
    table = normalise_marks(table)
    buffer = io.StringIO(newline="")
    buffer.write(f"{MAGIC}\n# pixel_origin: {pixel_origin}\n")
    buffer.write(f"# groups: {json.dumps(list(table.meta['groups']), ensure_ascii=False)}\n")
    buffer.write(f"# group_colors: {json.dumps(list(table.meta['group_colors']))}\n")
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(MARK_COLUMNS)
    table["x"] += pixel_origin
    table["y"] += pixel_origin
    columns = [table[name] for name in MARK_COLUMNS]
    for values in zip(*columns, strict=True):
        writer.writerow(_format(v, n) for n, v in zip(MARK_COLUMNS, values, strict=True))
    atomic_write(path, buffer.getvalue().encode("utf-8"))


def _meta_line(line: str, path: Path, number: int) -> tuple[str, object] | None:
    key, sep, value = line[1:].partition(":")
    key = key.strip()
    if not sep or key not in _META_KEYS:
        return None
    try:
        parsed = json.loads(value)
    except json.JSONDecodeError:
        raise ValueError(
            f"{path}: line {number}: cannot read {key} from {value.strip()!r}"
        ) from None
    return key, parsed


def read(path: str | Path, *, encoding: str = "utf-8") -> Table:
    """Read a CSV written by :func:`write`; x, y are converted to 0-based."""
    path = Path(path)
    text = read_text(path, encoding)
    lines = text.splitlines()
    meta: dict[str, object] = {}
    header = 0
    while header < len(lines) and lines[header].startswith("#"):
        item = _meta_line(lines[header], path, header + 1)
        if item:
            meta[item[0]] = item[1]
        header += 1
    origin = meta.get("pixel_origin")
    if origin not in (0, 1):
        raise ValueError(
            f"{path}: line 1: no '# pixel_origin: 0' (or 1) line before the header; "
            "for Image Marker's files use format='imgmarker'"
        )
    reader = csv.reader(io.StringIO("\n".join(lines[header:])))
    names = [n.strip().lower() for n in next(reader, [])]
    for name in names:
        if name not in MARK_COLUMNS:
            raise ValueError(
                f"{path}: line {header + 1}, column {name!r}: unknown column "
                f"(expected some of {', '.join(MARK_COLUMNS)})"
            )
    for name in REQUIRED_COLUMNS:
        if name not in names:
            raise ValueError(f"{path}: line {header + 1}, column {name!r}: missing")
    values: dict[str, list] = {name: [] for name in names}
    for number, row in enumerate(reader, start=header + 2):
        if not row:
            continue
        if len(row) != len(names):
            raise ValueError(f"{path}: line {number}: {len(row)} fields for {len(names)} columns")
        for name, value in zip(names, row, strict=True):
            values[name].append(_parse(value, name, path, number))
    columns = {n: np.array(v, dtype=MARK_DTYPES[n]) for n, v in values.items()}
    for name in ("x", "y"):
        columns[name] = columns[name] - origin
    table = Table(columns)
    table.meta.update({k: v for k, v in meta.items() if k != "pixel_origin"})
    return normalise_marks(table, source=str(path))


def _parse(value: str, name: str, path: Path, number: int):
    kind = MARK_DTYPES[name].kind
    if kind == "U":
        return value
    text = value.strip()
    if kind == "f" and name in ("ra", "dec") and text == "":
        return math.nan
    try:
        number_value = float(text)
    except ValueError:
        raise ValueError(
            f"{path}: line {number}, column {name!r}: {value!r} is not a number"
        ) from None
    if kind == "i":
        if not number_value.is_integer():
            raise ValueError(
                f"{path}: line {number}, column {name!r}: {value!r} is not an integer"
            )
        if name == "group" and not 1 <= number_value <= N_GROUPS:
            raise ValueError(f"{path}: line {number}, column 'group': {value!r} is not 1-9")
        return int(number_value)
    return number_value

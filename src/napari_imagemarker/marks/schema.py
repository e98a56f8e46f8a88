"""The marks table: the one schema every marks reader returns and every writer accepts.

A mark is one row of an :class:`astropy.table.Table` with these columns (DESIGN.md §3):

========  =======  ===============================================================
column    dtype    meaning
========  =======  ===============================================================
image     str      file name of the image (no folder)
frame     int64    frame index in the file (FITS image HDUs with data, TIFF pages)
group     int64    mark group, 1-9
label     str      free text; ``""`` when none
x         float64  0-based column of the array as our reader returns it
y         float64  0-based row of the array as our reader returns it
ra, dec   float64  ICRS/FK5 degrees from the image's WCS at (x, y); NaN without WCS
user      str      who placed the mark
time      str      ISO 8601 UTC time the mark was placed or last changed
========  =======  ===============================================================

``meta`` holds ``pixel_origin`` (always 0 in memory), ``groups`` (the 9 group names) and
``group_colors`` (9 colours as ``#rrggbb``). Files may state another origin; readers convert.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from astropy.table import MaskedColumn, Table

__all__ = [
    "DEFAULT_CATEGORIES",
    "DEFAULT_GROUPS",
    "DEFAULT_GROUP_COLORS",
    "MARK_COLUMNS",
    "MARK_DTYPES",
    "N_GROUPS",
    "empty_marks",
    "normalise_marks",
]

N_GROUPS = 9

#: Column names, in the order they are written.
MARK_COLUMNS: tuple[str, ...] = (
    "image",
    "frame",
    "group",
    "label",
    "x",
    "y",
    "ra",
    "dec",
    "user",
    "time",
)

#: numpy dtype kind of each column ("U" columns are stored as numpy unicode strings).
MARK_DTYPES: dict[str, np.dtype] = {
    "image": np.dtype("U"),
    "frame": np.dtype(np.int64),
    "group": np.dtype(np.int64),
    "label": np.dtype("U"),
    "x": np.dtype(np.float64),
    "y": np.dtype(np.float64),
    "ra": np.dtype(np.float64),
    "dec": np.dtype(np.float64),
    "user": np.dtype("U"),
    "time": np.dtype("U"),
}

#: Columns a table must have; the others get defaults in :func:`normalise_marks`.
REQUIRED_COLUMNS: tuple[str, ...] = ("group", "x", "y")

#: Image Marker's default group names (its index 0, "None", is not a group).
DEFAULT_GROUPS: tuple[str, ...] = tuple(str(i) for i in range(1, N_GROUPS + 1))
#: Image Marker's default category names.
DEFAULT_CATEGORIES: tuple[str, ...] = tuple(str(i) for i in range(1, 6))
#: Image Marker's group colours, groups 1-9: red, orange, yellow, green, cyan, teal, blue,
#: purple, magenta.
DEFAULT_GROUP_COLORS: tuple[str, ...] = (
    "#ff0000",
    "#ff8000",
    "#ffff00",
    "#00ff00",
    "#00ffff",
    "#008080",
    "#0000ff",
    "#8000ff",
    "#ff00ff",
)

_DEFAULTS: dict[str, Any] = {
    "image": "",
    "frame": 0,
    "label": "",
    "ra": np.nan,
    "dec": np.nan,
    "user": "",
    "time": "",
}


def _nine(values: Sequence[str] | None, default: Sequence[str], what: str) -> list[str]:
    if values is None:
        return list(default)
    values = [str(v) for v in values]
    if len(values) != N_GROUPS:
        raise ValueError(f"{what} must have {N_GROUPS} entries, got {len(values)}: {values!r}")
    return values


def empty_marks(
    groups: Sequence[str] | None = None, group_colors: Sequence[str] | None = None
) -> Table:
    """Return a marks table with no rows, the schema's columns and meta.

    Parameters
    ----------
    groups : sequence of 9 str, optional
        Group names for groups 1-9; Image Marker's defaults ``"1"`` ... ``"9"`` if omitted.
    group_colors : sequence of 9 str, optional
        Colours for groups 1-9 (any napari/DS9 colour, e.g. ``"#ff0000"``).

    Returns
    -------
    astropy.table.Table
        Zero rows; columns :data:`MARK_COLUMNS`; ``meta`` with ``pixel_origin`` 0.
    """
    table = Table({name: np.zeros(0, dtype=MARK_DTYPES[name]) for name in MARK_COLUMNS})
    table.meta.update(_meta(groups, group_colors))
    return table


def _meta(groups: Sequence[str] | None, group_colors: Sequence[str] | None) -> dict[str, Any]:
    return {
        "pixel_origin": 0,
        "groups": _nine(groups, DEFAULT_GROUPS, "groups"),
        "group_colors": _nine(group_colors, DEFAULT_GROUP_COLORS, "group_colors"),
    }


def _column_values(name: str, column: Any, n: int, source: str) -> np.ndarray:
    """Coerce one column to its schema dtype; masked entries become the column's default."""
    dtype = MARK_DTYPES[name]
    if isinstance(column, MaskedColumn) or np.ma.isMaskedArray(column):
        mask = np.ma.getmaskarray(column)
        data = np.ma.getdata(column)
    else:
        data = np.asarray(column)
        mask = np.zeros(n, dtype=bool)
    if dtype.kind == "U":
        if data.dtype.kind in "US":  # bytes columns (FITS tables) decode as UTF-8
            values = np.char.decode(data, "utf-8") if data.dtype.kind == "S" else data.copy()
        else:
            values = np.array([str(v) for v in data], dtype="U") if n else np.zeros(0, "U")
        if mask.any():
            values = values.astype(object)
            values[mask] = _DEFAULTS.get(name, "")
            values = values.astype("U")
        return values
    if dtype.kind == "f":
        try:
            values = np.asarray(data, dtype=np.float64).copy()
        except (TypeError, ValueError):
            raise ValueError(f"{source}: column {name!r} must be numeric") from None
        values[mask] = np.nan
        return values
    # integer columns: accept floats that are whole numbers (e.g. 2.0 from a CSV)
    try:
        as_float = np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{source}: column {name!r} must be integers") from None
    if mask.any():
        if name not in _DEFAULTS:
            bad = int(np.flatnonzero(mask)[0])
            raise ValueError(f"{source}: row {bad}: column {name!r} is empty")
        as_float = as_float.copy()
        as_float[mask] = _DEFAULTS[name]
    bad = ~np.isfinite(as_float) | (as_float != np.round(as_float))
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{source}: row {row}: column {name!r} must be an integer, got {data[row]!r}"
        )
    return as_float.astype(np.int64)


def normalise_marks(
    table: Table | Mapping[str, Any],
    *,
    groups: Sequence[str] | None = None,
    group_colors: Sequence[str] | None = None,
    source: str = "marks table",
    keep_extra: bool = False,
) -> Table:
    """Return a new marks table with exactly the schema's columns, dtypes and meta.

    Missing optional columns get defaults (``image`` ``""``, ``frame`` 0, ``label`` ``""``,
    ``ra``/``dec`` NaN, ``user`` and ``time`` ``""``); masked entries get the same defaults.
    Extra columns are dropped, or kept after the schema's with ``keep_extra``. The table's
    ``pixel_origin`` must be 0 (convert first).

    Parameters
    ----------
    table : astropy.table.Table or mapping of column name to values
        The marks, in our 0-based pixel convention.
    groups, group_colors : sequence of 9 str, optional
        Override the meta; otherwise taken from ``table.meta`` or the defaults.
    source : str
        Named in error messages (e.g. the file the table came from).
    keep_extra : bool
        Keep columns that are not in the schema (e.g. a ``size`` column of a mark file).

    Returns
    -------
    astropy.table.Table

    Raises
    ------
    ValueError
        A required column (group, x, y) is missing, a value has the wrong type, a group is
        outside 1-9, or ``meta["pixel_origin"]`` is not 0. The message names ``source``.
    """
    if not isinstance(table, Table):
        table = Table(dict(table))
    meta = dict(table.meta)
    origin = meta.get("pixel_origin", 0)
    if origin != 0:
        raise ValueError(f"{source}: pixel_origin is {origin!r}; convert to 0-based first")
    missing = [name for name in REQUIRED_COLUMNS if name not in table.colnames]
    if missing:
        raise ValueError(f"{source}: missing column(s) {', '.join(missing)}")
    n = len(table)
    columns = {}
    for name in MARK_COLUMNS:
        if name in table.colnames:
            columns[name] = _column_values(name, table[name], n, source)
        else:
            columns[name] = np.array([_DEFAULTS[name]] * n, dtype=MARK_DTYPES[name])
    bad = (columns["group"] < 1) | (columns["group"] > N_GROUPS)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(
            f"{source}: row {row}: column 'group' must be 1-{N_GROUPS}, "
            f"got {columns['group'][row]}"
        )
    out = Table(columns)
    if keep_extra:
        for name in table.colnames:
            if name not in MARK_COLUMNS:
                out[name] = table[name].copy()
    out.meta.update(
        _meta(
            groups if groups is not None else meta.get("groups"),
            group_colors if group_colors is not None else meta.get("group_colors"),
        )
    )
    for key, value in meta.items():
        out.meta.setdefault(key, value)
    return out

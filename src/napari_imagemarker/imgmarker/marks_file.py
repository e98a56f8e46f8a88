"""Image Marker's marks CSV: ``<user>_marks.csv`` and the mark files it imports.

Reading accepts what Image Marker 1.2 reads and what it wrongly rejects: ``,`` or ``|``
delimiter (chosen, as Image Marker does, by whether the header holds a ``|``), headers in
any case with blanks around them, the columns ``date image group label x y ra dec`` and one
of ``size``, ``size(px)`` (pixels) or ``size(arcsec)``, and x/y written as ``100`` or
``100.0``. Image Marker rejects its own example files with a ``size(px)`` column (a missing
comma in its list of valid names); here they read.

Image Marker's ``x, y`` are *display* pixels (see :mod:`.image_index`); rows naming an image
are converted to our ``(col, row)`` with that image's frame 0 (the file does not say which
frame a mark was placed on) and RA/Dec are recomputed from our WCS: Image Marker's own
RA/DEC are one pixel off in y and are not used. Rows with RA/Dec but no x/y get x/y from
the WCS. Rows naming no image (import files that apply to every image) keep ``image`` empty
and x/y as written, in display pixels; ``meta["display_xy"]`` is then True.

Sentinels: ``None`` in ``group`` and ``label`` (a seen image without marks, a label equal to
the group name), ``nan`` for a missing number.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.table import Table

from napari_imagemarker.files import allow_long_csv_fields, atomic_write, read_text
from napari_imagemarker.images.index import (
    ImageIndex,
    ImagesLike,
    display_to_array,
    flip_rows,
    frame_wcs,
)
from napari_imagemarker.imgmarker.config import NONE, image_search_dirs, read_config
from napari_imagemarker.marks.schema import DEFAULT_GROUPS, N_GROUPS, empty_marks, normalise_marks
from napari_imagemarker.wcs import pixel_to_sky, sky_to_pixel

__all__ = [
    "MARKS_HEADER",
    "ParsedMarks",
    "format_csv",
    "format_marks_csv",
    "parse_marks_csv",
    "read",
    "read_records",
    "write",
]

#: Header of ``<user>_marks.csv`` as Image Marker writes it.
MARKS_HEADER = ("date", "image", "group", "label", "x", "y", "RA", "DEC")
_TEXT_FIELDS = ("date", "image", "group", "label")
_NUMBER_FIELDS = ("x", "y", "ra", "dec")
_SIZE_FIELDS = {"size": u.pix, "size(px)": u.pix, "size(arcsec)": u.arcsec}
VALID_FIELDS = (*_TEXT_FIELDS, *_NUMBER_FIELDS, *_SIZE_FIELDS)


@dataclass
class ParsedMarks:
    """An Image Marker marks file converted to our schema.

    Attributes
    ----------
    marks : astropy.table.Table
        Our marks table (plus a ``size`` column with its unit when the file had one).
    seen : list of str
        Images the file names, in file order, marked or not (the ``None`` rows included).
    unresolved : list of dict
        Rows naming an image that could not be found or read (only when not strict), as
        the file's fields, so that they can be written back unchanged.
    problems : list of str
        One message per image that could not be found or read.
    """

    marks: Table
    seen: list[str] = field(default_factory=list)
    unresolved: list[dict] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def _number(text: str, source: str, line: int, column: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ValueError(
            f"{source}: line {line}, column {column!r}: {text!r} is not a number"
        ) from None


def read_records(
    text: str, source: str, valid: Sequence[str] = VALID_FIELDS
) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """Split Image Marker CSV text into (lower-case field names, [(line, {field: value})]).

    Raises ValueError naming the file, line and column for a field name not in ``valid``, a
    repeated field name or a row with the wrong number of fields.
    """
    text = text.replace("\r\r\n", "\r\n")  # images/favourites files Image Marker wrote on Windows
    first = text.split("\n", 1)[0]
    delimiter = "|" if "|" in first else ","
    allow_long_csv_fields()
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = next(reader)
    except StopIteration:
        raise ValueError(f"{source}: line 1: the file is empty") from None
    names = [h.strip().lower() for h in header]
    while names and names[-1] == "":  # the old "|"-padded layout ends every line with "|"
        names.pop()
    for name in names:
        if name not in valid:
            raise ValueError(
                f"{source}: line 1, column {name!r}: not an Image Marker field "
                f"(expected some of {', '.join(valid)})"
            )
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ValueError(f"{source}: line 1, column {duplicated[0]!r}: appears twice")
    records = []
    for values in reader:
        if not values or all(not v.strip() for v in values):
            continue
        line = reader.line_num
        extra = [v for v in values[len(names) :] if v.strip()]
        if extra or len(values) < len(names):
            raise ValueError(
                f"{source}: line {line}: {len(values)} fields for {len(names)} columns "
                f"({', '.join(names)})"
            )
        records.append(
            (line, {n: spreadsheet_text(v.strip()) for n, v in zip(names, values, strict=False)})
        )
    return names, records


def _check_columns(names: Sequence[str], source: str) -> None:
    for a, b in (("x", "y"), ("ra", "dec")):
        if (a in names) != (b in names):
            missing = b if a in names else a
            raise ValueError(
                f"{source}: line 1, column {missing!r}: missing (needs both {a}, {b})"
            )
    if "x" not in names and "ra" not in names:
        raise ValueError(f"{source}: line 1: missing columns: needs x, y or ra, dec")


def _group_index(name: str, groups: Sequence[str], source: str, line: int) -> int:
    if name in groups:
        return list(groups).index(name) + 1
    if name.isdigit() and 1 <= int(name) <= N_GROUPS:
        return int(name)
    raise ValueError(
        f"{source}: line {line}, column 'group': unknown group {name!r} "
        f"(groups are {', '.join(groups)})"
    )


def parse_marks_csv(
    text: str,
    *,
    source: str,
    groups: Sequence[str] | None = None,
    images: ImageIndex | None = None,
    user: str = "",
    strict: bool = True,
) -> ParsedMarks:
    """Convert the text of an Image Marker marks file to our marks table.

    Parameters
    ----------
    text : str
        The file's text.
    source : str
        The file name, for error messages.
    groups : sequence of 9 str, optional
        Current group names (from ``<user>_config.txt``); ``group`` values are matched to
        them, or may be a number 1-9. Default ``"1"`` ... ``"9"``.
    images : ImageIndex, optional
        Where to find the images named in the file (needed to convert display pixels).
    user : str
        Written into the ``user`` column.
    strict : bool
        Raise ValueError for a row whose image cannot be found (True) or keep the row in
        ``unresolved`` and report it in ``problems`` (False).

    Raises
    ------
    ValueError
        Unknown or missing columns, non-numeric values, unknown groups, or (strict) an image
        that cannot be found; the message names the file, the line and the column.
    """
    groups = list(groups) if groups is not None else list(DEFAULT_GROUPS)
    images = images if images is not None else ImageIndex()
    names, records = read_records(text, source)
    _check_columns(names, source)
    # as in Image Marker, "size" wins over "size(px)" over "size(arcsec)"
    size_field = next((f for f in ("size", "size(px)", "size(arcsec)") if f in names), None)

    rows: list[dict] = []
    seen: dict[str, None] = {}
    for line, rec in records:
        image = rec.get("image", NONE)
        image = "" if image in (NONE, "") else image
        values = {c: _number(rec[c], source, line, c) for c in _NUMBER_FIELDS if c in rec}
        size = _number(rec[size_field], source, line, size_field) if size_field else math.nan
        group_name = rec.get("group", "1")
        if image:
            seen.setdefault(image, None)
        if group_name == NONE:
            if any(math.isfinite(v) for v in values.values()):
                raise ValueError(
                    f"{source}: line {line}, column 'group': 'None' is only for a seen image "
                    "without marks, but the row has a position"
                )
            continue
        group = _group_index(group_name, groups, source, line)
        label = rec.get("label", NONE)
        x, y = values.get("x", math.nan), values.get("y", math.nan)
        ra, dec = values.get("ra", math.nan), values.get("dec", math.nan)
        if not (math.isfinite(x) and math.isfinite(y)) and not (
            math.isfinite(ra) and math.isfinite(dec)
        ):
            raise ValueError(f"{source}: line {line}, column 'x': a mark needs x, y or ra, dec")
        rows.append(
            {
                "line": line,
                "fields": rec,
                "image": image,
                "group": group,
                "label": "" if label == NONE else label,
                "x": x,
                "y": y,
                "ra": ra,
                "dec": dec,
                "size": size,
                "time": rec.get("date", ""),
            }
        )

    out = ParsedMarks(marks=empty_marks(groups), seen=list(seen))
    kept = _convert(rows, images, source, strict, out)
    table = Table(
        {
            "image": np.array([r["image"] for r in kept], dtype="U"),
            "frame": np.zeros(len(kept), dtype=np.int64),
            "group": np.array([r["group"] for r in kept], dtype=np.int64),
            "label": np.array([r["label"] for r in kept], dtype="U"),
            "x": np.array([r["x"] for r in kept], dtype=np.float64),
            "y": np.array([r["y"] for r in kept], dtype=np.float64),
            "ra": np.array([r["ra"] for r in kept], dtype=np.float64),
            "dec": np.array([r["dec"] for r in kept], dtype=np.float64),
            "user": np.array([user] * len(kept), dtype="U"),
            "time": np.array([r["time"] for r in kept], dtype="U"),
        }
    )
    table.meta["groups"] = groups
    if size_field:
        table["size"] = np.array([r["size"] for r in kept], dtype=np.float64)
        table["size"].unit = _SIZE_FIELDS[size_field]
    if any(not r["image"] for r in kept):
        table.meta["display_xy"] = True
    out.marks = normalise_marks(table, source=source, keep_extra=True)
    return out


def _convert(rows: list[dict], images: ImageIndex, source: str, strict: bool, out: ParsedMarks):
    """Convert display x/y to ours and recompute RA/Dec, one vectorised call per image."""
    by_image: dict[str, list[dict]] = {}
    for row in rows:
        if row["image"]:
            by_image.setdefault(row["image"], []).append(row)
    bad: set[int] = set()
    for name, group in by_image.items():
        try:
            frames = images.frames(name)
            frame = frames[0]
        except (OSError, ValueError) as err:
            if strict:
                raise ValueError(
                    f"{source}: line {group[0]['line']}, column 'image': cannot convert Image "
                    f"Marker's display pixels: {err}; pass images= (a folder or paths)"
                ) from None
            out.problems.append(f"{source}: {err}; its {len(group)} mark(s) were kept unconverted")
            out.unresolved.extend(r["fields"] for r in group)
            bad.update(id(r) for r in group)
            continue
        wcs = frame_wcs(frames, 0)
        x = np.array([r["x"] for r in group])
        y = np.array([r["y"] for r in group])
        has_xy = np.isfinite(x) & np.isfinite(y)
        col, row = display_to_array(x, y, frame)
        sky_col, sky_row = sky_to_pixel(wcs, [r["ra"] for r in group], [r["dec"] for r in group])
        col = np.where(has_xy, col, sky_col)
        row = np.where(has_xy, row, sky_row)
        ra, dec = pixel_to_sky(wcs, col, row)
        for r, c, rr, a, d in zip(group, col, row, ra, dec, strict=True):
            r["x"], r["y"], r["ra"], r["dec"] = float(c), float(rr), float(a), float(d)
    return [r for r in rows if id(r) not in bad]


def _format_pixel(value: float) -> str:
    """A display x or y as Image Marker writes a mark it placed: the integer pixel that holds
    the position (pixel ``k`` spans ``[k - 0.5, k + 0.5)``), ``str`` of an int."""
    if not math.isfinite(value):
        return "nan"
    return str(math.floor(value + 0.5))


def _format_float(value: float) -> str:
    return "nan" if math.isnan(value) else repr(float(value))


#: Text a spreadsheet takes for a formula: a leading ``= + - @``, tab or carriage return,
#: possibly behind quotes already added by :func:`spreadsheet_safe`.
_FORMULA = re.compile(r"'*[=+\-@\t\r]")


def spreadsheet_safe(cell: str) -> str:
    """``cell`` with a ``'`` in front if a spreadsheet would run it as a formula.

    Image Marker's CSV files are opened in spreadsheets, which execute a cell starting with
    ``=``, ``+``, ``-``, ``@``, a tab or a carriage return (``=cmd|' /C calc'!A0``). Such
    text, unless it is a number, gets a leading ``'``, as OWASP advises and spreadsheet-safe
    CSV writers do; the spreadsheet shows the text without running it. Text that already
    starts with ``'`` before such a character gets one more, so :func:`spreadsheet_text`
    restores every text exactly.
    """
    if _FORMULA.match(cell) and not _is_number(cell):
        return "'" + cell
    return cell


def spreadsheet_text(cell: str) -> str:
    """Undo :func:`spreadsheet_safe` (a no-op on every other text)."""
    if cell.startswith("'") and _FORMULA.match(cell) and not _is_number(cell[1:]):
        return cell[1:]
    return cell


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def format_csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    """CSV bytes as Python's ``csv`` module writes by default: QUOTE_MINIMAL, CRLF, UTF-8;
    text a spreadsheet would run as a formula is made safe (:func:`spreadsheet_safe`)."""
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows([spreadsheet_safe(str(cell)) for cell in row] for row in rows)
    return buffer.getvalue().encode("utf-8")


def utc_date() -> str:
    """Today's UTC date, ``YYYY-MM-DD``, as Image Marker writes in its ``date`` columns."""
    return dt.datetime.now(dt.timezone.utc).date().isoformat()


def format_marks_csv(
    marks: Table,
    images: ImageIndex,
    *,
    groups: Sequence[str] | None = None,
    date: str | None = None,
    order: Sequence[str] = (),
    seen: Iterable[str] = (),
    unresolved: Sequence[dict] = (),
) -> bytes:
    """Image Marker's ``<user>_marks.csv`` bytes for a marks table.

    Rows come in image order (``order``, then images of ``marks`` not in it, in order of
    appearance), each image's marks in table order; a seen image without marks gets the
    ``None,None,nan,nan,nan,nan`` row. x/y are integer display pixels, as Image Marker
    writes the marks it places (``261`` for a mark at ``261.14``: the pixel that holds it);
    RA/DEC are the table's, the true position of the mark (not Image Marker's, which are
    one pixel off in y).

    Parameters
    ----------
    marks : astropy.table.Table
        Our marks table (0-based, our pixel convention).
    images : ImageIndex
        Finds each image's frames (height and orientation).
    groups : sequence of 9 str, optional
        Group names; default ``marks.meta["groups"]``.
    date : str, optional
        The ``date`` column; default today's UTC date.
    order, seen : sequence of str
        Image-list order, and the images seen (they get rows even without marks).
    unresolved : sequence of dict
        Rows (field name -> text) kept from a file whose images could not be found; written
        back unchanged except for the date, at their image's place.

    Raises
    ------
    ValueError
        A mark's image or frame cannot be found (its display y depends on it).
    """
    marks = normalise_marks(marks)
    groups = list(groups) if groups is not None else list(marks.meta["groups"])
    date = utc_date() if date is None else date
    cells = _mark_cells(marks, images, groups)
    by_image: dict[str, list[int]] = {}
    for i, name in enumerate(cells[0]):
        by_image.setdefault(name, []).append(i)
    raw: dict[str, list[dict]] = {}
    for fields in unresolved:
        raw.setdefault(fields.get("image", NONE), []).append(fields)
    names = list(dict.fromkeys([*order, *by_image, *raw]))
    seen = set(seen)
    rows: list[list[str]] = []
    for name in names:
        indices = by_image.get(name, [])
        if not indices and not raw.get(name):
            if name in seen:
                rows.append([date, name, NONE, NONE, "nan", "nan", "nan", "nan"])
            continue
        rows.extend([date, *(column[i] for column in cells)] for i in indices)
        for fields in raw.get(name, []):
            rows.append(
                [
                    date,
                    *(fields.get(k, NONE) for k in ("image", "group", "label")),
                    *(fields.get(k, "nan") for k in ("x", "y", "ra", "dec")),
                ]
            )
    return format_csv(MARKS_HEADER, rows)


def _mark_cells(marks: Table, images: ImageIndex, groups: Sequence[str]) -> list[list[str]]:
    """The text of columns image ... DEC for every mark, vectorised over the table."""
    names = [n or NONE for n in marks["image"].tolist()]
    frames = marks["frame"].tolist()
    x = np.asarray(marks["x"], dtype=np.float64)
    y = np.asarray(marks["y"], dtype=np.float64)
    flip = np.zeros(len(marks), dtype=bool)
    height = np.zeros(len(marks), dtype=np.float64)
    info: dict[tuple[str, int], tuple[bool, int]] = {}
    for k, key in enumerate(zip(names, frames, strict=True)):
        if key[0] == NONE:
            continue
        if key not in info:
            try:
                frame = images.frame(*key)
            except (OSError, ValueError) as err:
                raise ValueError(f"cannot write Image Marker display pixels: {err}") from None
            info[key] = (frame.y_up, frame.height)
        flip[k], height[k] = info[key]
    disp_y = flip_rows(y, height, flip)
    group_names = [groups[g - 1] for g in marks["group"].tolist()]
    labels = [
        NONE if label in ("", group) else label
        for label, group in zip(marks["label"].tolist(), group_names, strict=True)
    ]
    return [
        names,
        group_names,
        labels,
        [_format_pixel(v) for v in x.tolist()],
        [_format_pixel(v) for v in disp_y.tolist()],
        [_format_float(v) for v in marks["ra"].tolist()],
        [_format_float(v) for v in marks["dec"].tolist()],
    ]


def user_from_name(path: Path) -> str:
    """The user a marks file belongs to by its name (``<user>_marks.csv``), else ``""``."""
    stem = path.stem
    return stem[: -len("_marks")] if stem.endswith("_marks") else ""


def read(
    path: str | Path,
    *,
    images: ImagesLike | None = None,
    groups: Sequence[str] | None = None,
    user: str | None = None,
    encoding: str = "utf-8",
) -> Table:
    """Read an Image Marker marks file (``<user>_marks.csv`` or a mark file it imports).

    Group names come from ``groups``, else from ``<user>_config.txt`` beside the file, else
    the defaults. Images are looked for in ``images``, then the config's ``image_dir``, then
    ``images/`` beside the file's folder.
    """
    path = Path(path)
    user = user_from_name(path) if user is None else user
    config = read_config(path.parent / f"{user}_config.txt") if user else None
    if groups is None and config is not None:
        groups = config["groups"]
    index = ImageIndex(images, image_search_dirs(path.parent, config))
    text = read_text(path, encoding)
    return parse_marks_csv(text, source=str(path), groups=groups, images=index, user=user).marks


def write(
    table: Table,
    path: str | Path,
    *,
    images: ImagesLike | None = None,
    groups: Sequence[str] | None = None,
    date: str | None = None,
) -> None:
    """Write marks in Image Marker's ``<user>_marks.csv`` layout (atomically).

    ``images`` locates the image files (their heights and orientation give the display y).
    """
    index = images if isinstance(images, ImageIndex) else ImageIndex(images)
    atomic_write(path, format_marks_csv(table, index, groups=groups, date=date))

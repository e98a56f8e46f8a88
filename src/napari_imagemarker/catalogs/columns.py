"""Which columns of a catalog hold its positions and sizes, and their values in degrees.

:func:`detect_columns` matches column names (case-insensitively) against the conventions
astronomers use; :func:`parse_angles` reads RA/Dec given as numbers (with or without angle
units) or as sexagesimal text, a million values at a time, without a loop over rows.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.table import MaskedColumn, Table

__all__ = [
    "IMAGE_NAMES",
    "PIXEL_PAIRS",
    "SIZE_NAMES",
    "SIZE_UNITS",
    "SKY_PAIRS",
    "ColumnGuess",
    "column_values",
    "detect_columns",
    "filled",
    "missing_text",
    "parse_angles",
    "size_unit_name",
    "to_float",
]


#: RA/Dec column pairs by common name, most specific first (compared in lower case).
SKY_PAIRS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("ra", ("dec", "de", "decl")),
    ("ra_deg", ("dec_deg", "de_deg")),
    ("radeg", ("decdeg", "dedeg")),
    ("ra(deg)", ("dec(deg)",)),
    ("ra_icrs", ("de_icrs", "dec_icrs")),
    ("raj2000", ("dej2000", "decj2000")),
    ("_raj2000", ("_dej2000", "_decj2000")),
    ("ra_j2000", ("dec_j2000", "de_j2000")),
    ("ra2000", ("dec2000", "de2000")),
    ("alpha_j2000", ("delta_j2000",)),
    ("alphawin_j2000", ("deltawin_j2000",)),
    ("alpha_sky", ("delta_sky",)),
    ("alpha", ("delta",)),
    ("ra_obj", ("dec_obj",)),
    ("target_ra", ("target_dec",)),
    ("right_ascension", ("declination",)),
)
_AFTER = r"(j2000|b1950|icrs|deg|_|\(|\[|\d|$)"
_RA_LIKE = re.compile(rf"^_?(ra|alpha){_AFTER}|^right_?ascension")
_DEC_LIKE = re.compile(rf"^_?(dec|de|delta|decl){_AFTER}|^declination")
_NOT_COORD = re.compile(r"err|sig|unc|^e_|_e$|pm|std|rms|var|flag", re.IGNORECASE)

#: x/y column pairs and the pixel origin their name implies (None: unknown, 0 assumed).
PIXEL_PAIRS: tuple[tuple[str, str, int | None], ...] = (
    ("x", "y", None),
    ("xcentroid", "ycentroid", 0),  # photutils
    ("x_centroid", "y_centroid", 0),
    ("xcenter", "ycenter", None),
    ("x_image", "y_image", 1),  # SExtractor counts from 1
    ("xwin_image", "ywin_image", 1),
    ("xpeak_image", "ypeak_image", 1),
    ("x_pix", "y_pix", None),
    ("xpix", "ypix", None),
    ("x_0", "y_0", 0),
    ("xc", "yc", None),
    ("col", "row", 0),
)
#: Size columns and the unit their name implies (None: the column's unit, else pixels);
#: the factor makes a radius a diameter (napari sizes are diameters).
SIZE_NAMES: tuple[tuple[str, str | None, float], ...] = (
    ("size", None, 1.0),
    ("size(px)", "pix", 1.0),
    ("size(pix)", "pix", 1.0),
    ("size_px", "pix", 1.0),
    ("size_pix", "pix", 1.0),
    ("size(arcsec)", "arcsec", 1.0),
    ("size_arcsec", "arcsec", 1.0),
    ("diameter", None, 1.0),
    ("radius", None, 2.0),
    ("radius(arcsec)", "arcsec", 2.0),
    ("radius_arcsec", "arcsec", 2.0),
    ("radius(px)", "pix", 2.0),
)
IMAGE_NAMES = ("image", "image_name", "filename")
SIZE_UNITS = {
    "pix": u.pix,
    "px": u.pix,
    "pixel": u.pix,
    "arcsec": u.arcsec,
    "arcmin": u.arcmin,
    "deg": u.deg,
}


@dataclass
class ColumnGuess:
    """The columns :func:`detect_columns` found, and the others that would fit.

    Attributes
    ----------
    ra, dec, x, y, size, image : str or None
        Column names (as in the table), or None.
    pixel_origin : int or str
        The x/y convention the file or the column names imply: 0, 1 or ``"imgmarker"``.
    size_unit : str
        ``"pix"``, ``"arcsec"``, ``"arcmin"`` or ``"deg"``.
    size_factor : float
        2 when the size column is a radius (napari sizes are diameters), else 1.
    candidates : dict of str to list of str
        For ``"ra"``, ``"dec"``, ``"x"``, ``"y"``: every column whose name fits.
    ambiguous : list of str
        What could not be decided (several candidates of the same rank).
    """

    ra: str | None = None
    dec: str | None = None
    x: str | None = None
    y: str | None = None
    size: str | None = None
    image: str | None = None
    pixel_origin: int | str = 0
    size_unit: str = "pix"
    size_factor: float = 1.0
    candidates: dict[str, list[str]] = field(default_factory=dict)
    ambiguous: list[str] = field(default_factory=list)


def _by_lower(names) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in names:
        out.setdefault(name.strip().lower(), []).append(name)
    return out


def detect_columns(table: Table) -> ColumnGuess:
    """Find the RA/Dec, x/y, size and image columns of a catalog by their names.

    Names are compared case-insensitively against common conventions (``ra/dec``,
    ``RAJ2000/DEJ2000``, ``_RAJ2000/_DEJ2000``, ``RA_ICRS/DE_ICRS``, ``ALPHA_J2000/
    DELTA_J2000``, ``x/y``, ``X_IMAGE/Y_IMAGE``, ``xcentroid/ycentroid``, ``size(arcsec)``,
    ...); when no known pair is present, names starting like ``ra``/``dec`` are used if
    there is exactly one of each.

    Parameters
    ----------
    table : astropy.table.Table

    Returns
    -------
    ColumnGuess
        Nothing is raised here: ambiguities are listed in ``ambiguous`` and the fitting
        names in ``candidates``, for a column picker to offer.
    """
    names = [n for n in table.colnames if table[n].ndim == 1]
    lower = _by_lower(names)
    guess = ColumnGuess()
    meta = table.meta or {}

    # RA/Dec: the first known pair present wins; a name present twice (RA and ra) is unsure
    for ra_name, dec_names in SKY_PAIRS:
        dec_name = next((d for d in dec_names if d in lower), None)
        if ra_name in lower and dec_name is not None:
            guess.ra, guess.dec = lower[ra_name][0], lower[dec_name][0]
            for key, found in (("RA", lower[ra_name]), ("Dec", lower[dec_name])):
                if len(found) > 1:
                    guess.ambiguous.append(f"{key}: {', '.join(found)}")
            break
    ra_like = [n for n in names if _RA_LIKE.search(n.lower()) and not _NOT_COORD.search(n)]
    dec_like = [n for n in names if _DEC_LIKE.search(n.lower()) and not _NOT_COORD.search(n)]
    guess.candidates["ra"] = _first(guess.ra, ra_like)
    guess.candidates["dec"] = _first(guess.dec, dec_like)
    if guess.ra is None and ra_like and dec_like:
        if len(ra_like) == 1 and len(dec_like) == 1:
            guess.ra, guess.dec = ra_like[0], dec_like[0]
        else:
            guess.ambiguous.append(f"RA: {', '.join(ra_like)}; Dec: {', '.join(dec_like)}")

    origin: int | None = None
    for x_name, y_name, pair_origin in PIXEL_PAIRS:
        if x_name in lower and y_name in lower:
            guess.x, guess.y, origin = lower[x_name][0], lower[y_name][0], pair_origin
            for key, found in (("x", lower[x_name]), ("y", lower[y_name])):
                if len(found) > 1:
                    guess.ambiguous.append(f"{key}: {', '.join(found)}")
            break
    x_like = [n for n in names if re.match(r"^x(?![a-z])|^x(pix|cen|win|peak)", n.lower())]
    y_like = [n for n in names if re.match(r"^y(?![a-z])|^y(pix|cen|win|peak)", n.lower())]
    guess.candidates["x"] = _first(guess.x, x_like)
    guess.candidates["y"] = _first(guess.y, y_like)

    if meta.get("catalog_format") == "imgmarker" and meta.get("display_xy"):
        guess.pixel_origin = "imgmarker"
    elif meta.get("pixel_origin") in (0, 1):
        guess.pixel_origin = int(meta["pixel_origin"])
    elif origin is not None:
        guess.pixel_origin = origin

    for size_name, unit, factor in SIZE_NAMES:
        if size_name in lower:
            guess.size, guess.size_factor = lower[size_name][0], factor
            column_unit = table[guess.size].unit
            if unit is None and column_unit is not None:
                unit = size_unit_name(column_unit)
            guess.size_unit = unit or "pix"
            break
    guess.image = next((lower[n][0] for n in IMAGE_NAMES if n in lower), None)
    return guess


def _first(chosen: str | None, others: list[str]) -> list[str]:
    return list(dict.fromkeys([*([chosen] if chosen else []), *others]))


def size_unit_name(unit) -> str | None:
    for name, candidate in SIZE_UNITS.items():
        if unit == candidate:
            return "pix" if candidate == u.pix else name
    return None


_SEXAGESIMAL_SEPARATORS = str.maketrans({c: " " for c in ":hdms°'\"+-"})


def column_values(column) -> tuple[np.ndarray, np.ndarray]:
    """(values, missing) of a column: masked entries flagged, the data left as they are."""
    if isinstance(column, MaskedColumn) or np.ma.isMaskedArray(column):
        return np.asarray(np.ma.getdata(column)), np.ma.getmaskarray(column).copy()
    return np.asarray(column), np.zeros(len(column), dtype=bool)


def filled(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """``values`` in native byte order with ``missing`` entries NaN (numbers) or "" (text),
    as napari features and numeric parsing want them (a copy only where needed)."""
    if not values.dtype.isnative:  # FITS is big-endian; pandas cannot take those
        values = values.astype(values.dtype.newbyteorder("="))
    if values.dtype.kind == "O":
        missing = missing | pd.isna(values)
        if missing.any():
            values = values.copy()
            values[missing] = ""
        return values
    if not missing.any():
        return values
    if values.dtype.kind in "iub":
        values = values.astype(np.float64)
    values = values.copy()
    values[missing] = np.nan if values.dtype.kind in "fc" else ""
    return values


def to_float(values: np.ndarray) -> np.ndarray:
    """Numbers from any array, as a new float64 array: non-numbers become NaN (vectorised,
    through pandas' C parser)."""
    if values.dtype.kind in "fiub":
        return values.astype(np.float64)  # always a copy
    series = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
    return np.array(series.to_numpy(dtype=np.float64, na_value=np.nan), dtype=np.float64)


def parse_angles(column, *, hours: bool | None = None) -> tuple[np.ndarray, str]:
    """Angles in degrees from a column of numbers or of (sexagesimal) strings.

    Parameters
    ----------
    column : array-like or astropy Column
        Numbers (degrees unless the column has an angle unit: ``hourangle``, ``rad``, ...),
        or strings: decimal (``"150.1"``) or sexagesimal with ``:``, blanks or letters as
        separators (``"10:00:24.0"``, ``"10 00 24"``, ``"10h00m24s"``, ``"-02d12m00s"``,
        ``"+2°12'00\\""``).
    hours : bool, optional
        Whether sexagesimal strings without ``h``/``d`` letters are hours (RA) or degrees
        (Dec). Default: hours if the strings contain ``h``, else degrees.

    Returns
    -------
    degrees : ndarray of float64
        NaN where a value is missing or is not an angle.
    how : str
        How the values were read, for messages: ``"degrees"``, ``"hours"``,
        ``"sexagesimal hours"``, ``"sexagesimal degrees"``, ...
    """
    values, missing = column_values(column)
    unit = getattr(column, "unit", None)
    if values.dtype.kind in "fiub":
        out = values.astype(np.float64)
        how = "degrees"
        if unit is not None and unit != u.deg:
            try:
                out = (out * unit).to_value(u.deg)
                how = f"{unit} converted to degrees"
            except u.UnitsError:
                pass
        out[missing] = np.nan
        return out, how
    missing = missing | missing_text(values)
    text = _lines(values, missing)
    if not any(c in text for c in ":hdms°' ") and '"' not in text:
        out = to_float(np.asarray(values))
        out[missing] = np.nan
        return _with_unit(out, unit, "degrees")
    if hours is None:
        hours = "h" in text
    if "h" in text:
        hours = True
    elif "d" in text or "°" in text:
        hours = False
    if unit is not None:
        if unit == u.hourangle:
            hours = True
        elif unit == u.deg:
            hours = False
    # one C-level parse of all fields: separators become blanks, each value a line
    fields = pd.read_csv(
        io.StringIO(text.translate(_SEXAGESIMAL_SEPARATORS)),
        sep=r"\s+",
        header=None,
        names=["a", "b", "c"],
        skip_blank_lines=False,
        low_memory=False,
        on_bad_lines="skip",
    )
    negative = _negative_lines(text, len(values))
    if len(fields) != len(values) or negative is None:  # more than 3 fields somewhere
        return _parse_angles_slowly(np.asarray(values, dtype=str), missing, hours)
    a, b, c = (to_float(fields[k].to_numpy()) for k in "abc")
    b_missing, c_missing = np.isnan(b), np.isnan(c)
    bad = ~np.isfinite(a) | (b_missing & ~c_missing)
    bad |= (~b_missing & ((b < 0) | (b >= 60))) | (~c_missing & ((c < 0) | (c >= 60)))
    deg = np.abs(a) + np.where(b_missing, 0, b) / 60.0 + np.where(c_missing, 0, c) / 3600.0
    deg = np.where(negative, -deg, deg) * (15.0 if hours else 1.0)
    deg[bad | missing] = np.nan
    return deg, "sexagesimal hours" if hours else "sexagesimal degrees"


def missing_text(values: np.ndarray) -> np.ndarray:
    """Where a text (or object) column holds no value: None/NaN, or "", "nan", "None"."""
    values = np.asarray(values)
    if values.dtype.kind == "O":
        empty = pd.isna(values) | (values == "")
        return np.asarray(empty | (values == "nan") | (values == "None"), dtype=bool)
    if values.dtype.kind != "U":
        return np.zeros(len(values), dtype=bool)
    stripped = np.char.lower(np.char.strip(values))
    return (stripped == "") | (stripped == "nan") | (stripped == "none")


def _lines(values: np.ndarray, missing: np.ndarray) -> str:
    """The values as one text, a line each (missing ones empty)."""
    items = np.asarray(values)
    if missing.any():
        items = items.astype(object)
        items[missing] = ""
    items = items.tolist()
    try:
        return "\n".join(items)
    except TypeError:  # numbers among the text
        return "\n".join(map(str, items))


def _negative_lines(text: str, n: int) -> np.ndarray | None:
    """Which of the ``n`` lines of ``text`` start with "-" (None if the count is not n)."""
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8)
    starts = np.r_[0, np.flatnonzero(data == ord("\n")) + 1]
    if len(starts) != n:
        return None
    first = np.full(n, ord(" "), dtype=np.uint8)
    inside = starts < len(data)
    first[inside] = data[starts[inside]]
    negative = first == ord("-")
    blank = np.flatnonzero(first == ord(" "))  # rare: a value with leading blanks
    for i in blank:
        end = starts[i + 1] - 1 if i + 1 < n else len(data)
        negative[i] = bytes(data[starts[i] : end]).strip().startswith(b"-")
    return negative


def _with_unit(out: np.ndarray, unit, how: str) -> tuple[np.ndarray, str]:
    if unit is not None and unit != u.deg:
        try:
            return (out * unit).to_value(u.deg), f"{unit} converted to degrees"
        except u.UnitsError:
            pass
    return out, how


def _parse_angles_slowly(strings, missing, hours) -> tuple[np.ndarray, str]:
    """Fallback for irregular text (more than three fields somewhere): astropy's parser."""
    from astropy.coordinates import Angle

    out = np.full(len(strings), np.nan)
    unit = u.hourangle if hours else u.deg
    ok = ~missing
    try:
        out[ok] = Angle(strings[ok], unit=unit).deg
    except Exception:
        for i in np.flatnonzero(ok):  # only for malformed input; never on the fast path
            try:
                out[i] = Angle(strings[i], unit=unit).deg
            except Exception:
                out[i] = np.nan
    return out, "sexagesimal hours" if hours else "sexagesimal degrees"

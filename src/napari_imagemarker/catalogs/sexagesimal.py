"""Sexagesimal angles, a million at a time, read exactly as astropy's ``Angle`` reads them.

:func:`parse_sexagesimal` reads the regular forms catalogs write (``10:00:24.5``,
``10 00 24.5``, ``10h00m24.5s``, ``-02d12m00s``, ``+2°12'00"``, and their two-field
``10:00`` forms) on a fast path: the values are grouped by their *shape* (digits replaced
by ``9``), a column has a handful of shapes, and each shape is checked once against a strict
grammar; the numbers of all the values that pass are parsed in one C call (pandas). Every
other value (decimal hours, ``60`` seconds, hours past 24, letters in another order,
anything malformed) goes to ``astropy.coordinates.Angle`` itself, one at a time, so what it
accepts we accept, with its value, and what it refuses is NaN. Hours or degrees are decided
per value: ``h`` makes hours, ``d`` or ``°`` degrees, otherwise the column's default (RA:
hours, Dec: degrees), as ``Angle(value, unit=...)`` does.
"""

from __future__ import annotations

import io
import re
import warnings

import astropy.units as u
import numpy as np
import pandas as pd

__all__ = ["FAST_SHAPE", "parse_sexagesimal"]

#: Shapes (digits as 9) read on the fast path: one sign, then 2 or 3 fields with one kind of
#: separator in astropy's order, whole numbers but the last of 3 (which may have decimals).
FAST_SHAPE = re.compile(
    r"[ \t]*[-+]?(?:"
    r"9+:9+(?::9+(?:\.9*)?)?"
    r"|9+ +9+(?: +9+(?:\.9*)?)?"
    r"|9+h9+m(?:9+(?:\.9*)?s)?"
    r"|9+d9+m(?:9+(?:\.9*)?s)?"
    r"|9+°9+'(?:9+(?:\.9*)?\")?"
    r")[ \t]*"
)
_DIGITS = str.maketrans("0123456789", "9999999999")
_SEPARATORS = str.maketrans({c: " " for c in ":hdms°'\"+-"})


def parse_sexagesimal(
    values, missing: np.ndarray, hours: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Degrees from sexagesimal (or any ``Angle``-readable) strings.

    Parameters
    ----------
    values : array of str or object
    missing : ndarray of bool
        Values not to read (NaN out).
    hours : bool
        The column's default: values without ``h``/``d``/``°`` are hours (RA) or degrees.

    Returns
    -------
    degrees : ndarray of float64
        NaN where missing or where ``Angle`` refuses the value.
    as_hours : ndarray of bool
        Which values were read as hours.
    fast : ndarray of bool
        Which values the fast path read (the others went through ``Angle``).
    """
    values = np.asarray(values, dtype=object)
    n = len(values)
    out = np.full(n, np.nan)
    as_hours = np.zeros(n, dtype=bool)
    fast = np.zeros(n, dtype=bool)
    todo = np.flatnonzero(~missing)
    if not len(todo):
        return out, as_hours, fast
    strings = values[todo].tolist()
    try:
        text = "\n".join(strings)
    except TypeError:  # numbers among the text
        text = "\n".join(map(str, strings))
    if text.count("\n") != len(todo) - 1:  # a line break inside a value: one by one
        return _by_astropy(values, todo, out, as_hours, fast, hours)
    shapes = pd.Series(text.translate(_DIGITS).split("\n"), dtype=object)
    codes, unique = pd.factorize(shapes, sort=False)
    unique = [str(s) for s in unique]
    regular = np.array([FAST_SHAPE.fullmatch(s) is not None for s in unique], dtype=bool)
    shape_hours = np.array(
        [("h" in s) or (hours and "d" not in s and "°" not in s) for s in unique], dtype=bool
    )
    negative = np.array([s.lstrip().startswith("-") for s in unique], dtype=bool)
    as_hours[todo] = shape_hours[codes]
    take = regular[codes]
    rows = todo[take]
    if len(rows):
        chosen = text if take.all() else "\n".join(values[rows].tolist())
        fields = pd.read_csv(
            io.StringIO(chosen.translate(_SEPARATORS)),
            sep=r"\s+",
            header=None,
            names=["a", "b", "c"],
            skip_blank_lines=False,
            dtype=np.float64,
        )
        a, b, c = (fields[k].to_numpy(dtype=np.float64) for k in "abc")
        b = np.where(np.isnan(b), 0.0, b)
        c = np.where(np.isnan(c), 0.0, c)
        in_hours = shape_hours[codes[take]]
        # astropy's range checks: 60 minutes or seconds, 24 hours or more: astropy decides
        ok = (b < 60) & (c < 60) & ~(in_hours & (a >= 24))
        degrees = (a + b / 60.0 + c / 3600.0) * np.where(in_hours, 15.0, 1.0)
        degrees = np.where(negative[codes[take]], -degrees, degrees)
        out[rows[ok]] = degrees[ok]
        fast[rows[ok]] = True
    rest = todo[~fast[todo]]
    return _by_astropy(values, rest, out, as_hours, fast, hours)


def _by_astropy(values, rows, out, as_hours, fast, hours):
    """``Angle`` for the values the fast path leaves (rare in a catalog)."""
    from astropy.coordinates import Angle

    unit = u.hourangle if hours else u.deg
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # IllegalSecondWarning for 60 s: astropy accepts it
        for i in rows:
            try:
                out[i] = Angle(str(values[i]), unit=unit).deg
            except Exception:  # whatever Angle refuses is no angle
                out[i] = np.nan
            text = str(values[i])
            as_hours[i] = "h" in text or (hours and "d" not in text and "°" not in text)
    return out, as_hours, fast

"""Which columns of a catalog hold its positions and sizes, and their values in degrees.

:func:`detect_columns` matches column names (case-insensitively) against the conventions
astronomers use; :func:`parse_angles` reads RA/Dec given as numbers (with or without angle
units) or as sexagesimal text, a million values at a time, without a loop over rows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.table import MaskedColumn, Table

from napari_imagemarker.catalogs.sexagesimal import parse_sexagesimal

__all__ = [
    "IMAGE_NAMES",
    "PIXEL_PAIRS",
    "SIZE_NAMES",
    "SIZE_UNITS",
    "SKY_PAIRS",
    "ColumnGuess",
    "angle_unit",
    "column_values",
    "detect_columns",
    "filled",
    "find_frame",
    "missing_text",
    "parse_angles",
    "size_unit_name",
    "split_sexagesimal",
    "to_float",
]


#: RA/Dec (or lon/lat) column pairs by common name, most specific first (compared in lower
#: case), and the frame their names imply (None: unstated).
SKY_PAIRS: tuple[tuple[str, tuple[str, ...], str | None], ...] = (
    ("ra", ("dec", "de", "decl"), None),
    ("ra_deg", ("dec_deg", "de_deg"), None),
    ("radeg", ("decdeg", "dedeg"), None),
    ("ra(deg)", ("dec(deg)",), None),
    ("ra_icrs", ("de_icrs", "dec_icrs"), None),
    ("raj2000", ("dej2000", "decj2000"), None),
    ("_raj2000", ("_dej2000", "_decj2000"), None),
    ("ra_j2000", ("dec_j2000", "de_j2000"), None),
    ("ra2000", ("dec2000", "de2000"), None),
    ("alpha_j2000", ("delta_j2000",), None),
    ("alphawin_j2000", ("deltawin_j2000",), None),
    ("alpha_sky", ("delta_sky",), None),
    ("alpha", ("delta",), None),
    ("ra_obj", ("dec_obj",), None),
    ("target_ra", ("target_dec",), None),
    ("right_ascension", ("declination",), None),
    ("rab1950", ("deb1950", "decb1950"), "fk4"),
    ("_rab1950", ("_deb1950", "_decb1950"), "fk4"),
    ("ra_b1950", ("dec_b1950", "de_b1950"), "fk4"),
    ("ra1950", ("dec1950", "de1950"), "fk4"),
    ("glon", ("glat",), "galactic"),
    ("_glon", ("_glat",), "galactic"),
    ("gal_lon", ("gal_lat",), "galactic"),
    ("lii", ("bii",), "galactic"),
    ("elon", ("elat",), "ecliptic"),
    ("_elon", ("_elat",), "ecliptic"),
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
    ("xcenter", "ycenter", None),  # IRAF (1) in DAOPHOT files, photutils (0) elsewhere
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
    skycoord : str or None
        A ``SkyCoord`` column holding the positions (then ``ra`` is its name, ``dec`` None).
    split : dict or None
        CDS/MRT split sexagesimal columns: ``{"ra": [RAh, RAm, RAs], "dec": [DE-, DEd,
        DEm, DEs]}`` (a missing minute or second column is None); ``ra``/``dec`` are then
        ``RAh`` and ``DEd``.
    frame : astropy frame or None
        The frame the table states for ``ra``/``dec`` (lon/lat for galactic or ecliptic
        columns); None: unstated, taken in each image's own equatorial frame.
    why : dict of str to str
        How each choice was made (``"sky"``, ``"frame"``, ``"pixels"``, ``"pixel_origin"``),
        for the dock and the layer's metadata.
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
    skycoord: str | None = None
    split: dict[str, list[str | None]] | None = None
    frame: object | None = None
    why: dict[str, str] = field(default_factory=dict)


def _by_lower(names) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for name in names:
        out.setdefault(name.strip().lower(), []).append(name)
    return out


def detect_columns(table: Table) -> ColumnGuess:
    """Find the position, size and image columns of a catalog as astronomers' tools do.

    Sky positions, in this order: a ``SkyCoord`` column (any frame); UCDs
    (``pos.eq.ra``/``pos.eq.dec``, those with ``meta.main`` first, then
    ``pos.galactic.lon/lat`` and ``pos.ecliptic.lon/lat``); names, compared
    case-insensitively (``ra/dec``, ``RAJ2000/DEJ2000``, ``RA_ICRS/DE_ICRS``,
    ``ALPHA_J2000/DELTA_J2000``, ``RAB1950/DEB1950``, ``GLON/GLAT``, CDS/MRT split
    sexagesimal ``RAh RAm RAs DE- DEd DEm DEs``, ...; when no known pair is present, names
    starting like ``ra``/``dec`` if there is exactly one of each). Their frame: the
    ``SkyCoord``'s, else the VOTable ``COOSYS`` of the RA column, else ``RADESYS``/
    ``EQUINOX`` in the table's meta, else what the UCD or name implies (galactic, ecliptic,
    B1950), else unstated. Pixels: ``pos.cartesian.x/y`` UCDs, then names (``x/y``,
    ``X_IMAGE/Y_IMAGE``, ``XCENTER/YCENTER``, ``xcentroid/ycentroid``...), with the pixel
    origin of the program that wrote the file (see :data:`PIXEL_PAIRS` and the reader's
    ``meta["pixel_origin"]``).

    Parameters
    ----------
    table : astropy.table.Table

    Returns
    -------
    ColumnGuess
        Nothing is raised here: ambiguities are listed in ``ambiguous`` and the fitting
        names in ``candidates``, for a column picker to offer; ``why`` says how each choice
        was made.
    """
    from astropy.coordinates import SkyCoord

    names = [n for n in table.colnames if table[n].ndim == 1]
    lower = _by_lower(names)
    guess = ColumnGuess()
    meta = table.meta or {}
    implied = None  # the frame a UCD or a name implies

    sky_coords = [n for n in names if isinstance(table[n], SkyCoord)]
    if sky_coords:
        guess.ra = guess.skycoord = sky_coords[0]
        guess.why["sky"] = f"SkyCoord column {sky_coords[0]}"
        if len(sky_coords) > 1:
            guess.why["sky"] += f" (the first of {', '.join(sky_coords)})"
    if guess.ra is None:
        found = _by_ucd(table, names, ("pos.eq.ra", "pos.eq.dec"))
        if found is None:
            found = _by_ucd(table, names, ("pos.galactic.lon", "pos.galactic.lat"))
            implied = ("galactic", "UCD pos.galactic") if found else None
        if found is None:
            found = _by_ucd(table, names, ("pos.ecliptic.lon", "pos.ecliptic.lat"))
            implied = ("ecliptic", "UCD pos.ecliptic") if found else None
        if found is not None:
            guess.ra, guess.dec, how = found
            guess.why["sky"] = f"columns {guess.ra}, {guess.dec} by UCD ({how})"

    # RA/Dec: the first known pair present wins; a name present twice (RA and ra) is unsure
    if guess.ra is None:
        for ra_name, dec_names, frame_name in SKY_PAIRS:
            dec_name = next((d for d in dec_names if d in lower), None)
            if ra_name in lower and dec_name is not None:
                guess.ra, guess.dec = lower[ra_name][0], lower[dec_name][0]
                for key, found in (("RA", lower[ra_name]), ("Dec", lower[dec_name])):
                    if len(found) > 1:
                        guess.ambiguous.append(f"{key}: {', '.join(found)}")
                guess.why["sky"] = f"columns {guess.ra}, {guess.dec} by name"
                if frame_name is not None:
                    implied = (frame_name, f"the names {guess.ra}, {guess.dec}")
                break
    if guess.ra is None:
        split = split_sexagesimal(table, "rah")
        if split is not None:
            guess.split = split
            guess.ra, guess.dec = split["ra"][0], split["dec"][1]
            parts = [n for n in (*split["ra"], *split["dec"]) if n]
            guess.why["sky"] = f"CDS/MRT split sexagesimal columns {' '.join(parts)}"
    ra_like = [n for n in names if _RA_LIKE.search(n.lower()) and not _NOT_COORD.search(n)]
    dec_like = [n for n in names if _DEC_LIKE.search(n.lower()) and not _NOT_COORD.search(n)]
    guess.candidates["ra"] = _first(guess.ra, ra_like)
    guess.candidates["dec"] = _first(guess.dec, dec_like)
    if guess.ra is None and ra_like and dec_like:
        if len(ra_like) == 1 and len(dec_like) == 1:
            guess.ra, guess.dec = ra_like[0], dec_like[0]
            guess.why["sky"] = f"columns {guess.ra}, {guess.dec} by the start of their names"
        else:
            guess.ambiguous.append(f"RA: {', '.join(ra_like)}; Dec: {', '.join(dec_like)}")

    find_frame(table, guess, implied)

    origin: int | None = None
    found = _by_ucd(table, names, ("pos.cartesian.x", "pos.cartesian.y"))
    if found is not None:
        guess.x, guess.y, how = found
        guess.why["pixels"] = f"columns {guess.x}, {guess.y} by UCD ({how})"
    else:
        for x_name, y_name, pair_origin in PIXEL_PAIRS:
            if x_name in lower and y_name in lower:
                guess.x, guess.y, origin = lower[x_name][0], lower[y_name][0], pair_origin
                for key, found in (("x", lower[x_name]), ("y", lower[y_name])):
                    if len(found) > 1:
                        guess.ambiguous.append(f"{key}: {', '.join(found)}")
                guess.why["pixels"] = f"columns {guess.x}, {guess.y} by name"
                break
    x_like = [n for n in names if re.match(r"^x(?![a-z])|^x(pix|cen|win|peak)", n.lower())]
    y_like = [n for n in names if re.match(r"^y(?![a-z])|^y(pix|cen|win|peak)", n.lower())]
    guess.candidates["x"] = _first(guess.x, x_like)
    guess.candidates["y"] = _first(guess.y, y_like)

    writer = meta.get("catalog_format")
    if writer == "imgmarker" and meta.get("display_xy"):
        guess.pixel_origin = "imgmarker"
        guess.why["pixel_origin"] = "Image Marker display pixels (an Image Marker file)"
    elif meta.get("pixel_origin") in (0, 1):
        guess.pixel_origin = int(meta["pixel_origin"])
        said = WRITER_ORIGINS.get(str(writer), "the file states it")
        guess.why["pixel_origin"] = f"{guess.pixel_origin} ({said})"
    elif _is_daophot_meta(meta):
        guess.pixel_origin = 1
        guess.why["pixel_origin"] = f"1 ({WRITER_ORIGINS['daophot']})"
    elif origin is not None:
        guess.pixel_origin = origin
        guess.why["pixel_origin"] = f"{origin} (what columns named {guess.x} count from)"
    elif guess.x is not None:
        guess.why["pixel_origin"] = "0 (nothing says otherwise)"

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


def find_frame(table: Table, guess: ColumnGuess, implied=None) -> None:
    """Set ``guess.frame`` and ``guess.why["frame"]`` for the columns ``guess.ra``/``dec``:
    a SkyCoord's own frame, the RA column's VOTable ``COOSYS`` (``meta["coosys"]``), the
    table's ``RADESYS``/``EQUINOX``, else ``implied`` (``(frame name, by what)``: a UCD or
    column names), else unstated (None)."""
    from astropy.coordinates import SkyCoord

    from napari_imagemarker.catalogs.frames import coosys_frame, describe, meta_frame, parse_frame

    guess.why.pop("frame", None)
    if guess.ra is None:
        guess.frame = None
        return
    column = table[guess.ra]
    if isinstance(column, SkyCoord):
        guess.frame = column.frame.replicate_without_data()
        guess.why["frame"] = f"{describe(guess.frame)} (the SkyCoord's)"
        return
    guess.frame = None
    if implied is None:
        implied = _implied_frame(table, guess.ra, guess.dec)
    coosys = getattr(column, "meta", None) or {}
    coosys = coosys.get("coosys") if isinstance(coosys, dict) else None
    stated = None
    try:
        if coosys:
            stated = (
                coosys_frame(coosys["system"], coosys.get("equinox")),
                f"VOTable COOSYS {coosys['system']}"
                + (f" {coosys['equinox']}" if coosys.get("equinox") else ""),
            )
        else:
            stated = meta_frame(table.meta or {})
    except (ValueError, KeyError) as err:
        guess.ambiguous.append(f"frame: {err}")
    if stated is None and implied is not None:
        stated = (parse_frame(implied[0]), implied[1])
    if stated is not None:
        guess.frame = stated[0]
        guess.why["frame"] = f"{describe(stated[0])} (from {stated[1]})"
    else:
        guess.why["frame"] = (
            "unstated: taken in each image's own equatorial frame (ICRS or FK5 J2000)"
        )


def _implied_frame(table, ra: str, dec: str | None):
    """The frame the UCD or the names of the columns ``ra``, ``dec`` imply, or None."""
    ucd = _ucd(table[ra])
    if ucd and ucd[0].startswith("pos.galactic"):
        return "galactic", "UCD pos.galactic"
    if ucd and ucd[0].startswith("pos.ecliptic"):
        return "ecliptic", "UCD pos.ecliptic"
    for ra_name, dec_names, frame_name in SKY_PAIRS:
        if frame_name and ra.lower() == ra_name and (dec or "").lower() in dec_names:
            return frame_name, f"the names {ra}, {dec}"
    return None


#: Pixel origins of the programs whose files say who wrote them (the reader's
#: ``meta["catalog_format"]``), for messages.
WRITER_ORIGINS = {
    "daophot": "IRAF/DAOPHOT count pixels from 1",
    "sextractor": "SExtractor counts pixels from 1",
    "ds9": "DS9's 1 already taken off by regions",
    "marks": "stated in the file's header",
}


def _is_daophot_meta(meta) -> bool:
    keywords = meta.get("keywords")
    return isinstance(keywords, dict) and "IRAF" in keywords and "PACKAGE" in keywords


def _ucd(column) -> list[str]:
    meta = getattr(column, "meta", None) or {}
    ucd = meta.get("ucd") if isinstance(meta, dict) else None
    return [w.strip().lower() for w in str(ucd).split(";")] if ucd else []


def _by_ucd(table, names, words) -> tuple[str, str, str] | None:
    """(lon column, lat column, how) whose UCDs start with ``words``, ``meta.main`` first;
    None when there is not exactly one of each at the best rank."""
    found = []
    for word in words:
        hits = [n for n in names if (ucd := _ucd(table[n])) and ucd[0] == word]
        main = [n for n in hits if "meta.main" in _ucd(table[n])]
        found.append(main if len(main) == 1 else hits)
    if all(len(f) == 1 for f in found):
        main = all("meta.main" in _ucd(table[f[0]]) for f in found)
        return found[0][0], found[1][0], f"{words[0]}{';meta.main' if main else ''}"
    return None


def split_sexagesimal(table, ra_name: str) -> dict[str, list[str | None]] | None:
    """The CDS/MRT split sexagesimal columns (``RAh RAm RAs DE- DEd DEm DEs``) a table has,
    when ``ra_name`` (any case) is its ``RAh`` column; None otherwise."""
    lower = _by_lower(table.colnames)
    if ra_name.lower() != "rah" or "rah" not in lower or "ded" not in lower:
        return None

    def get(name):
        return lower[name][0] if name in lower else None

    sign = get("de-") or get("de_sign") or get("design")
    return {
        "ra": [get("rah"), get("ram"), get("ras")],
        "dec": [sign, get("ded"), get("dem"), get("des")],
    }


def _first(chosen: str | None, others: list[str]) -> list[str]:
    return list(dict.fromkeys([*([chosen] if chosen else []), *others]))


def size_unit_name(unit) -> str | None:
    for name, candidate in SIZE_UNITS.items():
        if unit == candidate:
            return "pix" if candidate == u.pix else name
    return None


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
        Whether sexagesimal strings without ``h``/``d``/``°`` are hours (RA) or degrees
        (Dec), unless the column's unit says (``hourangle``, ``deg``); default degrees.
        Decided per value: ``h`` makes that value hours, ``d``/``°`` degrees. Strings are
        read exactly as ``astropy.coordinates.Angle`` reads them (see
        :mod:`.sexagesimal`): what it refuses (``--1:00:00``, ``1:2:3:4``) is NaN.

    Returns
    -------
    degrees : ndarray of float64
        NaN where a value is missing or is not an angle.
    how : str
        How the values were read, for messages: ``"degrees"``, ``"hours"``,
        ``"sexagesimal hours"``, ``"sexagesimal degrees"``, ...
    """
    values, missing = column_values(column)
    unit = angle_unit(getattr(column, "unit", None))
    if values.dtype.kind in "fiub":
        out = values.astype(np.float64)
        out[missing] = np.nan
        return _with_unit(out, unit, "degrees")
    missing = missing | missing_text(values)
    text = _lines(values, missing)
    if not any(c in text for c in ":hdms°' ") and '"' not in text:
        out = to_float(np.asarray(values))
        out[missing] = np.nan
        return _with_unit(out, unit, "degrees")
    if unit == u.hourangle:
        hours = True
    elif unit == u.deg:
        hours = False
    out, as_hours, _ = parse_sexagesimal(values, missing, bool(hours))
    read = as_hours[~missing]
    if read.all():
        return out, "sexagesimal hours"
    if not read.any():
        return out, "sexagesimal degrees"
    return out, "sexagesimal hours and degrees (per value)"


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


def _with_unit(out: np.ndarray, unit, how: str) -> tuple[np.ndarray, str]:
    if unit is not None and unit != u.deg:
        return (out * unit).to_value(u.deg), f"{unit} converted to degrees"
    return out, how


_UNIT_WORDS = {
    "deg": u.deg,
    "degree": u.deg,
    "degrees": u.deg,
    "d": u.deg,
    "h": u.hourangle,
    "hr": u.hourangle,
    "hour": u.hourangle,
    "hours": u.hourangle,
    "hourangle": u.hourangle,
    "rad": u.rad,
    "radian": u.rad,
    "radians": u.rad,
    "arcmin": u.arcmin,
    "arcsec": u.arcsec,
    "mas": u.mas,
}


def angle_unit(unit) -> u.UnitBase | None:
    """The angle unit a column's unit means: an angle unit as it is, an hour (time, as CDS
    writes RA hours) as ``hourangle``, words astropy does not parse (IPAC's ``degrees``,
    ``hours``, ``radians``) by their meaning; None for no unit or one that is no angle."""
    if unit is None:
        return None
    if isinstance(unit, (u.UnrecognizedUnit, str)):
        return _UNIT_WORDS.get(str(unit).strip().lower())
    if unit == u.hour:
        return u.hourangle
    try:
        unit.to(u.deg)
    except (u.UnitsError, ValueError, TypeError):
        return None
    return unit

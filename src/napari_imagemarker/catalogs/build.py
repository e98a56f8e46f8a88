"""Making a :class:`~napari_imagemarker.catalogs.catalog.Catalog` from a table or a file.

:func:`make_catalog` reads the file (:mod:`.catalog_files`) if given one, finds the
coordinate, size and image columns (:mod:`.catalog_columns`) or takes those named, and
parses the positions once: RA/Dec in degrees (decimal, sexagesimal or any angle unit, by
content), x/y in the file's pixel convention, sizes and their unit. Rows without a usable
position are counted by reason and skipped, never fatal unless none is left. Everything is
whole-array NumPy; no Python loop runs over rows.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.coordinates import SkyCoord
from astropy.table import Table

from napari_imagemarker.catalogs.catalog import Catalog
from napari_imagemarker.catalogs.columns import (
    SIZE_UNITS,
    ColumnGuess,
    angle_unit,
    column_values,
    detect_columns,
    filled,
    find_frame,
    missing_text,
    parse_angles,
    size_unit_name,
    split_sexagesimal,
    to_float,
)
from napari_imagemarker.catalogs.frames import describe, parse_frame
from napari_imagemarker.catalogs.read import AmbiguousColumnsError, CatalogError, read_table

__all__ = ["make_catalog"]


def _column(table: Table, name: str, what: str, source: str):
    if name in table.colnames:
        return name
    matches = [c for c in table.colnames if c.lower() == name.lower()]
    if len(matches) == 1:
        return matches[0]
    raise CatalogError(
        f"{source}: no column {name!r} for {what} (columns: {', '.join(table.colnames)})"
    )


def _as_table(data) -> Table:
    if isinstance(data, Table):
        return data
    if isinstance(data, pd.DataFrame):
        return Table.from_pandas(data)
    return Table(data)


def make_catalog(
    table_or_path: Table | pd.DataFrame | Mapping | str | Path,
    *,
    ra: str | None = None,
    dec: str | None = None,
    x: str | None = None,
    y: str | None = None,
    pixel_origin: int | str | None = None,
    size: str | float | None = None,
    size_unit: str | None = None,
    name: str | None = None,
    format: str | None = None,
    frame=None,
    readme: str | Path | None = None,
) -> Catalog:
    """Read (if needed) and parse a catalog: its positions, sizes and image column.

    Parameters
    ----------
    table_or_path : Table, DataFrame, dict of columns, str or Path
        The catalog, or a file :func:`read_table` reads.
    ra, dec : str, optional
        RA and Dec columns (any case), or longitude and latitude in ``frame``. Default:
        detected (:func:`detect_columns`: a SkyCoord column, UCDs, then names). Degrees, or
        sexagesimal text (hours or degrees decided per value), or any angle unit the
        column carries. ``ra`` may name a SkyCoord column (``dec`` is then not needed) or
        the ``RAh`` column of CDS/MRT split sexagesimal columns (all seven are combined).
    x, y : str, optional
        Pixel columns: ``x`` is the column and ``y`` the row of the image array.
    pixel_origin : {0, 1, "imgmarker"}, optional
        Convention of x/y (module doc). Default: what the file states (our marks files,
        DS9 image regions, Image Marker files, SExtractor's ``X_IMAGE``), else 0.
    size : str or float, optional
        Size column, or one size for every row; napari sizes are diameters. Default: a
        column named ``size``, ``size(arcsec)``, ``radius``, ... if there is one.
    size_unit : {"pix", "arcsec", "arcmin", "deg"}, optional
        Default: from the column's unit or name, else ``"pix"``. Angular sizes are
        converted with each image's pixel scale.
    name : str, optional
        Default: the file's name without suffix.
    format : str, optional
        Passed to :func:`read_table`.
    frame : str or astropy frame, optional
        The frame of ``ra``/``dec``: ``"icrs"``, ``"fk5"`` (J2000), ``"fk5 J1975"``,
        ``"fk4"`` (B1950), ``"galactic"``, ``"ecliptic"``, ``"supergalactic"`` or an
        astropy frame. Default: what the table states (SkyCoord, VOTable COOSYS,
        RADESYS/EQUINOX, UCD, column names), else unstated: the positions are taken in
        each image's own equatorial frame. A stated frame is converted with astropy to each
        image's WCS frame.
    readme : str or Path, optional
        The ReadMe of a CDS table whose description is in a separate file.

    Returns
    -------
    Catalog
        With ``skipped`` saying how many rows have no usable position and why.

    Raises
    ------
    CatalogError
        No coordinate columns, a column that does not exist, only one of a pair, columns
        that cannot be told apart (:class:`AmbiguousColumnsError`), or no usable row at all.
    """
    label = str(table_or_path) if isinstance(table_or_path, (str, Path)) else str(name or "")
    try:
        return _make_catalog(
            table_or_path, ra, dec, x, y, pixel_origin, size, size_unit, name, format, frame,
            readme,
        )  # fmt: skip
    except CatalogError:
        raise
    except Exception as err:  # whatever a table holds, the user gets a message, not a trace
        raise CatalogError(
            f"{label or 'catalog'}: cannot be used as a catalog ({type(err).__name__}: {err}); "
            "pass the coordinate columns (ra=, dec= or x=, y=) and frame= explicitly"
        ) from err


def _make_catalog(
    table_or_path, ra, dec, x, y, pixel_origin, size, size_unit, name, format, frame, readme
) -> Catalog:
    source = None
    if isinstance(table_or_path, (str, Path)):
        source = str(table_or_path)
        table = read_table(table_or_path, format=format, readme=readme)
    else:
        table = _as_table(table_or_path)
    label = source or str(name or table.meta.get("name", "catalog"))
    if name is None:
        name = (
            Path(source).name.split(".")[0] if source else str(table.meta.get("name", "catalog"))
        )
    if len(table) == 0:
        raise CatalogError(f"{label}: the table has no rows")

    guess = detect_columns(table)
    explicit_sky = ra is not None or dec is not None
    explicit_pixel = x is not None or y is not None
    if ra is not None and dec is None and isinstance(table[_column(table, ra, "RA", label)],
                                                    SkyCoord):  # fmt: skip
        dec = ""  # a SkyCoord column holds both
    for a, b, what in ((ra, dec, "ra and dec"), (x, y, "x and y")):
        if (a is None) != (b is None):
            raise CatalogError(f"{label}: pass both {what} (got only one)")
    if explicit_sky or explicit_pixel:
        detected = (guess.ra, guess.dec, guess.x, guess.y, dict(guess.why))
        guess.ra = _column(table, ra, "RA", label) if ra is not None else None
        guess.dec = _column(table, dec, "Dec", label) if dec else None
        guess.x = _column(table, x, "x", label) if x is not None else None
        guess.y = _column(table, y, "y", label) if y is not None else None
        guess.ambiguous = []
        guess.skycoord = guess.split = None
        if guess.ra is not None:
            if isinstance(table[guess.ra], SkyCoord):
                guess.skycoord, guess.dec = guess.ra, None
            else:
                guess.split = split_sexagesimal(table, guess.ra)
            find_frame(table, guess)
            given = f"columns {guess.ra}, {guess.dec} (given)"
            same = (guess.ra, guess.dec) == detected[:2]
            guess.why["sky"] = detected[4].get("sky", given) if same else given
        if guess.x is not None:
            given = f"columns {guess.x}, {guess.y} (given)"
            same = (guess.x, guess.y) == detected[2:4]
            guess.why["pixels"] = detected[4].get("pixels", given) if same else given
    if frame is not None:
        try:
            guess.frame = parse_frame(frame)
        except ValueError as err:
            raise CatalogError(f"{label}: frame={frame!r}: {err}") from None
        guess.why["frame"] = f"{describe(guess.frame)} (given)"
    if guess.ambiguous and guess.ra is None and guess.x is None:
        raise AmbiguousColumnsError(
            f"{label}: cannot tell which columns hold the coordinates "
            f"({'; '.join(guess.ambiguous)}); pass ra=, dec= or x=, y=",
            dict(guess.candidates),
        )
    if guess.ra is None and guess.x is None:
        raise CatalogError(
            f"{label}: no RA/Dec or x/y columns found (columns: {', '.join(table.colnames)}); "
            "pass ra=, dec= or x=, y="
        )
    if pixel_origin is not None:
        if pixel_origin not in (0, 1, "imgmarker"):
            raise CatalogError(
                f"{label}: pixel_origin must be 0, 1 or 'imgmarker', got {pixel_origin!r}"
            )
        guess.pixel_origin = pixel_origin
        guess.why["pixel_origin"] = f"{pixel_origin} (given)"

    reasons: dict[str, np.ndarray] = {}
    # rows the reader already knows have no position to draw (DS9 text, polygons), first
    for why, mask in dict(table.meta.get("skip_rows") or {}).items():
        mask = np.asarray(mask, dtype=bool)
        if mask.shape == (len(table),):
            reasons[str(why)] = mask
    notes: list[str] = []
    if guess.ra is not None and guess.x is not None:
        # a marks table has both pairs; one may be empty throughout (no WCS, or sky only)
        if _missing(table[guess.ra]).all() and not explicit_sky:
            guess.ra = guess.dec = None
        elif _missing(table[guess.x]).all() and not explicit_pixel:
            guess.x = guess.y = None
    missing = np.ones(len(table), dtype=bool)
    reasons["with no position (empty or nan)"] = missing
    ra = dec = x = y = lon = lat = None
    usable = np.zeros(len(table), dtype=bool)
    if guess.ra is not None:
        lon, lat, no_sky = _parse_sky(table, guess, reasons, notes, label)
        ra, dec = _to_icrs(lon, lat, guess.frame)
        missing &= no_sky
        usable |= np.isfinite(ra) & np.isfinite(dec)
    if guess.x is not None:
        x, y, no_pixels = _parse_pixels(table, guess, reasons, notes)
        missing &= no_pixels
        usable |= np.isfinite(x) & np.isfinite(y)
    # a row with an image name and pixels is placed by its pixels (exact on its image);
    # otherwise RA/Dec go first, so one catalog overlays any image with a WCS
    image = None
    if guess.image is not None:
        image = np.asarray(filled(*column_values(table[guess.image])), dtype=str)
    prefer = "pixel" if (guess.image is not None or ra is None) else "sky"
    if explicit_pixel and not explicit_sky:
        prefer = "pixel"
    sizes, unit = _parse_size(table, guess, size, size_unit, label, notes)

    unusable = ~usable
    # each unusable row is counted once, under the first reason that applies to it
    skipped: dict[str, int] = {}
    left = unusable.copy()
    for why, mask in reasons.items():
        hit = mask & left
        if hit.any():
            skipped[why] = int(hit.sum())
        left &= ~hit
    if left.any():
        skipped["without a position"] = int(left.sum())
    cat = Catalog(
        table=table,
        name=name,
        source=source,
        columns=guess,
        ra=ra,
        dec=dec,
        x=x,
        y=y,
        pixel_origin=guess.pixel_origin,
        prefer=prefer,
        size=sizes,
        size_unit=unit,
        image=image,
        skipped=skipped,
        notes=notes,
        frame=guess.frame,
        lon=lon,
        lat=lat,
        choices=_choices(table, guess, ra is not None, x is not None),
    )
    if unusable.all():
        raise CatalogError(f"{label}: no row has a usable position. {cat.summary()}")
    return cat


def _parse_sky(table: Table, guess: ColumnGuess, reasons, notes, label: str) -> tuple:
    """(lon, lat in the table's frame, rows without); adds why rows are bad to
    ``reasons``, how they were read to ``notes``."""
    ra_col = table[guess.ra]
    if guess.skycoord is not None:
        lon, lat = _skycoord_degrees(ra_col)
        missing = ~(np.isfinite(lon) & np.isfinite(lat))
        how, names = "SkyCoord column", guess.ra
    elif guess.split is not None:
        lon, lat, missing = _split_degrees(table, guess.split)
        how = "CDS/MRT split sexagesimal, combined"
        names = " ".join(n for n in (*guess.split["ra"], *guess.split["dec"]) if n)
    else:
        dec_col = table[guess.dec]
        for name, column in ((guess.ra, ra_col), (guess.dec, dec_col)):
            unit = getattr(column, "unit", None)
            if (
                unit is not None
                and angle_unit(unit) is None
                and (not isinstance(unit, u.UnrecognizedUnit))
            ):
                raise CatalogError(
                    f"{label}: column {name} has unit {unit}, which is not an angle; "
                    "pick the coordinate columns (ra=, dec=) or remove the unit"
                )
        lon, ra_how = parse_angles(ra_col, hours=True)
        lat, dec_how = parse_angles(dec_col, hours=False)
        missing = _missing(ra_col) | _missing(dec_col)
        how = ra_how if ra_how == dec_how else f"{ra_how} / {dec_how}"
        names = f"{guess.ra}, {guess.dec}"
    ra, dec = lon, lat
    equatorial = guess.frame is None or guess.frame.name in ("icrs", "fk5", "fk4", "fk4noeterms")
    what = "RA/Dec" if equatorial else f"{guess.frame.name} lon/lat"
    bad = ~missing & ~(np.isfinite(ra) & np.isfinite(dec))
    reasons[f"with {what} not a number or angle ({names})"] = bad
    finite_ra = ra[np.isfinite(ra)]
    if (
        finite_ra.size
        and finite_ra.min() < 0
        and finite_ra.min() >= -180
        and finite_ra.max() <= 180
    ):
        ra = np.mod(ra, 360.0)
        notes.append(f"{what.split('/')[0]} given from -180° to 180°, read as 0° to 360°")
    with np.errstate(invalid="ignore"):
        dec_bad = np.abs(dec) > 90
        ra_bad = (ra < 0) | (ra > 360)
    reasons[f"with {what.split('/')[1]} outside -90°..90°"] = dec_bad
    reasons[f"with {what.split('/')[0]} outside 0°..360°"] = ra_bad & ~dec_bad
    ra = np.mod(ra, 360.0)
    ra[dec_bad | ra_bad] = np.nan
    dec = np.array(dec, dtype=np.float64)
    dec[dec_bad | ra_bad] = np.nan
    ra[~np.isfinite(dec)] = np.nan
    dec[~np.isfinite(ra)] = np.nan
    notes.append(f"{what} from {'' if guess.split else 'columns '}{names} ({how})")
    if guess.frame is not None:
        notes.append(
            f"frame {guess.why.get('frame', describe(guess.frame))}, converted with astropy "
            "to each image's frame"
        )
    return ra, dec, missing


def _skycoord_degrees(coord) -> tuple[np.ndarray, np.ndarray]:
    from astropy.coordinates import UnitSphericalRepresentation

    sph = coord.represent_as(UnitSphericalRepresentation)
    lon = np.array(np.ma.filled(sph.lon.deg, np.nan), dtype=np.float64)
    lat = np.array(np.ma.filled(sph.lat.deg, np.nan), dtype=np.float64)
    return lon, lat


def _split_degrees(table: Table, split) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """RA and Dec in degrees from CDS/MRT split columns: ``RAh RAm RAs`` (hours, minutes,
    seconds of time) and ``DE- DEd DEm DEs`` (sign, degrees, arcmin, arcsec)."""
    n = len(table)

    def part(name):
        if name is None:
            return np.zeros(n), np.zeros(n, dtype=bool)
        values, missing = column_values(table[name])
        return to_float(filled(values, missing)), _missing(table[name])

    (h, h_miss), (m, m_miss), (s, s_miss) = (part(c) for c in split["ra"][:3])
    (d, d_miss), (am, am_miss), (asec, as_miss) = (part(c) for c in split["dec"][1:])
    missing = h_miss | d_miss
    with np.errstate(invalid="ignore"):
        bad = (h < 0) | (h >= 24) | (d < 0) | (d > 90)
        for value, miss in ((m, m_miss), (s, s_miss), (am, am_miss), (asec, as_miss)):
            bad |= ~miss & ((value < 0) | (value >= 60))
            value[miss] = 0.0
    ra = 15.0 * (h + m / 60.0 + s / 3600.0)
    dec = d + am / 60.0 + asec / 3600.0
    if split["dec"][0] is not None:
        sign = np.char.strip(np.asarray(filled(*column_values(table[split["dec"][0]])), str))
        dec = np.where(sign == "-", -dec, dec)
    ra[bad | missing], dec[bad | missing] = np.nan, np.nan
    return ra, dec, missing


def _to_icrs(lon, lat, frame) -> tuple[np.ndarray, np.ndarray]:
    """ICRS RA/Dec of positions in ``frame`` (None: unstated, kept as they are)."""
    if frame is None or frame.name == "icrs":
        return lon, lat
    from astropy.coordinates import SkyCoord

    ra, dec = np.full(len(lon), np.nan), np.full(len(lon), np.nan)
    ok = np.isfinite(lon) & np.isfinite(lat)
    if ok.any():
        coord = SkyCoord(lon[ok], lat[ok], unit="deg", frame=frame).icrs
        ra[ok], dec[ok] = coord.ra.deg, coord.dec.deg
    return ra, dec


def _choices(table: Table, guess: ColumnGuess, sky: bool, pixels: bool) -> dict:
    """Every choice made, and why: for the dock and the layer's metadata."""
    out = {"format": str(table.meta.get("catalog_format", "table"))}
    if sky:
        out["sky"] = guess.why.get("sky", "detected")
        out["frame"] = guess.why.get("frame", "unstated")
    if pixels:
        out["pixels"] = guess.why.get("pixels", "detected")
        out["pixel_origin"] = guess.why.get("pixel_origin", str(guess.pixel_origin))
    return out


def _parse_pixels(table: Table, guess: ColumnGuess, reasons, notes) -> tuple:
    """(x, y, rows without); adds why rows are bad to ``reasons``, how to ``notes``."""
    x = to_float(np.asarray(column_values(table[guess.x])[0]))
    y = to_float(np.asarray(column_values(table[guess.y])[0]))
    missing = _missing(table[guess.x]) | _missing(table[guess.y])
    x[missing], y[missing] = np.nan, np.nan
    bad = ~missing & ~(np.isfinite(x) & np.isfinite(y))
    x[bad], y[bad] = np.nan, np.nan
    # rows with RA/Dec are fine without x/y: only unusable rows are counted (make_catalog)
    reasons[f"with x/y not a number ({guess.x}, {guess.y})"] = bad
    origin = {
        0: "0-based",
        1: "1-based",
        "imgmarker": "Image Marker display pixels, top-left, y down",
    }[guess.pixel_origin]
    why = guess.why.get("pixel_origin", "")
    why = why.split("(", 1)[1].rstrip(")") if "(" in why else ""
    notes.append(f"x/y from columns {guess.x}, {guess.y} ({origin}{': ' + why if why else ''})")
    return x, y, missing


def _missing(column) -> np.ndarray:
    """Masked, NaN, empty or "nan"/"None" text: a value that is not there (not a bad one)."""
    values, missing = column_values(column)
    if values.dtype.kind == "f":
        return missing | np.isnan(values)
    return missing | missing_text(values)


def _parse_size(table, guess, size, size_unit, label, notes) -> tuple:
    """(diameters or None, their unit) from a number, a column name or the guessed column."""
    sizes, out_unit = None, "pix"
    if isinstance(size, (int, float)) and not isinstance(size, bool):
        sizes = np.full(len(table), float(size))
        out_unit = size_unit or "pix"
    elif size is not None or guess.size is not None:
        column_name = _column(table, size, "size", label) if size is not None else guess.size
        if size is not None and column_name != guess.size:
            guess.size, guess.size_factor = column_name, 1.0
            unit = table[column_name].unit
            guess.size_unit = (size_unit_name(unit) if unit is not None else None) or (
                "arcsec" if "arcsec" in column_name.lower() else "pix"
            )
        values = to_float(filled(*column_values(table[column_name])))
        sizes = values * guess.size_factor
        out_unit = size_unit or guess.size_unit
        notes.append(
            f"sizes from column {column_name} ({out_unit}"
            f"{', radius doubled to a diameter' if guess.size_factor == 2 else ''})"
        )
    if out_unit not in SIZE_UNITS:
        raise CatalogError(
            f"{label}: size_unit must be one of {', '.join(SIZE_UNITS)}, got {out_unit!r}"
        )
    if out_unit in ("px", "pixel"):
        out_unit = "pix"
    return sizes, out_unit

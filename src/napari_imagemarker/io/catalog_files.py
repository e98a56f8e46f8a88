"""Reading catalog files: any table astropy reads, DS9 regions and Image Marker mark files.

One entry point, :func:`read_table`, picks a reader from the file name (and, for ``.csv`` and
``.txt``, from the header line) through the :data:`READERS` registry. Large CSV and ECSV
files go through pandas' C parser, which is an order of magnitude faster than astropy's
default on a million rows.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable
from pathlib import Path

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.table import Table

__all__ = [
    "CATALOG_PATTERNS",
    "READERS",
    "SUFFIX_FORMATS",
    "AmbiguousColumnsError",
    "CatalogError",
    "read_table",
]


class CatalogError(ValueError):
    """A catalog that cannot be read or placed; the message names the file and the problem."""


class AmbiguousColumnsError(CatalogError):
    """Several columns could hold the same coordinate; ``candidates`` maps ``"ra"``,
    ``"dec"``, ``"x"`` or ``"y"`` to the column names that fit."""

    def __init__(self, message: str, candidates: dict[str, list[str]]):
        super().__init__(message)
        self.candidates = candidates


FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz")
#: File name endings -> reader name. Anything else is left to astropy's format guessing.
SUFFIX_FORMATS: dict[tuple[str, ...], str] = {
    (".reg",): "ds9",
    FITS_SUFFIXES: "fits",
    (".xml", ".vot", ".votable"): "votable",
    (".ecsv",): "ecsv",
    (".tbl", ".ipac"): "ipac",
    (".csv",): "csv",
}

#: File name patterns the dock's file picker offers.
CATALOG_PATTERNS = (
    "*.csv *.ecsv *.txt *.dat *.cat *.tsv *.fits *.fit *.fts *.fits.gz *.xml *.vot *.votable "
    "*.tbl *.ipac *.reg"
)


def _fix_strings(table: Table) -> Table:
    """Bytes columns (FITS, VOTable) as str, so that names compare and display as text.

    ASCII (what FITS allows) is cast in C, ~50x faster than decoding string by string; other
    bytes are decoded as UTF-8.
    """
    for name in table.colnames:
        column = table[name]
        if column.dtype.kind == "S":
            try:
                table[name] = column.astype(column.dtype.str.replace("S", "U"))
            except UnicodeDecodeError:
                table[name] = np.char.decode(np.asarray(column), "utf-8", errors="replace")
    return table


def _read_fits(path: Path) -> Table:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "more than one table, reading the first", units
        try:
            return Table.read(path, format="fits")
        except ValueError as err:
            if "No table found" in str(err):
                raise CatalogError(
                    f"{path}: holds no table (an image FITS file? open it as an image)"
                ) from None
            raise


def _read_votable(path: Path) -> Table:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # VOTable spec warnings (W01...) are noise here
        return Table.read(path, format="votable")


def _read_ecsv(path: Path) -> Table:
    try:  # pandas parses the data part ~30x faster than the pure-Python default engine
        return Table.read(path, format="ecsv", engine="pandas")
    except Exception:
        return Table.read(path, format="ecsv")


def _first_line(path: Path) -> str:
    with open(path, "rb") as f:
        head = f.read(4096)
    return head.decode("utf-8", errors="replace").lstrip("\ufeff").split("\n", 1)[0].strip()


def _is_imgmarker(path: Path) -> bool:
    """Whether the header names only Image Marker fields, with a label or group column."""
    from .marks_imgmarker import VALID_FIELDS

    first = _first_line(path)
    names = [n.strip().lower() for n in re.split(r"[|,]", first)]
    while names and names[-1] == "":
        names.pop()
    has_xy = {"x", "y"} <= set(names) or {"ra", "dec"} <= set(names)
    return (
        bool(names)
        and set(names) <= set(VALID_FIELDS)
        and has_xy
        and ("label" in names or "group" in names)
    )


def _is_marks_csv(path: Path) -> bool:
    from .marks_csv import is_marks_csv

    with open(path, "rb") as f:
        return is_marks_csv(f.read(4096).decode("utf-8", errors="replace"))


def _read_imgmarker(path: Path) -> Table:
    """An Image Marker mark file or marks CSV, as text columns named in lower case.

    Its ``x, y`` are display pixels (``meta["display_xy"]``); they are converted for each
    image when the catalog is placed (that needs the image's height and orientation), so a
    file naming images needs no image files to be read.
    """
    from ._files import read_text
    from .marks_imgmarker import read_records

    names, records = read_records(read_text(path), str(path))
    table = Table({name: np.array([r[name] for _, r in records], dtype=str) for name in names})
    for name in names:
        if name in ("x", "y", "ra", "dec") or name.startswith("size"):
            # numbers for display; "nan", "None" and text become NaN, counted when parsed
            numbers = pd.to_numeric(pd.Series(table[name], dtype=object), errors="coerce")
            if numbers.notna().sum() == (np.strings.lower(table[name]) != "nan").sum():
                table[name] = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    table.meta.update(catalog_format="imgmarker", display_xy=True)
    return table


def _read_csv(path: Path) -> Table:
    if _is_marks_csv(path):  # our own marks CSV: its comment lines state the pixel origin
        from .marks import read_marks

        return read_marks(path, format="csv")
    if _is_imgmarker(path):
        return _read_imgmarker(path)
    if _first_line(path).startswith("#"):
        return _read_ascii(path)
    try:  # pandas' C parser: ~10x faster than astropy's guessing on a million rows
        frame = pd.read_csv(path, skipinitialspace=True, low_memory=False)
    except (ValueError, pd.errors.ParserError):
        return Table.read(path, format="ascii.csv")
    # text stays as Python objects: converting a million of them to fixed-width numpy
    # strings (what Table.from_pandas does) costs more than reading the file
    return Table({str(c).strip(): frame[c].to_numpy() for c in frame.columns})


def _read_ascii(path: Path) -> Table:
    if _is_imgmarker(path):
        return _read_imgmarker(path)
    first = _first_line(path)
    if "," in first and not first.startswith("#"):
        return _read_csv(path)
    return Table.read(path, format="ascii")  # astropy guesses: basic, IPAC, SExtractor, CDS


def _read_ipac(path: Path) -> Table:
    return Table.read(path, format="ascii.ipac")


def _read_ds9(path: Path) -> Table:
    """DS9 regions as a table: one row per region, its centre and size.

    Columns: ``shape`` (circle, point, ellipse, box, ...), ``x``, ``y`` (0-based; NaN for
    sky regions), ``ra``, ``dec`` (degrees, ICRS or FK5 J2000 as written, other frames
    converted to ICRS; NaN for image regions), ``size`` (the diameter, or the largest
    width: pixels for image regions, arcsec for sky regions; NaN for points), ``text``,
    ``color``, ``tag``.
    """
    from astropy.coordinates import SkyCoord
    from regions import PixCoord, Regions

    regions = list(Regions.read(str(path), format="ds9"))
    n = len(regions)
    # regions parses the file line by line already; pulling out the centres is the same walk
    centres = [_centre(r) for r in regions]
    is_pix = np.array([isinstance(c, PixCoord) for c in centres], dtype=bool)
    is_sky = np.array([isinstance(c, SkyCoord) for c in centres], dtype=bool)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    ra = np.full(n, np.nan)
    dec = np.full(n, np.nan)
    if is_pix.any():
        idx = np.flatnonzero(is_pix)
        x[idx] = [float(centres[i].x) for i in idx]
        y[idx] = [float(centres[i].y) for i in idx]
    if is_sky.any():
        idx = np.flatnonzero(is_sky)
        frames = np.array([centres[i].frame.name for i in idx])
        for frame in np.unique(frames):  # one vectorised transform per frame in the file
            sel = idx[frames == frame]
            lon = np.array([centres[i].spherical.lon.deg for i in sel])
            lat = np.array([centres[i].spherical.lat.deg for i in sel])
            if frame not in ("icrs", "fk5"):
                # FK5 J2000 is taken as ICRS (20 mas apart), as for a WCS's RADESYS
                coord = SkyCoord(lon, lat, unit="deg", frame=str(frame)).icrs
                lon, lat = coord.ra.deg, coord.dec.deg
            ra[sel], dec[sel] = lon, lat
    size = np.array([_region_size(r) for r in regions], dtype=float)
    table = Table(
        {
            "shape": np.array(
                [
                    type(r).__name__.replace("PixelRegion", "").replace("SkyRegion", "").lower()
                    for r in regions
                ],
                dtype="U",
            ),
            "x": x,
            "y": y,
            "ra": ra,
            "dec": dec,
            "size": size,
            "text": np.array([str(r.meta.get("text", "")) for r in regions], dtype="U"),
            "color": np.array([_region_color(r) for r in regions], dtype="U"),
            "tag": np.array(
                [",".join(map(str, r.meta.get("tag", []))) for r in regions], dtype="U"
            ),
        }
    )
    sky_rows, pix_rows = int(is_sky.sum()), int(is_pix.sum())
    table["size"].unit = u.arcsec if sky_rows > pix_rows else u.pix
    # sizes in the minority system would be read in the wrong unit
    table["size"][is_pix if sky_rows > pix_rows else is_sky] = np.nan
    table.meta["catalog_format"] = "ds9"
    table.meta["pixel_origin"] = 0  # regions has already subtracted DS9's 1
    return table


def _centre(region):
    """A region's centre; the mean vertex of a polygon (which has no centre)."""
    centre = getattr(region, "center", None)
    vertices = getattr(region, "vertices", None)
    if centre is None and vertices is not None and len(vertices):
        from regions import PixCoord

        if isinstance(vertices, PixCoord):
            return PixCoord(float(np.mean(vertices.x)), float(np.mean(vertices.y)))
        return vertices[len(vertices) // 2].__class__(
            vertices.spherical.lon.mean(), vertices.spherical.lat.mean(), frame=vertices.frame
        )
    return centre


def _region_color(region) -> str:
    visual = region.visual
    return str(visual.get("color") or visual.get("edgecolor") or visual.get("facecolor") or "")


def _region_size(region) -> float:
    """Diameter (or largest side) of a region: pixels, or arcsec for sky regions."""
    for attr, factor in (("radius", 2.0), ("outer_radius", 2.0)):
        value = getattr(region, attr, None)
        if value is not None:
            return float(_to_arcsec_or_pix(value)) * factor
    sides = [getattr(region, a, None) for a in ("width", "height")]
    sides = [float(_to_arcsec_or_pix(s)) for s in sides if s is not None]
    return max(sides) if sides else np.nan


def _to_arcsec_or_pix(value) -> float:
    if isinstance(value, u.Quantity):
        return value.to_value(u.arcsec) if value.unit.physical_type == "angle" else value.value
    return float(value)


#: Reader name -> function(path) -> Table.
READERS: dict[str, Callable[[Path], Table]] = {
    "ds9": _read_ds9,
    "imgmarker": _read_imgmarker,
    "fits": _read_fits,
    "votable": _read_votable,
    "ecsv": _read_ecsv,
    "ipac": _read_ipac,
    "csv": _read_csv,
    "ascii": _read_ascii,
}


def _format_of(path: Path) -> str:
    name = path.name.lower()
    for suffixes, fmt in SUFFIX_FORMATS.items():
        if name.endswith(suffixes):
            return fmt
    return "ascii"


def read_table(path: str | Path, format: str | None = None) -> Table:
    """Read a catalog file into an astropy Table.

    Parameters
    ----------
    path : str or Path
        Any table astropy reads, a DS9 region file (``.reg``) or an Image Marker mark file.
    format : str, optional
        ``"ds9"``, ``"imgmarker"``, ``"fits"``, ``"votable"``, ``"ecsv"``, ``"ipac"``,
        ``"csv"``, ``"ascii"`` (astropy guesses), or any astropy ``Table.read`` format (e.g.
        ``"ascii.sextractor"``). Default: from the file name, and for ``.csv``/``.txt`` from
        the header line (Image Marker's field names make it an Image Marker file).

    Returns
    -------
    astropy.table.Table
        Text columns as ``str``. ``meta["catalog_format"]`` is set for DS9 and Image Marker
        files, ``meta["pixel_origin"]`` where the file states its pixel convention.

    Raises
    ------
    CatalogError
        The file is missing, empty, not a table, or cannot be decoded; the message names it.
    """
    path = Path(path)
    if not path.exists():
        raise CatalogError(f"{path}: no such file")
    if path.is_dir():
        raise CatalogError(f"{path}: is a folder, not a catalog file")
    if path.stat().st_size == 0:
        raise CatalogError(f"{path}: the file is empty (0 bytes)")
    fmt = format or _format_of(path)
    try:
        reader = READERS.get(fmt, lambda p: Table.read(p, format=fmt))
        table = reader(path)
    except CatalogError:
        raise
    except UnicodeDecodeError as err:
        raise CatalogError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except Exception as err:
        raise CatalogError(f"{path}: cannot be read as a {fmt} table: {err}") from None
    table = _fix_strings(table)
    if len(table.colnames) == 0:
        raise CatalogError(f"{path}: no columns found")
    return table

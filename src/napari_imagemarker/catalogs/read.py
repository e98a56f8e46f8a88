"""Reading catalog files: any table astropy reads, DS9 regions and Image Marker mark files.

One entry point, :func:`read_table`, picks a reader through the :data:`FORMATS` registry,
like :func:`~napari_imagemarker.marks.io.read_marks`: the first registered format that
claims the file's name and, where formats share a suffix, recognises its first lines.
:func:`register_format` adds one. DS9 files go through the marks' DS9 parser
(:func:`~napari_imagemarker.marks.ds9.read_regions`), our marks CSV through
:func:`~napari_imagemarker.marks.io.read_marks`. Large CSV files go through pandas' C
parser and ECSV data through astropy's pandas engine, both several times faster than
astropy's own parsers on a million rows.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.table import Table

from napari_imagemarker.catalogs.columns import to_float
from napari_imagemarker.formats import FileFormat, FormatRegistry
from napari_imagemarker.marks import csv as marks_csv

__all__ = [
    "CATALOG_PATTERNS",
    "FORMATS",
    "AmbiguousColumnsError",
    "CatalogError",
    "CatalogFormat",
    "read_table",
    "register_format",
]


class CatalogError(ValueError):
    """A catalog that cannot be read or placed; the message names the file and the problem."""


class AmbiguousColumnsError(CatalogError):
    """Several columns could hold the same coordinate; ``candidates`` maps ``"ra"``,
    ``"dec"``, ``"x"`` or ``"y"`` to the column names that fit."""

    def __init__(self, message: str, candidates: dict[str, list[str]]):
        super().__init__(message)
        self.candidates = candidates


#: A catalog file format: ``reader(path) -> Table``; no writer.
CatalogFormat = FileFormat

#: Registered formats by name, in the order they are tried.
FORMATS = FormatRegistry("catalog")


def register_format(fmt: CatalogFormat, first: bool = False) -> None:
    """Add (or replace) a format; a new one is tried after those already there, or before
    them with ``first=True``."""
    FORMATS.register(fmt, first)


FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz")
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
        if getattr(column, "dtype", None) is not None and column.dtype.kind == "S":
            try:
                table[name] = column.astype(column.dtype.str.replace("S", "U"))
            except UnicodeDecodeError:
                table[name] = np.char.decode(np.asarray(column), "utf-8", errors="replace")
    return table


_FITS_MAGIC = b"SIMPLE  ="
_GZIP_MAGIC = b"\x1f\x8b"


def _check_fits_signature(path: Path) -> None:
    """Refuse, as the image reader does, a file that does not start like FITS."""
    import gzip

    with open(path, "rb") as f:
        head = f.read(len(_FITS_MAGIC))
    if head.startswith(_FITS_MAGIC):
        return
    if not head.startswith(_GZIP_MAGIC):
        raise CatalogError(
            f"{path}: not a FITS file (it does not start with 'SIMPLE  =' and is not gzipped)"
        )
    try:
        with gzip.open(path, "rb") as f:
            inner = f.read(len(_FITS_MAGIC))
    except (OSError, EOFError) as err:
        raise CatalogError(f"{path}: not a FITS file (a broken gzip file: {err})") from None
    if not inner.startswith(_FITS_MAGIC):
        raise CatalogError(
            f"{path}: not a FITS file (gzipped, but what it holds does not start with 'SIMPLE  =')"
        )


def _read_fits(path: Path) -> Table:
    _check_fits_signature(path)
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
    """The first table of a VOTable, columns named by their ``name`` (not ``ID``), each
    column's UCD in ``meta["ucd"]`` and its ``COOSYS`` (``system``, ``equinox``,
    ``epoch``) in ``meta["coosys"]``."""
    from astropy.io.votable import parse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # VOTable spec warnings (W01...) are noise here
        votable = parse(str(path))
        resource_table = votable.get_first_table()
        table = resource_table.to_table(use_names_over_ids=True)
    systems = {c.ID: c for c in votable.iter_coosys() if c.ID}
    for field, name in zip(resource_table.fields, table.colnames, strict=False):
        coosys = systems.get(field.ref) if field.ref else None
        if coosys is not None:
            table[name].meta["coosys"] = {
                "system": coosys.system,
                "equinox": coosys.equinox,
                "epoch": coosys.epoch,
            }
        if field.ucd and "ucd" not in table[name].meta:
            table[name].meta["ucd"] = field.ucd
    table.meta["catalog_format"] = "votable"
    return table


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
    from napari_imagemarker.imgmarker.marks_file import VALID_FIELDS

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


def _read_imgmarker(path: Path) -> Table:
    """An Image Marker mark file or marks CSV, as text columns named in lower case.

    Its ``x, y`` are display pixels (``meta["display_xy"]``); they are converted for each
    image when the catalog is placed (that needs the image's height and orientation), so a
    file naming images needs no image files to be read.

    The row Image Marker writes for an image seen without marks (group ``None`` and no
    position: ``None,None,nan,nan,nan,nan``) is not a mark, and not a bad row: it is left
    out, as the marks reader leaves it out.
    """
    from napari_imagemarker.files import read_text
    from napari_imagemarker.imgmarker.config import NONE
    from napari_imagemarker.imgmarker.marks_file import read_records

    names, records = read_records(read_text(path), str(path))
    if "group" in names:
        positions = [n for n in ("x", "y", "ra", "dec") if n in names]
        records = [
            (line, r)
            for line, r in records
            if not (r["group"] == NONE and all(_no_number(r[n]) for n in positions))
        ]
    table = Table({name: np.array([r[name] for _, r in records], dtype=str) for name in names})
    for name in names:
        if name in ("x", "y", "ra", "dec") or name.startswith("size"):
            # numbers for display; "nan", "None" and text become NaN, counted when parsed
            numbers = to_float(np.asarray(table[name]))
            if (~np.isnan(numbers)).sum() == (np.char.lower(table[name]) != "nan").sum():
                table[name] = numbers
    table.meta.update(catalog_format="imgmarker", display_xy=True)
    return table


def _no_number(text: str) -> bool:
    """Whether an Image Marker cell holds no number: empty, ``None`` or ``nan``."""
    return text.strip().lower() in ("", "none", "nan")


def _read_csv(path: Path) -> Table:
    try:  # pandas' C parser: 2-3x faster than astropy's fast reader on a million rows
        frame = pd.read_csv(path, skipinitialspace=True, low_memory=False)
    except (ValueError, pd.errors.ParserError):
        return Table.read(path, format="ascii.csv")
    # text stays as Python objects: converting a million of them to fixed-width numpy
    # strings (what Table.from_pandas does) costs more than reading the file
    return Table({str(c).strip(): frame[c].to_numpy() for c in frame.columns})


def _is_csv(path: Path) -> bool:
    """A header line that is not a comment, in a ``.csv`` file or with commas."""
    first = _first_line(path)
    return not first.startswith("#") and (path.name.lower().endswith(".csv") or "," in first)


def _read_marks_csv(path: Path) -> Table:
    """Our own marks CSV: its comment lines state the pixel origin."""
    from napari_imagemarker.marks.io import read_marks

    return read_marks(path, format="csv")


def _read_ascii(path: Path) -> Table:
    return Table.read(path, format="ascii")  # astropy guesses: basic, IPAC, SExtractor, CDS


def _read_ipac(path: Path) -> Table:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)  # "degrees": read by its meaning
        table = Table.read(path, format="ascii.ipac")
    table.meta["catalog_format"] = "ipac"
    return table


def _first_lines(path: Path, n: int = 5) -> list[str]:
    with open(path, "rb") as f:
        head = f.read(8192).decode("utf-8", errors="replace").lstrip("\ufeff")
    return [line.rstrip() for line in head.splitlines() if line.strip()][:n]


def _is_daophot(path: Path) -> bool:
    """IRAF/DAOPHOT (apphot, daofind, allstar...): ``#K`` keyword and ``#N`` name lines."""
    lines = _first_lines(path)
    return bool(lines) and lines[0].startswith(("#K ", "#N "))


def _read_daophot(path: Path) -> Table:
    """An IRAF/DAOPHOT table: its pixels count from 1 (IRAF's convention)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)  # "pixels", "##"
        table = Table.read(path, format="ascii.daophot")
    table.meta.update(catalog_format="daophot", pixel_origin=1)
    return table


_SEXTRACTOR_LINE = re.compile(r"^#\s+\d+\s+[A-Za-z_][A-Za-z0-9_]*")


def _is_sextractor(path: Path) -> bool:
    """SExtractor's ASCII_HEAD catalogs: ``#   1 NUMBER  description  [unit]`` lines."""
    lines = _first_lines(path)
    return bool(lines) and _SEXTRACTOR_LINE.match(lines[0]) is not None


def _read_sextractor(path: Path) -> Table:
    """A SExtractor catalog: its pixels (``X_IMAGE``, ``XWIN_IMAGE``...) count from 1."""
    table = Table.read(path, format="ascii.sextractor")
    table.meta.update(catalog_format="sextractor", pixel_origin=1)
    return table


def _is_cds(path: Path) -> bool:
    """A CDS/MRT table with its description: ``Title:`` or a ``Byte-by-byte`` header."""
    lines = _first_lines(path, 12)
    return bool(lines) and (
        lines[0].startswith("Title:") or any(line.startswith("Byte-by-byte") for line in lines)
    )


def _read_cds(path: Path, readme: str | Path | None = None) -> Table:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", u.UnitsWarning)
        if readme is not None:
            table = Table.read(path, format="ascii.cds", readme=str(readme))
        else:
            table = Table.read(path, format="ascii.cds")
    table.meta["catalog_format"] = "cds"
    return table


def _read_ds9(path: Path) -> Table:
    """DS9 regions as a table: one row per region, its centre and size.

    Columns (see :func:`~napari_imagemarker.marks.ds9.read_regions`): ``shape``,
    ``x``, ``y`` (0-based; NaN for sky regions), ``ra``, ``dec`` (ICRS degrees; NaN for
    image regions), ``size`` (the diameter, or the longest side: pixels if most regions
    are image regions, else arcsec; NaN for regions in the other system and for points),
    ``text``, ``color``, ``tag``.

    Regions with no single position (polygons, lines, text), which reading the file as
    marks skips, have no position here either, and ``meta["skip_rows"]`` says why, with
    their shapes and lines, so that the catalog counts them apart from bad rows.
    """
    from napari_imagemarker.marks.ds9 import not_point_like, read_regions

    regions = read_regions(path)
    sky = np.asarray(regions["sky"])
    pixel = ~sky & np.isfinite(regions["x"])
    in_arcsec = sky.sum() > pixel.sum()
    table = regions["shape", "x", "y", "ra", "dec", "size", "text", "color", "tag"]
    table["size"].unit = u.arcsec if in_arcsec else u.pix
    # sizes in the minority system would be read in the wrong unit
    table["size"][pixel if in_arcsec else sky] = np.nan
    no_position = ~np.asarray(regions["point_like"], dtype=bool)
    if no_position.any():
        for name in ("x", "y", "ra", "dec"):
            table[name][no_position] = np.nan
        why = f"with no single position: {', '.join(not_point_like(regions))}"
        table.meta["skip_rows"] = {why: no_position}
    table.meta["catalog_format"] = "ds9"
    table.meta["pixel_origin"] = 0  # regions has already subtracted DS9's 1
    return table


# in the order they are tried: the suffixes that say it all, then text files by content
register_format(CatalogFormat("ds9", (".reg",), _read_ds9))
register_format(CatalogFormat("fits", FITS_SUFFIXES, _read_fits))
register_format(CatalogFormat("votable", (".xml", ".vot", ".votable"), _read_votable))
register_format(CatalogFormat("ecsv", (".ecsv",), _read_ecsv))
register_format(CatalogFormat("ipac", (".tbl", ".ipac"), _read_ipac))
register_format(CatalogFormat("daophot", (), _read_daophot, identify=_is_daophot))
register_format(CatalogFormat("sextractor", (), _read_sextractor, identify=_is_sextractor))
register_format(CatalogFormat("cds", (), _read_cds, identify=_is_cds))
register_format(
    CatalogFormat("marks", (".csv", ".txt"), _read_marks_csv, identify=marks_csv.identify)
)
register_format(CatalogFormat("imgmarker", (), _read_imgmarker, identify=_is_imgmarker))
register_format(CatalogFormat("csv", (), _read_csv, identify=_is_csv))
register_format(CatalogFormat("ascii", (), _read_ascii))


def _choose(path: Path, format: str | None) -> CatalogFormat:
    if format is not None:
        if format in FORMATS:
            return FORMATS[format]
        return CatalogFormat(format, (), lambda p: Table.read(p, format=format))
    fmt = FORMATS.choose(path)
    if fmt is None:
        raise CatalogError(f"{path}: a folder, not a catalog file")
    return fmt


def read_table(
    path: str | Path, format: str | None = None, *, readme: str | Path | None = None
) -> Table:
    """Read a catalog file into an astropy Table.

    Parameters
    ----------
    path : str or Path
        Any table astropy reads, a DS9 region file (``.reg``) or an Image Marker mark file.
    format : str, optional
        One of :data:`FORMATS` (``"ds9"``, ``"fits"``, ``"votable"``, ``"ecsv"``,
        ``"ipac"``, ``"daophot"``, ``"sextractor"``, ``"cds"``, ``"marks"``,
        ``"imgmarker"``, ``"csv"``, ``"ascii"``: astropy guesses), or any astropy
        ``Table.read`` format (e.g. ``"ascii.mrt"``). Default: the first format of
        :data:`FORMATS` that claims the file: by its name, and for text files by the first
        lines (IRAF/DAOPHOT ``#K``/``#N`` lines, SExtractor ``#   1 NUMBER`` lines, a CDS
        ``Title:``/``Byte-by-byte`` header, our marks CSV's pixel origin, Image Marker's
        field names, a header with commas); if that reader fails, astropy's own format
        detection is tried before giving up, except for FITS (``.fits .fit .fts``, and
        ``.gz``): a file with such a name that is not FITS, or whose table cannot be read,
        is refused with that reason.
    readme : str or Path, optional
        The ReadMe describing a CDS table kept in a separate file (implies ``"cds"``).

    Returns
    -------
    astropy.table.Table
        Text columns as ``str``. ``meta["catalog_format"]`` names the reader (and
        ``"astropy guess"`` when the fallback read it), ``meta["pixel_origin"]`` is set
        where the file's writer has a pixel convention (DAOPHOT, SExtractor: 1; DS9
        regions and our marks: 0). ``meta["skip_rows"]``, if there, maps why to a boolean
        mask of rows that have no position to draw (DS9 polygons, lines and text).

    Raises
    ------
    CatalogError
        The file is missing, empty, not a table, or cannot be decoded; the message names it,
        what was tried and what to pass.
    """
    path = Path(path)
    if not path.exists():
        raise CatalogError(f"{path}: no such file")
    if path.is_dir():
        raise CatalogError(f"{path}: is a folder, not a catalog file")
    if path.stat().st_size == 0:
        raise CatalogError(f"{path}: the file is empty (0 bytes)")
    if readme is not None:
        if not Path(readme).is_file():
            raise CatalogError(f"{readme}: no such ReadMe file (readme= for {path.name})")
        format = "cds"
    fmt = None
    try:
        fmt = _choose(path, format)
        table = _read_cds(path, readme) if fmt.name == "cds" else fmt.reader(path)
    except CatalogError:
        raise
    except UnicodeDecodeError as err:
        first = f"{path}: not UTF-8 text ({err.reason} at byte {err.start})"
        if format is not None:
            raise CatalogError(first) from None
        table = _astropy_guess(path, first)
    except Exception as err:
        what = f"a {fmt.name} table" if fmt is not None else "a table"
        if fmt is not None and fmt.name == "fits":
            # a FITS file's own error says what is wrong; guessing a text format would only
            # find nonsense columns in it
            raise CatalogError(f"{path}: cannot be read as a FITS table: {_reason(err)}") from None
        first = f"{path}: cannot be read as {what}: {_reason(err)}"
        if format is not None:
            raise CatalogError(f"{first}. Check the file or pass another format=") from None
        table = _astropy_guess(path, first)
    table = _fix_strings(table)
    if len(table.colnames) == 0:
        raise CatalogError(f"{path}: no columns found")
    return table


def _reason(err: Exception) -> str:
    """An exception's message, on one line (astropy lists every format it tried)."""
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[:400]}{'…' if len(text) > 400 else ''}"


def _astropy_guess(path: Path, first: str) -> Table:
    """The fallback: astropy's own format detection, for files our fast path mistook."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                table = Table.read(path)  # by name and signature (FITS, VOTable, ECSV, HDF5)
            except Exception:
                table = Table.read(path, format="ascii")  # guesses every text format
    except Exception as err:
        raise CatalogError(
            f"{first}; astropy's format detection failed too ({_reason(err)}). Pass format= "
            "(an astropy format, e.g. 'ascii.cds', 'ascii.ipac', 'ascii.commented_header'), "
            "and readme= for a CDS table described in a separate ReadMe"
        ) from None
    table.meta["catalog_format"] = "astropy guess"
    return table

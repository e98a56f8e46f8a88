"""Catalogs: any table of positions, read, understood and placed on an image.

A *catalog* is a table with a position per row, on the sky (RA/Dec) or in pixels (x/y), and
any other columns (magnitudes, redshifts, labels, ...), which are kept for display.

:func:`read_table` reads what ``astropy.table.Table.read`` reads (CSV, ECSV, FITS tables,
VOTable, IPAC, SExtractor, CDS, ...), DS9 region files (through ``regions``) and Image
Marker's mark files (with the marks reader's parser), see :mod:`.catalog_files`.
:func:`detect_columns` finds the coordinate, size and image columns by their names
(:mod:`.catalog_columns`);
:func:`make_catalog` turns a table into a :class:`Catalog` with its positions parsed once
(degrees or sexagesimal by content, units honoured, bad rows counted and skipped), and
:meth:`Catalog.place` puts it on one image: the rows that fall on it, as 0-based
``(row, col)`` of the array our readers return (DESIGN.md §3), with marker sizes in pixels.

Everything is vectorised: a million rows are parsed and placed with whole-array NumPy,
pandas and astropy calls, never a Python loop over rows.

Pixel conventions accepted for x/y columns (``pixel_origin``):

* ``0``: our convention, ``x`` = 0-based column, ``y`` = 0-based row of the array;
* ``1``: the same counted from 1 (FITS, DS9, SExtractor's ``X_IMAGE``);
* ``"imgmarker"``: Image Marker's display pixels, from the top-left of the picture as it
  shows it, y down; ``row = H - 1 - y`` on y-up images (FITS, TIFFs with a WCS), else
  ``row = y``. Image Marker's mark files are read this way.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.table import Table

from ..wcs import footprint_cap, icrs_to_pixel, pixel_scale_arcsec, unit_vectors, within_cap
from .catalog_columns import (
    SIZE_UNITS,
    ColumnGuess,
    column_values,
    detect_columns,
    missing_text,
    parse_angles,
    size_unit_name,
    to_float,
)
from .catalog_files import AmbiguousColumnsError, CatalogError, read_table
from .image_index import flip_rows

__all__ = [
    "AmbiguousColumnsError",
    "Catalog",
    "CatalogError",
    "ColumnGuess",
    "Placement",
    "detect_columns",
    "make_catalog",
    "parse_angles",
    "read_table",
]


@dataclass
class Placement:
    """Where a catalog falls on one image.

    Attributes
    ----------
    rows : ndarray of int
        Indices of the catalog rows on the image, in catalog order.
    row, col : ndarray of float64
        Their 0-based array row and column (napari data coordinates of the image).
    size : ndarray of float64
        Marker diameters in pixels.
    n_other_images : int
        Rows skipped because their ``image`` column names another image.
    n_outside : int
        Rows with a position that falls outside this image.
    message : str or None
        Why nothing (or less than expected) could be placed, e.g. an RA/Dec catalog on an
        image without a WCS; None when all went well.
    """

    rows: np.ndarray
    row: np.ndarray
    col: np.ndarray
    size: np.ndarray
    n_other_images: int = 0
    n_outside: int = 0
    message: str | None = None

    def __len__(self) -> int:
        return len(self.rows)


@dataclass
class Catalog:
    """A table with its positions parsed, ready to be placed on images.

    Build one with :func:`make_catalog`. Positions are parsed once; :meth:`place` is cheap
    enough to run on every image change, even for a million rows.

    Attributes
    ----------
    table : astropy.table.Table
        Every column of the file, unchanged.
    name : str
    source : str or None
        The file it came from.
    columns : ColumnGuess
        The columns used (detected or given).
    ra, dec : ndarray or None
        Degrees (ICRS/FK5), NaN where a row has none.
    x, y : ndarray or None
        Pixel positions as the file has them, in ``pixel_origin``'s convention.
    pixel_origin : int or str
        0, 1 or ``"imgmarker"`` (see the module doc).
    prefer : str
        ``"sky"`` or ``"pixel"``: which position a row with both is placed by.
    size : ndarray or None
        Marker diameters in ``size_unit`` (NaN: default size).
    size_unit : str
    image : ndarray of str or None
        File name each row belongs to (``""``: every image).
    skipped : dict of str to int
        Rows left out when reading, by reason.
    notes : list of str
        How the columns were read, for the dock's preview.
    """

    table: Table
    name: str
    source: str | None
    columns: ColumnGuess
    ra: np.ndarray | None = None
    dec: np.ndarray | None = None
    x: np.ndarray | None = None
    y: np.ndarray | None = None
    pixel_origin: int | str = 0
    prefer: str = "sky"
    size: np.ndarray | None = None
    size_unit: str = "pix"
    image: np.ndarray | None = None
    skipped: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    _unit_vectors: np.ndarray | None = field(default=None, repr=False)
    _image_codes: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _feature_columns: dict[str, tuple] | None = field(default=None, repr=False)
    _usable_rows: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.table)

    @property
    def has_sky(self) -> bool:
        """Whether rows can be placed by RA/Dec."""
        return self.ra is not None

    @property
    def has_pixels(self) -> bool:
        """Whether rows can be placed by x/y."""
        return self.x is not None

    @property
    def n_usable(self) -> int:
        """Rows with a usable position."""
        return len(self) - sum(self.skipped.values())

    def summary(self) -> str:
        """One paragraph: rows, the columns used and how, and what was skipped and why."""
        parts = [f"{self.name}: {_rows(len(self))}"]
        parts.extend(self.notes)
        if self.skipped:
            total = sum(self.skipped.values())
            reasons = "; ".join(f"{n:,} {why}" for why, n in self.skipped.items())
            parts.append(f"{_rows(total)} skipped ({reasons})")
        return ". ".join(parts) + "."

    # -- placing -------------------------------------------------------------------------

    def place(
        self,
        height: int,
        width: int,
        wcs=None,
        y_up: bool = False,
        image: str | None = None,
        default_size: float | None = None,
    ) -> Placement:
        """The rows that fall on an image, in its 0-based array coordinates.

        Parameters
        ----------
        height, width : int
            Rows and columns of the image (one plane).
        wcs : astropy.wcs.WCS, optional
            Its 2-D celestial WCS, for ``pixel_to_world(x=col, y=row)``.
        y_up : bool
            Whether row 0 is the bottom of the picture (FITS, TIFFs with a WCS); only Image
            Marker's display pixels need this.
        image : str, optional
            The image's file name; rows of a catalog with an image column are placed only on
            their image (rows naming no image go on every image).
        default_size : float, optional
            Marker diameter in pixels for rows without a size; default ``min(H, W) / 40``
            but at least 8.

        Returns
        -------
        Placement
            Positions inside the image, ``-0.5 <= col < W - 0.5`` and likewise for rows.
        """
        n = len(self)
        on_image = self._rows_for_image(image)
        n_other = int(n - np.count_nonzero(on_image)) if on_image is not None else 0
        # whole-catalog boolean masks, then index arrays of the few rows that matter
        by_pixel, by_sky = self._usable()
        if on_image is not None:
            by_pixel, by_sky = by_pixel & on_image, by_sky & on_image
        if self.prefer == "sky" and wcs is not None:
            by_pixel = by_pixel & ~by_sky
        else:
            by_sky = by_sky & ~by_pixel
        message = None
        n_by_sky = int(np.count_nonzero(by_sky))
        if n_by_sky and wcs is None:
            message = (
                f"{image or 'this image'} has no WCS: {n_by_sky:,} rows of {self.name} have "
                "only RA/Dec and cannot be placed on it"
            )
            by_sky = np.zeros(n, dtype=bool)
            n_by_sky = 0
        pixel_rows = np.flatnonzero(by_pixel)
        sky_rows = np.flatnonzero(by_sky & self._near(height, width, wcs)) if n_by_sky else []
        rows = np.concatenate([pixel_rows, sky_rows]).astype(np.int64)
        col, row = np.empty(len(rows)), np.empty(len(rows))
        if len(pixel_rows):
            col[: len(pixel_rows)], row[: len(pixel_rows)] = self._pixels(pixel_rows, height, y_up)
        if len(sky_rows):
            col[len(pixel_rows) :], row[len(pixel_rows) :] = self._sky_to_pixels(sky_rows, wcs)
        inside = (
            np.isfinite(row)
            & np.isfinite(col)
            & (col >= -0.5)
            & (col < width - 0.5)
            & (row >= -0.5)
            & (row < height - 0.5)
        )
        order = np.argsort(rows[inside], kind="stable")  # catalog order
        placed = rows[inside][order]
        n_outside = len(pixel_rows) + n_by_sky - len(placed)
        size = self._sizes(placed, height, width, wcs, default_size)
        if self.size is not None and self.size_unit != "pix" and wcs is None and message is None:
            message = (
                f"{image or 'this image'} has no WCS: sizes in {self.size_unit} of "
                f"{self.name} are drawn at the default size"
            )
        return Placement(
            placed, row[inside][order], col[inside][order], size, n_other, n_outside, message
        )

    def place_frame(self, frame, default_size: float | None = None) -> Placement:
        """:meth:`place` on a :class:`~napari_imagemarker.io.frames.FrameInfo`."""
        return self.place(
            frame.height, frame.width, frame.wcs, frame.y_up, Path(frame.path).name, default_size
        )

    def _usable(self) -> tuple[np.ndarray, np.ndarray]:
        """(rows with x/y, rows with RA/Dec), computed once."""
        if self._usable_rows is None:
            n = len(self)
            pixel = np.zeros(n, dtype=bool)
            sky = np.zeros(n, dtype=bool)
            if self.has_pixels:
                pixel = np.isfinite(self.x) & np.isfinite(self.y)
            if self.has_sky:
                sky = np.isfinite(self.ra) & np.isfinite(self.dec)
            self._usable_rows = (pixel, sky)
        return self._usable_rows

    def _skipped_mask(self) -> np.ndarray:
        pixel, sky = self._usable()
        return ~(pixel | sky)

    def _rows_for_image(self, image: str | None) -> np.ndarray | None:
        if self.image is None:
            return None
        if self._image_codes is None:  # once: the distinct names and each row's code
            names, codes = np.unique(self.image, return_inverse=True)
            self._image_codes = (names, codes)
        names, codes = self._image_codes
        base = np.array([Path(str(s)).name for s in names], dtype=str)  # distinct names only
        wanted = (base == "") | (np.char.lower(base) == "none")
        if image is not None:
            wanted |= base == Path(image).name
        return wanted[codes]

    def _pixels(self, idx: np.ndarray, height: int, y_up: bool) -> tuple[np.ndarray, np.ndarray]:
        x, y = self.x[idx], self.y[idx]
        if self.pixel_origin == "imgmarker":
            return x, flip_rows(y, height, y_up)
        return x - self.pixel_origin, y - self.pixel_origin

    def _unit(self) -> np.ndarray:
        if self._unit_vectors is None:  # once per catalog: each later image is one pass
            self._unit_vectors = unit_vectors(self.ra, self.dec, dtype=np.float32)
        return self._unit_vectors

    def _near(self, height: int, width: int, wcs) -> np.ndarray | bool:
        """Rows within a cap around the image (a cheap first cut, which also keeps points
        on the far side of the sky away from the projection); True: no cut."""
        cap = footprint_cap(wcs, height, width)
        return True if cap is None else within_cap(self._unit(), cap)

    def _sky_to_pixels(self, idx: np.ndarray, wcs) -> tuple[np.ndarray, np.ndarray]:
        return icrs_to_pixel(wcs, self.ra[idx], self.dec[idx])

    def _sizes(self, idx, height, width, wcs, default_size) -> np.ndarray:
        default = default_size if default_size is not None else max(8.0, min(height, width) / 40)
        size = np.full(len(idx), float(default))
        if self.size is None:
            return size
        values = self.size[idx]
        if self.size_unit != "pix":
            if wcs is None:
                return size
            arcsec = (values * SIZE_UNITS[self.size_unit]).to_value(u.arcsec)
            values = arcsec / pixel_scale_arcsec(wcs)
        good = np.isfinite(values) & (values > 0)
        size[good] = values[good]
        return size

    # -- display -------------------------------------------------------------------------

    def features(self, rows: np.ndarray) -> pd.DataFrame:
        """Every (1-D) column of the table for ``rows``, as napari Points features.

        Masked entries become NaN (numbers) or ``""`` (text). Only ``rows`` are converted,
        so a few rows of a million-row catalog cost little.
        """
        if self._feature_columns is None:
            self._feature_columns = {
                name: column_values(self.table[name])
                for name in self.table.colnames
                if self.table[name].ndim == 1
            }
        return pd.DataFrame(
            {
                name: _filled(values[rows], missing[rows])
                for name, (values, missing) in self._feature_columns.items()
            },
            copy=False,
        )


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"


def _filled(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """``values`` in native byte order with ``missing`` entries NaN (numbers) or "" (text)."""
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
) -> Catalog:
    """Read (if needed) and parse a catalog: its positions, sizes and image column.

    Parameters
    ----------
    table_or_path : Table, DataFrame, dict of columns, str or Path
        The catalog, or a file :func:`read_table` reads.
    ra, dec : str, optional
        RA and Dec columns (any case). Default: detected by name (:func:`detect_columns`).
        Degrees, or sexagesimal text (RA in hours, Dec in degrees), or any angle unit the
        column carries.
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
    source = None
    if isinstance(table_or_path, (str, Path)):
        source = str(table_or_path)
        table = read_table(table_or_path, format=format)
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
    for a, b, what in ((ra, dec, "ra and dec"), (x, y, "x and y")):
        if (a is None) != (b is None):
            raise CatalogError(f"{label}: pass both {what} (got only one)")
    if explicit_sky or explicit_pixel:
        guess.ra = _column(table, ra, "RA", label) if ra is not None else None
        guess.dec = _column(table, dec, "Dec", label) if dec is not None else None
        guess.x = _column(table, x, "x", label) if x is not None else None
        guess.y = _column(table, y, "y", label) if y is not None else None
        guess.ambiguous = []
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

    cat = Catalog(
        table=table, name=name, source=source, columns=guess, pixel_origin=guess.pixel_origin
    )
    reasons: dict[str, np.ndarray] = {}
    if guess.ra is not None and guess.x is not None:
        # a marks table has both pairs; one may be empty throughout (no WCS, or sky only)
        if _missing(table[guess.ra]).all() and not explicit_sky:
            guess.ra = guess.dec = None
        elif _missing(table[guess.x]).all() and not explicit_pixel:
            guess.x = guess.y = None
    missing = np.ones(len(table), dtype=bool)
    reasons["with no position (empty or nan)"] = missing
    if guess.ra is not None:
        missing &= _parse_sky(cat, table, guess, reasons)
    if guess.x is not None:
        missing &= _parse_pixels(cat, table, guess, reasons)
    # a row with an image name and pixels is placed by its pixels (exact on its image);
    # otherwise RA/Dec go first, so one catalog overlays any image with a WCS
    if guess.image is not None:
        cat.image = np.asarray(_filled(*column_values(table[guess.image])), dtype=str)
    cat.prefer = "pixel" if (guess.image is not None or not cat.has_sky) else "sky"
    if explicit_pixel and not explicit_sky:
        cat.prefer = "pixel"
    _parse_size(cat, table, guess, size, size_unit, label)

    unusable = cat._skipped_mask()
    # each unusable row is counted once, under the first reason that applies to it
    left = unusable.copy()
    for why, mask in reasons.items():
        hit = mask & left
        if hit.any():
            cat.skipped[why] = int(hit.sum())
        left &= ~hit
    if left.any():
        cat.skipped["without a position"] = int(left.sum())
    if unusable.all():
        raise CatalogError(f"{label}: no row has a usable position. {cat.summary()}")
    return cat


def _parse_sky(cat: Catalog, table: Table, guess: ColumnGuess, reasons) -> np.ndarray:
    """Set ``cat.ra, cat.dec``; add why rows are bad to ``reasons``; return rows without."""
    ra_col, dec_col = table[guess.ra], table[guess.dec]
    ra, ra_how = parse_angles(ra_col, hours=True)
    dec, dec_how = parse_angles(dec_col, hours=False)
    missing = _missing(ra_col) | _missing(dec_col)
    bad = ~missing & ~(np.isfinite(ra) & np.isfinite(dec))
    reasons[f"with RA/Dec not a number or angle ({guess.ra}, {guess.dec})"] = bad
    finite_ra = ra[np.isfinite(ra)]
    if (
        finite_ra.size
        and finite_ra.min() < 0
        and finite_ra.min() >= -180
        and finite_ra.max() <= 180
    ):
        ra = np.mod(ra, 360.0)
        cat.notes.append("RA given from -180° to 180°, read as 0° to 360°")
    with np.errstate(invalid="ignore"):
        dec_bad = np.abs(dec) > 90
        ra_bad = (ra < 0) | (ra > 360)
    reasons["with Dec outside -90°..90°"] = dec_bad
    reasons["with RA outside 0°..360°"] = ra_bad & ~dec_bad
    ra = np.mod(ra, 360.0)
    ra[dec_bad | ra_bad] = np.nan
    dec = dec.copy()
    dec[dec_bad | ra_bad] = np.nan
    ra[~np.isfinite(dec)] = np.nan
    dec[~np.isfinite(ra)] = np.nan
    cat.ra, cat.dec = ra, dec
    how = ra_how if ra_how == dec_how else f"{ra_how} / {dec_how}"
    cat.notes.append(f"RA/Dec from columns {guess.ra}, {guess.dec} ({how})")
    return missing


def _parse_pixels(cat: Catalog, table: Table, guess: ColumnGuess, reasons) -> np.ndarray:
    """Set ``cat.x, cat.y``; add why rows are bad to ``reasons``; return rows without."""
    x = to_float(np.asarray(column_values(table[guess.x])[0]))
    y = to_float(np.asarray(column_values(table[guess.y])[0]))
    missing = _missing(table[guess.x]) | _missing(table[guess.y])
    x[missing], y[missing] = np.nan, np.nan
    bad = ~missing & ~(np.isfinite(x) & np.isfinite(y))
    x[bad], y[bad] = np.nan, np.nan
    cat.x, cat.y = x, y
    # rows with RA/Dec are fine without x/y: only unusable rows are counted (make_catalog)
    reasons[f"with x/y not a number ({guess.x}, {guess.y})"] = bad
    origin = {
        0: "0-based",
        1: "1-based (FITS/DS9)",
        "imgmarker": "Image Marker display pixels, top-left, y down",
    }[cat.pixel_origin]
    cat.notes.append(f"x/y from columns {guess.x}, {guess.y} ({origin})")
    return missing


def _missing(column) -> np.ndarray:
    """Masked, NaN, empty or "nan"/"None" text: a value that is not there (not a bad one)."""
    values, missing = column_values(column)
    if values.dtype.kind == "f":
        return missing | np.isnan(values)
    return missing | missing_text(values)


def _parse_size(cat, table, guess, size, size_unit, label) -> None:
    if isinstance(size, (int, float)) and not isinstance(size, bool):
        cat.size = np.full(len(table), float(size))
        cat.size_unit = size_unit or "pix"
    elif size is not None or guess.size is not None:
        column_name = _column(table, size, "size", label) if size is not None else guess.size
        if size is not None and column_name != guess.size:
            guess.size, guess.size_factor = column_name, 1.0
            unit = table[column_name].unit
            guess.size_unit = (size_unit_name(unit) if unit is not None else None) or (
                "arcsec" if "arcsec" in column_name.lower() else "pix"
            )
        values = to_float(_filled(*column_values(table[column_name])))
        cat.size = values * guess.size_factor
        cat.size_unit = size_unit or guess.size_unit
        cat.notes.append(
            f"sizes from column {column_name} ({cat.size_unit}"
            f"{', radius doubled to a diameter' if guess.size_factor == 2 else ''})"
        )
    if cat.size_unit not in SIZE_UNITS:
        raise CatalogError(
            f"{label}: size_unit must be one of {', '.join(SIZE_UNITS)}, got {cat.size_unit!r}"
        )
    if cat.size_unit in ("px", "pixel"):
        cat.size_unit = "pix"

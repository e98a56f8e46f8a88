"""Catalogs: any table of positions, read, understood and placed on an image.

A *catalog* is a table with a position per row, on the sky (RA/Dec) or in pixels (x/y), and
any other columns (magnitudes, redshifts, labels, ...), which are kept for display.

:func:`read_table` reads what ``astropy.table.Table.read`` reads (CSV, ECSV, FITS tables,
VOTable, IPAC, SExtractor, CDS, ...), DS9 region files (through ``regions``) and Image
Marker's mark files (with the marks reader's parser), see :mod:`.read`.
:func:`detect_columns` finds the coordinate, size and image columns by their names
(:mod:`.columns`); :func:`~napari_imagemarker.catalogs.build.make_catalog` turns a table
into a :class:`Catalog` with its positions parsed once (degrees or sexagesimal by content,
units honoured, bad rows counted and skipped), and :meth:`Catalog.place` puts it on one
image: the rows that fall on it, as 0-based ``(row, col)`` of the array our readers return
(DESIGN.md §3), with marker sizes in pixels.

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

from dataclasses import dataclass, field
from pathlib import Path

import astropy.units as u
import numpy as np
import pandas as pd
from astropy.table import Table

from napari_imagemarker.catalogs.columns import (
    SIZE_UNITS,
    ColumnGuess,
    column_values,
    detect_columns,
    filled,
    parse_angles,
)
from napari_imagemarker.catalogs.read import AmbiguousColumnsError, CatalogError, read_table
from napari_imagemarker.images.index import flip_rows
from napari_imagemarker.wcs import (
    footprint_cap,
    frame_to_pixel,
    icrs_to_pixel,
    pixel_scale_arcsec,
    unit_vectors,
    within_cap,
)

__all__ = [
    "AmbiguousColumnsError",
    "Catalog",
    "CatalogError",
    "ColumnGuess",
    "Placement",
    "detect_columns",
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
        ICRS degrees when the table states its frame, else the degrees as given (taken in
        each image's equatorial frame); NaN where a row has none.
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
    frame : astropy frame or None
        The frame the table states for its positions (converted exactly to each image's
        WCS frame when placed); None: unstated.
    lon, lat : ndarray or None
        The positions in ``frame``, degrees, as the table has them.
    choices : dict of str to str
        Every choice the loader made and why (``format``, ``sky``, ``frame``, ``pixels``,
        ``pixel_origin``), shown in the dock and copied to the layer's metadata.
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
    frame: object | None = None
    lon: np.ndarray | None = None
    lat: np.ndarray | None = None
    choices: dict[str, str] = field(default_factory=dict)
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
        label: str | None = None,
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
        label : str, optional
            How the placement's ``message`` names the image, e.g. ``"mef.fits [4]"`` for
            one HDU of a FITS file; default ``image``.

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
        label = label or image or "this image"
        n_by_sky = int(np.count_nonzero(by_sky))
        if n_by_sky and wcs is None:
            message = (
                f"{label} has no WCS: {n_by_sky:,} rows of {self.name} have "
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
                f"{label} has no WCS: sizes in {self.size_unit} of "
                f"{self.name} are drawn at the default size"
            )
        return Placement(
            placed, row[inside][order], col[inside][order], size, n_other, n_outside, message
        )

    def place_frame(self, frame, default_size: float | None = None) -> Placement:
        """:meth:`place` on a :class:`~napari_imagemarker.images.frames.FrameInfo`; a FITS
        HDU is named as the reader names its layer (``"mef.fits [4]"``)."""
        name = Path(frame.path).name
        label = name if frame.hdu is None else f"{name} [{frame.name}]"
        return self.place(
            frame.height, frame.width, frame.wcs, frame.y_up, name, default_size, label
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

    def skipped_mask(self) -> np.ndarray:
        """Rows with no usable position (neither finite x/y nor finite RA/Dec)."""
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
        if self.frame is None:  # unstated: the image's own equatorial frame
            return icrs_to_pixel(wcs, self.ra[idx], self.dec[idx])
        return frame_to_pixel(wcs, self.lon[idx], self.lat[idx], self.frame)

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
            self._feature_columns = {}
            for name in self.table.colnames:
                if self.table[name].ndim == 1:
                    self._feature_columns.update(_feature_values(name, self.table[name]))
        return pd.DataFrame(
            {
                name: filled(values[rows], missing[rows])
                for name, (values, missing) in self._feature_columns.items()
            },
            copy=False,
        )


def _feature_values(name: str, column) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """A column as napari features: a SkyCoord as its two angles in degrees, other mixins
    (Time, ...) as text, plain columns as they are."""
    from astropy.coordinates import SkyCoord, UnitSphericalRepresentation
    from astropy.table import Column

    if isinstance(column, SkyCoord):
        sph = column.represent_as(UnitSphericalRepresentation)
        lon, lat = list(column.representation_component_names)[:2]
        return {
            f"{name}.{lon}": (np.asarray(sph.lon.deg, dtype=float), np.zeros(len(column), bool)),
            f"{name}.{lat}": (np.asarray(sph.lat.deg, dtype=float), np.zeros(len(column), bool)),
        }
    if isinstance(column, (Column, u.Quantity, np.ndarray)):
        return {name: column_values(column)}
    text = np.array([str(v) for v in column], dtype=str)  # rare mixins only
    return {name: (text, np.zeros(len(text), bool))}


def _rows(n: int) -> str:
    return f"{n:,} row" if n == 1 else f"{n:,} rows"

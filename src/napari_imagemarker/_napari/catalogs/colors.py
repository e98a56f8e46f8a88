"""Colours of catalog points: one per catalog, or from a column (categories or a colormap).

:func:`row_colors` computes the RGBA of every row of a catalog once; each image then takes
a slice. Text columns and columns of a few integers are categories (cycled through
:data:`CATEGORY_COLORS`, or the values themselves when they are colour names, as in a DS9
file); numbers go through a napari colormap between their 1st and 99th percentiles, so a
value has the same colour on every image.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
from napari.utils.colormaps import ensure_colormap
from napari.utils.colormaps.standardize_color import transform_color

from napari_imagemarker.catalogs.catalog import Catalog, CatalogError

__all__ = [
    "CATALOG_COLORS",
    "CATEGORY_COLORS",
    "MAX_INTEGER_CATEGORIES",
    "MISSING_COLOR",
    "RowColors",
    "row_colors",
]

#: Colours of successive catalogs in a viewer, chosen to stand out on astronomical images
#: and from Image Marker's filled group colours (catalogs are drawn as rings).
CATALOG_COLORS = ("#00ffff", "#ff00ff", "#ffff00", "#7fff00", "#ff8c00", "#1e90ff", "#ffffff")
#: Colours for the categories of a ``color_by`` column, cycled.
CATEGORY_COLORS = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#bcbd22",
    "#17becf",
    "#ffffff",
)
MISSING_COLOR = (0.6, 0.6, 0.6, 1.0)
#: A column with at most this many distinct integers is coloured as categories.
MAX_INTEGER_CATEGORIES = 12


class RowColors(NamedTuple):
    """What :func:`row_colors` returns.

    Attributes
    ----------
    rgba : ndarray of float32, shape (n_rows, 4)
        One colour per catalog row.
    column : str or None
        The ``color_by`` column as the table names it (any case was accepted).
    legend : dict of str to str
        For categories: category -> ``#rrggbb``; empty otherwise.
    """

    rgba: np.ndarray
    column: str | None
    legend: dict[str, str]


def row_colors(
    catalog: Catalog,
    color: str | None = None,
    color_by: str | None = None,
    colormap: str = "viridis",
    index: int = 0,
) -> RowColors:
    """RGBA of every catalog row, computed once (a slice per image).

    Parameters
    ----------
    catalog : Catalog
    color : str, optional
        One colour for every row (any napari colour); default ``CATALOG_COLORS[index]``.
    color_by : str, optional
        A column (any case) to colour by; overrides ``color``.
    colormap : str
        napari colormap for numeric ``color_by`` columns.
    index : int
        Which of :data:`CATALOG_COLORS` is the default (the n-th catalog of a viewer).

    Raises
    ------
    CatalogError
        ``color_by`` names no column; the message lists the columns.
    """
    n = len(catalog)
    if color_by is None:
        rgba = transform_color(color or CATALOG_COLORS[index % len(CATALOG_COLORS)])[0]
        return RowColors(np.broadcast_to(rgba.astype(np.float32), (n, 4)), None, {})
    table = catalog.table
    matches = [c for c in table.colnames if c.lower() == color_by.lower()]
    if color_by not in table.colnames and len(matches) != 1:
        raise CatalogError(
            f"{catalog.source or catalog.name}: no column {color_by!r} to colour "
            f"by (columns: {', '.join(table.colnames)})"
        )
    column = color_by if color_by in table.colnames else matches[0]
    values = catalog.features(np.arange(n))[column].to_numpy()
    kind = values.dtype.kind
    if kind in "fiu" and not (kind in "iu" and len(np.unique(values)) <= MAX_INTEGER_CATEGORIES):
        return RowColors(_numeric_colors(values.astype(np.float64), colormap), column, {})
    rgba, legend = _category_colors(values.astype(str))
    return RowColors(rgba, column, legend)


def _numeric_colors(values: np.ndarray, colormap: str) -> np.ndarray:
    finite = np.isfinite(values)
    colors = np.tile(np.array(MISSING_COLOR, dtype=np.float32), (len(values), 1))
    if finite.any():
        lo, hi = np.percentile(values[finite], [1, 99])
        span = hi - lo if hi > lo else 1.0
        scaled = np.clip((values[finite] - lo) / span, 0, 1)
        colors[finite] = ensure_colormap(colormap).map(scaled)
    return colors


def _category_colors(values: np.ndarray) -> tuple[np.ndarray, dict[str, str]]:
    names, codes = np.unique(values, return_inverse=True)
    literal = len(names) <= 256 and all(_is_color(v) for v in names if v)
    if literal:  # e.g. DS9's color=red: use the colours themselves
        palette = [v if v else "white" for v in names]
    else:
        palette = [CATEGORY_COLORS[i % len(CATEGORY_COLORS)] for i in range(len(names))]
    rgba = transform_color(palette).astype(np.float32)
    legend = {
        str(n): "#{:02x}{:02x}{:02x}".format(*(np.round(c[:3] * 255).astype(int)))
        for n, c in zip(names, rgba, strict=True)
    }
    return rgba[codes.ravel()], legend


def _is_color(value: str) -> bool:
    try:
        transform_color(value)
    except (ValueError, KeyError, TypeError):
        return False
    return True

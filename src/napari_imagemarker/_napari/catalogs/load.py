"""Catalog overlays: a catalog as a napari Points layer that follows the image shown.

:func:`load_catalog` (``napari_imagemarker.load_catalog``) reads and places a catalog (see
:mod:`napari_imagemarker.catalogs.catalog`) and returns its Points layer. The layer belongs to a
:class:`~napari_imagemarker._napari.catalogs.overlay.CatalogOverlay`, which recomputes the
points when the image changes (the active image layer, the image layer's ``metadata``, the
marking session bound to the viewer); its colours come from :mod:`.catalog_colors`. Every
catalog column is a feature, so napari's status bar shows the row under the cursor.
"""

from __future__ import annotations

from typing import Any

from napari.layers import Image, Points
from napari.utils.notifications import show_info, show_warning

from napari_imagemarker._napari.catalogs.colors import CATALOG_COLORS, CATEGORY_COLORS
from napari_imagemarker._napari.catalogs.overlay import (
    CatalogOverlay,
    pick_image,
)
from napari_imagemarker._napari.viewers import known_viewers, session_binding, unwrap
from napari_imagemarker.catalogs.build import make_catalog
from napari_imagemarker.catalogs.catalog import Catalog, CatalogError

__all__ = [
    "CATALOG_COLORS",
    "CATEGORY_COLORS",
    "CatalogOverlay",
    "catalog_overlays",
    "load_catalog",
    "overlay_of",
    "refresh_catalogs",
]


def catalog_overlays(viewer) -> list[CatalogOverlay]:
    """The overlays whose layers are in ``viewer``, bottom to top."""
    viewer = unwrap(viewer)
    found = [layer.metadata.get("catalog_overlay") for layer in viewer.layers]
    return [o for o in found if isinstance(o, CatalogOverlay)]


def refresh_catalogs(viewer, image=None) -> None:
    """Place every catalog overlay of ``viewer`` on ``image`` (an Image layer or a
    :class:`~napari_imagemarker.images.frames.FrameInfo`), or on the image each follows.

    Overlays follow their viewer's images by themselves; call this after changing an image
    layer's data and WCS without replacing its ``metadata`` dict.
    """
    for overlay in catalog_overlays(viewer):
        overlay.update(image if image is not None else overlay.image_layer, force=True)


def _resolve_target(target) -> tuple[Any, Image | None]:
    """(viewer, image layer or None) for a viewer, an image layer or a marking session."""
    if isinstance(target, Image):
        for viewer in known_viewers():
            if target in viewer.layers:
                return viewer, target
        return None, target
    if hasattr(target, "layers") and hasattr(target, "add_layer"):
        return target, None
    if hasattr(target, "connect") and hasattr(target, "current"):  # a MarkingSession
        for viewer in known_viewers():
            binding = session_binding(viewer)
            if binding is not None and binding.session is target:
                return viewer, None
        raise CatalogError(
            "this marking session is not shown in a viewer: open it with "
            "napari_imagemarker.open_session(viewer, ...) first, or pass the viewer"
        )
    raise TypeError(
        f"load_catalog: target must be a napari viewer, an Image layer or a marking session, "
        f"not {type(target).__name__}"
    )


def load_catalog(
    target,
    table_or_path,
    *,
    color: str | None = None,
    color_by: str | None = None,
    name: str | None = None,
    colormap: str = "viridis",
    **read_options: Any,
) -> Points:
    """Overlay a catalog on an image as a Points layer that follows the image shown.

    Parameters
    ----------
    target : napari.Viewer, napari.layers.Image or MarkingSession
        A viewer: the catalog follows its active image layer (and its marking session, if
        one is open). An Image layer: the catalog stays on that image (and is added to its
        viewer, if it is in one). A marking session shown in a viewer: the catalog follows
        the session from image to image.
    table_or_path : str, Path, astropy Table, pandas DataFrame, dict of columns or Catalog
        Any table ``astropy.table.Table.read`` reads (CSV, ECSV, FITS, VOTable, IPAC, ...),
        a DS9 region file or an Image Marker mark file; or a
        :class:`~napari_imagemarker.catalogs.catalog.Catalog` already made (the column and
        size arguments are then not used).
    **read_options
        How to read the table, passed to
        :func:`~napari_imagemarker.catalogs.build.make_catalog` (see there): ``ra``,
        ``dec`` (columns; default detected by name), ``x``, ``y`` (pixel columns: ``x`` =
        column, ``y`` = row of the image array), ``pixel_origin`` (0, 1 or
        ``"imgmarker"``; default what the file says, else 0), ``size`` (column or one
        diameter for all), ``size_unit`` (``"pix"``, ``"arcsec"``, ...), ``format``,
        ``frame`` (of the RA/Dec columns: ``"icrs"``, ``"fk5"``, ``"fk4"``,
        ``"galactic"``, ...; default what the table states), ``readme`` (the ReadMe of a
        CDS table kept in a separate file). Not used when ``table_or_path`` is a
        ``Catalog``.
    color : str, optional
        One colour for the catalog; default a different one per catalog.
    color_by : str, optional
        Colour by a column: categories cycle through a palette (or are colour names, as in
        a DS9 file), numbers go through ``colormap``.
    name : str, optional
        Layer name; default the file name.
    colormap : str
        For numeric ``color_by``.

    Returns
    -------
    napari.layers.Points
        One point per catalog row on the image, ``features`` holding every column (shown in
        the status bar under the cursor). ``layer.metadata["catalog_overlay"]`` is the
        :class:`CatalogOverlay`.

    Raises
    ------
    CatalogError
        A file that cannot be read, missing or ambiguous coordinate columns, no usable row;
        the message names the file and says what to pass. Rows that cannot be used are
        skipped, and a notification says how many and why.
    """
    viewer, image = _resolve_target(target)
    catalog = (
        table_or_path
        if isinstance(table_or_path, Catalog)
        else make_catalog(table_or_path, name=name, **read_options)
    )
    index = len(catalog_overlays(viewer)) if viewer is not None else 0
    first = image if image is not None else pick_image(viewer)
    overlay = CatalogOverlay(
        catalog,
        color=color,
        color_by=color_by,
        colormap=colormap,
        name=name,
        index=index,
        image=first,
    )
    if viewer is not None:
        overlay.follow(viewer, image=first, pin=image is not None)
    if catalog.skipped:
        show_warning(catalog.summary())
    # why rows cannot be placed on this image (no WCS) the overlay has just said itself
    show_info(overlay.summary(message=False))
    return overlay.layer


def overlay_of(layer) -> CatalogOverlay | None:
    """The overlay a Points layer belongs to, or None."""
    overlay = getattr(layer, "metadata", {}).get("catalog_overlay")
    return overlay if isinstance(overlay, CatalogOverlay) else None

"""Catalog overlays: a catalog as a napari Points layer that follows the image shown.

:func:`load_catalog` (``napari_imagemarker.load_catalog``) reads and places a catalog (see
:mod:`napari_imagemarker.io.catalogs`) and returns its Points layer. The layer belongs to a
:class:`CatalogOverlay`, which recomputes the points when the image changes: one call,
:meth:`CatalogOverlay.update`, with an Image layer or a frame description. An overlay
follows, by itself,

* the active Image layer of its viewer (a new image opened, another image selected),
* the image layer it is on when that layer's ``metadata`` is replaced (how the marking
  dock shows the next image in the same layer),
* the marking session bound to the viewer (``binding.image_shown``).

Points are in the image layer's data coordinates, ``(row, col)`` 0-based (DESIGN.md §3),
with the image layer's scale and translate. Every catalog column is a feature, so napari's
status bar shows the row under the cursor.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from napari.layers import Image, Points
from napari.utils.colormaps import ensure_colormap
from napari.utils.colormaps.standardize_color import transform_color
from napari.utils.notifications import show_info, show_warning

from ..io.catalogs import Catalog, CatalogError, Placement, make_catalog
from .marking import binding_for

__all__ = [
    "CATALOG_COLORS",
    "CATEGORY_COLORS",
    "CatalogOverlay",
    "catalog_overlays",
    "load_catalog",
    "overlay_of",
    "refresh_catalogs",
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


def catalog_overlays(viewer) -> list[CatalogOverlay]:
    """The overlays whose layers are in ``viewer``, bottom to top."""
    viewer = _unwrap(viewer)
    found = [layer.metadata.get("catalog_overlay") for layer in viewer.layers]
    return [o for o in found if isinstance(o, CatalogOverlay)]


def refresh_catalogs(viewer, image=None) -> None:
    """Place every catalog overlay of ``viewer`` on ``image`` (an Image layer or a
    :class:`~napari_imagemarker.io.frames.FrameInfo`), or on the image each follows.

    Overlays follow their viewer's images by themselves; call this after changing an image
    layer's data and WCS without replacing its ``metadata`` dict.
    """
    for overlay in catalog_overlays(viewer):
        overlay.update(image if image is not None else overlay.image_layer, force=True)


class CatalogOverlay:
    """A catalog drawn as a Points layer on one image at a time.

    Parameters
    ----------
    catalog : Catalog
    color : str, optional
        One colour for every point (any napari colour); default the next of
        :data:`CATALOG_COLORS`.
    color_by : str, optional
        A column: text or few integers are categories (colours cycle through
        :data:`CATEGORY_COLORS`, or the values themselves when they are colour names, as in a
        DS9 file), numbers go through ``colormap`` between their 1st and 99th percentiles.
    colormap : str
        napari colormap name for numeric ``color_by`` columns.
    name : str, optional
        Layer name; default the catalog's name.
    symbol : str
        Marker symbol; rings leave the source visible.
    index : int
        Which of :data:`CATALOG_COLORS` is the default colour (the n-th catalog).
    image : napari.layers.Image or FrameInfo, optional
        The image to place the catalog on first (see :meth:`update`).

    Attributes
    ----------
    layer : napari.layers.Points
        ``metadata["catalog"]`` is the :class:`Catalog`, ``metadata["catalog_rows"]`` the
        catalog row of each point, ``metadata["catalog_overlay"]`` this object.
    placement : Placement or None
        Where the catalog fell on the current image.
    image_layer : napari.layers.Image or None
        The image it is placed on (None when placed from a frame description).
    legend : dict of str to str
        For categorical ``color_by``: category -> colour (``#rrggbb``).
    updated : list of callable
        Called with this overlay after each update (the table view listens here).
    """

    def __init__(
        self,
        catalog: Catalog,
        *,
        color: str | None = None,
        color_by: str | None = None,
        colormap: str = "viridis",
        name: str | None = None,
        symbol: str = "ring",
        index: int = 0,
        image=None,
    ) -> None:
        self.catalog = catalog
        self.color_by = color_by
        self.legend: dict[str, str] = {}
        self._colors = self._row_colors(color, color_by, colormap, index)
        self.symbol = symbol
        self.placement: Placement | None = None
        self.image_layer: Image | None = None
        self.viewer = None
        self.updated: list[Callable[[CatalogOverlay], Any]] = []
        self.pinned = False
        self._key: tuple | None = None
        self._last_message: str | None = None
        self._last_error: str | None = None
        self._watched: Image | None = None
        self._binding = None
        # the first image is placed before the layer exists: napari builds a layer with its
        # points much faster than it grows an empty one
        placement, geometry = self._place(image) if image is not None else (_nothing(), None)
        self.layer = Points(
            np.column_stack([placement.row, placement.col]),
            ndim=2,
            name=name or catalog.name,
            symbol=symbol,
            size=placement.size if len(placement) else 10,
            border_width=0,
            face_color=self._colors[placement.rows] if len(placement) else "transparent",
            features=catalog.features(placement.rows),
            metadata={
                "catalog": catalog,
                "catalog_rows": placement.rows,
                "catalog_overlay": self,
            },
        )
        if geometry is not None:
            self._placed(image, placement, geometry)

    # -- colours -------------------------------------------------------------------------

    def _row_colors(self, color, color_by, colormap, index) -> np.ndarray:
        """RGBA of every catalog row, computed once (a slice per image)."""
        n = len(self.catalog)
        if color_by is None:
            rgba = transform_color(color or CATALOG_COLORS[index % len(CATALOG_COLORS)])[0]
            return np.broadcast_to(rgba.astype(np.float32), (n, 4))
        table = self.catalog.table
        matches = [c for c in table.colnames if c.lower() == color_by.lower()]
        if color_by not in table.colnames and len(matches) != 1:
            raise CatalogError(
                f"{self.catalog.source or self.catalog.name}: no column {color_by!r} to colour "
                f"by (columns: {', '.join(table.colnames)})"
            )
        column = color_by if color_by in table.colnames else matches[0]
        self.color_by = column
        values = self.catalog.features(np.arange(n))[column].to_numpy()
        kind = values.dtype.kind
        if kind in "fiu" and not (
            kind in "iu" and len(np.unique(values)) <= MAX_INTEGER_CATEGORIES
        ):
            return self._numeric_colors(values.astype(np.float64), colormap)
        return self._category_colors(values.astype(str))

    def _numeric_colors(self, values: np.ndarray, colormap: str) -> np.ndarray:
        finite = np.isfinite(values)
        colors = np.tile(np.array(MISSING_COLOR, dtype=np.float32), (len(values), 1))
        if finite.any():
            lo, hi = np.percentile(values[finite], [1, 99])
            span = hi - lo if hi > lo else 1.0
            scaled = np.clip((values[finite] - lo) / span, 0, 1)
            colors[finite] = ensure_colormap(colormap).map(scaled)
        return colors

    def _category_colors(self, values: np.ndarray) -> np.ndarray:
        names, codes = np.unique(values, return_inverse=True)
        literal = len(names) <= 256 and all(_is_color(v) for v in names if v)
        if literal:  # e.g. DS9's color=red: use the colours themselves
            palette = [v if v else "white" for v in names]
        else:
            palette = [CATEGORY_COLORS[i % len(CATEGORY_COLORS)] for i in range(len(names))]
        rgba = transform_color(palette).astype(np.float32)
        self.legend = {
            str(n): "#{:02x}{:02x}{:02x}".format(*(np.round(c[:3] * 255).astype(int)))
            for n, c in zip(names, rgba, strict=True)
        }
        return rgba[codes.ravel()]

    # -- placing -------------------------------------------------------------------------

    def update(self, image=None, *, force: bool = False) -> Placement | None:
        """Place the catalog on ``image`` and redraw the points.

        Parameters
        ----------
        image : napari.layers.Image or FrameInfo, optional
            The image (its ``metadata`` gives ``wcs``, ``y_up`` and ``path``), or a frame
            description from :func:`~napari_imagemarker.io.images.image_frames`. Default:
            the image the overlay follows.
        force : bool
            Recompute even if the image is the one already placed on.

        Returns
        -------
        Placement or None
            None when there is no image to place on.
        """
        if image is None:
            image = self.image_layer if self.image_layer is not None else self._pick_image()
        if image is None:
            return None
        if isinstance(image, Image):
            self._watch(image)
        key = (_layer_geometry if isinstance(image, Image) else _frame_geometry)(image)["key"]
        if key == self._key and not force:
            return self.placement
        placement, geometry = self._place(image)
        self._draw(placement)
        self._placed(image, placement, geometry)
        return placement

    def _place(self, image) -> tuple[Placement, dict[str, Any]]:
        geometry = (_layer_geometry if isinstance(image, Image) else _frame_geometry)(image)
        placement = self.catalog.place(
            geometry["height"],
            geometry["width"],
            wcs=geometry["wcs"],
            y_up=geometry["y_up"],
            image=geometry["name"],
        )
        return placement, geometry

    def _placed(self, image, placement: Placement, geometry: dict[str, Any]) -> None:
        """Bookkeeping after the points show ``placement`` on ``image``."""
        self._key = geometry["key"]
        self._last_error = None
        self.placement = placement
        if isinstance(image, Image):
            self._watch(image)
            self._copy_transform(image)
        self._report(placement)
        for callback in list(self.updated):
            callback(self)

    def _draw(self, placement: Placement) -> None:
        layer = self.layer
        data = np.column_stack([placement.row, placement.col])
        colors = np.ascontiguousarray(self._colors[placement.rows])
        features = self.catalog.features(placement.rows)
        layer.metadata["catalog_rows"] = placement.rows
        # every property at once, then one redraw: napari would redraw per property (the
        # symbol is the layer's current one, given to added points; borders are not drawn)
        with layer.events.blocker_all():
            layer.selected_data = set()
            layer.data = data
            layer.features = features
            layer.size = placement.size
            if len(colors):  # napari warns about an empty colour array
                layer.face_color = colors
        layer.refresh()
        layer.events.data(value=layer.data, action="changed", data_indices=(), vertex_indices=())
        layer.events.features()

    def _copy_transform(self, image: Image) -> None:
        scale = tuple(image.scale[-2:])
        translate = tuple(image.translate[-2:])
        if tuple(self.layer.scale) != scale:
            self.layer.scale = scale
        if tuple(self.layer.translate) != translate:
            self.layer.translate = translate

    def _report(self, placement: Placement) -> None:
        """Notify why rows cannot be placed, once per new reason (not on every image)."""
        message = placement.message
        if message and message != self._last_message:
            show_warning(message)
        self._last_message = message

    def summary(self) -> str:
        """What is shown: rows on this image, and why the others are not."""
        if self.placement is None:
            return f"{self.catalog.name}: not placed on an image yet."
        p = self.placement
        parts = [f"{len(p):,} of {len(self.catalog):,} rows on this image"]
        if p.n_other_images:
            parts.append(f"{p.n_other_images:,} belong to other images")
        if p.n_outside:
            parts.append(f"{p.n_outside:,} fall outside it")
        if p.message:
            parts.append(p.message)
        return f"{self.catalog.name}: " + "; ".join(parts) + "."

    # -- following ------------------------------------------------------------------------

    def follow(self, viewer, image: Image | None = None, pin: bool = False) -> None:
        """Add the layer to ``viewer`` (if needed) and keep the points on its image.

        Parameters
        ----------
        viewer : napari.Viewer or ViewerModel
        image : napari.layers.Image, optional
            The image to start on; default the active image layer, else the top one.
        pin : bool
            Stay on ``image`` (only following changes of that layer) instead of following
            the active image layer.
        """
        viewer = _unwrap(viewer)
        self.viewer = viewer
        self.pinned = pin and image is not None
        if self.layer not in viewer.layers:
            viewer.add_layer(self.layer)
        viewer.layers.selection.events.active.connect(self._on_active)
        viewer.layers.events.inserted.connect(self._on_inserted)
        viewer.layers.events.removed.connect(self._on_removed)
        self._bind_session()
        self.update(image if image is not None else self._pick_image())

    def unfollow(self) -> None:
        """Stop following (the layer stays as it is)."""
        self._watch(None)
        if self._binding is not None:
            with contextlib.suppress(ValueError):
                self._binding.image_shown.remove(self._on_image_shown)
            self._binding = None
        if self.viewer is not None:
            layers = self.viewer.layers
            for emitter, callback in (
                (layers.selection.events.active, self._on_active),
                (layers.events.inserted, self._on_inserted),
                (layers.events.removed, self._on_removed),
            ):
                emitter.disconnect(callback)
            self.viewer = None

    def _pick_image(self) -> Image | None:
        return _pick_image(self.viewer)

    def _watch(self, image: Image | None) -> None:
        """Listen to ``image``'s metadata and transforms (and stop listening to the last)."""
        if image is self._watched:
            self.image_layer = image
            return
        if self._watched is not None:
            for name in ("metadata", "scale", "translate"):
                getattr(self._watched.events, name).disconnect(self._on_image_changed)
        self._watched = image
        self.image_layer = image
        if image is not None:
            for name in ("metadata", "scale", "translate"):
                getattr(image.events, name).connect(self._on_image_changed)

    def _on_image_changed(self, event=None) -> None:
        self._guarded(lambda: self.update(self._watched))

    def _on_active(self, event=None) -> None:
        active = self.viewer.layers.selection.active if self.viewer is not None else None
        if isinstance(active, Image) and active is not self.image_layer and not self.pinned:
            self._guarded(lambda: self.update(active))

    def _on_inserted(self, event) -> None:
        if isinstance(event.value, Image) and not self.pinned:
            self._guarded(lambda: self.update(event.value))
        self._bind_session()

    def _on_removed(self, event) -> None:
        if event.value is self.layer:
            self.unfollow()
        elif event.value is self.image_layer:
            self._watch(None)
            self._key = None
            image = None if self.pinned else self._pick_image()
            if image is not None:
                self._guarded(lambda: self.update(image))
            else:
                self._draw(_nothing())

    def _bind_session(self) -> None:
        """Follow the marking session shown in the viewer, if there is one."""
        binding = _binding_for(self.viewer)
        if binding is None or binding is self._binding:
            return
        self._binding = binding
        binding.image_shown.append(self._on_image_shown)
        # the marking keys also work while this layer is selected
        self._guarded(lambda: binding.bind_layer(self.layer), "cannot take the marking keys")

    def _on_image_shown(self, shown) -> None:
        if not self.pinned:
            self._guarded(lambda: self.update(shown.layer))

    def _guarded(
        self, action: Callable[[], Any], what: str = "cannot be placed on this image"
    ) -> None:
        """Run an event handler's work; an error becomes a napari notification, so that it
        never breaks napari's event chain or the marking dock's navigation."""
        try:
            action()
        except Exception as err:
            message = f"{self.catalog.name}: {what}: {err}"
            if message != self._last_error:  # one image change can call several handlers
                show_warning(message)
            self._last_error = message


def _pick_image(viewer) -> Image | None:
    """The active image layer, else the top visible one, else the top one."""
    if viewer is None:
        return None
    active = viewer.layers.selection.active
    if isinstance(active, Image):
        return active
    images = [layer for layer in viewer.layers if isinstance(layer, Image)]
    visible = [layer for layer in images if layer.visible]
    return (visible or images or [None])[-1]


def _nothing() -> Placement:
    empty = np.empty(0)
    return Placement(np.empty(0, dtype=int), empty, empty, empty)


def _is_color(value: str) -> bool:
    try:
        transform_color(value)
    except (ValueError, KeyError, TypeError):
        return False
    return True


def _layer_geometry(layer: Image) -> dict[str, Any]:
    data = layer.data[0] if layer.multiscale else layer.data
    shape = tuple(data.shape)
    height, width = (shape[-3], shape[-2]) if layer.rgb else (shape[-2], shape[-1])
    meta = layer.metadata
    path = meta.get("path")
    wcs = meta.get("wcs")
    y_up = bool(meta.get("y_up", False))
    name = Path(str(path)).name if path else None
    frame = meta.get("frame")
    # the same file and frame is the same image; without a path, the same array is
    key = (name, frame, height, width, y_up, wcs is None) if name else (id(data), id(wcs))
    return {"height": height, "width": width, "wcs": wcs, "y_up": y_up, "name": name,
            "key": key}  # fmt: skip


def _frame_geometry(frame) -> dict[str, Any]:
    name = Path(frame.path).name
    key = (name, frame.index, frame.height, frame.width, frame.y_up, frame.wcs is None)
    return {"height": frame.height, "width": frame.width, "wcs": frame.wcs,
            "y_up": frame.y_up, "name": name, "key": key}  # fmt: skip


def _unwrap(viewer):
    return getattr(viewer, "__wrapped__", viewer)


def _binding_for(viewer):
    return None if viewer is None else binding_for(viewer)


def _viewers():
    from napari import Viewer

    return list(Viewer._instances)


def _resolve_target(target) -> tuple[Any, Image | None]:
    """(viewer, image layer or None) for a viewer, an image layer or a marking session."""
    if isinstance(target, Image):
        for viewer in _viewers():
            if target in viewer.layers:
                return viewer, target
        return None, target
    if hasattr(target, "layers") and hasattr(target, "add_layer"):
        return target, None
    if hasattr(target, "connect") and hasattr(target, "current"):  # a MarkingSession
        for viewer in _viewers():
            binding = _binding_for(viewer)
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
    ra: str | None = None,
    dec: str | None = None,
    x: str | None = None,
    y: str | None = None,
    pixel_origin: int | str | None = None,
    size: str | float | None = None,
    size_unit: str | None = None,
    color: str | None = None,
    color_by: str | None = None,
    name: str | None = None,
    colormap: str = "viridis",
    format: str | None = None,
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
        :class:`~napari_imagemarker.io.catalogs.Catalog` already made (the column and
        size arguments are then not used).
    ra, dec : str, optional
        RA and Dec columns; default detected by name (``ra/dec``, ``RAJ2000/DEJ2000``,
        ``ALPHA_J2000/DELTA_J2000``, ...). Degrees, sexagesimal text or any angle unit.
    x, y : str, optional
        Pixel columns (``x`` = column, ``y`` = row of the image array).
    pixel_origin : {0, 1, "imgmarker"}, optional
        Whether x/y count from 0 (numpy, our files) or 1 (FITS, DS9, SExtractor), or are
        Image Marker's display pixels (top-left, y down). Default: what the file says (our
        marks files, DS9 regions, Image Marker files, ``X_IMAGE`` columns), else 0.
    size : str or float, optional
        Size column or one size for all (marker diameter); default a column called
        ``size``, ``size(arcsec)``, ``radius``, ... else ``min(H, W) / 40`` pixels.
    size_unit : {"pix", "arcsec", "arcmin", "deg"}, optional
        Default: the column's unit or name, else ``"pix"``. Angular sizes use each image's
        pixel scale.
    color : str, optional
        One colour for the catalog; default a different one per catalog.
    color_by : str, optional
        Colour by a column: categories cycle through a palette (or are colour names, as in
        a DS9 file), numbers go through ``colormap``.
    name : str, optional
        Layer name; default the file name.
    colormap : str
        For numeric ``color_by``.
    format : str, optional
        File format, see :func:`napari_imagemarker.io.catalogs.read_table`.

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
        else make_catalog(
            table_or_path,
            ra=ra,
            dec=dec,
            x=x,
            y=y,
            pixel_origin=pixel_origin,
            size=size,
            size_unit=size_unit,
            name=name,
            format=format,
        )
    )
    index = len(catalog_overlays(viewer)) if viewer is not None else 0
    first = image if image is not None else _pick_image(viewer)
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
    show_info(overlay.summary())
    return overlay.layer


def overlay_of(layer) -> CatalogOverlay | None:
    """The overlay a Points layer belongs to, or None."""
    overlay = getattr(layer, "metadata", {}).get("catalog_overlay")
    return overlay if isinstance(overlay, CatalogOverlay) else None

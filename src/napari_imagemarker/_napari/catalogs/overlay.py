"""A catalog drawn as a napari Points layer that follows the image shown.

:class:`CatalogOverlay` places a :class:`~napari_imagemarker.catalogs.catalog.Catalog` on one
image at a time: one call, :meth:`CatalogOverlay.update`, with an Image layer or a frame
description. Once it follows a viewer (:meth:`CatalogOverlay.follow`) it listens, by itself,
to

* the active Image layer of its viewer (a new image opened, another image selected),
* the image layer it is on when that layer's ``metadata`` is replaced (how the marking
  dock shows the next image in the same layer),
* the marking session bound to the viewer (``binding.image_shown``).

Every handler is guarded: an error becomes a napari notification, never an exception in
napari's event chain or the marking dock's navigation. Points are in the image layer's data
coordinates, ``(row, col)`` 0-based (DESIGN.md §3), with the image layer's scale and
translate. Colours come from :mod:`.catalog_colors`.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from napari.layers import Image, Points
from napari.utils.notifications import show_warning

from napari_imagemarker._napari.catalogs.colors import row_colors
from napari_imagemarker._napari.viewers import session_binding, unwrap
from napari_imagemarker.catalogs.catalog import Catalog, Placement
from napari_imagemarker.images.fits import hdu_name

__all__ = ["CatalogOverlay", "pick_image"]


class CatalogOverlay:
    """A catalog drawn as a Points layer on one image at a time.

    Parameters
    ----------
    catalog : Catalog
    color : str, optional
        One colour for every point (any napari colour); default the next of
        :data:`~.catalog_colors.CATALOG_COLORS`.
    color_by : str, optional
        A column: text or few integers are categories (colours cycle through
        :data:`~.catalog_colors.CATEGORY_COLORS`, or the values themselves when they are
        colour names, as in a DS9 file), numbers go through ``colormap`` between their 1st
        and 99th percentiles (:func:`~.catalog_colors.row_colors`).
    colormap : str
        napari colormap name for numeric ``color_by`` columns.
    name : str, optional
        Layer name; default the catalog's name.
    symbol : str
        Marker symbol; rings leave the source visible.
    index : int
        Which of the ``CATALOG_COLORS`` is the default colour (the n-th catalog).
    image : napari.layers.Image or FrameInfo, optional
        The image to place the catalog on first (see :meth:`update`).

    Attributes
    ----------
    layer : napari.layers.Points
        ``metadata["catalog"]`` is the :class:`Catalog`, ``metadata["catalog_rows"]`` the
        catalog row of each point, ``metadata["catalog_overlay"]`` this object,
        ``metadata["catalog_choices"]`` every choice the loader made and why (format,
        columns, frame, pixel origin).
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
        self._colors, self.color_by, self.legend = row_colors(
            catalog, color, color_by, colormap, index
        )
        self.symbol = symbol
        self.placement: Placement | None = None
        self.image_layer: Image | None = None
        self.viewer = None
        self.updated: list[Callable[[CatalogOverlay], Any]] = []
        self.pinned = False
        self._key: tuple | None = None
        self._said: set[str] = set()
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
                "catalog_choices": dict(catalog.choices),
            },
        )
        if geometry is not None:
            self._placed(image, placement, geometry)

    # -- placing -------------------------------------------------------------------------

    def update(self, image=None, *, force: bool = False) -> Placement | None:
        """Place the catalog on ``image`` and redraw the points.

        Parameters
        ----------
        image : napari.layers.Image or FrameInfo, optional
            The image (its ``metadata`` gives ``wcs``, ``y_up`` and ``path``), or a frame
            description from :func:`~napari_imagemarker.images.read.image_frames`. Default:
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

    def set_color(self, color: str) -> None:
        """Draw every point in ``color`` (any napari colour) from now on, on every image."""
        self._colors, self.color_by, self.legend = row_colors(self.catalog, color, None)
        if self.placement is not None:
            self._draw(self.placement)

    def _place(self, image) -> tuple[Placement, dict[str, Any]]:
        geometry = (_layer_geometry if isinstance(image, Image) else _frame_geometry)(image)
        placement = self.catalog.place(
            geometry["height"],
            geometry["width"],
            wcs=geometry["wcs"],
            y_up=geometry["y_up"],
            image=geometry["name"],
            label=geometry["label"],
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
        """Notify why rows cannot be placed on the image now shown: each message once, so
        that coming back to an image (or falling back to it when the image shown is
        closed) does not say it again; the dock's table header keeps saying it."""
        message = placement.message
        if message and message not in self._said:
            self._said.add(message)
            show_warning(message)

    def summary(self, *, message: bool = True) -> str:
        """What is shown: rows on this image, and why the others are not.

        Parameters
        ----------
        message : bool
            Whether to add the placement's message (e.g. the image has no WCS), which
            the overlay has already shown as a warning when it placed the catalog.
        """
        if self.placement is None:
            return f"{self.catalog.name}: not placed on an image yet."
        p = self.placement
        parts = [f"{len(p):,} of {len(self.catalog):,} rows on this image"]
        if p.n_other_images:
            parts.append(f"{p.n_other_images:,} belong to other images")
        if p.n_outside:
            parts.append(f"{p.n_outside:,} fall outside it")
        if p.message and message:
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
        viewer = unwrap(viewer)
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
        return pick_image(self.viewer)

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
        binding = session_binding(self.viewer)
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


def pick_image(viewer) -> Image | None:
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


def _layer_geometry(layer: Image) -> dict[str, Any]:
    data = layer.data[0] if layer.multiscale else layer.data
    shape = tuple(data.shape)
    height, width = (shape[-3], shape[-2]) if layer.rgb else (shape[-2], shape[-1])
    meta = layer.metadata
    path = meta.get("path")
    wcs = meta.get("wcs")
    y_up = bool(meta.get("y_up", False))
    name = Path(str(path)).name if path else None
    label = _hdu_label(name, meta) if name else layer.name
    frame = meta.get("frame")
    # the same file and frame is the same image; without a path, the same array is
    key = (name, frame, height, width, y_up, wcs is None) if name else (id(data), id(wcs))
    return {"height": height, "width": width, "wcs": wcs, "y_up": y_up, "name": name,
            "label": label, "key": key}  # fmt: skip


def _hdu_label(name: str, meta: dict) -> str:
    """The file name, with the HDU as the reader names a FITS layer (``"mef.fits [4]"``,
    ``"mef.fits [ERR]"``): messages then name the HDU shown, not the whole file. Taken
    from the metadata, not the layer's name, which the marking dock renames only after
    the next image is drawn."""
    hdu, header = meta.get("hdu"), meta.get("header")
    if hdu is None or header is None:
        return name
    return f"{name} [{hdu_name(hdu, header)}]"


def _frame_geometry(frame) -> dict[str, Any]:
    name = Path(frame.path).name
    label = name if frame.hdu is None else f"{name} [{frame.name}]"
    key = (name, frame.index, frame.height, frame.width, frame.y_up, frame.wcs is None)
    return {"height": frame.height, "width": frame.width, "wcs": frame.wcs,
            "y_up": frame.y_up, "name": name, "label": label, "key": key}  # fmt: skip

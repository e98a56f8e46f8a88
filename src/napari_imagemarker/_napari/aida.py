"""The Astronomical Image Display API (AIDA, ``astro-image-display-api`` 0.3.0) on napari.

:class:`NapariImageViewer` keeps AIDA's state with the package's own reference logic
(:class:`astro_image_display_api.image_viewer_logic.ImageViewerLogic`, which the package
offers for backends to build on) and draws it in a napari viewer:

* each image label is an Image layer (FITS/TIFF paths through our readers, arrays and
  NDData as they are); the image loaded last is shown, the others are hidden;
* cuts, stretch and colormap go through the display model
  (:mod:`napari_imagemarker.display`), so the layer keeps its raw values; a blur can be set
  too (:meth:`NapariImageViewer.set_blur`);
* the viewport is napari's camera: centre in pixels (x = column, y = row, 0-based) or on
  the sky, field of view across the shorter side of the canvas;
* catalogs are catalog overlays (Points layers);
* ``save`` writes a screenshot of the canvas.

What napari shows is what the getters return: a change made in napari (pan, zoom, contrast
limits, colormap) is read back by ``get_viewport``, ``get_cuts`` and ``get_colormap``.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np
from astro_image_display_api.image_viewer_logic import DEFAULT_LABEL, ImageViewerLogic
from astropy import units as u
from astropy.coordinates import SkyCoord
from astropy.nddata import NDData
from astropy.table import Table
from astropy.visualization import BaseInterval, BaseStretch
from napari.layers import Image

from napari_imagemarker._napari.catalogs.overlay import CatalogOverlay
from napari_imagemarker._napari.display.layer import apply_display, base_colormap, display_of
from napari_imagemarker.catalogs.build import make_catalog
from napari_imagemarker.display import DisplaySettings
from napari_imagemarker.display.settings import default_settings_for
from napari_imagemarker.images.read import read_image

__all__ = ["NapariImageViewer"]

#: napari symbols for AIDA's marker shapes (napari has one plus sign for both crosses).
SHAPES = {"circle": "ring", "square": "square", "crosshair": "cross", "plus": "cross",
          "diamond": "diamond"}  # fmt: skip


class NapariImageViewer(ImageViewerLogic):
    """An AIDA image viewer drawn in napari.

    Parameters
    ----------
    viewer : napari.Viewer, optional
        The viewer to draw in; default a new one.
    show : bool
        Whether a new viewer's window is shown.

    Attributes
    ----------
    viewer : napari.Viewer
    """

    def __init__(self, viewer=None, *, show: bool = True) -> None:
        if viewer is None:
            import napari

            viewer = napari.Viewer(show=show)
        self.viewer = viewer
        self._layers: dict[str, Image] = {}
        self._catalog_layers: dict[str, Any] = {}
        self._camera_set: dict[str, tuple] = {}
        self._blur: dict[str, float] = {}
        self._pending: set[str] | None = None
        super().__init__()

    # -- images ------------------------------------------------------------------------------

    def _load_fits(self, file: str | os.PathLike, image_label: str) -> None:
        """Read ``file`` with our readers (FITS, TIFF with its WCS, PNG/JPEG): the first
        image layer it gives."""
        data, kwargs, _ = read_image(file)[0]
        meta = kwargs["metadata"]
        wcs = meta.get("wcs")
        rgb = bool(kwargs.get("rgb"))
        info = self._images[image_label]
        info.wcs = wcs
        info.data = NDData(data, wcs=wcs, meta=dict(meta.get("header") or {}))
        self._initialize_image_viewport_stretch_cuts(_plane(data, rgb), image_label)

    def _load_array(self, array, image_label: str) -> None:
        array = np.asarray(array)
        rgb = _is_rgb(array)
        info = self._images[image_label]
        info.wcs = None
        info.data = array
        self._initialize_image_viewport_stretch_cuts(_plane(array, rgb), image_label)

    def _load_nddata(self, data: NDData, image_label: str) -> None:
        array = np.asarray(data.data)
        info = self._images[image_label]
        info.wcs = data.wcs
        info.data = data
        self._initialize_image_viewport_stretch_cuts(_plane(array, _is_rgb(array)), image_label)

    def _initialize_image_viewport_stretch_cuts(self, image_data, image_label) -> None:
        super()._initialize_image_viewport_stretch_cuts(image_data, image_label)
        # our defaults: what the readers and the display dock start from
        array = _array(self._images[image_label].data)
        default = default_settings_for(array, _is_rgb(array))
        self._images[image_label].cuts = default.interval
        self._images[image_label].stretch = default.stretch

    def _render_image(self, image_label: str) -> None:
        info = self._images[image_label]
        array = _array(info.data)
        rgb = _is_rgb(array)
        meta: dict[str, Any] = {"aida_label": image_label, "y_up": True}
        if info.wcs is not None:
            meta["wcs"] = info.wcs
        if isinstance(info.data, NDData) and info.data.meta:
            meta["header"] = info.data.meta
        name = "image" if image_label == _default_label() else image_label
        layer = Image(array, rgb=rgb, name=name, metadata=meta,
                      colormap=None if rgb else "gray")  # fmt: skip
        layers = self.viewer.layers
        old = self._layers.get(image_label)
        # the new layer goes in before the old one goes out (vispy, see marking.py)
        index = layers.index(old) + 1 if old in layers else len(layers)
        layers.insert(index, layer)
        if old in layers:
            layers.remove(old)
        self._layers[image_label] = layer
        for label, other in self._layers.items():
            other.visible = label == image_label
        layers.selection.active = layer
        self.viewer.scene.camera.orientation2d = ("up", "right")  # AIDA: pixel (0, 0) lower left
        self._camera_set.pop(image_label, None)

    def _apply_display(self, image_label: str) -> None:
        if self._pending is not None:
            self._pending.add(image_label)
            return
        info = self._images[image_label]
        layer = self._layers.get(image_label)
        if layer is None:
            return
        settings = DisplaySettings(
            info.stretch,
            info.cuts,
            self._blur.get(image_label, 0.0),
            info.colormap or "gray",
        )
        apply_display(layer, settings)

    _apply_cuts = _apply_stretch = _apply_colormap = _apply_display

    @contextlib.contextmanager
    def _batch_update(self):
        """Apply cuts, stretch and colormap once, at the end of the batch."""
        if self._pending is not None:
            yield
            return
        self._pending = set()
        try:
            yield
        finally:
            pending, self._pending = self._pending, None
            for label in pending:
                if label in self._images:
                    self._apply_display(label)

    def _sync(self, image_label: str | None) -> str:
        """Take in what was changed in napari itself (contrast limits, colormap)."""
        label = self._resolve_image_label(image_label)
        layer = self._layers.get(label)
        state = display_of(layer) if layer is not None else None
        if state is not None:
            info = self._images[label]
            info.cuts = state.settings.interval
            info.stretch = state.settings.stretch
            if info.colormap is not None or state.settings.colormap != "gray":
                info.colormap = state.settings.colormap
        return label

    def get_cuts(self, image_label: str | None = None, **kwargs) -> BaseInterval:
        """The current cuts (an astropy interval) of the image; limits changed with
        napari's contrast slider come back as a ``ManualInterval``."""
        return super().get_cuts(self._sync(image_label))

    def get_stretch(self, image_label: str | None = None, **kwargs) -> BaseStretch:
        """The current stretch (an astropy stretch) of the image."""
        return super().get_stretch(self._sync(image_label))

    def get_colormap(self, image_label: str | None = None, **kwargs) -> str | None:
        """The colormap name of the image (None until one is set: grey)."""
        return super().get_colormap(self._sync(image_label))

    @staticmethod
    def _validate_colormap_name(map_name: str) -> None:
        base_colormap(map_name)  # napari's or matplotlib's, else ValueError "not a valid"

    def set_blur(self, radius: float, image_label: str | None = None, **kwargs) -> None:
        """Blur the displayed image with a Gaussian of standard deviation ``radius``
        pixels (0: off); the image's data are not changed."""
        label = self._resolve_image_label(image_label)
        DisplaySettings(blur=radius)  # validates
        self._blur[label] = float(radius)
        self._apply_display(label)

    def get_blur(self, image_label: str | None = None, **kwargs) -> float:
        """The blur radius of the image in pixels (0: off)."""
        return self._blur.get(self._resolve_image_label(image_label), 0.0)

    # -- viewport ------------------------------------------------------------------------------

    def _canvas_side(self) -> float:
        return float(min(self.viewer.canvas.size))

    def _apply_viewport(self, image_label: str) -> None:
        info = self._images[image_label]
        center, fov = info.center, info.fov
        if isinstance(center, SkyCoord):
            x, y = (float(v) for v in info.wcs.world_to_pixel(center))
        else:
            x, y = (float(v) for v in center)
        if isinstance(fov, u.Quantity):
            fov = fov.to_value(u.deg) / _pixel_scale(info)
        camera = self.viewer.scene.camera
        camera.center = (y, x)
        camera.zoom = self._canvas_side() / float(fov)
        self._camera_set[image_label] = (tuple(camera.center), camera.zoom)

    def get_viewport(
        self, sky_or_pixel: str | None = None, image_label: str | None = None, **kwargs
    ) -> dict[str, Any]:
        """The centre and field of view of the image's view (see the AIDA protocol).

        A pan or zoom made in napari is read from its camera."""
        if sky_or_pixel in (None, "sky", "pixel") and self._images:
            label = self._resolve_image_label(image_label)
            self._read_camera(label)
        return super().get_viewport(sky_or_pixel, image_label)

    def _read_camera(self, label: str) -> None:
        """If napari's camera moved since the viewport was set, make that the viewport."""
        layer = self._layers.get(label)
        applied = self._camera_set.get(label)
        if layer is None or applied is None or not layer.visible:
            return
        camera = self.viewer.scene.camera
        center, zoom = tuple(camera.center), camera.zoom
        if np.allclose(center, applied[0], rtol=1e-9, atol=1e-9) and np.isclose(
            zoom, applied[1], rtol=1e-9
        ):
            return
        info = self._images[label]
        y, x = center[-2:]
        fov = self._canvas_side() / zoom
        if isinstance(info.center, SkyCoord) and info.wcs is not None:
            info.center = info.wcs.pixel_to_world(x, y)
        else:
            info.center = (float(x), float(y))
        if isinstance(info.fov, u.Quantity) and info.wcs is not None:
            info.fov = (fov * _pixel_scale(info) * u.deg).to(info.fov.unit)
        else:
            info.fov = float(fov)
        self._camera_set[label] = (center, zoom)

    # -- catalogs -------------------------------------------------------------------------------

    def _draw_catalog(self, catalog_label: str) -> None:
        self._remove_catalog_marks(catalog_label)
        info = self._catalogs[catalog_label]
        table = info.data
        if table is None or len(table) == 0 or _all_none(table["x"]):
            return
        style = info.style
        plain = Table()
        plain["x"] = np.asarray(table["x"], dtype=float)
        plain["y"] = np.asarray(table["y"], dtype=float)
        for name in table.colnames:
            if name not in ("x", "y", "coord") and isinstance(table[name], Table.Column):
                plain[name] = table[name]
        name = "catalog" if catalog_label == _default_label() else catalog_label
        catalog = make_catalog(plain, x="x", y="y", pixel_origin=0,
                               size=float(style.get("size", 5)), name=name)  # fmt: skip
        shape = str(style.get("shape", "circle"))
        image = self._shown_layer()
        overlay = CatalogOverlay(catalog, color=str(style.get("color", "red")),
                                 symbol=SHAPES.get(shape, "ring"), name=name,
                                 image=image)  # fmt: skip
        overlay.follow(self.viewer, image=image)
        layer = overlay.layer
        if shape not in ("circle",):  # filled napari symbols: draw their outline only
            color = layer.face_color.copy() if len(layer.data) else None
            layer.border_width = 0.15
            if color is not None:
                layer.border_color = color
                layer.face_color = "transparent"
        if "alpha" in style:
            layer.opacity = float(style["alpha"])
        self._catalog_layers[catalog_label] = layer

    def _remove_catalog_marks(self, catalog_label: str) -> None:
        layer = self._catalog_layers.pop(catalog_label, None)
        if layer is not None and layer in self.viewer.layers:
            self.viewer.layers.remove(layer)

    def _shown_layer(self) -> Image | None:
        for label in self._displayed_image_labels:
            return self._layers.get(label)
        return None

    # -- saving ---------------------------------------------------------------------------------

    def save(self, filename: str | os.PathLike, overwrite: bool = False, **kwargs) -> None:
        """Save the canvas as shown (PNG, JPEG, ... by the extension).

        Raises
        ------
        FileExistsError
            ``filename`` exists and ``overwrite`` is False.
        """
        path = Path(filename)
        if path.exists() and not overwrite:
            raise FileExistsError(f"{path}: exists; pass overwrite=True to replace it")
        self.viewer.screenshot(path=str(path), canvas_only=True, flash=False)


def _default_label() -> str:
    return DEFAULT_LABEL


def _array(data) -> np.ndarray:
    return np.asarray(data.data if isinstance(data, NDData) else data)


def _is_rgb(array) -> bool:
    return array.ndim >= 3 and array.shape[-1] in (3, 4)


def _plane(array, rgb: bool):
    """A 2-D (rows, columns) view of the image, for its shape."""
    array = np.asarray(array)
    index = (0,) * (array.ndim - (3 if rgb else 2))
    plane = array[index]
    return plane[..., 0] if rgb else plane


def _pixel_scale(info) -> float:
    from astropy.wcs.utils import proj_plane_pixel_scales

    return float(proj_plane_pixel_scales(info.wcs)[1 - info.largest_dimension])


def _all_none(column) -> bool:
    return column.dtype == object and all(v is None for v in column)

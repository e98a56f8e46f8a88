"""Layers > Visualize: the display dock, and two one-click settings for the selected images.

napari's own layer context menu takes no plugin contributions; its *Layers > Visualize*
menu is where plugins add ways of looking at a layer (napari.yaml ``menus``).
"""

from __future__ import annotations

from astropy.visualization import ZScaleInterval
from napari.layers import Image
from napari.utils.notifications import show_info
from napari.viewer import Viewer

from napari_imagemarker._napari.display.layer import settings_of
from napari_imagemarker._napari.display.target import reset, set_display, target_layer
from napari_imagemarker._napari.viewers import unwrap

__all__ = ["open_display_dock", "reset_display", "zscale_limits"]

PLUGIN = "napari-imagemarker"
DOCK = "Display"


def open_display_dock(viewer: Viewer) -> None:
    """Show the Display dock (stretch, limits, blur) for the selected image layer."""
    viewer.window.add_plugin_dock_widget(PLUGIN, DOCK)


def _selected_images(viewer: Viewer) -> list[Image]:
    viewer = unwrap(viewer)
    chosen = [layer for layer in viewer.layers.selection if isinstance(layer, Image)]
    if not chosen:
        layer = target_layer(viewer)
        chosen = [layer] if layer is not None else []
    if not chosen:
        show_info("Select an image layer first.")
    return chosen


def zscale_limits(viewer: Viewer) -> None:
    """ZScale limits on the selected image layers (their stretch and blur are kept)."""
    viewer = unwrap(viewer)
    for layer in _selected_images(viewer):
        set_display(viewer, layer, settings_of(layer).replace(interval=ZScaleInterval()))


def reset_display(viewer: Viewer) -> None:
    """Linear stretch, default limits (ZScale; RGB as stored), no blur, on the selected image
    layers."""
    viewer = unwrap(viewer)
    for layer in _selected_images(viewer):
        reset(viewer, layer)

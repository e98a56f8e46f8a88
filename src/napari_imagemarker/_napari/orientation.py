"""Show y-up images (FITS, TIFFs with a WCS) north up by turning napari's camera."""

from __future__ import annotations


def orient_for(viewer, y_up: bool) -> None:
    """Set the camera's ``orientation2d`` for an image of this orientation.

    y-up images (row 0 at the bottom, as in FITS) are shown with ``("up", "right")``. For an
    image without WCS the default ``("down", "right")`` is restored, but only when no y-up
    layer is already in the viewer, so opening a PNG never flips a FITS shown beside it.
    """
    if viewer is None:
        return
    if y_up:
        viewer.scene.camera.orientation2d = ("up", "right")
        return
    if not any(layer.metadata.get("y_up") for layer in viewer.layers):
        viewer.scene.camera.orientation2d = ("down", "right")


def orient_current_viewer(y_up: bool) -> None:
    """Orient napari's current viewer (the one a reader or sample hook is loading into)."""
    from napari import current_viewer

    orient_for(current_viewer(), y_up)

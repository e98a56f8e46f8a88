"""The cursor readout of a marking session: the pixel, raw value and sky position under the
mouse, in the marking dock and in napari's status bar.

The numbers are :func:`~napari_imagemarker.images.readout.readout_at`'s, the same as the
"Coordinate readout" dock's: the 1-based FITS pixel, the raw value (the raw channels of an RGB
image, not its display copy) and ``wcs.pixel_to_world(x=col, y=row)``. They follow the mouse
and the image: after Tab or Space they are those of the new image under the same cursor,
without moving the mouse.
"""

from __future__ import annotations

import contextlib

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLabel, QSizePolicy

from napari_imagemarker._napari.display.layer import raw_data
from napari_imagemarker.images.readout import Readout, readout_at

__all__ = ["CursorReadout"]

#: Shown before the mouse has been on the image.
HINT = "Point at the image: pixel, value and RA/Dec show here."


class CursorReadout(QLabel):
    """A label that shows the readout under the cursor for the image of a marking session,
    and puts the same text in napari's status bar.

    Call :meth:`follow` with a :class:`~.binding.MarkingBinding`; it stops by itself when the
    session closes.

    Attributes
    ----------
    readout : Readout or None
        The last readout shown (None before the mouse was on the image).
    status_text : str
        The text given to napari's status bar (its ``coordinates`` field).
    """

    def __init__(self, parent=None) -> None:
        super().__init__(HINT, parent)
        self.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.setWordWrap(True)
        # as wide as the dock is, never wider: the canvas keeps its room
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setToolTip(
            "Under the cursor: the FITS pixel (1-based, x = column + 1, y = row + 1), the "
            "raw value (R, G, B for colour images), and RA, Dec in degrees and sexagesimal "
            "in the frame of the image's WCS"
        )
        self.readout: Readout | None = None
        self.status_text = ""
        self._binding = None
        self._viewer = None

    def follow(self, binding) -> None:
        """Show the readout of ``binding``'s image (and no other session's)."""
        self.stop()
        self._binding, self._viewer = binding, binding.viewer
        self._viewer.cursor.events.position.connect(self.refresh)
        self._viewer.events.status.connect(self._on_status)
        binding.listeners.append(self._on_binding)
        self.refresh()

    def stop(self) -> None:
        """Stop following (the session closed)."""
        binding, viewer = self._binding, self._viewer
        self._binding = self._viewer = None
        if viewer is not None:
            viewer.cursor.events.position.disconnect(self.refresh)
            viewer.events.status.disconnect(self._on_status)
        if binding is not None:
            with contextlib.suppress(ValueError):
                binding.listeners.remove(self._on_binding)
        self.readout, self.status_text = None, ""
        self.setText(HINT)

    def _on_binding(self, what: str) -> None:
        if what in ("image", "frame"):
            self.refresh()  # the image changed under a cursor that did not move
        elif what == "closed":
            self.stop()

    def refresh(self, event=None) -> None:
        """Compute the readout at the cursor and show it here and in the status bar."""
        binding, viewer = self._binding, self._viewer
        if binding is None:
            return
        layer = binding.image_layer
        if layer is None or layer not in viewer.layers:
            return
        if self.readout is None and not viewer.mouse_over_canvas:
            return  # the cursor has never been on the image: keep the hint
        try:
            self.readout = readout_at(
                raw_data(layer),
                layer.world_to_data(viewer.cursor.position),
                wcs=layer.metadata.get("wcs"),
                rgb=layer.rgb,
            )
        except Exception as exc:  # a WCS astropy cannot evaluate: say so, never raise
            self.readout = None
            self.setText(f"Cannot compute the readout: {type(exc).__name__}: {exc}")
            return
        lines = [line for line in self.readout.short() if line]
        self.setText("\n".join(lines))
        self.status_text = " · ".join(lines)
        if viewer.mouse_over_canvas:
            self._put_in_status()

    def _on_status(self, event) -> None:
        """napari wrote its own status (``[row col]: value``) for the cursor: ours goes in."""
        if self._binding is None or not self.status_text or not self._viewer.mouse_over_canvas:
            return
        status = event.value
        # a string is a message (a display key's new stretch, ...): left for the user to read
        if not isinstance(status, dict) or status.get("coordinates") == self.status_text:
            return
        self._put_in_status()

    def _put_in_status(self) -> None:
        viewer, layer = self._viewer, self._binding.image_layer
        status = viewer.status
        if isinstance(status, dict):
            status = {**status, "coordinates": self.status_text}
        else:
            status = {
                "layer_name": layer.name,
                "layer_base": layer.name,
                "source_type": "",
                "plugin": "",
                "coordinates": self.status_text,
                "coords": "",
                "value": "",
            }
        viewer.status = status

"""Dock widget: pixel, raw value and sky position under the cursor."""

from __future__ import annotations

from napari.layers import Image
from qtpy.QtWidgets import QComboBox, QFormLayout, QLabel, QWidget

from napari_imagemarker._napari.display.layer import raw_data
from napari_imagemarker.images.readout import Readout, readout_at

_FIELDS = ("Layer", "FITS pixel", "Array index", "Value", "RA, Dec (deg)", "RA, Dec")


class ReadoutWidget(QWidget):
    """Follows the cursor and shows, for the image under it:

    the 1-based FITS pixel (x, y), the 0-based array index, the raw pixel value (not a
    display value) and, with a WCS, the sky position in degrees and sexagesimal, exactly
    ``wcs.pixel_to_world(x=col, y=row)``. Galactic coordinates are selectable.
    """

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.readout: Readout | None = None
        layout = QFormLayout(self)
        self.frame_box = QComboBox()
        self.frame_box.addItems(["equatorial (WCS frame)", "galactic"])
        self.frame_box.setToolTip("Sky frame of the readout")
        layout.addRow("Sky frame", self.frame_box)
        self.labels: dict[str, QLabel] = {}
        self.titles: dict[str, QLabel] = {}
        for field in _FIELDS:
            name, value = QLabel(field), QLabel("–")
            value.setTextInteractionFlags(value.textInteractionFlags() | _selectable())
            layout.addRow(name, value)
            self.labels[field] = value
            self.titles[field] = name
        self.viewer.cursor.events.position.connect(self._on_move)
        self.frame_box.currentIndexChanged.connect(self._on_move)

    @property
    def frame(self) -> str | None:
        return "galactic" if self.frame_box.currentIndex() == 1 else None

    def _image_layer(self, world) -> Image | None:
        """The active image layer, else the topmost visible image containing the cursor."""
        active = self.viewer.layers.selection.active
        if isinstance(active, Image) and active.visible:
            return active
        for layer in reversed(self.viewer.layers):
            if isinstance(layer, Image) and layer.visible:
                return layer
        return None

    def _on_move(self, event=None) -> None:
        world = self.viewer.cursor.position
        layer = self._image_layer(world)
        if layer is None:
            self.readout = None
            self._show({"Layer": "no image layer"})
            return
        position = layer.world_to_data(world)
        try:
            self.readout = readout_at(
                raw_data(layer),  # an RGB layer may show a display copy: read the raw pixels
                position,
                wcs=layer.metadata.get("wcs"),
                rgb=layer.rgb,
                frame=self.frame,
            )
        except Exception as err:  # a WCS astropy cannot evaluate: say so, never raise
            self.readout = None
            self._show({"Layer": f"{layer.name}: cannot compute ({type(err).__name__}: {err})"})
            return
        text = {"Layer": layer.name, **self.readout.lines()}
        # the sky rows are labelled with the frame the numbers are in
        sky = [k for k in text if k.startswith(("RA", "l, b"))]
        if sky:
            self.titles["RA, Dec (deg)"].setText(sky[0])
            text["RA, Dec (deg)"] = text.pop(sky[0])
        self._show(text)

    def _show(self, text: dict[str, str]) -> None:
        for field, label in self.labels.items():
            label.setText(text.get(field, "–"))


def _selectable():
    from qtpy.QtCore import Qt

    return Qt.TextInteractionFlag.TextSelectableByMouse

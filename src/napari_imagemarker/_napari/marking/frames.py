"""The frame row of the marking dock: which frame is shown, and a list to jump to any.

Frames are a TIFF's pages and a FITS file's image extensions, named from the file's headers
(:class:`~napari_imagemarker.images.frames.FrameInfo`), never from the layer's name, which
is renamed only after the canvas has drawn and so still names the previous image for a
moment after Tab.
"""

from __future__ import annotations

from collections.abc import Callable

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QComboBox, QHBoxLayout, QLabel, QWidget

__all__ = ["FrameRow", "frame_text"]


def frame_text(index: int, n_frames: int, name: str) -> str:
    """``frame 2 of 3: page 1`` for 0-based frame ``index``."""
    return f"frame {index + 1} of {n_frames}: {name}"


class FrameRow(QWidget):
    """The frame shown (``label``) and a list of the image's frames (``box``); choosing one
    calls ``choose`` with its 0-based index. Hidden for single-frame images."""

    def __init__(self, choose: Callable[[int], object], parent=None) -> None:
        super().__init__(parent)
        self._choose = choose
        self._names: list[str] = []
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        self.label = QLabel("")
        self.box = QComboBox()
        self.box.setFocusPolicy(Qt.FocusPolicy.NoFocus)  # the keys stay on the canvas
        self.box.setToolTip("Go to a frame of this image (Space: the next one)")
        self.box.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToContents)
        self.box.activated.connect(self._chosen)
        row.addWidget(self.label, 1)
        row.addWidget(self.box)
        self.hide()

    def show_frames(self, names: list[str], current: int) -> None:
        """List ``names`` (one per frame) with frame ``current`` (0-based) as shown."""
        if len(names) < 2:
            self.label.setText("")
            self.hide()
            return
        if names != self._names:
            self._names = list(names)
            self.box.blockSignals(True)
            self.box.clear()
            self.box.addItems([f"{i + 1}: {name}" for i, name in enumerate(names)])
            self.box.blockSignals(False)
        self.box.setCurrentIndex(current)
        self.label.setText(frame_text(current, len(names), names[current]))
        self.show()

    def clear(self) -> None:
        self._names = []
        self.box.clear()
        self.label.setText("")
        self.hide()

    def _chosen(self, index: int) -> None:
        if index >= 0:
            self._choose(index)

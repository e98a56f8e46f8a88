"""The mouse while marking, as Image Marker users expect, in one place.

:class:`MarkingMouse` is a napari mouse-drag callback put first on our layers (the image and
the marks, and overlays given the marking keys). It decides what every press does, whatever
the active layer and its napari mode:

=====================  ============================================================
left click             add a mark of the active group (the dock's), at the click
left drag              pan (napari's camera); on a selected mark (or any mark while
                       the marks layer is in select mode): move the mark(s), saved
Shift + left click     delete the mark under the cursor (nearest within its radius)
Ctrl + left click      select / unselect the mark under the cursor
Alt + left, middle     centre the view on the cursor
right                  never marks (napari's right-drag zoom stays)
wheel                  zoom (napari's)
=====================  ============================================================

napari's own add and select callbacks of the marks layer are switched off (see
:func:`take_over_points_modes`): its add mode places points with ``feature_defaults``,
which napari resets to the last mark drawn, so a click after keys 3, 2, 9 added a group 9.
"""

from __future__ import annotations

import numpy as np
from napari.layers.base import no_op

__all__ = ["CLICK_DISTANCE", "MarkingMouse", "take_over_points_modes"]

#: A press and release closer than this (screen pixels) is a click, not a drag.
CLICK_DISTANCE = 5


def take_over_points_modes(layer) -> None:
    """Make napari's add and select modes of the Points ``layer`` do nothing on a press
    (:class:`MarkingMouse` does it all), and let a left drag pan in every mode."""
    modes = type(layer)._drag_modes
    drag = {mode: no_op if str(mode) in ("add", "select") else f for mode, f in modes.items()}
    current = modes.get(layer.mode)
    if current in layer.mouse_drag_callbacks and current is not drag[layer.mode]:
        layer.mouse_drag_callbacks.remove(current)
        layer.mouse_drag_callbacks.append(drag[layer.mode])
    layer._drag_modes = drag  # instance attribute: napari's mode setter reads it

    def pan_in_every_mode(event=None) -> None:
        if str(layer.mode) in ("add", "select") and not layer.mouse_pan:
            layer.mouse_pan = True

    layer.events.mode.connect(pan_in_every_mode)
    pan_in_every_mode()


def _is_zoom(callback) -> bool:
    return getattr(callback, "__name__", "") == "double_click_to_zoom"


class MarkingMouse:
    """Mouse-drag callback turning presses into marking actions of ``binding``.

    Parameters
    ----------
    binding : MarkingBinding
        Whose :meth:`add_mark_at`, :meth:`delete_mark_near`, :meth:`toggle_mark_near`,
        :meth:`center_on` and marks layer are used. Positions are napari data coordinates
        ``(row, col)`` of the image layer (DESIGN.md).
    """

    def __init__(self, binding) -> None:
        self.binding = binding

    def attach(self, layer) -> None:
        """Put the callback first on ``layer`` (once)."""
        if self not in layer.mouse_drag_callbacks:
            layer.mouse_drag_callbacks.insert(0, self)
        if self.double_click not in layer.mouse_double_click_callbacks:
            layer.mouse_double_click_callbacks.insert(0, self.double_click)

    def take_viewer(self, viewer) -> None:
        """While marking, a quick second click is a click: napari's double-click zoom of
        ``viewer`` is taken off (:meth:`release_viewer` puts it back)."""
        self._zoom = [f for f in viewer.mouse_double_click_callbacks if _is_zoom(f)]
        for f in self._zoom:
            viewer.mouse_double_click_callbacks.remove(f)

    def release_viewer(self, viewer) -> None:
        for f in getattr(self, "_zoom", []):
            if f not in viewer.mouse_double_click_callbacks:
                viewer.mouse_double_click_callbacks.append(f)
        self._zoom = []

    def double_click(self, layer, event) -> None:
        """Qt turns the second of two quick clicks into a double click (no press): it
        places a mark too, as in Image Marker."""
        binding = self.binding
        if binding.closed or binding.image_layer is None or event.button != 1:
            return
        if event.modifiers or str(getattr(layer, "mode", "pan_zoom")) == "transform":
            return
        ours = layer is binding.marks.layer or layer is binding.image_layer
        if ours or str(getattr(layer, "mode", "pan_zoom")) == "pan_zoom":
            binding.add_mark_at(*self._data(event))

    def _data(self, event) -> tuple[float, float]:
        layer = self.binding.image_layer
        row, col = layer.world_to_data(event.position)[-2:]
        return float(row), float(col)

    def __call__(self, layer, event):
        binding = self.binding
        if binding.closed or binding.image_layer is None or event.type != "mouse_press":
            return
        mode = str(getattr(layer, "mode", "pan_zoom"))
        if mode == "transform":
            return  # the person is moving the layer itself
        ours = layer is binding.marks.layer or layer is binding.image_layer
        if not ours and mode != "pan_zoom":
            return  # an overlay in one of its own editing modes
        modifiers = {str(getattr(m, "name", m)) for m in event.modifiers}
        button = event.button
        if button == 3 or (button == 1 and modifiers == {"Alt"}):
            event.handled = True
            binding.center_on(*self._data(event))
            return
        if button != 1:
            return  # right: nothing here (napari's right-drag zoom goes on)
        if modifiers == {"Shift"}:
            event.handled = True
            binding.delete_mark_near(*self._data(event))
            return
        if modifiers == {"Control"}:
            event.handled = True
            binding.toggle_mark_near(*self._data(event))
            return
        if modifiers:
            return
        yield from self._left(layer, event)

    def _left(self, layer, event):
        """A click adds a mark; a drag moves the marks under the press, or pans."""
        binding = self.binding
        marks = binding.marks
        start, (row, col) = np.asarray(event.pos, dtype=float), self._data(event)
        hit = None if binding.marks_hidden else marks.mark_near(row, col)  # a drag pans
        select_mode = layer is marks.layer and str(layer.mode) == "select"
        moving = None
        if hit is not None and (hit in marks.layer.selected_data or select_mode):
            selected = set(marks.layer.selected_data)
            moving = sorted(selected if hit in selected else {hit})
        dragged = False
        yield
        while event.type == "mouse_move":
            if not dragged and np.linalg.norm(np.asarray(event.pos) - start) >= CLICK_DISTANCE:
                dragged = True
            if moving is not None or not dragged:
                event.handled = True  # no pan while a mark moves, nor before it is a drag
            if moving is not None and dragged:
                now_row, now_col = self._data(event)
                marks.drag(moving, now_row - row, now_col - col)
            yield
        if not dragged and np.linalg.norm(np.asarray(event.pos) - start) < CLICK_DISTANCE:
            binding.add_mark_at(row, col)
        elif moving is not None:
            now_row, now_col = self._data(event)
            marks.drag(moving, now_row - row, now_col - col)
            marks.drop(moving)

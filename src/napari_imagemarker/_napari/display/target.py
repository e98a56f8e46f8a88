"""Which image layer the Display dock, the display keys and the Layers menu act on, and
setting its display: when the layer shows a marking session's images, the settings are
saved with the session (``MarkingSession.display``)."""

from __future__ import annotations

import weakref

from napari.layers import Image
from napari.utils.notifications import show_warning

from napari_imagemarker._napari.display.layer import (
    LayerDisplay,
    apply_display,
    default_settings,
    display_of,
)
from napari_imagemarker._napari.viewers import session_binding
from napari_imagemarker.display import DisplaySettings

__all__ = ["reset", "set_display", "target_layer", "watch"]


def target_layer(viewer) -> Image | None:
    """The active Image layer, else the marking session's image, else the top visible
    Image layer, else None."""
    active = viewer.layers.selection.active
    if isinstance(active, Image):
        return active
    binding = session_binding(viewer)
    if binding is not None and binding.image_layer in viewer.layers:
        return binding.image_layer
    images = [layer for layer in viewer.layers if isinstance(layer, Image)]
    visible = [layer for layer in images if layer.visible]
    return (visible or images or [None])[-1]


def set_display(viewer, layer: Image, settings: DisplaySettings) -> LayerDisplay:
    """Apply ``settings`` to ``layer`` of ``viewer``; if ``layer`` shows a marking session's
    images, the settings are saved with the session, and so are later changes made with
    napari's own controls."""
    state = apply_display(layer, settings)
    binding = session_binding(viewer)
    if binding is not None and binding.image_layer is layer:
        watch(binding, layer, state)
    return state


def reset(viewer, layer: Image) -> LayerDisplay:
    """Back to :func:`~.layer.default_settings` (keeping the colormap)."""
    state = display_of(layer)
    colormap = state.settings.colormap if state is not None else "gray"
    return set_display(viewer, layer, default_settings(layer).replace(colormap=colormap))


_SAVERS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # binding -> its saver


def watch(binding, layer: Image, state: LayerDisplay) -> None:
    """Save ``layer``'s settings with ``binding``'s session now and after each later change."""
    saver = _SAVERS.get(binding)
    if saver is None:

        def saver(changed: Image) -> None:
            if binding.image_layer is changed:
                _remember(binding, changed)

        _SAVERS[binding] = saver
    if saver not in state.changed:
        state.changed.append(saver)
    _remember(binding, layer)


def _remember(binding, layer: Image) -> None:
    state = display_of(layer)
    if state is None:
        return
    try:
        saved = state.settings.to_dict()
    except ValueError as err:
        show_warning(f"Display settings not saved with the session: {err}")
        return
    try:
        if binding.session.display != saved:
            binding.session.set_display(saved)
    except Exception as err:  # a closed or read-only session: showing still works
        show_warning(f"Display settings not saved with the session: {err}")

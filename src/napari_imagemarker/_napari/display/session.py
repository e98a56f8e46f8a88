"""A marking session's display settings, which carry over from image to image and are saved
with the session (``MarkingSession.display``); the display keys work in the session's
window. Which layer is acted on and how settings are set: :mod:`.target` (re-exported)."""

from __future__ import annotations

from napari_imagemarker._napari.display.keys import bind_display_keys
from napari_imagemarker._napari.display.layer import apply_display, default_settings, display_of
from napari_imagemarker._napari.display.target import reset, set_display, target_layer, watch
from napari_imagemarker.display import DisplaySettings

__all__ = ["follow_display", "reset", "set_display", "target_layer"]


def follow_display(binding) -> None:
    """Carry a marking session's display settings from image to image.

    Each image the session shows gets the settings saved with the session (if none were
    saved, the readers' defaults stay: ZScale, linear, as stored for RGB). Changes made to
    the session's image layer afterwards (the dock, napari's contrast slider, the Layers
    menu, a script through :func:`set_display`) are saved with the session. The display
    keys (:mod:`.keys`) are bound on the session's viewer.
    """
    bind_display_keys(binding.viewer)

    def on_image_shown(shown) -> None:
        layer = shown.layer
        saved = binding.session.display
        if saved:
            settings = DisplaySettings.from_dict(saved)
        elif display_of(layer) is not None:  # settings were shown, then forgotten
            settings = default_settings(layer)
        else:
            return
        watch(binding, layer, apply_display(layer, settings))

    binding.image_shown.append(on_image_shown)

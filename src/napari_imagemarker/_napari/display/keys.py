"""Display keys: cycle the stretch and the limits, blur up and down, reset, from the canvas.

They act on the layer the Display dock acts on (:func:`.target.target_layer`: the active
image, else a marking session's image, else the top visible image), through
:func:`.target.set_display`, so that a marking session saves what they set and the dock
follows. They are bound on the viewer instance (whichever layer is active), by the Display
dock and by a marking session, and clash with neither the marking keys (1-9, Ctrl/Alt+1-9,
F, N, Space, arrows, Tab, Alt+M, Alt+L, F1, Ctrl+Z/C/V) nor napari's keys on Image and
Points layers. A layer type's own keys come first: ``[`` and ``]`` resize napari's Labels
brush while a Labels layer is active.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from napari_imagemarker._napari.display.layer import settings_of
from napari_imagemarker._napari.display.target import reset, set_display, target_layer
from napari_imagemarker._napari.viewers import unwrap
from napari_imagemarker.display import (
    INTERVALS,
    STRETCHES,
    interval_name,
    make_interval,
    make_stretch,
    stretch_name,
)

__all__ = ["BLUR_STEP", "DISPLAY_KEYS", "DisplayKey", "bind_display_keys", "help_rows"]

#: Pixels of radius a blur key adds or takes away.
BLUR_STEP = 0.5
#: The largest radius the keys reach (the dock's slider's end).
BLUR_MAX = 10.0
_STRETCH_CYCLE = tuple(STRETCHES)  # linear, log, sqrt, asinh, power, sinh, histeq
_INTERVAL_CYCLE = tuple(name for name in INTERVALS if name != "manual")


@dataclass(frozen=True)
class DisplayKey:
    """One display key: napari key names, how people read them, what they do."""

    keys: tuple[str, ...]
    shown: str
    description: str
    action: Callable


def _cycled(names: tuple[str, ...], current: str | None, step: int) -> str:
    if current not in names:  # a stretch from a script, or manual limits: start the cycle
        return names[0] if step > 0 else names[-1]
    return names[(names.index(current) + step) % len(names)]


def cycle_stretch(viewer, step: int = 1):
    """The next (``step`` 1) or previous (-1) stretch of the dock's list, with its default
    parameter, on the target layer; its limits and blur are kept."""
    layer = target_layer(viewer)
    if layer is None:
        return None
    settings = settings_of(layer)
    name = _cycled(_STRETCH_CYCLE, stretch_name(settings.stretch), step)
    return _show(viewer, layer, settings.replace(stretch=make_stretch(name)))


def cycle_limits(viewer, step: int = 1):
    """The next or previous interval (min-max, ZScale, 99.5/99/95/90 %) on the target layer;
    manual limits go to the first (min-max) or the last."""
    layer = target_layer(viewer)
    if layer is None:
        return None
    settings = settings_of(layer)
    name = _cycled(_INTERVAL_CYCLE, interval_name(settings.interval), step)
    return _show(viewer, layer, settings.replace(interval=make_interval(name)))


def step_blur(viewer, step: int = 1):
    """Blur radius up (``step`` 1) or down (-1) to the next multiple of :data:`BLUR_STEP`
    pixels, between 0 (off) and :data:`BLUR_MAX`."""
    layer = target_layer(viewer)
    if layer is None:
        return None
    settings = settings_of(layer)
    grid = settings.blur / BLUR_STEP
    if step > 0:
        radius = (math.floor(grid + 1e-9) + 1) * BLUR_STEP
    else:
        radius = (math.ceil(grid - 1e-9) - 1) * BLUR_STEP
    radius = min(BLUR_MAX, max(0.0, radius))
    return _show(viewer, layer, settings.replace(blur=radius))


def reset_display(viewer):
    """Linear, default limits (ZScale; RGB as stored), no blur, on the target layer."""
    layer = target_layer(viewer)
    if layer is None:
        return None
    state = reset(viewer, layer)
    _status(viewer, layer)
    return state


def _show(viewer, layer, settings):
    try:
        state = set_display(viewer, layer, settings)
    except (ValueError, TypeError) as err:
        viewer.status = f"{layer.name}: {err}"
        return None
    _status(viewer, layer)
    return state


def _status(viewer, layer) -> None:
    viewer.status = f"{layer.name}: {settings_of(layer).describe()}"


DISPLAY_KEYS: tuple[DisplayKey, ...] = (
    DisplayKey(("G",), "G", "next stretch (linear, log, sqrt, asinh, power, sinh, HistEq)",
               lambda v: cycle_stretch(v, 1)),
    DisplayKey(("Shift-G",), "Shift+G", "previous stretch", lambda v: cycle_stretch(v, -1)),
    DisplayKey(("I",), "I", "next limits (min-max, ZScale, 99.5%, 99%, 95%, 90%)",
               lambda v: cycle_limits(v, 1)),
    DisplayKey(("Shift-I",), "Shift+I", "previous limits", lambda v: cycle_limits(v, -1)),
    DisplayKey(("]",), "]", f"more blur (+{BLUR_STEP:g} px)", lambda v: step_blur(v, 1)),
    DisplayKey(("[",), "[", f"less blur (-{BLUR_STEP:g} px; 0 = off)", lambda v: step_blur(v, -1)),
    DisplayKey(("Shift-R",), "Shift+R", "reset the display (linear, ZScale, no blur)",
               reset_display),
)  # fmt: skip


def help_rows() -> list[tuple[str, str]]:
    """``(keys, what they do)`` for every display key, in the order of :data:`DISPLAY_KEYS`."""
    return [(key.shown, key.description) for key in DISPLAY_KEYS]


def _caller(viewer, key: DisplayKey) -> Callable:
    def call(_viewer) -> None:
        key.action(viewer)

    call.__doc__ = key.description
    return call


def bind_display_keys(viewer) -> None:
    """Bind :data:`DISPLAY_KEYS` on ``viewer``'s instance keymap (again: a no-op change)."""
    viewer = unwrap(viewer)
    for key in DISPLAY_KEYS:
        for name in key.keys:
            viewer.bind_key(name, _caller(viewer, key), overwrite=True)

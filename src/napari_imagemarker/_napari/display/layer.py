"""Display settings on napari Image layers: the one place that turns the display model into
layer properties.

* Single-channel layers keep their raw data: the interval becomes ``contrast_limits``, the
  stretch is composed into the ``colormap`` (a 1024-entry table), and the blur is the GPU's
  ``custom`` interpolation with a Gaussian kernel (``custom_interpolation_kernel_2d``), so
  ``layer.data`` is never touched; that sampling is NaN-aware (:mod:`.nan_kernel`).
* RGB layers show a uint8 display copy built from the raw pixels (:class:`RGBDisplay`);
  :func:`raw_data` gives the raw array back, for the readout and anything that measures.
  Their blur is the same GPU kernel, unless the raw pixels hold NaN (float data): then the
  copy is blurred on the CPU, NaN-aware.

A change made with napari's own layer controls is taken in: new contrast limits become a
manual interval, a new colormap keeps the stretch.
"""

from __future__ import annotations

import contextlib
import hashlib
import weakref
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from astropy.visualization import LinearStretch, ManualInterval
from napari.layers import Image
from napari.utils.colormaps import Colormap, ensure_colormap

from napari_imagemarker._napari.viewers import unwrap
from napari_imagemarker.display import (
    DisplaySettings,
    GreyDisplay,
    RGBDisplay,
    gaussian_kernel,
    grey_display,
    stretch_name,
)
from napari_imagemarker.display.settings import default_settings_for, stretch_parameter

__all__ = [
    "LayerDisplay",
    "apply_display",
    "default_settings",
    "display_of",
    "raw_behind",
    "raw_data",
    "reset_display",
    "settings_of",
]

_STATES: weakref.WeakKeyDictionary[Image, LayerDisplay] = weakref.WeakKeyDictionary()
#: Names of the stretched colormaps made here (picking one in napari is not a new base).
_STRETCHED: set[str] = set()


@dataclass
class LayerDisplay:
    """What :func:`apply_display` did to one layer.

    Attributes
    ----------
    settings : DisplaySettings
        What is shown now (kept up to date with napari's own contrast and colormap
        controls).
    limits : list of (float, float)
        Raw values drawn black and white: one pair, or one per colour channel.
    rgb : RGBDisplay or None
        The raw array and the display copy's caches of an RGB layer.
    display : ndarray or None
        The display copy an RGB layer shows (``layer.data`` while it is shown).
    changed : list of callable
        Called with the layer after every change of ``settings`` (the dock listens).
    """

    settings: DisplaySettings
    limits: list[tuple[float, float]] = field(default_factory=list)
    rgb: RGBDisplay | None = None
    display: np.ndarray | None = None
    grey: GreyDisplay | None = None
    colormap_name: str | None = None
    changed: list[Callable[[Image], Any]] = field(default_factory=list)
    applying: bool = False


def display_of(layer: Image) -> LayerDisplay | None:
    """The display state of ``layer``, or None if no settings were applied to it."""
    layer = unwrap(layer)
    return _STATES.get(layer)


def raw_data(layer: Image):
    """The raw pixels of ``layer``: its data, or the raw array behind an RGB display copy."""
    layer = unwrap(layer)
    state = _STATES.get(layer)
    if state is not None and state.rgb is not None and layer.data is state.display:
        return state.rgb.raw
    return layer.data


def raw_behind(data):
    """The raw array behind ``data`` when ``data`` is the display copy an RGB layer shows
    (what napari hands a writer as the layer's data), else ``data`` itself."""
    for state in list(_STATES.values()):
        if state.rgb is not None and state.display is not None and state.display is data:
            return state.rgb.raw
    return data


def default_settings(layer: Image) -> DisplaySettings:
    """What *Reset* returns to (see :func:`~napari_imagemarker.display.default_settings_for`)."""
    return default_settings_for(raw_data(layer), layer.rgb)


def settings_of(layer: Image) -> DisplaySettings:
    """The settings ``layer`` is shown with: those applied, else what napari shows (linear
    between its contrast limits, in its colormap)."""
    layer = unwrap(layer)
    state = _STATES.get(layer)
    if state is not None:
        return state.settings
    if layer.rgb:
        return default_settings(layer)
    lo, hi = (float(v) for v in layer.contrast_limits)
    return DisplaySettings(LinearStretch(), ManualInterval(lo, hi), 0.0, layer.colormap.name)


def reset_display(layer: Image) -> LayerDisplay:
    """Apply :func:`default_settings` (keeping the colormap)."""
    colormap = settings_of(layer).colormap
    return apply_display(layer, default_settings(layer).replace(colormap=colormap))


def apply_display(layer: Image, settings: DisplaySettings) -> LayerDisplay:
    """Show ``layer`` with ``settings``; return its :class:`LayerDisplay`.

    Raises
    ------
    TypeError
        ``layer`` is not an Image layer.
    ValueError
        A colormap name napari does not know.
    """
    layer = unwrap(layer)  # napari's proxy of a layer is the same layer
    if not isinstance(layer, Image):
        raise TypeError(f"display settings apply to Image layers, not {type(layer).__name__}")
    state = _STATES.get(layer)
    if state is None:
        state = LayerDisplay(settings)
        _STATES[layer] = state
        layer.events.contrast_limits.connect(_on_contrast_limits)
        layer.events.colormap.connect(_on_colormap)
    state.applying = True
    try:
        if layer.rgb:
            _apply_rgb(layer, state, settings)
        else:
            _apply_grey(layer, state, settings)
        state.settings = settings
    finally:
        state.applying = False
    _announce(layer, state)
    return state


def _announce(layer: Image, state: LayerDisplay) -> None:
    for callback in list(state.changed):
        callback(layer)


def _grey_source(layer: Image):
    if layer.multiscale:
        return layer.data[-1]
    return layer.data


def _apply_grey(layer: Image, state: LayerDisplay, settings: DisplaySettings) -> None:
    grey = grey_display(_grey_source(layer), settings)
    colormap = stretched_colormap(settings, grey.lut)
    lo, hi = grey.limits
    range_lo, range_hi = layer.contrast_limits_range
    if lo < range_lo or hi > range_hi:
        layer.contrast_limits_range = (min(lo, range_lo), max(hi, range_hi))
    layer.contrast_limits = (lo, hi)
    layer.colormap = colormap
    state.colormap_name = layer.colormap.name
    _set_kernel(layer, grey.kernel)
    state.grey = grey
    state.limits = [grey.limits]


def _apply_rgb(layer: Image, state: LayerDisplay, settings: DisplaySettings) -> None:
    raw = raw_data(layer)
    if state.rgb is None or state.rgb.raw is not raw:
        state.rgb = RGBDisplay(raw)
    # the blur: on the GPU, like grey images, unless NaNs need the CPU's NaN-aware blur
    on_gpu = not state.rgb.has_nan
    copy_settings = settings.replace(blur=0.0) if on_gpu else settings
    if copy_settings.key() == default_settings_for(raw, True).key() and raw.dtype == np.uint8:
        # the picture as stored: napari shows the raw array itself
        state.display = None
        state.limits = [(0.0, 255.0)] * 3
        if layer.data is not raw:
            layer.data = raw
    else:
        display = state.rgb.render(copy_settings)
        state.display = display
        state.limits = list(state.rgb.limits)
        layer.data = display
    layer.contrast_limits = (0, 255)
    _set_kernel(layer, gaussian_kernel(settings.blur) if on_gpu and settings.blur > 0 else None)


def _set_kernel(layer: Image, kernel) -> None:
    """Sample the layer's texture with ``kernel`` on the GPU (None: napari's default)."""
    if kernel is None:
        if layer.interpolation2d == "custom":
            layer.interpolation2d = "nearest"
    else:
        layer.custom_interpolation_kernel_2d = kernel
        layer.interpolation2d = "custom"


def stretched_colormap(settings: DisplaySettings, lut: np.ndarray) -> Colormap:
    """``settings.colormap`` composed with the stretch table ``lut`` (values 0-1).

    Raises
    ------
    ValueError
        The colormap name is not one napari or matplotlib knows.
    """
    base = base_colormap(settings.colormap)
    name = stretch_name(settings.stretch)
    if name == "linear":
        return base
    a = stretch_parameter(settings.stretch)
    label = name or type(settings.stretch).__name__
    if a is not None:
        label += f" {a:g}"
    if name in (None, "histeq"):  # the table depends on more than a name says
        label += " " + hashlib.sha1(lut.tobytes()).hexdigest()[:6]
    controls = np.linspace(0.0, 1.0, len(lut))
    colors = base.map(lut)
    _STRETCHED.add(f"{base.name} {label}")
    return Colormap(colors, controls=controls, name=f"{base.name} {label}",
                    display_name=f"{base.name} ({label})")  # fmt: skip


def base_colormap(name: str) -> Colormap:
    """napari's colormap called ``name`` (napari, vispy or matplotlib name).

    Raises
    ------
    ValueError
        ``name`` is not a valid colormap name.
    """
    if not isinstance(name, str):
        raise ValueError(f"{name!r} is not a valid colormap name")
    from napari.utils.colormaps import AVAILABLE_COLORMAPS

    if name in AVAILABLE_COLORMAPS:
        return AVAILABLE_COLORMAPS[name]
    try:
        import matplotlib

        matplotlib.colormaps[name]
    except (KeyError, ImportError):
        raise ValueError(f"{name!r} is not a valid colormap name (napari or matplotlib)") from None
    with contextlib.suppress(Exception):
        return ensure_colormap(name)
    raise ValueError(f"{name!r} is not a valid colormap name")


# -- napari's own controls -------------------------------------------------------------------


def _on_contrast_limits(event) -> None:
    layer = event.source
    state = _STATES.get(layer)
    if state is None or state.applying or layer.rgb:
        return
    lo, hi = (float(v) for v in layer.contrast_limits)
    if state.limits and np.allclose(state.limits[0], (lo, hi), rtol=1e-9, atol=0):
        return
    state.settings = state.settings.replace(interval=ManualInterval(lo, hi))
    state.limits = [(lo, hi)]
    _announce(layer, state)


def _on_colormap(event) -> None:
    layer = event.source
    state = _STATES.get(layer)
    if state is None or state.applying or layer.rgb:
        return
    name = layer.colormap.name
    if name == state.colormap_name or name in _STRETCHED:
        return
    # a colormap picked in napari's layer controls: keep the stretch on it
    settings = state.settings.replace(colormap=name)
    try:
        apply_display(layer, settings)
    except ValueError:
        state.settings = settings

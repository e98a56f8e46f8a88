"""The display model: astropy stretches and intervals, blur, per image; no Qt, no napari.

:class:`DisplaySettings` says how an image is shown; :func:`grey_display` turns it into
contrast limits, a stretch table and a blur kernel for single-channel images (whose values
stay raw), :class:`RGBDisplay` into a display copy of an RGB image (whose raw array is kept).
"""

from napari_imagemarker.display.blur import gaussian_blur, gaussian_kernel
from napari_imagemarker.display.limits import (
    SAMPLE_PIXELS,
    interval_limits,
    sample_pixels,
    zscale_limits,
)
from napari_imagemarker.display.render import (
    LUT_SIZE,
    GreyDisplay,
    RGBDisplay,
    grey_display,
    stretch_lut,
)
from napari_imagemarker.display.settings import (
    INTERVALS,
    STRETCHES,
    DisplaySettings,
    ImageHistEqStretch,
    default_settings_for,
    interval_name,
    make_interval,
    make_stretch,
    stretch_name,
)

__all__ = [
    "INTERVALS",
    "LUT_SIZE",
    "SAMPLE_PIXELS",
    "STRETCHES",
    "DisplaySettings",
    "GreyDisplay",
    "ImageHistEqStretch",
    "RGBDisplay",
    "default_settings_for",
    "gaussian_blur",
    "gaussian_kernel",
    "grey_display",
    "interval_limits",
    "interval_name",
    "make_interval",
    "make_stretch",
    "sample_pixels",
    "stretch_lut",
    "stretch_name",
    "zscale_limits",
]

"""Turn display settings into what a viewer draws.

* Single-channel images keep their raw values: :func:`grey_display` gives the contrast
  limits (from the interval) and a look-up table (the stretch sampled on 0-1) that becomes
  the colormap, plus the blur kernel the GPU samples the image with.
* RGB images cannot be re-mapped on the GPU, so :class:`RGBDisplay` builds a display copy
  (uint8) from the raw pixels: each channel through the interval, the blur and the stretch.
  It caches the scaled and blurred channels, so a new stretch costs one table look-up per
  pixel and a new blur does not redo the limits.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from astropy.visualization import HistEqStretch

from napari_imagemarker.display.blur import gaussian_blur, gaussian_kernel
from napari_imagemarker.display.limits import interval_limits, sample_pixels, usable
from napari_imagemarker.display.settings import DisplaySettings, ImageHistEqStretch

__all__ = ["LUT_SIZE", "GreyDisplay", "RGBDisplay", "grey_display", "stretch_lut"]

#: Entries of the stretch look-up table (napari/vispy sample colormaps with 1024 entries).
LUT_SIZE = 1024
#: Levels of the scaled values that index the RGB stretch table (finer than 8-bit output).
RGB_LEVELS = 4096


def stretch_lut(stretch, n: int = LUT_SIZE, scaled_sample=None) -> np.ndarray:
    """The stretch sampled at ``n`` evenly spaced points of 0-1, clipped to 0-1.

    ``scaled_sample`` (values already scaled to 0-1 by the interval) is what a
    histogram-equalisation stretch is built from: :class:`ImageHistEqStretch` needs it.
    """
    if isinstance(stretch, ImageHistEqStretch):
        sample = np.asarray(scaled_sample if scaled_sample is not None else [], dtype=float)
        sample = np.clip(sample[np.isfinite(sample)], 0, 1)
        stretch = HistEqStretch(sample) if sample.size else None
    x = np.linspace(0.0, 1.0, n)
    if stretch is None:
        return x
    y = np.asarray(stretch(x.copy(), clip=True), dtype=np.float64)
    y = np.nan_to_num(y, nan=0.0, posinf=1.0, neginf=0.0)
    return np.clip(y, 0.0, 1.0)


def _scaled(values: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (np.asarray(values, dtype=np.float64) - lo) / (hi - lo)


@dataclass(frozen=True)
class GreyDisplay:
    """How a single-channel image is drawn without touching its values.

    Attributes
    ----------
    limits : (float, float)
        Raw values drawn black and white (napari's contrast limits).
    lut : ndarray
        Brightness (0-1) at ``LUT_SIZE`` evenly spaced points between the limits: the
        stretch, to be composed with the colormap.
    kernel : ndarray or None
        Normalised Gaussian kernel to sample the image with (None: no blur).
    """

    limits: tuple[float, float]
    lut: np.ndarray
    kernel: np.ndarray | None


def grey_display(data, settings: DisplaySettings) -> GreyDisplay:
    """The :class:`GreyDisplay` of ``data`` (2-D, or the plane shown) under ``settings``."""
    limits = usable(interval_limits(data, settings.interval))
    sample = None
    if isinstance(settings.stretch, ImageHistEqStretch):
        sample = _scaled(sample_pixels(data), *limits)
    lut = stretch_lut(settings.stretch, scaled_sample=sample)
    kernel = gaussian_kernel(settings.blur) if settings.blur > 0 else None
    return GreyDisplay(limits, lut, kernel)


class RGBDisplay:
    """The display copy of a raw RGB(A) image.

    Parameters
    ----------
    raw : array, (..., H, W, 3) or (..., H, W, 4)
        Kept as it is (the readout and marks use it); pages of a stack share the limits.

    Each colour channel gets the interval's limits from its own raw values, then the blur,
    then the stretch; :meth:`render` returns uint8 ``(..., H, W, 3)``. An alpha channel is
    dropped; NaN pixels are black.
    """

    def __init__(self, raw) -> None:
        if len(raw.shape) < 3 or raw.shape[-1] not in (3, 4):
            raise ValueError(
                f"RGBDisplay: expected (..., H, W, 3) or (..., H, W, 4), got {raw.shape}"
            )
        self.raw = raw
        self.limits: list[tuple[float, float]] = []
        self._interval_key = None
        self._blur_key = None
        self._scaled: np.ndarray | None = None  # float32 (H, W, 3) scaled to 0-1
        self._blurred: np.ndarray | None = None
        self._index: np.ndarray | None = None  # uint16 levels of the blurred channels
        self._has_nan: bool | None = None

    @property
    def has_nan(self) -> bool:
        """Whether the raw pixels hold NaN or infinity (never for integer images)."""
        if self._has_nan is None:
            raw = self.raw
            self._has_nan = raw.dtype.kind in "fc" and not bool(np.isfinite(np.asarray(raw)).all())
        return self._has_nan

    def _scale(self, interval) -> None:
        key = (type(interval).__qualname__, repr(sorted(vars(interval).items())))
        if key == self._interval_key:
            return
        limits = [usable(interval_limits(self.raw[..., c], interval)) for c in range(3)]
        scaled = np.empty((*self.raw.shape[:-1], 3), dtype=np.float32)
        for c, (lo, hi) in enumerate(limits):
            channel = self.raw[..., c].astype(np.float32)
            np.subtract(channel, np.float32(lo), out=channel)
            np.multiply(channel, np.float32(1.0 / (hi - lo)), out=channel)
            scaled[..., c] = channel
        self.limits = limits
        self._scaled = scaled
        self._interval_key = key
        self._blur_key = None

    def _blur(self, radius: float) -> None:
        if radius == self._blur_key:
            return
        blurred = gaussian_blur(self._scaled, radius, rgb=True) if radius > 0 else self._scaled
        # quantised once per limits and blur: a new stretch is then one look-up per pixel
        index = np.clip(blurred, 0, 1)
        np.nan_to_num(index, nan=0.0, copy=False)
        np.multiply(index, RGB_LEVELS - 1, out=index)
        np.add(index, 0.5, out=index)
        self._index = index.astype(np.uint16)
        self._blurred = blurred
        self._blur_key = radius

    def render(self, settings: DisplaySettings) -> np.ndarray:
        """The uint8 display copy ``(..., H, W, 3)`` under ``settings`` (its colormap is not
        used: an RGB image keeps its colours)."""
        self._scale(settings.interval)
        self._blur(settings.blur)
        out = np.empty(self._index.shape, dtype=np.uint8)
        for c in range(3):
            sample = None
            if isinstance(settings.stretch, ImageHistEqStretch):
                sample = sample_pixels(self._blurred[..., c])
            lut = stretch_lut(settings.stretch, RGB_LEVELS, scaled_sample=sample)
            lut8 = np.round(lut * 255).astype(np.uint8)
            out[..., c] = lut8[self._index[..., c]]
        return out

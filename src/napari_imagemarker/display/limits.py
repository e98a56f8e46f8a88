"""Limits of the display from astropy's intervals, computed on a sample of pixels.

Nothing here changes pixel values. Large arrays (memory-mapped FITS, dask) are sampled with a
stride, so that a limit never reads the whole file; min-max is exact on NumPy arrays.
"""

from __future__ import annotations

import numpy as np
from astropy.visualization import BaseInterval, ManualInterval, MinMaxInterval, ZScaleInterval

__all__ = ["SAMPLE_PIXELS", "interval_limits", "sample_pixels", "zscale_limits"]

#: Pixels looked at when estimating limits. ZScale itself uses ~1000 samples; a few hundred
#: thousand keep the estimate stable while touching only a thin slice of a large file.
SAMPLE_PIXELS = 250_000


def sample_pixels(data, max_pixels: int = SAMPLE_PIXELS) -> np.ndarray:
    """Return a strided sample of ``data`` as a flat float array of finite values.

    Works for NumPy, memory-mapped and dask arrays without reading the whole array: the
    stride is chosen per axis so that at most about ``max_pixels`` values are read.
    """
    shape = data.shape
    n = int(np.prod(shape)) if shape else 0
    if n == 0:
        return np.empty(0)
    step = max(1, int(np.ceil((n / max_pixels) ** (1 / len(shape)))))
    sample = data[tuple(slice(None, None, step) for _ in shape)]
    if hasattr(sample, "compute"):  # dask
        sample = sample.compute()
    sample = np.asarray(sample, dtype=np.float64).ravel()
    return sample[np.isfinite(sample)]


def interval_limits(data, interval: BaseInterval, max_pixels: int = SAMPLE_PIXELS):
    """``(low, high)`` of ``interval`` on ``data``, NaN-safe, as Python floats.

    A manual interval with both limits is returned as it is (even reversed or equal: it is
    what the user asked for; :func:`usable` makes it drawable). Min-max is exact on NumPy
    arrays; other intervals look at a sample of at most ``max_pixels`` finite values.
    Returns ``(0.0, 1.0)`` when there is no finite pixel.
    """
    if isinstance(interval, ManualInterval) and None not in (interval.vmin, interval.vmax):
        return float(interval.vmin), float(interval.vmax)
    if isinstance(interval, MinMaxInterval) and isinstance(data, np.ndarray):
        finite = data if data.dtype.kind in "iub" else data[np.isfinite(data)]
        if finite.size == 0:
            return (0.0, 1.0)
        return float(finite.min()), float(finite.max())
    values = sample_pixels(data, max_pixels)
    if values.size == 0:
        return (0.0, 1.0)
    lo, hi = interval.get_limits(values)
    return float(lo), float(hi)


def usable(limits: tuple[float, float], data=None) -> tuple[float, float]:
    """Limits napari can draw with: finite and ``high > low`` (widened by 1 otherwise)."""
    lo, hi = limits
    if not (np.isfinite(lo) and np.isfinite(hi)):
        return (0.0, 1.0)
    if not hi > lo:
        return (min(lo, hi), max(lo, hi) + (abs(hi - lo) or 1.0))
    return float(lo), float(hi)


def zscale_limits(data, max_pixels: int = SAMPLE_PIXELS) -> tuple[float, float]:
    """Contrast limits from :class:`astropy.visualization.ZScaleInterval`, NaN-safe.

    Returns ``(0.0, 1.0)`` when there is no finite pixel, and widens a zero-width interval
    (to the sample's min-max, else by 1) so that napari accepts it.
    """
    values = sample_pixels(data, max_pixels)
    if values.size == 0:
        return (0.0, 1.0)
    lo, hi = ZScaleInterval().get_limits(values)
    lo, hi = float(lo), float(hi)
    if not hi > lo:
        lo, hi = float(values.min()), float(values.max())
        if not hi > lo:
            hi = lo + 1.0
    return (lo, hi)

"""Display defaults: contrast limits from astropy's intervals, computed on a sample.

Nothing here changes pixel values; these are napari contrast settings only.
"""

from __future__ import annotations

import numpy as np
from astropy.visualization import ZScaleInterval

#: Pixels looked at when estimating contrast limits. ZScale itself uses ~1000 samples; a few
#: hundred thousand keep the estimate stable while touching only a thin slice of a large file.
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


def zscale_limits(data, max_pixels: int = SAMPLE_PIXELS) -> tuple[float, float]:
    """Contrast limits from :class:`astropy.visualization.ZScaleInterval`, NaN-safe.

    Returns ``(0.0, 1.0)`` when there is no finite pixel, and widens a zero-width interval
    so that napari accepts it.
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

"""Gaussian blur of the displayed image, NaN-aware, never of the stored data.

The radius is the Gaussian's standard deviation in image pixels (as in PIL's
``GaussianBlur``, which Image Marker uses); 0 is off. Pixels that are NaN (no data) neither
darken nor spread into their neighbours: the blur is a normalised convolution, and they stay
NaN.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

__all__ = ["KERNEL_TRUNCATE", "gaussian_blur", "gaussian_kernel"]

#: The kernel reaches this many standard deviations (99.7% of the weight).
KERNEL_TRUNCATE = 3.0


def gaussian_kernel(radius: float) -> np.ndarray:
    """The normalised 2-D Gaussian kernel of standard deviation ``radius`` pixels.

    Shape ``(2h + 1, 2h + 1)`` with ``h = ceil(3 * radius)``, float32, sums to 1; a 1x1
    kernel of 1 for ``radius`` 0 (no blur).
    """
    radius = float(radius)
    if not radius > 0:
        return np.ones((1, 1), dtype=np.float32)
    half = max(1, math.ceil(KERNEL_TRUNCATE * radius))
    x = np.arange(-half, half + 1, dtype=np.float64)
    g = np.exp(-0.5 * (x / radius) ** 2)
    kernel = np.outer(g, g)
    return (kernel / kernel.sum()).astype(np.float32)


def gaussian_blur(image, radius: float, rgb: bool = False) -> np.ndarray:
    """Blur an image plane by plane with a Gaussian, NaN-aware.

    Parameters
    ----------
    image : array-like, (..., H, W), or (..., H, W, C) with ``rgb``
    radius : float
        Standard deviation in pixels; 0 returns a float32 copy.
    rgb : bool
        The last axis holds colour channels (each is blurred on its own).

    Returns
    -------
    ndarray of float32, same shape
        Each pixel is the Gaussian-weighted mean of its *finite* neighbours in its plane;
        pixels that were NaN or infinite stay NaN. Edges repeat the border pixels.
    """
    data = np.asarray(image, dtype=np.float32)
    spatial = (-3, -2) if rgb else (-2, -1)
    if data.ndim < (3 if rgb else 2):
        raise ValueError(f"gaussian_blur: expected an image, got an array of shape {data.shape}")
    radius = float(radius)
    if not radius > 0:
        return data.copy()
    sigma = [0.0] * data.ndim
    for axis in spatial:
        sigma[axis] = radius
    bad = ~np.isfinite(data)
    kwargs = {"sigma": sigma, "truncate": KERNEL_TRUNCATE, "mode": "nearest"}
    if not bad.any():
        return ndimage.gaussian_filter(data, **kwargs)
    weight = ndimage.gaussian_filter((~bad).astype(np.float32), **kwargs)
    total = ndimage.gaussian_filter(np.where(bad, np.float32(0), data), **kwargs)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = total / weight
    out[bad] = np.nan
    return out

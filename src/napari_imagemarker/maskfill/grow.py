"""Growing a mask by N pixels before filling: the usual margin around cosmic rays and stars.

A grown mask holds every pixel within a Euclidean distance of ``pixels`` of a masked pixel
(a dilation by a disk of that radius, as ``skimage.morphology.disk`` draws it), in each
2-D plane separately.  Masks from detection algorithms usually stop where the signal drops
below a threshold, leaving the faint wings of a cosmic ray or a star outside; growing by a
pixel or two fills those too.  Pixel positions are 0-based ``(row, col)`` of the mask.
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["GrownMask", "check_grow", "grow_mask"]


def check_grow(pixels: object) -> int:
    """``pixels`` as an int after checking it is a whole number >= 0 (ValueError otherwise)."""
    if isinstance(pixels, (bool, np.bool_)) or not isinstance(pixels, (int, np.integer)):
        raise ValueError(f"grow must be a whole number of pixels >= 0, not {pixels!r}")
    if pixels < 0:
        raise ValueError(f"grow must be a whole number of pixels >= 0, not {pixels}")
    return int(pixels)


def grow_mask(mask: np.ndarray, pixels: int) -> np.ndarray:
    """The mask grown by ``pixels`` pixels in every direction.

    Parameters
    ----------
    mask : ndarray, shape (ny, nx) or (nz, ny, nx)
        Non-zero (or True) where pixels are masked; a cube is grown plane by plane.
    pixels : int
        Radius of the growth, >= 0: a pixel is added when it lies within this distance
        (Euclidean, in pixels) of a masked pixel.  0 returns the mask as booleans.

    Returns
    -------
    ndarray of bool
        Same shape as ``mask``; always a new array.
    """
    pixels = check_grow(pixels)
    masked = np.array(mask, dtype=bool)  # NaN counts as masked, as in maskfill
    if pixels == 0:
        return masked
    # Lazily: scikit-image takes a while to import, and only this needs it.
    from skimage.morphology import isotropic_dilation

    for plane in masked.reshape(-1, *masked.shape[-2:]):
        # (an empty plane stays empty: isotropic_dilation marks pixels of an empty one)
        if plane.any():
            plane[...] = isotropic_dilation(plane, pixels)
    return masked


class GrownMask:
    """A 2-D mask grown by ``pixels``, read window by window (for tiles of huge images).

    ``GrownMask(mask, 3)[r0:r1, c0:c1]`` equals ``grow_mask(mask, 3)[r0:r1, c0:c1]`` but
    reads only the window and ``pixels`` rows and columns around it from ``mask`` (a memory
    map, or an astropy ``hdu.section``).
    """

    def __init__(self, mask: Any, pixels: int) -> None:
        self.mask = mask
        self.pixels = check_grow(pixels)
        self.shape = tuple(mask.shape)

    def __getitem__(self, key: tuple[slice, slice]) -> np.ndarray:
        rows, cols = key
        ny, nx = self.shape
        r0, r1, _ = rows.indices(ny)
        c0, c1, _ = cols.indices(nx)
        g = self.pixels
        y0, y1, x0, x1 = max(0, r0 - g), min(ny, r1 + g), max(0, c0 - g), min(nx, c1 + g)
        window = grow_mask(np.asarray(self.mask[y0:y1, x0:x1]), g)
        return window[r0 - y0 : r1 - y0, c0 - x0 : c1 - x0]

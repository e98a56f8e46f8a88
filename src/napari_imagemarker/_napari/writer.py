"""npe2 writer: an Image layer as a FITS file with its header and WCS.

A layer made by the maskfill widget is written in the command line's layout: HDU 0 the
filled image, HDU 1 (``UNSMOOTHED``) the unsmoothed image when it was kept, then the mask
(``MASK``, 1 = filled), HDU 2 when the unsmoothed image is there.  The primary header's
``EXT0``, ``EXT1`` (and ``EXT2``) cards say which is which.

An RGB layer shown through a display copy (a stretch, limits or blur set in the Display
dock) is written with its raw pixels, never with the copy.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from astropy.io import fits
from napari.utils.notifications import show_warning

from napari_imagemarker._napari.display.layer import raw_behind
from napari_imagemarker.files import atomic_output
from napari_imagemarker.maskfill.files import output_header

_DESCRIPTIONS = {
    "filled": "Filled Image (no smoothing)",
    "smoothed": "Filled Smoothed Image",
    "unsmoothed": "Filled Image (no smoothing)",
    "mask": "Mask of the filled pixels (1 = filled)",
}


def write_fits(path: str, data: Any, attributes: dict[str, Any]) -> list[str]:
    """Write one Image layer to ``path`` (npe2 single-layer writer).

    Parameters
    ----------
    path : str
        The file to write (``.fits``, ``.fit`` or ``.fts``); replaced atomically (see
        :func:`napari_imagemarker.files.atomic_output`).
    data : array-like
        The layer's data: 2-D, a cube, or RGB(A) (written as a cube of channels). The
        display copy an RGB layer may show is replaced by the raw array behind it.
    attributes : dict
        The layer's attributes; ``metadata["header"]`` (astropy Header) is kept without its
        structural cards, else ``metadata["wcs"]`` is written as WCS keywords.

    Returns
    -------
    list of str
        ``[path]``.
    """
    metadata = attributes.get("metadata") or {}
    rgb = bool(attributes.get("rgb"))
    header = _header(metadata, path)
    image = _fits_array(raw_behind(data), rgb)
    info = metadata.get("maskfill")
    if not isinstance(info, dict):
        primary = fits.PrimaryHDU(image, header=header)
        _write(fits.HDUList([primary]), path)
        return [path]
    hdus = [fits.PrimaryHDU(image, header=header)]
    smoothed = bool(info.get("smooth"))
    names = ["smoothed" if smoothed else "filled"]
    unsmoothed = metadata.get("unsmoothed")
    if unsmoothed is not None:
        unsmoothed = _fits_array(unsmoothed, rgb)
        hdus.append(fits.ImageHDU(unsmoothed, header=_copy(header), name="UNSMOOTHED"))
        names.append("unsmoothed")
    mask = metadata.get("mask")
    if mask is not None:
        mask = np.asarray(mask, dtype=np.uint8)
        if image.ndim == 3 and mask.ndim == 2 and image.shape[0] == 1:
            mask = mask[None]
        hdus.append(fits.ImageHDU(_squeeze(mask), header=_copy(header), name="MASK"))
        names.append("mask")
    if len(names) > 1 or smoothed:
        for i, name in enumerate(names):
            hdus[0].header[f"EXT{i}"] = _DESCRIPTIONS[name]
    _write(fits.HDUList(hdus), path)
    return [path]


def _header(metadata: dict[str, Any], path: str) -> fits.Header:
    header = metadata.get("header")
    if isinstance(header, fits.Header):
        return output_header(header)
    wcs = metadata.get("wcs")
    if wcs is not None:
        try:
            return wcs.to_header(relax=True)
        except (ValueError, AttributeError, TypeError) as err:  # not an astropy WCS it can write
            # the pixels are still worth saving; the user is told the WCS was not
            show_warning(
                f"{path}: the layer's WCS cannot be written as FITS keywords ({err}); "
                "the file was saved without it"
            )
    return fits.Header()


def _copy(header: fits.Header) -> fits.Header:
    return header.copy()


def _squeeze(array: np.ndarray) -> np.ndarray:
    """One plane of a cube (shape (1, ny, nx)) is written as a 2-D image."""
    return array[0] if array.ndim == 3 and array.shape[0] == 1 else array


def _fits_array(data: Any, rgb: bool) -> np.ndarray:
    array = np.asarray(data)
    if rgb:
        array = np.moveaxis(array, -1, 0)  # channels become NAXIS3
    return np.ascontiguousarray(_squeeze(array))


def _write(hdul: fits.HDUList, path: str) -> None:
    """Write through a temporary file that is fsynced and renamed: a reader, or the disk
    after a power cut, holds the old file or the new one, never half of one."""
    with atomic_output(path) as tmp:
        hdul.writeto(tmp, overwrite=True)

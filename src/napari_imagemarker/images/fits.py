"""FITS images: every 2-D or 3-D image HDU, compressed or not, with header and WCS.

Pixel convention: the array is returned as astropy reads it (row 0 = FITS row 1), so
``wcs.pixel_to_world(x=col, y=row)`` with 0-based indices is the sky position of a pixel.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.io.fits.verify import VerifyError
from astropy.utils.exceptions import AstropyWarning
from astropy.wcs import WCS

from napari_imagemarker.files import error_reason
from napari_imagemarker.images.frames import FrameInfo

#: Scaled integer images larger than this are converted to float lazily, block by block,
#: so that opening a large file does not copy it before it is shown.
LAZY_SCALING_BYTES = 64 * 2**20

_IMAGE_HDUS = (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)


def _open(path: str) -> fits.HDUList:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyWarning)
            hdul = fits.open(path, memmap=True, lazy_load_hdus=False)
    except Exception as err:  # astropy raises OSError, ValueError, TypeError, ... on bad files
        raise OSError(f"{path}: not a readable FITS file ({error_reason(err)})") from err
    return hdul


def _image_shape(hdu) -> tuple[int, ...] | None:
    """Shape of an image HDU's data with leading length-1 axes dropped, or None."""
    if not isinstance(hdu, _IMAGE_HDUS):
        return None
    shape = tuple(int(n) for n in (hdu.shape or ()))
    while len(shape) > 2 and shape[0] == 1:
        shape = shape[1:]
    if len(shape) not in (2, 3) or 0 in shape:
        return None
    return shape


def celestial_wcs(
    header: fits.Header, hdul: fits.HDUList | None = None, source: str | None = None
) -> WCS | None:
    """The 2-D celestial WCS described by ``header``, or None if it has none.

    The WCS must map the two fastest pixel axes (x = column, y = row) to the sky, which is
    what an image plane needs. A header that has WCS keywords astropy cannot use, or whose
    sky axes are not the image's x and y, gives None with a :class:`WCSUnusableWarning`
    naming ``source`` (the file, and its HDU), so the image is shown without sky
    coordinates and the user is told why; never an exception.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wcs = WCS(header, fobj=hdul, relax=True)
    except (ValueError, KeyError, TypeError, MemoryError, AttributeError, VerifyError) as err:
        # astropy's WCS errors (InvalidTransformError, SingularMatrixError, ...) are
        # ValueErrors; malformed cards raise the others when the header is read
        _unusable(source, f"astropy cannot use its WCS keywords ({error_reason(err)})")
        return None
    if not wcs.has_celestial:
        return None
    cel = wcs.celestial if wcs.naxis > 2 else wcs
    if cel.naxis != 2 or {wcs.wcs.lng, wcs.wcs.lat} != {0, 1}:
        _unusable(source, "its sky axes are not the image's x and y axes")
        return None
    return cel


class WCSUnusableWarning(UserWarning):
    """A file's WCS keywords could not be used; its image is shown without sky coordinates."""


def _unusable(source: str | None, why: str) -> None:
    where = source or "a header"
    warnings.warn(
        f"{where}: {why}; shown without sky coordinates (RA/Dec)",
        WCSUnusableWarning,
        stacklevel=3,
    )


def fits_frames(path: str | Path) -> list[FrameInfo]:
    """Describe every 2-D or 3-D image HDU of a FITS file without reading pixels.

    Raises
    ------
    OSError
        The file cannot be opened as FITS.
    ValueError
        The file has no 2-D or 3-D image HDU (the message lists what it has).
    """
    path = str(path)
    hdul = _open(path)
    try:
        frames: list[FrameInfo] = []
        found: list[str] = []
        for i, hdu in enumerate(hdul):
            shape = _image_shape(hdu)
            if shape is None:
                found.append(_describe_hdu(i, hdu))
                continue
            extname = hdu.header.get("EXTNAME") if i > 0 else None
            extver = hdu.header.get("EXTVER")
            name = str(extname) if extname else str(i)
            if extname and extver not in (None, 1):
                name = f"{extname},{extver}"
            header = hdu.header.copy()
            frames.append(
                FrameInfo(
                    path=path,
                    index=len(frames),
                    name=name,
                    shape=shape,
                    y_up=True,
                    hdu=i,
                    wcs=celestial_wcs(header, hdul, f"{path} [{name}]"),
                    header=header,
                )
            )
    finally:
        hdul.close()
    if not frames:
        what = "; ".join(found) or "no HDUs"
        raise ValueError(f"{path}: no 2-D or 3-D image in this FITS file ({what})")
    return frames


def _describe_hdu(i: int, hdu) -> str:
    kind = type(hdu).__name__.replace("HDU", " HDU")
    shape = tuple(hdu.shape) if getattr(hdu, "shape", None) else ()
    if isinstance(hdu, _IMAGE_HDUS):
        return f"HDU {i} is a {len(shape)}-D image {shape}" if shape else f"HDU {i} is empty"
    return f"HDU {i} is a {kind.strip()}"


def read_fits_frame(frame: FrameInfo):
    """Read the pixels of one frame described by :func:`fits_frames`.

    Float data stay float (never rescaled); BSCALE/BZERO are applied and integer BLANK
    pixels become NaN. Uncompressed data are memory-mapped; large scaled-integer data are
    returned as a lazy dask array converted block by block.
    """
    hdul = _open(frame.path)
    try:
        hdu = hdul[frame.hdu]
        header = hdu.header
        bitpix = int(header.get("BITPIX", -32))
        bscale = float(header.get("BSCALE", 1.0))
        bzero = float(header.get("BZERO", 0.0))
        blank = header.get("BLANK") if bitpix > 0 else None
        compressed = isinstance(hdu, fits.CompImageHDU)
        scaled = bitpix > 0 and (bscale != 1.0 or bzero != 0.0 or blank is not None)
        try:
            if scaled and not compressed:
                raw = _raw_data(frame)
                if raw.nbytes > LAZY_SCALING_BYTES:
                    data = _lazy_scale(raw, bscale, bzero, blank)
                else:
                    data = _scale(np.asarray(raw), bscale, bzero, blank)
            else:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", AstropyWarning)
                    data = hdu.data
                if compressed and blank is not None and data.dtype.kind in "iu":
                    data = _scale(data, 1.0, 0.0, blank)
                elif compressed and "ZBLANK" in header and data.dtype.kind in "iu":
                    data = _scale(data, 1.0, 0.0, header["ZBLANK"])
        except Exception as err:
            raise OSError(
                f"{frame.path}: HDU {frame.hdu} data cannot be read ({error_reason(err)})"
            ) from err
        if data is None:
            raise OSError(f"{frame.path}: HDU {frame.hdu} has no data")
        return data.reshape(frame.shape)
    finally:
        hdul.close()


def _raw_data(frame: FrameInfo) -> np.ndarray:
    with fits.open(frame.path, memmap=True, do_not_scale_image_data=True) as raw_hdul:
        return raw_hdul[frame.hdu].data


def _float_type(raw_dtype: np.dtype) -> type:
    # float32 holds 8- and 16-bit integers exactly; wider integers need float64.
    return np.float32 if raw_dtype.itemsize <= 2 else np.float64


def _scale(raw: np.ndarray, bscale: float, bzero: float, blank) -> np.ndarray:
    ftype = _float_type(raw.dtype)
    out = raw.astype(ftype)
    if bscale != 1.0:
        out *= ftype(bscale)
    if bzero != 0.0:
        out += ftype(bzero)
    if blank is not None:
        out[raw == blank] = np.nan
    return out


def _lazy_scale(raw: np.ndarray, bscale: float, bzero: float, blank):
    import dask.array as da

    lazy = da.from_array(raw, chunks=(*("auto",) * (raw.ndim - 2), 1024, -1), asarray=True)
    return lazy.map_blocks(
        _scale, bscale, bzero, blank, dtype=_float_type(raw.dtype), meta=np.empty((0,) * raw.ndim)
    )

"""FITS images: every 2-D or 3-D image HDU, compressed or not, with header and WCS.

Pixel convention: the array is returned as astropy reads it (row 0 = FITS row 1), so
``wcs.pixel_to_world(x=col, y=row)`` with 0-based indices is the sky position of a pixel.
"""

from __future__ import annotations

import gzip
import io
import math
import os
import warnings
import zlib
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

#: The most bytes compressed data may expand to: a gzipped file as a whole, or the image
#: of one tile-compressed HDU. A few megabytes of compressed zeros can claim gigabytes
#: (a "decompression bomb"); beyond this the reader stops with
#: :class:`DecompressionLimitError` instead of filling the memory. Set the environment
#: variable ``IMAGEMARKER_MAX_DECOMPRESSED_MB`` before starting, or assign this attribute.
MAX_DECOMPRESSED_BYTES = int(os.environ.get("IMAGEMARKER_MAX_DECOMPRESSED_MB", "2048")) * 2**20

_IMAGE_HDUS = (fits.PrimaryHDU, fits.ImageHDU, fits.CompImageHDU)
_GZIP_MAGIC = b"\x1f\x8b"


class DecompressionLimitError(ValueError):
    """Compressed data would expand beyond :data:`MAX_DECOMPRESSED_BYTES`."""


def limit_error(path, what: str, size: float | None = None) -> DecompressionLimitError:
    """The error for ``what`` in ``path`` expanding to ``size`` bytes, over the limit."""
    cap = MAX_DECOMPRESSED_BYTES / 2**20
    grows = f"to {size / 2**20:,.0f} MB" if size is not None else f"beyond {cap:,.0f} MB"
    return DecompressionLimitError(
        f"{path}: {what} would decompress {grows}, more than the limit of {cap:,.0f} MB "
        "(set IMAGEMARKER_MAX_DECOMPRESSED_MB, or "
        "napari_imagemarker.images.fits.MAX_DECOMPRESSED_BYTES, to allow more)"
    )


def _gunzip(path: str) -> io.BytesIO:
    """The whole decompressed content of a gzipped file, checked against its CRC and
    length, and never more than :data:`MAX_DECOMPRESSED_BYTES`."""
    out = io.BytesIO()
    try:
        with gzip.open(path, "rb") as f:
            while chunk := f.read(1 << 22):
                out.write(chunk)
                if out.tell() > MAX_DECOMPRESSED_BYTES:
                    raise limit_error(path, "the gzipped file")
    except (OSError, EOFError, zlib.error) as err:
        raise OSError(
            f"{path}: the gzip data are damaged ({error_reason(err)}); the image is not shown"
        ) from err
    out.seek(0)
    return out


def _open(path: str, lazy: bool = False) -> fits.HDUList:
    """Open a FITS file, raw: BZERO/BSCALE/BLANK are left to :func:`_scale`, so that every
    uncompressed image can be memory-mapped (astropy refuses to map scaled data).
    A gzipped file is decompressed whole first (:func:`_gunzip`). ``lazy``: parse headers
    only as far as the HDUs used."""
    with open(path, "rb") as f:
        gzipped = f.read(2) == _GZIP_MAGIC
    source = _gunzip(path) if gzipped else path
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyWarning)
            hdul = fits.open(
                source,
                memmap=not gzipped,
                lazy_load_hdus=lazy,
                do_not_scale_image_data=True,
            )
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
        frames, found = _frames(path, hdul)
    except (OSError, ValueError) as err:
        if path in str(err):
            raise
        raise OSError(f"{path}: not a readable FITS file ({error_reason(err)})") from err
    except Exception as err:  # e.g. astropy's VerifyError on a damaged card
        raise OSError(f"{path}: not a readable FITS file ({error_reason(err)})") from err
    finally:
        hdul.close()
    if not frames:
        what = "; ".join(found) or "no HDUs"
        raise ValueError(f"{path}: no 2-D or 3-D image in this FITS file ({what})")
    return frames


def _frames(path: str, hdul: fits.HDUList) -> tuple[list[FrameInfo], list[str]]:
    """Frames of the image HDUs, and a description of the other HDUs."""
    frames: list[FrameInfo] = []
    found: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AstropyWarning)
        for i, hdu in enumerate(hdul):
            shape = _image_shape(hdu)
            if shape is None:
                found.append(_describe_hdu(i, hdu))
                continue
            name = hdu_name(i, hdu.header)
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
    return frames, found


def _describe_hdu(i: int, hdu) -> str:
    kind = type(hdu).__name__.replace("HDU", " HDU")
    shape = tuple(hdu.shape) if getattr(hdu, "shape", None) else ()
    if isinstance(hdu, _IMAGE_HDUS):
        return f"HDU {i} is a {len(shape)}-D image {shape}" if shape else f"HDU {i} is empty"
    return f"HDU {i} is a {kind.strip()}"


def read_fits_frame(frame: FrameInfo):
    """Read the pixels of one frame described by :func:`fits_frames`.

    Values are those astropy gives without memory mapping: BSCALE/BZERO are applied (to
    float data too) and integer BLANK pixels become NaN; unsigned integers stored with the
    usual BZERO stay unsigned. Uncompressed data are memory-mapped; large scaled data are
    returned as a lazy dask array converted block by block.
    """
    return read_fits_frames([frame])[0]


def read_fits_frames(frames: list[FrameInfo]) -> list:
    """Read several frames of one file, opening and parsing it once (a file with many
    extensions takes time in proportion to its size, not its square)."""
    if not frames:
        return []
    path = frames[0].path
    hdul = _open(path, lazy=len(frames) == 1)
    try:
        return [_frame_data(hdul, frame) for frame in frames]
    finally:
        hdul.close()


def _frame_data(hdul: fits.HDUList, frame: FrameInfo):
    try:
        hdu = hdul[frame.hdu]
        header = hdu.header
        bitpix = int(header.get("BITPIX", -32))
        bscale = float(header.get("BSCALE", 1.0))
        bzero = float(header.get("BZERO", 0.0))
        blank = header.get("BLANK", header.get("ZBLANK")) if bitpix > 0 else None
        compressed = isinstance(hdu, fits.CompImageHDU)
        if compressed:
            size = math.prod(frame.shape) * abs(bitpix) // 8
            if size > MAX_DECOMPRESSED_BYTES:
                raise limit_error(frame.path, f"HDU {frame.hdu}", size)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", AstropyWarning)
            raw = hdu.data
        if raw is None:
            raise OSError(f"{frame.path}: HDU {frame.hdu} has no data")
        if bscale != 1.0 or bzero != 0.0 or blank is not None:
            if not compressed and raw.nbytes > LAZY_SCALING_BYTES:
                data = _lazy_scale(raw, bscale, bzero, blank)
            else:
                data = _scale(np.asarray(raw), bscale, bzero, blank)
        else:
            data = raw
        return data.reshape(frame.shape)
    except (DecompressionLimitError, MemoryError):
        raise
    except Exception as err:
        if str(frame.path) in str(err):
            raise
        reason = error_reason(err)
        if "buffer is too small" in reason:  # astropy's words for a short file
            reason = f"the file ends before the data its header describes: truncated? ({reason})"
        raise OSError(f"{frame.path}: HDU {frame.hdu} data cannot be read ({reason})") from err


def _float_type(raw_dtype: np.dtype) -> type:
    # as astropy: float32 holds 8- and 16-bit integers exactly; wider integers need float64;
    # float data keep their precision
    if raw_dtype.kind == "f":
        return raw_dtype.type
    return np.float32 if raw_dtype.itemsize <= 2 else np.float64


def _unsigned(raw_dtype: np.dtype, bscale: float, bzero: float, blank) -> np.dtype | None:
    """The unsigned type that signed integers with BZERO = 2**(bits-1) (and no other
    scaling) stand for, as FITS stores uint16/32/64; else None."""
    usual = raw_dtype.kind == "i" and raw_dtype.itemsize > 1 and bscale == 1.0
    if usual and blank is None and bzero == 2.0 ** (8 * raw_dtype.itemsize - 1):
        return np.dtype(f"u{raw_dtype.itemsize}")
    return None


def _scaled_dtype(raw_dtype: np.dtype, bscale: float, bzero: float, blank) -> np.dtype:
    unsigned = _unsigned(raw_dtype, bscale, bzero, blank)
    return unsigned if unsigned is not None else np.dtype(_float_type(raw_dtype))


def _scale(raw: np.ndarray, bscale: float, bzero: float, blank) -> np.ndarray:
    unsigned = _unsigned(raw.dtype, bscale, bzero, blank)
    if unsigned is not None:  # flip the sign bit: exact, and half the memory of floats
        sign = np.array(1 << (8 * raw.dtype.itemsize - 1), dtype=unsigned)
        return raw.astype(raw.dtype.newbyteorder("=")).view(unsigned) ^ sign
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
        _scale,
        bscale,
        bzero,
        blank,
        dtype=_scaled_dtype(raw.dtype, bscale, bzero, blank),
        meta=np.empty((0,) * raw.ndim),
    )


def hdu_name(index: int, header) -> str:
    """How a frame (and its napari layer, ``"file.fits [name]"``) names HDU ``index``: its
    EXTNAME (``"SCI"``; ``"SCI,2"`` for EXTVER 2 and up), else its index (``"0"``, ``"4"``).
    The primary HDU's EXTNAME is not used."""
    extname = header.get("EXTNAME") if index > 0 else None
    if not extname:
        return str(index)
    extver = header.get("EXTVER")
    return str(extname) if extver in (None, 1) else f"{extname},{extver}"

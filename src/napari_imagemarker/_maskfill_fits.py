"""FITS input and output for maskfill: read a plane or cube, write the two results."""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import numpy as np
from astropy.io import fits

# Cards that describe the data layout of the input HDU, not the image: astropy writes its
# own for the output arrays.
_STRUCTURAL = (
    "SIMPLE", "XTENSION", "BITPIX", "NAXIS", "EXTEND", "PCOUNT", "GCOUNT", "BZERO",
    "BSCALE", "BLANK", "CHECKSUM", "DATASUM", "EXTNAME", "EXTVER", "ZIMAGE",
)  # fmt: skip


def resolve_path(path: str | os.PathLike) -> Path:
    """The file to read: ``path`` itself, else ``path + '.fits'`` as the reference allows."""
    path = Path(path)
    if not path.exists() and path.suffix != ".fits":
        with_suffix = path.with_name(path.name + ".fits")
        if with_suffix.exists():
            return with_suffix
    return path


def read_fits(path: str | os.PathLike, ext: int | str = 0) -> tuple[np.ndarray, fits.Header]:
    """Data and header of one HDU of a FITS file.

    Raises
    ------
    ValueError
        With the file name and the problem, for a missing, unreadable or empty HDU.
    """
    path = resolve_path(path)
    try:
        with fits.open(path, memmap=False) as hdul:
            hdu = hdul[ext]
            data = hdu.data
            header = hdu.header.copy()
    except FileNotFoundError:
        raise ValueError(f"{path}: no such file") from None
    except (KeyError, IndexError):
        raise ValueError(f"{path}: has no extension {ext!r}") from None
    except OSError as exc:  # astropy's "Empty or corrupt FITS file", permissions, ...
        raise ValueError(f"{path}: cannot read as FITS ({exc})") from None
    if data is None or not isinstance(data, np.ndarray) or data.dtype.names is not None:
        raise ValueError(f"{path}: extension {ext!r} holds no image data")
    return data, header


def output_header(header: fits.Header | None) -> fits.Header:
    """The input header without its structural cards, to carry the WCS and metadata over."""
    out = fits.Header() if header is None else header.copy(strip=True)
    for key in _STRUCTURAL:
        out.remove(key, ignore_missing=True, remove_all=True)
    return out


def write_result(
    path: str | os.PathLike,
    filled: np.ndarray,
    unsmoothed: np.ndarray | None,
    header: fits.Header | None,
    history: str,
) -> None:
    """Write maskfill's output in the reference's layout, atomically.

    HDU 0 holds ``filled`` (smoothed when ``unsmoothed`` is given) and HDU 1 the unsmoothed
    image; the keys ``EXT0`` and ``EXT1`` say which, as in the reference.  Both HDUs keep the
    input header's WCS and other non-structural cards.
    """
    base = output_header(header)
    base.add_history(history)
    primary_header = base.copy()
    if unsmoothed is not None:
        primary_header["EXT0"] = "Filled Smoothed Image"
        primary_header["EXT1"] = "Filled Image (no smoothing)"
    hdus = [fits.PrimaryHDU(filled, header=primary_header)]
    if unsmoothed is not None:
        hdus.append(fits.ImageHDU(unsmoothed, header=base.copy(), name="UNSMOOTHED"))
    path = Path(path)
    # Write beside the target, then rename: a reader never sees a half-written file.
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    try:
        fits.HDUList(hdus).writeto(tmp)
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ValueError(f"{path}: cannot write ({exc.strerror or exc})") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise

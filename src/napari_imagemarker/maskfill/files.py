"""FITS files for maskfill: read one image HDU, write the results in the reference's layout.

Every way maskfill reads a FITS file (the function given paths, the command line, the batch,
the tiler) opens it through :func:`open_hdu`, so that a missing, corrupt or truncated file
gives the same one-line message naming the file, and every result file is written by
:func:`write_result` through the project's one atomic write path
(:func:`napari_imagemarker.files.atomic_output`: same folder, same suffixes, fsync,
rename).  Arrays are returned as astropy reads them (row 0 = FITS row 1).
"""

from __future__ import annotations

import contextlib
import os
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.utils.exceptions import AstropyWarning

from napari_imagemarker.files import atomic_output, error_reason

__all__ = [
    "check_output",
    "hdu_section",
    "history_text",
    "open_hdu",
    "output_header",
    "read_hdu",
    "resolve_path",
    "write_result",
]

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


@contextlib.contextmanager
def open_hdu(path: str | os.PathLike, ext: int | str = 0, *, memmap: bool = False) -> Iterator:
    """Open one image HDU of a FITS file, for the duration of the ``with`` block.

    Parameters
    ----------
    path : str or path
        The file (see :func:`resolve_path`).
    ext : int or str
        Extension index or EXTNAME.
    memmap : bool
        Memory-map the data (for reading a large image in pieces).

    Yields
    ------
    path : Path
        The file opened.
    hdu : astropy HDU
        The image HDU; its data have not been read.

    Raises
    ------
    ValueError
        With the file name and the problem: no such file, not FITS, no such extension, an
        extension without image data, or a file cut short before the end of its data.
    """
    path = resolve_path(path)
    with _astropy_quiet() as caught:
        try:
            hdul = fits.open(path, memmap=memmap)
        except FileNotFoundError:
            raise ValueError(f"{path}: no such file") from None
        except Exception as exc:  # astropy raises OSError, ValueError, ... on a bad file
            raise ValueError(f"{path}: cannot read as FITS ({error_reason(exc)})") from None
    with hdul:
        with _astropy_quiet() as more:
            try:
                hdu = hdul[ext]
            except (KeyError, IndexError):
                raise ValueError(f"{path}: has no extension {ext!r}") from None
            except Exception as exc:  # a corrupt header before the extension asked for
                reason = _reason(exc, caught + more)
                raise ValueError(f"{path}: cannot read extension {ext!r} ({reason})") from None
            if not hdu.is_image or not hdu.shape:
                raise ValueError(f"{path}: extension {ext!r} holds no image data")
            if _truncation(caught + more):
                try:  # the file is shorter than its headers say: is this HDU's data all there?
                    np.asarray(hdu.section[(-1,) * len(hdu.shape)])
                except Exception:
                    reason = _truncation(caught + more)
                    raise ValueError(f"{path}: cannot read extension {ext!r} ({reason})") from None
        yield path, hdu


def read_hdu(path: str | os.PathLike, ext: int | str = 0) -> tuple[np.ndarray, fits.Header]:
    """Data and header of one image HDU of a FITS file, read into memory.

    Raises
    ------
    ValueError
        As :func:`open_hdu`, and when the data cannot be read (a truncated file, say); the
        message names the file.
    """
    with open_hdu(path, ext) as (path, hdu), _astropy_quiet() as caught:
        try:
            data = hdu.data
        except Exception as exc:
            reason = _reason(exc, caught)
            raise ValueError(f"{path}: cannot read extension {ext!r} ({reason})") from None
        header = hdu.header.copy()
    if not isinstance(data, np.ndarray) or data.dtype.names is not None:
        raise ValueError(f"{path}: extension {ext!r} holds no image data")
    return data, header


def hdu_section(
    stack: contextlib.ExitStack, path: str | os.PathLike, ext: int | str = 0
) -> tuple[Any, fits.Header]:
    """A lazily read image HDU: its ``section`` (sliceable like an array, read on access)
    and header; the file stays open until ``stack`` closes.

    Raises
    ------
    ValueError
        As :func:`open_hdu`.
    """
    _, hdu = stack.enter_context(open_hdu(path, ext, memmap=True))
    return hdu.section, hdu.header.copy()


def check_output(
    path: str | os.PathLike, inputs: dict[str, str | os.PathLike | None] | None = None
) -> None:
    """Refuse, before any work, an output path that cannot be written as a file, or that
    is one of the ``inputs`` (``{"the input image": path, "the mask": path}``): writing it
    would destroy what the result is made from.

    Raises
    ------
    ValueError
        ``path`` is a folder, its folder does not exist, or it is one of the inputs (the
        same file, also through another name or a link).
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"{path}: is a folder; give a file name to write")
    if not path.absolute().parent.is_dir():
        raise ValueError(f"{path}: cannot write (no folder {path.parent})")
    for what, source in (inputs or {}).items():
        if source is not None and _same_file(path, resolve_path(source)):
            raise ValueError(
                f"{path}: is {what}; writing the result there would destroy it: "
                "give another output file name"
            )


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:  # one does not exist (yet): compare where they would be
        return os.path.realpath(a) == os.path.realpath(b)


def output_header(header: fits.Header | None) -> fits.Header:
    """The input header without its structural cards, to carry the WCS and metadata over."""
    out = fits.Header() if header is None else header.copy(strip=True)
    for key in _STRUCTURAL:
        out.remove(key, ignore_missing=True, remove_all=True)
    return out


def history_text(size: int, operator: str, grow: int = 0) -> str:
    """The HISTORY card of a maskfill result, the same for every way of making it."""
    from napari_imagemarker.version import version as __version__

    grown = f" grow={grow}" if grow else ""
    return f"maskfill size={size} operator={operator}{grown} (napari-imagemarker {__version__})"


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
    input header's WCS and other non-structural cards, plus a HISTORY card ``history``.  A
    name ending in ``.gz`` is gzip-compressed.  The file appears whole or not at all, also
    after a crash (see :func:`napari_imagemarker.files.atomic_output`).

    Raises
    ------
    ValueError
        With the file name, when it cannot be written.
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
    check_output(path)
    try:
        with atomic_output(path) as tmp:
            fits.HDUList(hdus).writeto(tmp, overwrite=True)
    except OSError as exc:
        raise ValueError(f"{path}: cannot write ({exc.strerror or exc})") from None


@contextlib.contextmanager
def _astropy_quiet() -> Iterator[list]:
    """Record astropy's warnings instead of printing them ("File may have been truncated"
    would be a second line on stderr); the record gives the reason of a later failure."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")
        warnings.simplefilter("always", AstropyWarning)
        yield caught


def _truncation(caught: list) -> str | None:
    """astropy's warning that the file is shorter than its headers say, if it gave one."""
    for warning in caught:
        if "truncated" in str(warning.message):
            return error_reason(warning.message)
    return None


def _reason(exc: BaseException, caught: list) -> str:
    """Why reading failed: a truncated file warns, then fails with a bare reshape error, so
    astropy's warning is the reason when it gave one, else the exception's message."""
    return _truncation(caught) or error_reason(exc)

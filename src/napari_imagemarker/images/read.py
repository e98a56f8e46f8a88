"""One loader for every image format: FITS, TIFF, PNG and JPEG.

``image_frames`` describes a file from its headers, ``read_frame`` reads one frame's pixels
and ``read_image`` turns a file into napari layer data. The marking session, the napari
reader hook and scripts all go through these three functions.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from napari_imagemarker.display.limits import zscale_limits
from napari_imagemarker.files import error_reason
from napari_imagemarker.images.fits import fits_frames, read_fits_frame, read_fits_frames
from napari_imagemarker.images.frames import FrameInfo
from napari_imagemarker.images.raster import raster_frames, read_raster_frame
from napari_imagemarker.images.tiff import read_tiff_frame, tiff_frames

FITS_SUFFIXES = (".fits", ".fit", ".fts", ".fits.gz", ".fit.gz", ".fts.gz", ".fz", ".fits.fz")
TIFF_SUFFIXES = (".tif", ".tiff")
RASTER_SUFFIXES = (".png", ".jpg", ".jpeg")
IMAGE_SUFFIXES = FITS_SUFFIXES + TIFF_SUFFIXES + RASTER_SUFFIXES

_FITS_MAGIC = b"SIMPLE  ="
_GZIP_MAGIC = b"\x1f\x8b"
_TIFF_MAGIC = (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+")


_F = TypeVar("_F", bound=Callable[..., Any])


def _names_the_file(function: _F) -> _F:
    """Let ``function(path, ...)`` raise only ValueError or OSError, naming ``path``.

    Readers meet every kind of damage, and astropy, tifffile and PIL answer with their own
    exception types (astropy's ``VerifyError`` for a damaged card, ``KeyError``,
    ``struct.error``, ...) and messages that may not say which file: the marking session,
    the napari reader hook and scripts rely on these two types and on the name.
    """

    @functools.wraps(function)
    def named(path, *args, **kwargs):
        try:
            return function(path, *args, **kwargs)
        except (OSError, ValueError) as err:
            if str(path) in str(err):
                raise
            kind = OSError if isinstance(err, OSError) else ValueError
            raise kind(f"{path}: {error_reason(err)}") from err
        except MemoryError as err:
            raise OSError(f"{path}: not enough memory to read this image") from err
        except Exception as err:
            raise OSError(
                f"{path}: cannot be read ({type(err).__name__}: {error_reason(err)})"
            ) from err

    return named  # type: ignore[return-value]


def image_format(path: str | Path) -> str | None:
    """``"fits"``, ``"tiff"``, ``"raster"`` or None, from the file name."""
    name = str(path).lower()
    for fmt, suffixes in (
        ("fits", FITS_SUFFIXES),
        ("tiff", TIFF_SUFFIXES),
        ("raster", RASTER_SUFFIXES),
    ):
        if name.endswith(suffixes):
            return fmt
    return None


def _check_file(path: str) -> None:
    p = Path(path)
    if not p.exists():
        raise FileNotFoundError(f"{path}: no such file")
    if p.is_dir():
        raise IsADirectoryError(f"{path}: is a folder, not an image file")
    if p.stat().st_size == 0:
        raise ValueError(f"{path}: the file is empty (0 bytes)")


def _sniff(path: str, fmt: str) -> str:
    """Check the first bytes against the format the name claims; compression by content."""
    with open(path, "rb") as f:
        head = f.read(9)
    if fmt == "fits" and not (head.startswith(_FITS_MAGIC) or head.startswith(_GZIP_MAGIC)):
        if head.startswith(_TIFF_MAGIC):
            return "tiff"
        raise ValueError(
            f"{path}: not a FITS file (it does not start with 'SIMPLE  =' and is not gzipped)"
        )
    if fmt == "tiff" and not head.startswith(_TIFF_MAGIC):
        raise ValueError(f"{path}: not a TIFF file (no TIFF signature)")
    return fmt


@_names_the_file
def image_frames(path: str | Path) -> list[FrameInfo]:
    """Describe every frame of an image file from its headers, without reading pixels.

    Parameters
    ----------
    path : str or Path
        A FITS (``.fits .fit .fts``, gzipped or tile-compressed ``.fz``), TIFF, PNG or JPEG
        file.

    Returns
    -------
    list of FrameInfo
        FITS: one per 2-D or 3-D image HDU; TIFF: one per page; PNG/JPEG: one.

    Raises
    ------
    ValueError or OSError
        With a message naming the file and the problem.
    """
    path = str(path)
    fmt = image_format(path)
    if fmt is None:
        raise ValueError(
            f"{path}: unsupported file type (expected one of {', '.join(IMAGE_SUFFIXES)})"
        )
    _check_file(path)
    fmt = _sniff(path, fmt)
    if fmt == "fits":
        return fits_frames(path)
    if fmt == "tiff":
        return tiff_frames(path)
    return raster_frames(path)


def _read(frame: FrameInfo):
    fmt = image_format(frame.path)
    if frame.hdu is not None:
        return read_fits_frame(frame)
    if fmt in ("tiff", "fits"):  # a TIFF may hide behind a FITS name; _sniff decided
        return read_tiff_frame(frame)
    return read_raster_frame(frame)


def frame_metadata(frame: FrameInfo) -> dict[str, Any]:
    """Layer metadata for a frame, per DESIGN.md: path, hdu, frame, header, wcs, y_up."""
    meta: dict[str, Any] = {"path": frame.path, "frame": frame.index, "y_up": frame.y_up}
    if frame.hdu is not None:
        meta["hdu"] = frame.hdu
    if frame.header is not None:
        meta["header"] = frame.header
    if frame.wcs is not None:
        meta["wcs"] = frame.wcs
    return meta


@_names_the_file
def read_frame(path: str | Path, index: int = 0) -> tuple[Any, dict[str, Any]]:
    """Read one frame's pixels and metadata.

    Returns
    -------
    data : array
        NumPy array (memory-mapped for uncompressed FITS, or a lazy dask array for large
        scaled-integer FITS), in the pixel convention of DESIGN.md: 0-based ``(row, col)``,
        with ``wcs.pixel_to_world(x=col, y=row)``.
    metadata : dict
        See :func:`frame_metadata`.
    """
    frames = image_frames(path)
    if not 0 <= index < len(frames):
        raise ValueError(f"{path}: has {len(frames)} frame(s); frame {index} does not exist")
    frame = frames[index]
    return _read(frame), frame_metadata(frame)


def layer_kwargs(frame: FrameInfo, data, name: str) -> dict[str, Any]:
    """napari Image layer keyword arguments for a frame's data."""
    kwargs: dict[str, Any] = {"name": name, "metadata": frame_metadata(frame), "rgb": frame.rgb}
    if len(frame.shape) - frame.rgb == 3:
        kwargs["axis_labels"] = ("plane", "y", "x")
    if not frame.rgb:
        kwargs["colormap"] = "gray"
        kwargs["contrast_limits"] = zscale_limits(data)
    return kwargs


@_names_the_file
def read_image(path: str | Path) -> list[tuple[Any, dict[str, Any], str]]:
    """Read an image file into napari layer data tuples ``(data, kwargs, "image")``.

    FITS: one layer per 2-D or 3-D image HDU, named ``"<file> [<EXTNAME or HDU index>]"``;
    cubes stay 3-D (a napari slider). TIFF: pages that share a shape are stacked into one
    layer with a page slider (``"<file>"``), otherwise each page is a layer
    (``"<file> [page N]"``). PNG/JPEG: one layer.

    Contrast limits come from astropy's ZScale on a sample of pixels; colormap is grey for
    single-channel data. Each layer's ``metadata`` holds ``path``, ``frame``, ``y_up``, and
    where available ``hdu``, ``header`` (astropy Header) and ``wcs`` (2-D celestial WCS).

    Raises
    ------
    ValueError or OSError
        With a message naming the file and the problem.
    """
    frames = image_frames(path)
    base = Path(str(path)).name
    if frames[0].hdu is None and len(frames) > 1 and len({f.shape for f in frames}) == 1:
        stack = np.stack([_read(f) for f in frames])
        kwargs = layer_kwargs(frames[0], stack, base)
        kwargs["metadata"]["frames"] = len(frames)
        kwargs["axis_labels"] = ("page", "y", "x")
        return [(stack, kwargs, "image")]
    if frames[0].hdu is not None:  # FITS: the file opened and parsed once for every HDU
        datas = read_fits_frames(frames)
    else:
        datas = [_read(frame) for frame in frames]
    layers = []
    for frame, data in zip(frames, datas, strict=True):
        name = base if len(frames) == 1 and frame.hdu is None else f"{base} [{frame.name}]"
        layers.append((data, layer_kwargs(frame, data, name), "image"))
    return layers

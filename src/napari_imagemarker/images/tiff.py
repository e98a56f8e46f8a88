"""TIFF images, with the WCS that STIFF writes as FITS cards into tag 270.

STIFF writes the top row of the sky image first, while its FITS cards describe the FITS
grid, whose row 0 is the bottom row. So when tag 270 holds FITS cards, the rows are flipped
once on load: the returned array *is* the FITS grid and ``wcs.pixel_to_world(x=col, y=row)``
holds with 0-based indices, exactly as for a FITS file. Without FITS cards the array is
returned as stored and has no WCS (a plain description never gives a dummy WCS).
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import tifffile
from astropy.io import fits
from astropy.io.fits.verify import VerifyError

from napari_imagemarker.files import error_reason
from napari_imagemarker.images.fits import WCSUnusableWarning, celestial_wcs
from napari_imagemarker.images.frames import FrameInfo

_CARD = re.compile(r"^(SIMPLE  =|[A-Z0-9_-]{1,8} *= )")


def header_from_description(
    description: str | None, source: str | None = None
) -> fits.Header | None:
    """Parse FITS cards from a TIFF ImageDescription (tag 270), or return None.

    STIFF writes 80-column cards without an ``END`` card; tifffile strips trailing blanks.
    The text counts as FITS cards only if it starts with a card and parses as a header with
    at least one keyword.
    """
    if not description or not _CARD.match(description):
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            header = fits.Header.fromstring(description)
    except (ValueError, KeyError, TypeError, IndexError, VerifyError) as err:
        warnings.warn(
            f"{source or 'a TIFF description'}: its FITS cards (tag 270) cannot be parsed "
            f"({error_reason(err)}); shown without sky coordinates (RA/Dec)",
            WCSUnusableWarning,
            stacklevel=2,
        )
        return None
    return header if len(header) else None


def _open(path: str) -> tifffile.TiffFile:
    try:
        return tifffile.TiffFile(path)
    except Exception as err:
        raise OSError(f"{path}: not a readable TIFF file ({error_reason(err)})") from err


_COLOUR = (tifffile.PHOTOMETRIC.RGB, tifffile.PHOTOMETRIC.YCBCR)


def _page_rgb(page) -> bool:
    """RGB(A) pages, including JPEG pages stored as YCbCr (tifffile decodes them to RGB)."""
    return page.photometric in _COLOUR and page.samplesperpixel in (3, 4)


def _planar(page) -> bool:
    """Colour samples stored as separate planes: tifffile returns them first, (S, H, W)."""
    return _page_rgb(page) and page.planarconfig == tifffile.PLANARCONFIG.SEPARATE


def _page_shape(page) -> tuple[int, ...]:
    shape = tuple(int(n) for n in page.shape)
    return (*shape[1:], shape[0]) if _planar(page) else shape


def tiff_frames(path: str | Path) -> list[FrameInfo]:
    """Describe the pages of a TIFF file without decoding their pixels.

    Page 0's tag 270 gives the header and WCS of every page (STIFF writes one image and,
    optionally, an annotated copy of it as page 1).
    """
    path = str(path)
    with _open(path) as tif:
        pages = [p for p in tif.pages if p is not None]
        if not pages:
            raise ValueError(f"{path}: TIFF file has no pages")
        header = header_from_description(getattr(pages[0], "description", None), path)
        wcs = None
        if header is not None:
            wcs = celestial_wcs(header, source=path)
        grid = _cards_grid(header, pages[0])
        frames = []
        for i, page in enumerate(pages):
            shape = _page_shape(page)
            rgb = _page_rgb(page)
            if len(shape) - rgb != 2:
                raise ValueError(
                    f"{path}: page {i} has shape {shape}; only 2-D grey or RGB pages are supported"
                )
            # the cards describe the pages of their grid's size only (STIFF's annotated copy
            # is one); a page of another size is shown as stored, without a WCS
            described = wcs is not None and shape[:2] == grid
            frames.append(
                FrameInfo(
                    path=path,
                    index=i,
                    name=f"page {i}",
                    shape=shape,
                    rgb=rgb,
                    y_up=described,
                    wcs=wcs if described else None,
                    header=header if described or i == 0 else None,
                )
            )
    return frames


def _cards_grid(header: fits.Header | None, first_page) -> tuple[int, int]:
    """(rows, cols) of the grid the FITS cards describe: NAXIS2, NAXIS1, else page 0's."""
    if header is not None and "NAXIS1" in header and "NAXIS2" in header:
        return (int(header["NAXIS2"]), int(header["NAXIS1"]))
    return tuple(_page_shape(first_page)[:2])


def read_tiff_frame(frame: FrameInfo) -> np.ndarray:
    """Decode one page, flipping its rows when it carries FITS cards (see module doc)."""
    with _open(frame.path) as tif:
        try:
            page = tif.pages[frame.index]
            data = page.asarray()
            if _planar(page):
                data = np.moveaxis(data, 0, -1)
        except Exception as err:
            raise OSError(
                f"{frame.path}: page {frame.index} cannot be decoded ({error_reason(err)})"
            ) from err
    if frame.y_up:
        data = np.ascontiguousarray(data[::-1])
    return data

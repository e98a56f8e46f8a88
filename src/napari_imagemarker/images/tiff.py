"""TIFF images, with the WCS that STIFF writes as FITS cards into tag 270.

STIFF writes the top row of the sky image first, while its FITS cards describe the FITS
grid, whose row 0 is the bottom row. So when tag 270 holds FITS cards, the rows are flipped
once on load: the returned array *is* the FITS grid and ``wcs.pixel_to_world(x=col, y=row)``
holds with 0-based indices, exactly as for a FITS file. Without FITS cards the array is
returned as stored and has no WCS (a plain description never gives a dummy WCS).
"""

from __future__ import annotations

import math
import re
import struct
import warnings
from pathlib import Path

import numpy as np
import tifffile
from astropy.io import fits
from astropy.io.fits.verify import VerifyError

from napari_imagemarker.files import error_reason
from napari_imagemarker.images import fits as fits_reader
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


def count_pages(path: str) -> int:
    """Follow the chain of image file directories (IFDs) of a TIFF, and count them.

    tifffile follows the chain until it ends, so a chain that loops back on itself (a
    damaged or hostile file) would never end: here each IFD is visited once, a loop is an
    error, and the time is bounded by the file's size.

    Raises
    ------
    ValueError
        The chain loops; the message names the page it loops back to.
    """
    size = Path(path).stat().st_size
    with open(path, "rb") as f:
        head = f.read(16)
        order = {b"II": "<", b"MM": ">"}.get(head[:2])
        if order is None or len(head) < 8:
            raise ValueError(f"{path}: not a TIFF file (no byte-order mark)")
        (version,) = struct.unpack(order + "H", head[2:4])
        if version == 42:
            count_fmt, entry, offset_fmt = "H", 12, "I"
            (offset,) = struct.unpack(order + "I", head[4:8])
        elif version == 43 and len(head) == 16:
            count_fmt, entry, offset_fmt = "Q", 20, "Q"
            (offset,) = struct.unpack(order + "Q", head[8:16])
        else:
            return 1  # not a layout followed here: tifffile reads what it can
        count_size = struct.calcsize(count_fmt)
        offset_size = struct.calcsize(offset_fmt)
        seen: dict[int, int] = {}
        while offset and offset + count_size <= size:
            if offset in seen:
                raise ValueError(
                    f"{path}: damaged TIFF: the directory after page {len(seen) - 1} loops "
                    f"back to page {seen[offset]}"
                )
            seen[offset] = len(seen)
            f.seek(offset)
            (n,) = struct.unpack(order + count_fmt, f.read(count_size))
            f.seek(offset + count_size + n * entry)
            following = f.read(offset_size)
            if len(following) < offset_size:
                break
            (offset,) = struct.unpack(order + offset_fmt, following)
    return max(len(seen), 1)


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
    n_pages = count_pages(path)
    with _open(path) as tif:
        pages = []
        for i in range(n_pages):  # by index: iterating would follow a loop forever
            try:
                page = tif.pages.get(i)
            except IndexError:  # tifffile found fewer readable pages than directories
                break
            if page is not None:
                pages.append(page)
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
            if 0 in shape:
                raise ValueError(f"{path}: page {i} is empty (shape {shape})")
            if rgb and page.planarconfig not in tuple(tifffile.PLANARCONFIG):
                raise ValueError(
                    f"{path}: page {i} has an invalid PlanarConfiguration "
                    f"({int(page.planarconfig)}); expected 1 or 2"
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
            size = math.prod(page.shape) * page.dtype.itemsize
            if page.compression != 1 and size > fits_reader.MAX_DECOMPRESSED_BYTES:
                raise fits_reader.limit_error(frame.path, f"page {frame.index}", size)
            data = page.asarray()
            if _planar(page):
                data = np.moveaxis(data, 0, -1)
        except fits_reader.DecompressionLimitError:
            raise
        except Exception as err:
            raise OSError(
                f"{frame.path}: page {frame.index} cannot be decoded ({error_reason(err)})"
            ) from err
    if frame.y_up:
        data = np.ascontiguousarray(data[::-1])
    return data

"""What a reader knows about one frame of an image file before reading its pixels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class FrameInfo:
    """One displayable frame of an image file, described from headers only.

    Attributes
    ----------
    path : str
        The file.
    index : int
        Frame number within the file, as Image Marker counts frames: the FITS image HDUs
        that hold data, in file order, or the pages of a TIFF. PNG and JPEG have frame 0 only.
    name : str
        Short label of the frame: the EXTNAME or HDU index of a FITS HDU, ``"page N"``.
    hdu : int or None
        FITS HDU index (None for other formats).
    shape : tuple of int
        Shape of the array the reader returns for this frame, e.g. ``(512, 512, 3)`` for RGB
        or ``(nz, ny, nx)`` for a cube.
    rgb : bool
        Whether the last axis holds colour channels.
    y_up : bool
        True when row 0 of the returned array is the bottom row of the sky image (FITS, and
        TIFFs carrying FITS cards, whose rows the reader flips on load). Such images are shown
        with napari's camera ``orientation2d = ("up", "right")``.
    wcs : astropy.wcs.WCS or None
        The 2-D celestial WCS of the frame, in the pixel grid of the returned array
        (``pixel_to_world(x=col, y=row)``, 0-based).
    header : astropy.io.fits.Header or None
        The FITS header, or the FITS cards a TIFF carries.
    """

    path: str
    index: int
    name: str
    shape: tuple[int, ...]
    rgb: bool = False
    y_up: bool = False
    hdu: int | None = None
    wcs: Any = field(default=None, compare=False, repr=False)
    header: Any = field(default=None, compare=False, repr=False)

    @property
    def height(self) -> int:
        """Number of rows of one plane."""
        return self.shape[-3] if self.rgb else self.shape[-2]

    @property
    def width(self) -> int:
        """Number of columns of one plane."""
        return self.shape[-2] if self.rgb else self.shape[-1]

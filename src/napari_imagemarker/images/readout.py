"""What the coordinate readout shows for a position in an image: pure data, no Qt.

Positions are napari data coordinates: 0-based, pixel centres at integers, last two axes
``(row, col)`` (before the colour axis of RGB data). The pixel under a position is the
nearest integer; the sky position is computed at the exact, continuous position.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from napari_imagemarker.wcs import format_sexagesimal, pixel_to_sky, to_frame, wcs_frame


@dataclass(frozen=True)
class Readout:
    """The readout at one position.

    Attributes
    ----------
    index : tuple of int
        0-based array index of the pixel under the position (all non-colour axes).
    x, y : float
        0-based continuous position, ``x = col``, ``y = row``.
    fits_x, fits_y : float
        The same in FITS/DS9 1-based pixels.
    value : float or tuple or None
        Raw value of the pixel (a tuple for RGB), None outside the image.
    lon, lat : float
        Sky position in degrees in ``frame`` (NaN without WCS).
    frame : str
        Name of the sky frame of ``lon, lat`` ('icrs', 'fk5', 'galactic', ...).
    """

    index: tuple[int, ...]
    x: float
    y: float
    fits_x: float
    fits_y: float
    value: Any
    inside: bool
    lon: float = math.nan
    lat: float = math.nan
    frame: str = ""

    @property
    def has_sky(self) -> bool:
        return math.isfinite(self.lon) and math.isfinite(self.lat)

    @property
    def _degrees(self) -> str:
        return f"{self.lon:.7f}, {self.lat:+.7f}"

    def lines(self) -> dict[str, str]:
        """Text for each readout field, as the widget shows it."""
        out = {
            "FITS pixel": f"x = {self.fits_x:.2f}, y = {self.fits_y:.2f}",
            "Array index": "["
            + ", ".join(str(i) for i in self.index)
            + "]"
            + ("" if self.inside else " (outside)"),
            "Value": _format_value(self.value),
        }
        if self.has_sky:
            if self.frame == "galactic":
                out["l, b (deg)"] = self._degrees
            else:
                ra, dec = format_sexagesimal(self.lon, self.lat)
                out[f"RA, Dec ({self.frame.upper()}, deg)"] = self._degrees
                out["RA, Dec"] = f"{ra}, {dec}"
        return out

    def short(self) -> tuple[str, str, str]:
        """The readout in three short lines, for a dock's one-glance readout and a status bar.

        The FITS pixel (1-based, continuous) and the raw value; the sky position in degrees;
        the same in sexagesimal (both empty without WCS). For example ``("x 262.60,
        y 314.20 · (52, 40, 33)", "RA, Dec 0.2451302, -51.6962331", "00:00:58.831,
        -51:41:46.39")``.
        """
        where = f"x {self.fits_x:.2f}, y {self.fits_y:.2f}"
        value = _format_value(self.value) if self.inside else "outside the image"
        first = f"{where} · {value}"
        if not self.has_sky:
            return first, "", ""
        if self.frame == "galactic":
            return first, f"l, b {self._degrees}", ""
        ra, dec = format_sexagesimal(self.lon, self.lat)
        name = "RA, Dec" if self.frame in ("icrs", "fk5", "") else f"RA, Dec ({self.frame})"
        return first, f"{name} {self._degrees}", f"{ra}, {dec}"


def _format_value(value) -> str:
    if value is None:
        return "–"
    if isinstance(value, tuple):
        return "(" + ", ".join(_format_value(v) for v in value) + ")"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.6g}"


def readout_at(
    data, position, *, wcs=None, rgb: bool = False, frame: str | None = None
) -> Readout:
    """Compute the readout of ``data`` at data-coordinate ``position``.

    Parameters
    ----------
    data : array-like
        The layer data (NumPy, memory-mapped or dask).
    position : sequence of float
        Data coordinates, one per non-colour axis; the last two are ``(row, col)``.
    wcs : astropy.wcs.WCS, optional
        2-D celestial WCS of the image plane; ``pixel_to_world(x=col, y=row)``.
    rgb : bool
        Whether the last axis of ``data`` is colour.
    frame : str, optional
        Sky frame of the result, e.g. 'galactic'. By default the WCS's own frame (usually
        ICRS or FK5), which is exactly what ``wcs.pixel_to_world`` returns.
    """
    pos = [float(p) for p in position]
    index = tuple(math.floor(p + 0.5) for p in pos)
    shape = data.shape[:-1] if rgb else data.shape
    inside = len(index) == len(shape) and all(0 <= i < n for i, n in zip(index, shape))
    value = None
    if inside:
        pixel = data[index]
        if hasattr(pixel, "compute"):
            pixel = pixel.compute()
        pixel = np.asarray(pixel)
        value = tuple(v.item() for v in pixel) if rgb else pixel.item()
    y, x = pos[-2], pos[-1]
    lon = lat = math.nan
    if wcs is not None:
        ra, dec = pixel_to_sky(wcs, x, y)
        lon, lat = float(ra), float(dec)
        native = wcs_frame(wcs)
        if frame is not None and frame != native:
            lon, lat = to_frame(wcs, lon, lat, frame)
        else:
            frame = native
    return Readout(
        index=index,
        x=x,
        y=y,
        fits_x=x + 1,
        fits_y=y + 1,
        value=value,
        inside=inside,
        lon=lon,
        lat=lat,
        frame=frame or "",
    )

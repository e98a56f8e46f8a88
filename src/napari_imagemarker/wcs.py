"""Pixel <-> sky helpers in the project's one convention, and coordinate formatting.

Pixels are 0-based ``(x, y) = (col, row)`` of the array as the readers return it, so these
are thin, vectorised wrappers around astropy's ``pixel_to_world_values`` /
``world_to_pixel_values``. FITS/DS9 pixel numbers are these plus 1.
"""

from __future__ import annotations

import numpy as np
from astropy import units as u
from astropy.coordinates import Angle, SkyCoord

#: Offset between our 0-based pixels and FITS/DS9 1-based pixels.
FITS_ORIGIN = 1


def _lat_first(wcs) -> bool:
    """True for the rare WCS whose first world axis is latitude (CTYPE1 = 'DEC--...')."""
    return getattr(wcs.wcs, "lng", 0) == 1


def pixel_to_sky(wcs, x, y) -> tuple[np.ndarray, np.ndarray]:
    """RA, Dec in degrees (the WCS's own frame) of 0-based pixel positions ``x=col, y=row``.

    Exactly ``wcs.pixel_to_world_values`` (SIP and other distortions included), with the
    world axes put in (longitude, latitude) order and RA wrapped to [0, 360). Returns NaN
    arrays when ``wcs`` is None.
    """
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if wcs is None:
        nan = np.full(np.broadcast(x, y).shape, np.nan)
        return nan, nan.copy()
    lon, lat = wcs.pixel_to_world_values(x, y)
    if _lat_first(wcs):
        lon, lat = lat, lon
    return np.mod(np.asarray(lon, dtype=np.float64), 360.0), np.asarray(lat, dtype=np.float64)


def sky_to_pixel(wcs, ra, dec) -> tuple[np.ndarray, np.ndarray]:
    """0-based pixel ``(x=col, y=row)`` of sky positions in degrees; NaN without WCS."""
    ra = np.asarray(ra, dtype=np.float64)
    dec = np.asarray(dec, dtype=np.float64)
    if wcs is None:
        nan = np.full(np.broadcast(ra, dec).shape, np.nan)
        return nan, nan.copy()
    if _lat_first(wcs):
        ra, dec = dec, ra
    x, y = wcs.world_to_pixel_values(ra, dec)
    return np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)


def wcs_frame(wcs) -> str:
    """The celestial frame of a WCS as an astropy frame name ('icrs', 'fk5', 'galactic', ...)."""
    try:
        from astropy.wcs.utils import wcs_to_celestial_frame

        return wcs_to_celestial_frame(wcs).name
    except Exception:
        return "icrs"


def to_frame(wcs, lon: float, lat: float, frame: str) -> tuple[float, float]:
    """Convert a position in the WCS's frame (degrees) to ``frame`` ('icrs', 'galactic', ...)."""
    native = wcs_frame(wcs)
    if frame == native:
        return float(lon), float(lat)
    coord = SkyCoord(lon * u.deg, lat * u.deg, frame=native).transform_to(frame)
    sph = coord.spherical
    return float(sph.lon.deg), float(sph.lat.deg)


def format_sexagesimal(ra_deg: float, dec_deg: float) -> tuple[str, str]:
    """RA as ``hh:mm:ss.sss`` and Dec as ``±dd:mm:ss.ss``."""
    ra = Angle(ra_deg, u.deg).to_string(unit=u.hourangle, sep=":", precision=3, pad=True)
    dec = Angle(dec_deg, u.deg).to_string(
        unit=u.deg, sep=":", precision=2, pad=True, alwayssign=True
    )
    return ra, dec


def pixel_scale_arcsec(wcs) -> float:
    """Mean pixel scale in arcsec per pixel (square root of the pixel area)."""
    from astropy.wcs.utils import proj_plane_pixel_area

    return float(np.sqrt(proj_plane_pixel_area(wcs)) * 3600.0)

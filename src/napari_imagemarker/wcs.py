"""Pixel <-> sky helpers in the project's one convention, and coordinate formatting.

Pixels are 0-based ``(x, y) = (col, row)`` of the array as the readers return it, so these
are thin, vectorised wrappers around astropy's ``pixel_to_world_values`` /
``world_to_pixel_values``. FITS/DS9 pixel numbers are these plus 1.

:func:`pixel_to_sky` and :func:`sky_to_pixel` are the one pixel <-> sky pair (the readout,
the marks and the catalogs all convert through them). :func:`icrs_to_pixel`,
:func:`unit_vectors`, :func:`footprint_cap` and :func:`within_cap` serve tables of ICRS
positions (catalogs): a cap on the sky around an image cuts a million rows in one
vectorised pass before the exact conversion of the few near it.
"""

from __future__ import annotations

import warnings

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


def _equatorial(frame: str) -> bool:
    # FK5 J2000 is taken as ICRS (they differ by ~20 mas), as a WCS's RADESYS usually is
    return frame in ("icrs", "fk5")


def icrs_to_pixel(wcs, ra, dec) -> tuple[np.ndarray, np.ndarray]:
    """0-based pixel ``(x=col, y=row)`` of ICRS positions in degrees, vectorised.

    Positions are converted to the WCS's frame first when it is not equatorial (a galactic
    WCS), then placed with :func:`sky_to_pixel`. NaN without WCS.
    """
    ra = np.asarray(ra, dtype=np.float64)
    dec = np.asarray(dec, dtype=np.float64)
    frame = wcs_frame(wcs) if wcs is not None else "icrs"
    if not _equatorial(frame):
        sph = SkyCoord(ra, dec, unit="deg", frame="icrs").transform_to(frame).spherical
        ra, dec = sph.lon.deg, sph.lat.deg
    return sky_to_pixel(wcs, ra, dec)


def celestial_frame(wcs):
    """The astropy frame of a WCS (with its equinox); ICRS, with a warning, when astropy
    knows no frame for it."""
    from astropy.coordinates import ICRS
    from astropy.wcs.utils import wcs_to_celestial_frame

    try:
        return wcs_to_celestial_frame(wcs)
    except ValueError as err:  # astropy knows no frame for these CTYPE/RADESYS
        warnings.warn(
            f"the WCS's celestial frame cannot be determined ({err}); its coordinates are "
            "taken as ICRS",
            UserWarning,
            stacklevel=2,
        )
        return ICRS()


def frame_to_pixel(wcs, lon, lat, frame) -> tuple[np.ndarray, np.ndarray]:
    """0-based pixel ``(x=col, y=row)`` of positions in degrees in an astropy ``frame``
    (FK5, FK4, galactic, ecliptic, ...), converted with astropy to the WCS's own frame
    first (exactly: FK5 J2000 is not taken for ICRS here). NaN without WCS."""
    lon = np.asarray(lon, dtype=np.float64)
    lat = np.asarray(lat, dtype=np.float64)
    if wcs is None:
        return sky_to_pixel(None, lon, lat)
    from astropy.coordinates import UnitSphericalRepresentation

    target = celestial_frame(wcs)
    coord = SkyCoord(lon, lat, unit="deg", frame=frame).transform_to(target)
    sph = coord.represent_as(UnitSphericalRepresentation)
    return sky_to_pixel(wcs, sph.lon.deg, sph.lat.deg)


def _pixel_to_icrs(wcs, x, y) -> tuple[np.ndarray, np.ndarray]:
    lon, lat = pixel_to_sky(wcs, x, y)
    frame = wcs_frame(wcs)
    if _equatorial(frame) or not np.all(np.isfinite(lon) & np.isfinite(lat)):
        return lon, lat
    coord = SkyCoord(lon, lat, unit="deg", frame=frame).icrs
    return coord.ra.deg, coord.dec.deg


def unit_vectors(ra, dec, dtype=np.float64) -> np.ndarray:
    """Unit vectors of positions in degrees, components first: shape ``(3, *ra.shape)``
    (NaN stays NaN).

    ``dtype=np.float32`` halves the memory and is 5-10x faster for a million rows; its
    vectors are good to ~0.1" (RA rounded to float32 at 360°), which :func:`within_cap`
    keeps, but a dot product of them is not (see there).
    """
    ra = np.deg2rad(np.asarray(ra, dtype=dtype))
    dec = np.deg2rad(np.asarray(dec, dtype=dtype))
    out = np.empty((3, *np.broadcast(ra, dec).shape), dtype=dtype)
    cos_dec = np.cos(dec)
    np.multiply(cos_dec, np.cos(ra), out=out[0])
    np.multiply(cos_dec, np.sin(ra), out=out[1])
    np.sin(dec, out=out[2])
    return out


#: Margin of :func:`footprint_cap` beyond the farthest corner or edge midpoint: a fraction
#: of the radius (distortion bulging an edge) plus an angle in degrees (well above the
#: ~0.1" of float32 unit vectors).
CAP_MARGIN = (0.10, 5.0 / 3600)


def footprint_cap(wcs, height: int, width: int) -> tuple[np.ndarray, float] | None:
    """A cap on the sky (ICRS) that contains the whole image, generously.

    Parameters
    ----------
    wcs : astropy.wcs.WCS
        The image's 2-D celestial WCS.
    height, width : int
        Rows and columns of the image; its edges are at pixel -0.5 and H - 0.5, W - 0.5.

    Returns
    -------
    (centre, radius) or None
        The unit vector of the image centre (float64) and the cap's radius in radians: the
        farthest corner or edge midpoint plus :data:`CAP_MARGIN`, so a cut with
        :func:`within_cap` never drops a row on the image (the exact test,
        :func:`icrs_to_pixel`, follows it). None when there is no useful cap: a corner off
        the sky, or an image wider than a hemisphere.
    """
    xs = np.array([(width - 1) / 2, -0.5, width - 0.5, -0.5, width - 0.5,
                   (width - 1) / 2, (width - 1) / 2, -0.5, width - 0.5])  # fmt: skip
    ys = np.array([(height - 1) / 2, -0.5, -0.5, height - 0.5, height - 0.5,
                   -0.5, height - 0.5, (height - 1) / 2, (height - 1) / 2])  # fmt: skip
    ra, dec = _pixel_to_icrs(wcs, xs, ys)
    if not np.all(np.isfinite(ra) & np.isfinite(dec)):
        return None
    points = unit_vectors(ra, dec)
    centre, corners = points[:, 0], points[:, 1:]
    radius = float(np.arccos(np.clip(centre @ corners, -1.0, 1.0)).max())
    radius = radius * (1 + CAP_MARGIN[0]) + np.deg2rad(CAP_MARGIN[1])
    if radius >= np.pi / 2:
        return None
    return centre, radius


def within_cap(vectors: np.ndarray, cap: tuple[np.ndarray, float]) -> np.ndarray:
    """Which :func:`unit_vectors` (``(3, n)``) fall inside a :func:`footprint_cap`.

    Compares chord lengths, ``|u - centre| <= 2 sin(radius / 2)``, not dot products: near 1
    a float32 dot product has a resolution of ~1.2' (across a 2' cutout 1 - cos(radius) is
    2 ulps), whereas a chord keeps the vectors' own ~0.1". NaN rows are outside.
    """
    centre, radius = cap
    offset = vectors - centre.astype(vectors.dtype)[:, None]
    chord2 = np.einsum("ij,ij->j", offset, offset)
    with np.errstate(invalid="ignore"):
        return chord2 <= (2 * np.sin(radius / 2)) ** 2


def wcs_frame(wcs) -> str:
    """The celestial frame of a WCS as an astropy frame name ('icrs', 'fk5', 'galactic', ...)."""
    from astropy.wcs.utils import wcs_to_celestial_frame

    try:
        return wcs_to_celestial_frame(wcs).name
    except ValueError as err:  # astropy knows no frame for these CTYPE/RADESYS
        warnings.warn(
            f"the WCS's celestial frame cannot be determined ({err}); its coordinates are "
            "taken as ICRS",
            UserWarning,
            stacklevel=2,
        )
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

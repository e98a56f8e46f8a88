"""Sample data: a synthetic sky image with a TAN WCS (made in code), and the demo images
shipped with the package for a first marking session (no download)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
from astropy.io import fits

from napari_imagemarker.files import atomic_output

#: (row, col, peak, sigma) of the synthetic sources; the first sits on CRPIX.
SOURCES = [
    (127.0, 95.0, 900.0, 2.5),
    (40.0, 60.0, 400.0, 1.8),
    (200.0, 210.0, 650.0, 3.0),
    (90.0, 180.0, 250.0, 1.5),
    (180.0, 40.0, 300.0, 6.0),
    (20.0, 230.0, 150.0, 1.2),
]


def synthetic_tan_hdu(shape: tuple[int, int] = (256, 256), seed: int = 0) -> fits.PrimaryHDU:
    """A float32 image with Gaussian sources on sky noise and a TAN WCS.

    The WCS has CRPIX away from the centre (FITS 96, 128, so 0-based col 95, row 127) at
    CRVAL (150.1, 2.2) deg, 0.5 arcsec pixels, rotated 20 deg, north up and east left.
    """
    rng = np.random.default_rng(seed)
    ny, nx = shape
    rows, cols = np.mgrid[0:ny, 0:nx]
    data = 100.0 + rng.normal(0.0, 5.0, shape)
    for r, c, peak, sigma in SOURCES:
        data += peak * np.exp(-((rows - r) ** 2 + (cols - c) ** 2) / (2 * sigma**2))
    scale = 0.5 / 3600.0
    theta = np.deg2rad(20.0)
    header = fits.Header()
    header["CTYPE1"], header["CTYPE2"] = "RA---TAN", "DEC--TAN"
    header["CUNIT1"], header["CUNIT2"] = "deg", "deg"
    header["CRPIX1"], header["CRPIX2"] = 96.0, 128.0
    header["CRVAL1"], header["CRVAL2"] = 150.1, 2.2
    header["CD1_1"] = -scale * np.cos(theta)
    header["CD1_2"] = scale * np.sin(theta)
    header["CD2_1"] = scale * np.sin(theta)
    header["CD2_2"] = scale * np.cos(theta)
    header["RADESYS"] = "ICRS"
    header["OBJECT"] = "synthetic field"
    header["BUNIT"] = "adu"
    return fits.PrimaryHDU(data.astype(np.float32), header=header)


def synthetic_tan_path() -> Path:
    """Write the synthetic image once to a per-user cache file and return its path."""
    folder = Path(tempfile.gettempdir()) / f"napari-imagemarker-{os.getuid()}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "synthetic_tan_field.fits"
    if not path.exists():
        with atomic_output(path) as tmp:
            synthetic_tan_hdu().writeto(tmp, overwrite=True)
    return path


def demo_images() -> Path:
    """The folder of demo images shipped with the package: three SPT-3G cluster cutouts
    (STIFF TIFFs with WCS) and a two-extension FITS with a TAN WCS (see its README.md)."""
    return Path(__file__).with_name("demo")


def demo_save_dir() -> Path:
    """Where the demo session saves its marks; kept between runs so that it resumes.

    ``$XDG_DATA_HOME/napari-imagemarker/demo`` (by default
    ``~/.local/share/napari-imagemarker/demo``); delete it to start the demo afresh.
    """
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "napari-imagemarker" / "demo"

"""Shared fixtures: real data shipped with the tests, and FITS/TIFF files generated on the fly."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

DATA = Path(__file__).parent / "data"
IMGMARKER = DATA / "imgmarker"
SPT_TIFFS = sorted((IMGMARKER / "images").glob("SPT-*.tif"))


@pytest.fixture(scope="session")
def spt_tiffs() -> list[Path]:
    """The three real SPT-3G cutouts written by STIFF (WCS in tag 270, JPEG-compressed)."""
    assert len(SPT_TIFFS) == 3
    return SPT_TIFFS


@pytest.fixture(scope="session")
def golden() -> dict:
    """Facts about the imgmarker golden files (expected.json)."""
    return json.loads((IMGMARKER / "expected.json").read_text())


def tan_header(
    crpix=(100.0, 60.0), crval=(150.1, 2.2), scale_arcsec=1.0, rot_deg=30.0
) -> fits.Header:
    """A TAN header with a rotated CD matrix, CRPIX (1-based) away from the centre."""
    s = scale_arcsec / 3600.0
    t = np.deg2rad(rot_deg)
    h = fits.Header()
    h["CTYPE1"], h["CTYPE2"] = "RA---TAN", "DEC--TAN"
    h["CRPIX1"], h["CRPIX2"] = crpix
    h["CRVAL1"], h["CRVAL2"] = crval
    h["CD1_1"], h["CD1_2"] = -s * np.cos(t), s * np.sin(t)
    h["CD2_1"], h["CD2_2"] = s * np.sin(t), s * np.cos(t)
    h["RADESYS"] = "ICRS"
    return h


def sip_header() -> fits.Header:
    """A TAN-SIP header with noticeable 2nd/3rd-order distortion."""
    h = tan_header(crpix=(40.5, 70.25), rot_deg=-12.0, scale_arcsec=0.4)
    h["CTYPE1"], h["CTYPE2"] = "RA---TAN-SIP", "DEC--TAN-SIP"
    h["A_ORDER"], h["B_ORDER"] = 3, 3
    h["A_2_0"], h["A_0_2"], h["A_1_1"] = 2.1e-4, -1.3e-4, 5e-5
    h["A_3_0"], h["B_0_3"] = 1e-6, -2e-6
    h["B_2_0"], h["B_0_2"], h["B_1_1"] = -1.1e-4, 3.3e-4, 7e-5
    return h


@pytest.fixture
def fits_files(tmp_path) -> dict[str, Path]:
    """A set of real FITS files written by astropy, one per case the reader must handle."""
    rng = np.random.default_rng(1)
    out: dict[str, Path] = {}

    sci = rng.normal(100, 5, (50, 80)).astype(np.float32)
    mef = fits.HDUList(
        [
            fits.PrimaryHDU(header=fits.Header({"OBJECT": "mef"})),
            fits.ImageHDU(sci, header=tan_header(), name="SCI"),
            fits.ImageHDU(np.sqrt(np.abs(sci)), header=tan_header(), name="ERR"),
            fits.ImageHDU((sci > 110).astype(np.int16), name="DQ"),
            fits.BinTableHDU.from_columns(
                [fits.Column(name="ra", format="D", array=[1.0, 2.0])], name="CAT"
            ),
        ]
    )
    out["mef"] = tmp_path / "mef.fits"
    mef.writeto(out["mef"])

    cube = rng.normal(0, 1, (4, 30, 40)).astype(np.float64)
    h3 = tan_header()
    h3["CTYPE3"], h3["CRPIX3"], h3["CRVAL3"], h3["CDELT3"] = "FREQ", 1.0, 1.4e9, 1e6
    out["cube"] = tmp_path / "cube.fits"
    fits.PrimaryHDU(cube, header=h3).writeto(out["cube"])

    raw = rng.integers(-1000, 1000, (20, 30)).astype(np.int16)
    raw[3, 4] = -32768
    hdu = fits.PrimaryHDU(raw)
    hdu.header["BSCALE"], hdu.header["BZERO"], hdu.header["BLANK"] = 0.5, 1000.0, -32768
    out["scaled"] = tmp_path / "scaled.fits"
    hdu.writeto(out["scaled"])
    out["scaled_raw"] = raw

    out["fz"] = tmp_path / "compressed.fits.fz"
    fits.HDUList(
        [fits.PrimaryHDU(), fits.CompImageHDU(sci, header=tan_header(), name="SCI")]
    ).writeto(out["fz"])

    out["gz"] = tmp_path / "gzipped.fits.gz"
    fits.PrimaryHDU(sci, header=tan_header()).writeto(out["gz"])

    out["sip"] = tmp_path / "sip.fits"
    fits.PrimaryHDU(sci, header=sip_header()).writeto(out["sip"])
    return out


class DurableWrites:
    """Records ``os.fsync`` and ``os.replace`` calls, to check an atomic, durable write."""

    def __init__(self, monkeypatch):
        import os

        self.events: list[tuple] = []
        fsync, replace = os.fsync, os.replace

        def recording_fsync(fd):
            self.events.append(("fsync", os.fstat(fd).st_ino))
            fsync(fd)

        def recording_replace(src, dst):
            self.events.append(("replace", os.stat(src).st_ino, Path(dst).name))
            replace(src, dst)

        monkeypatch.setattr(os, "fsync", recording_fsync)
        monkeypatch.setattr(os, "replace", recording_replace)

    def assert_durable(self, path: Path) -> None:
        """``path`` was renamed into place after its data was fsynced, then its folder was."""
        renamed = [event for event in self.events if event[0] == "replace"]
        assert [event[2] for event in renamed] == [path.name]
        at = self.events.index(renamed[0])
        assert ("fsync", renamed[0][1]) in self.events[:at]  # the data, before the rename
        assert ("fsync", path.parent.stat().st_ino) in self.events[at:]  # then the folder


@pytest.fixture
def durable_writes(monkeypatch) -> DurableWrites:
    """Record fsync/replace calls; ``durable_writes.assert_durable(path)`` checks them."""
    return DurableWrites(monkeypatch)


@pytest.fixture
def notifications() -> list:
    """The napari notifications shown during this test only (napari's own records are global
    to the process)."""
    from napari.utils.notifications import notification_manager

    seen: list = []
    notification_manager.notification_ready.connect(seen.append)
    yield seen
    notification_manager.notification_ready.disconnect(seen.append)

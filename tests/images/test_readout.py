"""The readout model agrees with astropy exactly, in our pixel convention."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS

from conftest import sip_header, tan_header
from napari_imagemarker import read_frame
from napari_imagemarker.images.readout import readout_at


def _random_positions(shape, n=100, seed=0):
    rng = np.random.default_rng(seed)
    rows = rng.uniform(-0.5, shape[0] - 0.5, n)
    cols = rng.uniform(-0.5, shape[1] - 0.5, n)
    return rows, cols


@pytest.mark.parametrize(
    "header",
    [tan_header(), tan_header(crpix=(3.0, 180.5), rot_deg=0.0), sip_header()],
    ids=["rotated-cd-offcentre-crpix", "crpix-near-corner", "tan-sip"],
)
def test_sky_position_equals_astropy_pixel_to_world(tmp_path, header):
    path = tmp_path / "wcs.fits"
    shape = (200, 300)
    fits.PrimaryHDU(np.random.default_rng(2).random(shape), header=header).writeto(path)
    data, meta = read_frame(path)
    reference = WCS(fits.getheader(path))
    rows, cols = _random_positions(shape)
    for row, col in zip(rows, cols):
        r = readout_at(data, (row, col), wcs=meta["wcs"])
        sky = reference.pixel_to_world(col, row)
        assert abs(r.lon - sky.ra.deg) < 1e-9 and abs(r.lat - sky.dec.deg) < 1e-9
        i, j = int(np.floor(row + 0.5)), int(np.floor(col + 0.5))
        assert r.index == (i, j) and r.value == data[i, j]
        assert (r.fits_x, r.fits_y) == (col + 1, row + 1)


def test_spt_tiff_readout_matches_imgmarker_golden_truth(spt_tiffs, golden):
    """Every golden mark on a TIFF: our (row, col) gives the true RA/Dec (imgmarker: 1 px off)."""
    checked = 0
    for mark in golden["marks"]:
        if mark["kind"] != "TIFF":
            continue
        data, meta = read_frame(next(p for p in spt_tiffs if p.name == mark["image"]))
        x, y = mark["true_wcs_pixel"]
        r = readout_at(data, (y, x), wcs=meta["wcs"], rgb=True)
        assert abs(r.lon - mark["true_ra"]) < 1e-9 and abs(r.lat - mark["true_dec"]) < 1e-9
        assert list(r.value) == mark["pixel_value"]
        checked += 1
    assert checked == 6


def test_spt_tiff_random_pixels_agree_with_astropy_on_the_fits_grid(spt_tiffs):
    from napari_imagemarker.images.tiff import header_from_description

    for path in spt_tiffs:
        data, meta = read_frame(path)
        import tifffile

        with tifffile.TiffFile(path) as tif:
            reference = WCS(header_from_description(tif.pages[0].description))
        rows, cols = _random_positions(data.shape[:2], seed=len(path.name))
        for row, col in zip(rows, cols):
            r = readout_at(data, (row, col), wcs=meta["wcs"], rgb=True)
            sky = reference.pixel_to_world(col, row)
            assert abs(r.lon - sky.ra.deg) < 1e-9 and abs(r.lat - sky.dec.deg) < 1e-9


def test_galactic_and_outside_and_no_wcs():
    data = np.arange(12.0).reshape(3, 4)
    r = readout_at(data, (5.0, 1.0))
    assert not r.inside and r.value is None and not r.has_sky
    assert "outside" in r.lines()["Array index"]
    w = WCS(tan_header())
    g = readout_at(data, (1.0, 2.0), wcs=w, frame="galactic")
    sky = w.pixel_to_world(2.0, 1.0).galactic
    assert g.frame == "galactic"
    assert abs(g.lon - sky.l.deg) < 1e-9 and abs(g.lat - sky.b.deg) < 1e-9
    assert readout_at(data, (1.0, 2.0), wcs=w).frame == "icrs"


def test_golden_mef_fits_random_pixels_agree_with_astropy():
    """The rotated, off-centre TAN of imgmarker's synthetic MEF, both image extensions."""
    from conftest import IMGMARKER

    path = IMGMARKER / "images" / "synth_mef_300x200_tan.fits"
    for frame, extname in enumerate(["SCI", "SCI2"]):
        data, meta = read_frame(path, frame)
        reference = WCS(fits.getheader(path, extname))
        rows, cols = _random_positions(data.shape, seed=frame)
        for row, col in zip(rows, cols):
            r = readout_at(data, (row, col), wcs=meta["wcs"])
            sky = reference.pixel_to_world(col, row)
            assert abs(r.lon - sky.ra.deg) < 1e-9 and abs(r.lat - sky.dec.deg) < 1e-9
    # GOLDEN.md mark 13 sits on CRPIX: exactly CRVAL
    r = readout_at(data, (59.0, 99.0), wcs=meta["wcs"])
    assert (r.lon, r.lat) == pytest.approx((150.1, 2.2), abs=1e-12)


def test_latitude_first_wcs_gives_ra_dec_in_order(tmp_path):
    """A WCS with CTYPE1 = DEC--TAN: the readout still shows (RA, Dec), as astropy's SkyCoord."""
    header = tan_header()
    header["CTYPE1"], header["CTYPE2"] = "DEC--TAN", "RA---TAN"
    header["CRVAL1"], header["CRVAL2"] = 2.2, 150.1
    path = tmp_path / "swapped.fits"
    fits.PrimaryHDU(np.zeros((50, 60), np.float32), header=header).writeto(path)
    data, meta = read_frame(path)
    sky = WCS(header).pixel_to_world(12.5, 30.0)
    r = readout_at(data, (30.0, 12.5), wcs=meta["wcs"])
    assert abs(r.lon - sky.ra.deg) < 1e-9 and abs(r.lat - sky.dec.deg) < 1e-9

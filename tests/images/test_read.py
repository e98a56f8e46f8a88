"""The readers, through the public API, on real and generated files."""

from __future__ import annotations

import gzip
import os
import warnings
from pathlib import Path

import astropy
import numpy as np
import pytest
import tifffile
from astropy.io import fits

from napari_imagemarker import image_frames, read_frame, read_image
from napari_imagemarker.images import fits as fits_io


def _names(layers):
    return [kw["name"] for _, kw, _ in layers]


def test_mef_gives_one_layer_per_image_hdu_and_skips_tables(fits_files):
    layers = read_image(fits_files["mef"])
    assert _names(layers) == ["mef.fits [SCI]", "mef.fits [ERR]", "mef.fits [DQ]"]
    data, kw, kind = layers[0]
    assert kind == "image"
    assert kw["colormap"] == "gray"
    assert data.dtype.kind == "f" and data.shape == (50, 80)
    meta = kw["metadata"]
    assert meta["hdu"] == 1 and meta["frame"] == 0 and meta["y_up"] is True
    assert meta["header"]["EXTNAME"] == "SCI"
    assert meta["path"] == str(fits_files["mef"])
    assert meta["wcs"].naxis == 2
    assert "wcs" not in layers[2][1]["metadata"]  # DQ has no WCS keywords
    with fits.open(fits_files["mef"]) as hdul:
        np.testing.assert_array_equal(data, hdul["SCI"].data)


def test_float_data_stays_float_and_is_memory_mapped(fits_files):
    data, _ = read_frame(fits_files["mef"], 0)
    assert data.dtype == np.dtype(">f4")  # never rescaled to 8/16 bit
    assert _memory_mapped(data)


def _memory_mapped(array) -> bool:
    import mmap

    while array is not None:
        if isinstance(array, (np.memmap, mmap.mmap)):
            return True
        array = getattr(array, "base", None)
    return False


def test_contrast_limits_are_zscale_of_the_data(fits_files):
    from astropy.visualization import ZScaleInterval

    (data, kw, _), *_ = read_image(fits_files["mef"])
    lo, hi = ZScaleInterval().get_limits(np.asarray(data, float))
    assert kw["contrast_limits"] == pytest.approx((lo, hi), rel=0.05)


def test_cube_stays_3d_with_a_2d_celestial_wcs(fits_files):
    [(data, kw, _)] = read_image(fits_files["cube"])
    assert data.shape == (4, 30, 40)
    assert kw["axis_labels"] == ("plane", "y", "x")
    wcs = kw["metadata"]["wcs"]
    assert wcs.naxis == 2 and wcs.has_celestial


def test_bscale_bzero_applied_and_blank_is_nan(fits_files):
    data, _ = read_frame(fits_files["scaled"])
    raw = fits_files["scaled_raw"]
    with fits.open(fits_files["scaled"], do_not_scale_image_data=True) as hdul:
        np.testing.assert_array_equal(hdul[0].data, raw)
    assert data.dtype == np.float32
    assert np.isnan(data[3, 4])
    good = raw != -32768
    np.testing.assert_array_equal(data[good], (raw[good] * 0.5 + 1000.0).astype(np.float32))


def test_large_scaled_image_is_lazy_and_equal(tmp_path, monkeypatch):
    raw = np.arange(300 * 200, dtype=np.int16).reshape(300, 200) - 30000
    hdu = fits.PrimaryHDU(raw)
    hdu.header["BZERO"], hdu.header["BSCALE"], hdu.header["BLANK"] = 32768.0, 2.0, -30000
    path = tmp_path / "big.fits"
    hdu.writeto(path)
    monkeypatch.setattr(fits_io, "LAZY_SCALING_BYTES", 1000)  # treat this file as "large"
    data, _ = read_frame(path)
    assert hasattr(data, "compute") and data.dtype == np.float32
    expected = raw.astype(np.float32) * 2 + 32768
    expected[0, 0] = np.nan
    np.testing.assert_array_equal(np.asarray(data), expected)


def test_compressed_and_gzipped_fits_detected_by_content(fits_files, tmp_path):
    [(fz, kw, _)] = read_image(fits_files["fz"])
    assert kw["name"] == "compressed.fits.fz [SCI]"
    assert "wcs" in kw["metadata"]
    [(gz, _, _)] = read_image(fits_files["gz"])
    np.testing.assert_allclose(fz, gz, rtol=0, atol=np.ptp(gz) / 100)  # lossy quantisation
    # gzip is found by content, whatever the name says
    disguised = tmp_path / "really_gzipped.fits"
    disguised.write_bytes(Path(fits_files["gz"]).read_bytes())
    [(same, _, _)] = read_image(disguised)
    np.testing.assert_array_equal(same, gz)


def test_degenerate_leading_axes_are_dropped(tmp_path):
    path = tmp_path / "radio.fits"
    fits.PrimaryHDU(np.ones((1, 1, 12, 10), np.float32)).writeto(path)
    [(data, _, _)] = read_image(path)
    assert data.shape == (12, 10)


# --- TIFF and PNG ----------------------------------------------------------------------------


def test_spt_tiff_rows_flipped_once_and_wcs_from_tag_270(spt_tiffs, golden):
    path = spt_tiffs[0]
    frame0, _ = image_frames(path)
    assert frame0.rgb and frame0.y_up and frame0.shape == (512, 512, 3)
    data, meta = read_frame(path)
    stored = tifffile.imread(path, key=0)
    np.testing.assert_array_equal(data, stored[::-1])
    # GOLDEN.md mark 1: displayed (x, y) = (100, 50) -> our (row, col) = (461, 100)
    ra, dec = meta["wcs"].pixel_to_world_values(100, 461)
    mark = next(m for m in golden["marks"] if m["image"] == path.name and m["col"] == 100)
    assert ra == pytest.approx(mark["true_ra"], abs=1e-9)
    assert dec == pytest.approx(mark["true_dec"], abs=1e-9)


def test_multipage_tiff_is_a_page_stack(spt_tiffs):
    [(data, kw, _)] = read_image(spt_tiffs[1])
    assert data.shape == (2, 512, 512, 3) and kw["rgb"] is True
    assert kw["axis_labels"] == ("page", "y", "x")
    assert kw["metadata"]["frames"] == 2


def test_tiff_with_plain_description_has_no_wcs(tmp_path):
    path = tmp_path / "plain.tif"
    img = np.arange(12 * 8, dtype=np.uint16).reshape(12, 8)
    tifffile.imwrite(path, img, description="microscope image, exposure = 10 ms")
    [(data, kw, _)] = read_image(path)
    assert "wcs" not in kw["metadata"] and kw["metadata"]["y_up"] is False
    np.testing.assert_array_equal(data, img)  # as stored, not flipped


@pytest.mark.parametrize(
    "options",
    [
        {"compression": "jpeg"},  # stored as YCbCr, decoded to RGB
        {"photometric": "rgb", "planarconfig": "separate"},
        {"photometric": "rgb"},
    ],
    ids=["jpeg-ycbcr", "planar", "contig"],
)
def test_rgb_tiff_variants_read_as_rgb(tmp_path, options):
    rows, cols = np.mgrid[0:40, 0:30]
    rgb = np.stack([rows * 6, cols * 8, 255 - rows * 3], axis=-1).astype(np.uint8)
    path = tmp_path / "colour.tif"
    planar = options.get("planarconfig") == "separate"
    tifffile.imwrite(path, np.moveaxis(rgb, -1, 0) if planar else rgb, **options)
    [frame] = image_frames(path)
    assert frame.rgb and frame.shape == (40, 30, 3)
    [(data, kw, _)] = read_image(path)
    assert kw["rgb"] and data.shape == (40, 30, 3)
    if "compression" not in options:
        np.testing.assert_array_equal(data, rgb)
    else:  # lossy, but the same picture
        assert np.abs(data.astype(int) - rgb).mean() < 3


def test_tiff_wcs_applies_only_to_pages_of_the_grid_it_describes(tmp_path, spt_tiffs):
    import tifffile as tf

    with tf.TiffFile(spt_tiffs[0]) as tif:
        cards = tif.pages[0].description
        first = tif.pages[0].asarray()
    path = tmp_path / "with_thumbnail.tif"
    thumb = first[::4, ::4]
    with tf.TiffWriter(path) as tif:
        tif.write(first, description=cards, photometric="rgb")
        tif.write(thumb, photometric="rgb")
    page0, page1 = image_frames(path)
    assert page0.wcs is not None and page0.y_up
    assert page1.wcs is None and not page1.y_up
    data1, _ = read_frame(path, 1)
    np.testing.assert_array_equal(data1, thumb)  # as stored: not flipped


def test_tiff_pages_of_different_shapes_are_separate_layers(tmp_path):
    path = tmp_path / "pages.tif"
    with tifffile.TiffWriter(path) as tif:
        tif.write(np.zeros((10, 10), np.uint8))
        tif.write(np.ones((5, 7), np.uint8))
    assert _names(read_image(path)) == ["pages.tif [page 0]", "pages.tif [page 1]"]


def test_png_has_no_wcs_and_is_as_stored():
    path = (
        Path(__file__).parents[1]
        / "data"
        / "imgmarker"
        / "images"
        / "synth_gray8_120x80_nowcs.png"
    )
    [(data, kw, _)] = read_image(path)
    assert data.shape == (80, 120) and data.dtype == np.uint8
    assert data[10, 20] == data[60, 100] == data[0, 0] == data[79, 119] == 255
    assert data[5, 7] == 20 + 7 + 5 // 2
    assert "wcs" not in kw["metadata"]


# --- bad input -------------------------------------------------------------------------------


def _bad_files(tmp_path, fits_files):
    empty = tmp_path / "empty.fits"
    empty.write_bytes(b"")
    truncated = tmp_path / "truncated.fits"
    full = Path(fits_files["mef"]).read_bytes()
    truncated.write_bytes(full[: 2880 * 2 + 100])  # headers of HDU 0/1, part of SCI data
    tables = tmp_path / "tables.fits"
    fits.HDUList(
        [fits.PrimaryHDU(), fits.BinTableHDU.from_columns([fits.Column("a", "E", array=[1.0])])]
    ).writeto(tables)
    oned = tmp_path / "spectrum.fits"
    fits.PrimaryHDU(np.arange(10.0)).writeto(oned)
    corrupt_tif = tmp_path / "corrupt.tif"
    corrupt_tif.write_bytes(b"II*\x00" + os.urandom(200))
    text = tmp_path / "notes.fits"
    text.write_text("this is not a FITS file\n" * 20)
    return {
        empty: "empty",
        truncated: "",
        tables: "no 2-D or 3-D image",
        oned: "1-D",
        corrupt_tif: "TIFF",
        text: "not a FITS file",
    }


def test_bad_files_raise_clear_errors_naming_the_file(tmp_path, fits_files):
    for path, words in _bad_files(tmp_path, fits_files).items():
        with pytest.raises((ValueError, OSError)) as info:
            read_image(path)
        message = str(info.value)
        assert str(path) in message, message
        assert words in message, message
        assert "\n" not in message.strip()


def test_every_fits_file_in_astropys_test_data_reads_or_fails_cleanly():
    folder = Path(astropy.__file__).parent / "io" / "fits" / "tests" / "data"
    files = sorted(p for p in folder.iterdir() if p.name.lower().endswith((".fits", ".fz", ".gz")))
    assert len(files) > 20
    read, refused = 0, 0
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for path in files:
            try:
                layers = read_image(path)
            except (ValueError, OSError) as err:
                assert str(path) in str(err)
                refused += 1
                continue
            for data, kw, _ in layers:
                assert np.asarray(data[(0,) * (data.ndim - 2)]).ndim == 2
                assert kw["name"].startswith(path.name)
            read += 1
    assert read > 10 and refused > 0


def test_gzip_of_garbage_is_a_clean_error(tmp_path):
    path = tmp_path / "garbage.fits.gz"
    path.write_bytes(gzip.compress(b"not fits at all" * 100))
    with pytest.raises((ValueError, OSError), match=r"garbage\.fits\.gz"):
        read_image(path)


def _bad_wcs_header() -> fits.Header:
    header = fits.Header()
    header["CTYPE1"], header["CTYPE2"] = "RA---XYZ", "DEC--XYZ"  # no such projection
    header["CRVAL1"], header["CRVAL2"] = 10.0, 20.0
    header["CDELT1"], header["CDELT2"] = -1e-4, 1e-4
    return header


def test_a_wcs_astropy_cannot_use_is_dropped_with_a_warning_naming_the_file(tmp_path):
    path = tmp_path / "badwcs.fits"
    fits.PrimaryHDU(np.ones((6, 5), np.float32), header=_bad_wcs_header()).writeto(path)
    with pytest.warns(fits_io.WCSUnusableWarning, match=r"badwcs\.fits \[0\]: astropy cannot"):
        [(data, kwargs, _)] = read_image(path)
    assert data.shape == (6, 5) and "wcs" not in kwargs["metadata"]
    assert kwargs["metadata"]["header"]["CTYPE1"] == "RA---XYZ"  # the header is kept


def test_a_tiff_whose_fits_cards_do_not_parse_warns_and_opens_without_wcs(tmp_path):
    path = tmp_path / "cards.tif"
    cards = "SIMPLE  =                    T" + " " * 50 + "CONTINUE  'abc'" + " " * 65
    tifffile.imwrite(path, np.zeros((4, 5), np.uint8), description=cards)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        [(data, kwargs, _)] = read_image(path)
    assert data.shape == (4, 5) and "wcs" not in kwargs["metadata"]
    messages = [str(w.message) for w in caught if issubclass(w.category, UserWarning)]
    assert any("cards.tif" in m and "without sky coordinates" in m for m in messages), messages


def test_a_wcs_frame_astropy_does_not_know_is_taken_as_icrs_with_a_warning():
    from astropy.wcs import WCS

    from napari_imagemarker.wcs import wcs_frame

    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["XLON-TAN", "XLAT-TAN"]
    with pytest.warns(UserWarning, match="celestial frame cannot be determined"):
        assert wcs_frame(wcs) == "icrs"


def test_a_tiff_whose_wcs_cards_astropy_cannot_use_warns_naming_the_file(tmp_path):
    path = tmp_path / "xyz.tif"
    cards = "".join(f"{card.image}" for card in _bad_wcs_header().cards)
    tifffile.imwrite(path, np.zeros((4, 5), np.uint8), description=cards)
    with pytest.warns(fits_io.WCSUnusableWarning, match=r"xyz\.tif: astropy cannot use"):
        [(_, kwargs, _)] = read_image(path)
    assert "wcs" not in kwargs["metadata"]

"""Catalogs without Qt: reading every format, finding the columns, placing rows on images.

The truth comes from the golden files (GOLDEN.md, expected.json: where Image Marker's
TEST_catalog rows and the golden marks really are) and from small tables written here with
astropy and regions, whose pixel positions are known by construction.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits
from astropy.table import MaskedColumn, Table
from astropy.wcs import WCS

from conftest import IMGMARKER, tan_header
from napari_imagemarker.catalogs.build import make_catalog
from napari_imagemarker.catalogs.catalog import (
    AmbiguousColumnsError,
    CatalogError,
    detect_columns,
    parse_angles,
    read_table,
)
from napari_imagemarker.images.frames import FrameInfo
from napari_imagemarker.images.read import image_frames

IMAGES = IMGMARKER / "images"
IMPORTS = IMGMARKER / "savedir" / "imports"
MARK_FILES = IMGMARKER / "mark_files"
T0000 = IMAGES / "SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif"
FITS_IMAGE = IMAGES / "synth_mef_300x200_tan.fits"
PNG = IMAGES / "synth_gray8_120x80_nowcs.png"


def frame_of(path: Path, index: int = 0) -> FrameInfo:
    return image_frames(path)[index]


@pytest.fixture(scope="module")
def tan_frame() -> FrameInfo:
    """A 200 x 300 y-up frame with the golden FITS's rotated 1"/px TAN WCS (no file)."""
    return FrameInfo(
        "synthetic.fits", 0, "SCI", (200, 300), y_up=True, hdu=0, wcs=WCS(tan_header())
    )


@pytest.fixture(scope="module")
def truth(tan_frame) -> Table:
    """Six sources at known (row, col) of ``tan_frame``, with RA/Dec from its WCS, two of
    them off the image, plus a magnitude, a class and a name column."""
    row = np.array([10.0, 59.0, 150.25, 199.0, -30.0, 100.0])
    col = np.array([20.0, 99.0, 60.5, 0.0, 50.0, 400.0])
    ra, dec = tan_frame.wcs.pixel_to_world_values(col, row)
    return Table(
        {
            "name": [f"src{i}" for i in range(6)],
            "RAJ2000": ra,
            "DEJ2000": dec,
            "mag": [18.5, 19.0, 20.25, 21.0, 17.0, 16.0],
            "class": ["star", "galaxy", "galaxy", "qso", "star", "star"],
            "true_row": row,
            "true_col": col,
        }
    )


def assert_on(placement, catalog, rows):
    """The placed rows are ``rows`` of the catalog, at their true (row, col)."""
    assert list(placement.rows) == list(rows)
    table = catalog.table
    np.testing.assert_allclose(placement.row, np.asarray(table["true_row"])[rows], atol=1e-6)
    np.testing.assert_allclose(placement.col, np.asarray(table["true_col"])[rows], atol=1e-6)


# -- Image Marker's files ----------------------------------------------------------------------


def test_image_marker_catalog_lands_on_the_true_pixel_of_each_spt_image(golden):
    """TEST_catalog.csv (label, ra, dec, size(arcsec)): each row on its cluster, at the
    true position of GOLDEN.md (our TIFF rows are flipped: row = 511 - stored row)."""
    catalog = make_catalog(IMPORTS / "TEST_catalog.csv")
    assert catalog.columns.ra == "ra" and catalog.columns.size == "size(arcsec)"
    for expected in golden["imports"]["catalogue_placement"]:
        placement = catalog.place_frame(frame_of(IMAGES / expected["image"]))
        assert len(placement) == 1
        row = placement.rows[0]
        assert catalog.table["label"][row] == expected["label"]
        assert placement.col[0] == pytest.approx(expected["true_col"], abs=5e-4)
        assert placement.row[0] == pytest.approx(511 - expected["true_row"], abs=5e-4)
        # 5 arcsec at 0.262"/px
        assert placement.size[0] == pytest.approx(5 / 0.262, rel=1e-3)


def our_pixel(mark: dict) -> tuple[float, float]:
    """A golden mark's (row, col) in our arrays (TIFF rows are flipped on reading)."""
    if mark.get("true_wcs_pixel"):
        x, y = mark["true_wcs_pixel"]
        return float(y), float(x)
    return float(mark["row"]), float(mark["col"])


def test_golden_marks_true_sky_positions_land_on_their_pixels(golden):
    """A catalog of the golden marks' true RA/Dec, placed on each image with a WCS, puts
    every mark of that image on its pixel - the rotated FITS and the STIFF TIFFs - and no
    other."""
    marks = [m for m in golden["marks"] if m.get("true_ra") is not None]
    table = Table({"RA": [m["true_ra"] for m in marks], "DEC": [m["true_dec"] for m in marks]})
    catalog = make_catalog(table)
    for name in sorted({m["image"] for m in marks}):
        placement = catalog.place_frame(frame_of(IMAGES / name))
        mine = [i for i, m in enumerate(marks) if m["image"] == name]
        assert list(placement.rows) == mine
        expected = np.array([our_pixel(marks[i]) for i in mine])
        np.testing.assert_allclose(placement.row, expected[:, 0], atol=1e-6)
        np.testing.assert_allclose(placement.col, expected[:, 1], atol=1e-6)


def test_image_marker_xy_file_uses_display_pixels(golden):
    """test_xy_nosize.txt holds display pixels (top-left, y down): on the y-up TIFF our
    row is 511 - y; on the PNG row = y; on the 300 x 200 FITS none falls inside."""
    catalog = make_catalog(IMPORTS / "test_xy_nosize.txt")
    assert catalog.pixel_origin == "imgmarker"
    x = np.array([325, 199, 311, 351, 375.0])
    y = np.array([182, 271, 401, 178, 141.0])
    on_tiff = catalog.place_frame(frame_of(T0000))
    np.testing.assert_array_equal(on_tiff.col, x)
    np.testing.assert_array_equal(on_tiff.row, 511 - y)
    assert len(catalog.place_frame(frame_of(FITS_IMAGE))) == 0
    assert len(catalog.place_frame(frame_of(PNG))) == 0  # 120 x 80: all outside


@pytest.mark.parametrize(
    "name", ["xy_pixelsize.csv", "xy_pixelsize_pipe.txt", "radec_pixelsize.csv"]
)
def test_mark_files_image_marker_rejects_load_with_their_pixel_sizes(name):
    """Image Marker rejects its own example files with a size(px) column (GOLDEN.md);
    they load here, with the sizes in pixels, at the right place on the TIFF."""
    catalog = make_catalog(MARK_FILES / name)
    placement = catalog.place_frame(frame_of(T0000))
    assert len(placement) == len(catalog) >= 2
    np.testing.assert_array_equal(placement.size, 15.0)
    if catalog.has_sky:  # its first row is TEST_catalog's BCG on T0000
        assert (placement.row[0], placement.col[0]) == pytest.approx(
            (511 - 401.877, 330.084), abs=5e-4
        )
    else:  # Brightest Cluster Galaxy at display (325, 182)
        assert (placement.row[0], placement.col[0]) == (511 - 182, 325)


def test_image_marker_marks_file_places_each_mark_on_its_own_image(golden):
    """tester_marks.csv names its images: each mark only on its image, at its golden
    pixel, from the exact display x/y (not from Image Marker's 1-pixel-off RA/Dec); the
    "seen, nothing marked" row (``None,None,nan,nan,nan,nan``) is not a mark, and not a
    skipped bad row either."""
    catalog = make_catalog(IMGMARKER / "savedir" / "tester_marks.csv")
    assert catalog.prefer == "pixel"
    assert catalog.skipped == {}
    assert "15 rows. " in catalog.summary() and "skipped" not in catalog.summary()
    assert "SPT-CLJ2347-5101_4.39_sigma_grz_cont.tif" not in set(catalog.table["image"])
    for name in sorted({m["image"] for m in golden["marks"]}):
        marks = [m for m in golden["marks"] if m["image"] == name]
        placement = catalog.place_frame(frame_of(IMAGES / name))
        assert placement.n_other_images == len(catalog) - len(marks)
        got = sorted(zip(placement.row, placement.col, strict=True))
        assert got == sorted(our_pixel(m) for m in marks)


def test_bad_rows_of_an_image_marker_marks_file_are_still_skipped_and_said(tmp_path):
    """A mark with no position is a bad row, unlike a seen image's ``None`` row."""
    path = tmp_path / "tester_marks.csv"
    text = (IMGMARKER / "savedir" / "tester_marks.csv").read_text()
    path.write_text(text + "2026-11-21,synth_gray8_120x80_nowcs.png,BCG,lost,nan,nan,nan,nan\n")
    catalog = make_catalog(path)
    assert catalog.skipped == {"with no position (empty or nan)": 1}
    assert "16 rows. " in catalog.summary()
    assert "1 row skipped (1 with no position (empty or nan))" in catalog.summary()


# -- every format ------------------------------------------------------------------------------


def _sexagesimal(table: Table) -> Table:
    coord = SkyCoord(table["RAJ2000"], table["DEJ2000"], unit="deg")
    out = table.copy()
    out["RAJ2000"] = coord.ra.to_string(unit=u.hourangle, sep=":", precision=4, pad=True)
    out["DEJ2000"] = coord.dec.to_string(sep=":", precision=3, alwayssign=True, pad=True)
    return out


@pytest.mark.parametrize(
    ("suffix", "writer"),
    [
        (".fits", lambda t, p: t.write(p, format="fits")),
        (".xml", lambda t, p: t.write(p, format="votable")),
        (".tbl", lambda t, p: t.write(p, format="ascii.ipac")),
        (".ecsv", lambda t, p: t.write(p, format="ascii.ecsv")),
        (".csv", lambda t, p: t.write(p, format="ascii.csv")),
        (".dat", lambda t, p: t.write(p, format="ascii.basic")),
        (".txt", lambda t, p: t.write(p, format="ascii.commented_header")),
        ("_sexagesimal.csv", lambda t, p: _sexagesimal(t).write(p, format="ascii.csv")),
    ],
)
def test_every_table_format_places_the_same_rows(tmp_path, truth, tan_frame, suffix, writer):
    path = tmp_path / f"cat{suffix}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        writer(truth, path)
    catalog = make_catalog(path)
    assert (catalog.columns.ra, catalog.columns.dec) == ("RAJ2000", "DEJ2000")
    assert catalog.skipped == {}
    placement = catalog.place_frame(tan_frame)
    assert list(placement.rows) == [0, 1, 2, 3]
    assert placement.n_outside == 2
    tol = 2e-3 if "sexagesimal" in suffix else 1e-6  # 1e-4 s of RA is 1.5e-3" at 1"/px
    np.testing.assert_allclose(placement.row, truth["true_row"][:4], atol=tol)
    np.testing.assert_allclose(placement.col, truth["true_col"][:4], atol=tol)
    features = catalog.features(placement.rows)
    assert list(features["name"]) == ["src0", "src1", "src2", "src3"]
    assert list(features["class"]) == ["star", "galaxy", "galaxy", "qso"]
    np.testing.assert_allclose(features["mag"], [18.5, 19.0, 20.25, 21.0])
    # native byte order (FITS is big-endian), which napari's feature table needs
    assert all(features[c].to_numpy().dtype.isnative for c in ("mag", "true_row"))
    features.iloc[np.zeros(3, dtype=int)]  # what napari does when points are added


def test_ds9_regions_image_and_sky(tmp_path, tan_frame):
    """A .reg file written by regions: image regions 1-based in the file, 0-based here;
    circle radii become diameters (pixels, or arcsec converted with the pixel scale); sky
    regions in FK5 or galactic land on their true pixel (FK5 is not taken for ICRS: they
    differ by 0.03 px here)."""
    from regions import (
        CirclePixelRegion,
        CircleSkyRegion,
        PixCoord,
        PointPixelRegion,
        Regions,
    )

    pix = Regions(
        [
            CirclePixelRegion(PixCoord(10.0, 20.0), radius=4.0),
            PointPixelRegion(PixCoord(100.0, 50.0)),
        ]
    )
    pix[0].visual["color"] = "red"
    pix[1].meta["text"] = "knot"
    pix.write(tmp_path / "pix.reg", format="ds9")
    assert "circle(11" in (tmp_path / "pix.reg").read_text()  # DS9 counts from 1
    catalog = make_catalog(tmp_path / "pix.reg")
    placement = catalog.place_frame(tan_frame)
    np.testing.assert_allclose(placement.row, [20.0, 50.0])
    np.testing.assert_allclose(placement.col, [10.0, 100.0])
    assert placement.size[0] == pytest.approx(8.0)
    features = catalog.features(placement.rows)
    assert list(features["shape"]) == ["circle", "point"]
    assert list(features["color"]) == ["red", ""] and list(features["text"]) == ["", "knot"]

    ra, dec = tan_frame.wcs.pixel_to_world_values([30.0, 250.0], [40.0, 150.0])
    sky = Regions(
        [
            CircleSkyRegion(SkyCoord(ra[0], dec[0], unit="deg").fk5, 3 * u.arcsec),
            CircleSkyRegion(SkyCoord(ra[1], dec[1], unit="deg").galactic, 0.1 * u.arcmin),
        ]
    )
    sky.write(tmp_path / "sky.reg", format="ds9", precision=10)
    catalog = make_catalog(tmp_path / "sky.reg")
    placement = catalog.place_frame(tan_frame)
    np.testing.assert_allclose(placement.col, [30.0, 250.0], atol=1e-4)
    np.testing.assert_allclose(placement.row, [40.0, 150.0], atol=1e-4)
    np.testing.assert_allclose(placement.size, [6.0, 12.0], rtol=1e-6)  # 1"/px


MIXED_REGIONS = (
    "# Region file format: DS9 version 4.1\n"
    "global color=green\n"
    "image\n"
    "circle(11,21,4) # color=red\n"
    "point(101,51) # text={knot}\n"
    "polygon(10,10,20,10,20,20)\n"
    "# text(100,100) text={hello}\n"
    "text(100,100) text={hello}\n"
)


def test_ds9_text_and_polygon_regions_are_skipped_and_said(tmp_path, tan_frame):
    """Text regions (also DS9's commented ``# text(...)``) and polygons are not drawn as
    markers (they once became rings at (99, 99) and at the mean vertex, silently): they are
    skipped, counted and named with their lines, as when reading the file as marks."""
    path = tmp_path / "mixed.reg"
    path.write_text(MIXED_REGIONS)
    catalog = make_catalog(path)
    why = "with no single position: 1 polygon (line 6), 2 text (lines 7, 8)"
    assert catalog.skipped == {why: 3}
    assert catalog.summary().endswith(f"5 rows. x/y from columns x, y (0-based: DS9's 1 "
                                      f"already taken off by regions). sizes from column size "
                                      f"(pix). 3 rows skipped (3 {why}).")  # fmt: skip
    placement = catalog.place_frame(tan_frame)
    assert list(placement.rows) == [0, 1]
    np.testing.assert_allclose(placement.row, [20.0, 50.0])
    np.testing.assert_allclose(placement.col, [10.0, 100.0])
    assert list(catalog.features(placement.rows)["shape"]) == ["circle", "point"]
    # the marks reader says the same of the same file
    from napari_imagemarker.marks.ds9 import read as read_ds9_marks

    with pytest.warns(UserWarning, match=r"1 polygon \(line 6\); 2 text \(lines 7, 8\)"):
        assert len(read_ds9_marks(path)) == 2


def test_ds9_file_of_text_regions_only_has_no_usable_row(tmp_path):
    path = tmp_path / "labels.reg"
    path.write_text("image\ntext(10,10) text={a}\ntext(20,20) text={b}\n")
    with pytest.raises(CatalogError, match=r"labels\.reg: no row has a usable position") as info:
        make_catalog(path)
    assert "2 rows skipped (2 with no single position: 2 text (lines 2, 3))" in str(info.value)


def test_our_marks_csv_is_recognised_whatever_its_suffix(tmp_path, tan_frame):
    """A marks CSV counting from 1 (its comment line says so), saved as .csv or .txt."""
    from napari_imagemarker.marks.io import write_marks

    marks = Table({"image": ["synthetic.fits"], "group": [2], "x": [10.0], "y": [20.0]})
    for name in ("marks.csv", "marks.txt"):
        write_marks(marks, tmp_path / name, format="csv", pixel_origin=1)
        placement = make_catalog(tmp_path / name).place_frame(tan_frame)
        assert (placement.row[0], placement.col[0]) == (20.0, 10.0)


def test_a_registered_catalog_format_is_chosen_by_suffix_and_content(tmp_path, tan_frame):
    from napari_imagemarker.catalogs import read as catalog_files

    def read_pipes(path):
        rows = [line.split("|") for line in path.read_text().split()]
        return Table(rows=[[float(v) for v in r] for r in rows[1:]], names=rows[0])

    pipes = catalog_files.CatalogFormat(
        "pipes", (".txt",), read_pipes, identify=lambda p: p.read_text().startswith("x|y")
    )
    try:
        catalog_files.register_format(pipes, first=True)
        (tmp_path / "p.txt").write_text("x|y\n3|4\n")
        (tmp_path / "q.txt").write_text("x,y\n5,6\n")
        assert make_catalog(tmp_path / "p.txt").place_frame(tan_frame).col[0] == 3.0
        assert make_catalog(tmp_path / "q.txt").place_frame(tan_frame).col[0] == 5.0  # csv
        with pytest.raises(CatalogError, match=r"q.txt: cannot be read as a pipes table"):
            read_table(tmp_path / "q.txt", format="pipes")  # format= is obeyed
    finally:
        catalog_files.FORMATS.unregister("pipes")
    assert "pipes" not in catalog_files.FORMATS


def test_sextractor_catalog_counts_pixels_from_one(tmp_path):
    text = (
        "#   1 NUMBER                 Running object number\n"
        "#   2 X_IMAGE                Object position along x                   [pixel]\n"
        "#   3 Y_IMAGE                Object position along y                   [pixel]\n"
        "#   4 MAG_AUTO               Kron-like elliptical aperture magnitude   [mag]\n"
        "         1     11.000     21.000  -9.1\n"
        "         2    101.500     51.000  -8.0\n"
    )
    path = tmp_path / "test.cat"
    path.write_text(text)
    catalog = make_catalog(path, format="ascii.sextractor")
    assert catalog.pixel_origin == 1
    frame = FrameInfo("png.png", 0, "", (80, 120))
    placement = catalog.place_frame(frame)
    np.testing.assert_allclose(placement.col, [10.0, 100.5])
    np.testing.assert_allclose(placement.row, [20.0, 50.0])
    # the caller's choice wins over the guess
    zero = make_catalog(path, format="ascii.sextractor", pixel_origin=0).place_frame(frame)
    np.testing.assert_allclose(zero.col, [11.0, 101.5])


# -- columns and values -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("ra", "dec"),
    [
        ("ra", "dec"),
        ("RA", "DEC"),
        ("Ra", "Dec"),
        ("RAJ2000", "DEJ2000"),
        ("_RAJ2000", "_DEJ2000"),
        ("RA_ICRS", "DE_ICRS"),
        ("ALPHA_J2000", "DELTA_J2000"),
        ("ALPHAWIN_J2000", "DELTAWIN_J2000"),
        ("ra_deg", "dec_deg"),
        ("RA_BCG", "DEC_BCG"),  # not a known pair: the only RA-like and Dec-like names
    ],
)
def test_coordinate_columns_are_found_by_common_names(ra, dec):
    table = Table({"id": [1], ra: [150.0], dec: [2.0], "e_" + ra: [0.1], "pmRA": [3.0]})
    guess = detect_columns(table)
    assert (guess.ra, guess.dec) == (ra, dec)


def test_vizier_table_prefers_the_computed_degree_columns():
    table = Table(
        {"_RAJ2000": [150.0], "_DEJ2000": [2.0], "RAJ2000": ["10 00 00"], "DEJ2000": ["+02"]}
    )
    guess = detect_columns(table)
    assert (guess.ra, guess.dec) == ("RAJ2000", "DEJ2000")
    assert set(guess.candidates["ra"]) == {"_RAJ2000", "RAJ2000"}
    # both pairs give the same sky position
    catalog = make_catalog(table)
    assert catalog.ra[0] == pytest.approx(150.0) and catalog.dec[0] == pytest.approx(2.0)


def test_ambiguous_columns_ask_the_user():
    table = Table({"RA_BCG": [1.0], "RA_XRAY": [1.0], "DEC_BCG": [2.0], "DEC_XRAY": [2.0]})
    with pytest.raises(AmbiguousColumnsError, match="RA_BCG, RA_XRAY") as info:
        make_catalog(table, name="clusters")
    assert info.value.candidates["ra"] == ["RA_BCG", "RA_XRAY"]
    # naming them settles it, in any case
    catalog = make_catalog(table, ra="ra_xray", dec="DEC_XRAY")
    assert catalog.columns.ra == "RA_XRAY"


@pytest.mark.parametrize(
    ("text", "hours", "degrees"),
    [
        ("10:00:24.0", True, 150.1),
        ("10 00 24", True, 150.1),
        ("10h00m24s", None, 150.1),
        ("10h00.4m", None, 150.1),
        ("150.1", True, 150.1),
        ("+02:12:00", False, 2.2),
        ("-02d12m00s", None, -2.2),
        ("-00:30:00", False, -0.5),
        ("-0 30 0.0", False, -0.5),
        ("+2°12'00\"", None, 2.2),
    ],
)
def test_sexagesimal_and_decimal_text(text, hours, degrees):
    values, _ = parse_angles(np.array([text, text]), hours=hours)
    np.testing.assert_allclose(values, degrees, atol=1e-9)


@pytest.mark.parametrize("dtype", [str, object])
def test_sexagesimal_column_with_gaps_and_garbage(dtype):
    """A column as read from a file (numpy text, or pandas' Python strings with NaN)."""
    values = ["-00:30:00", "", "garbage", "+01:00:00", " -01 00 00", "12:61:00", "nan"]
    column = np.array(values, dtype=dtype)
    if dtype is object:
        column[1] = np.nan
    degrees, how = parse_angles(column, hours=False)
    np.testing.assert_allclose(degrees, [-0.5, np.nan, np.nan, 1.0, -1.0, np.nan, np.nan])
    assert how == "sexagesimal degrees"


def test_angle_units_are_honoured():
    column = MaskedColumn([10.0, 12.0, 0.0], unit=u.hourangle, mask=[False, False, True])
    values, how = parse_angles(column)
    assert values[:2] == pytest.approx([150.0, 180.0])
    assert np.isnan(values[2])
    assert "degrees" in how


def test_ra_from_minus_180_to_180_is_wrapped(tan_frame, truth):
    table = truth.copy()
    table["RAJ2000"] = [150.0, -10.0, 20.0, -179.0, 0.0, 1.0]
    catalog = make_catalog(table)
    assert catalog.ra[1] == pytest.approx(350.0) and catalog.skipped == {}
    assert "-180° to 180°" in catalog.summary()


# -- bad input -----------------------------------------------------------------------------


def test_bad_rows_are_skipped_and_counted(tmp_path, tan_frame, truth):
    path = tmp_path / "bad.csv"
    good = truth[:3]
    lines = ["name,ra,dec"]
    lines += [f"{r['name']},{float(r['RAJ2000'])!r},{float(r['DEJ2000'])!r}" for r in good]
    lines += ["high,150.0,95.5", "wide,400,2.0", "word,abc,2.0", "blank,,", "nan,nan,nan"]
    path.write_text("\n".join(lines) + "\n")
    catalog = make_catalog(path)
    assert catalog.skipped == {
        "with no position (empty or nan)": 2,
        "with RA/Dec not a number or angle (ra, dec)": 1,
        "with Dec outside -90°..90°": 1,
        "with RA outside 0°..360°": 1,
    }
    assert "8 rows. " in catalog.summary() and "5 rows skipped" in catalog.summary()
    assert list(catalog.place_frame(tan_frame).rows) == [0, 1, 2]


def test_non_numeric_pixels_are_skipped(tmp_path):
    path = tmp_path / "xy.csv"
    path.write_text("x,y\n1,2\nthree,4\n5,6\n")
    catalog = make_catalog(path)
    assert catalog.skipped == {"with x/y not a number (x, y)": 1}
    placement = catalog.place(10, 10)
    assert list(placement.rows) == [0, 2]


@pytest.mark.parametrize(
    ("content", "kwargs", "message"),
    [
        ("a,b\n1,2\n", {}, r"no RA/Dec or x/y columns found \(columns: a, b\)"),
        ("ra,dec\n", {}, "no rows"),
        ("ra,dec\nabc,def\n", {}, "no row has a usable position"),
        ("ra,dec\n1,2\n", {"ra": "ra"}, "pass both ra and dec"),
        ("ra,dec\n1,2\n", {"ra": "alpha", "dec": "dec"}, "no column 'alpha' for RA"),
        ("x,y\n1,2\n", {"pixel_origin": 2}, "pixel_origin must be 0, 1 or 'imgmarker'"),
        ("x,y\n1,2\n", {"size_unit": "furlong", "size": 3}, "size_unit must be one of"),
    ],
)
def test_bad_catalogs_raise_a_clear_message_naming_the_file(tmp_path, content, kwargs, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(CatalogError, match=message) as info:
        make_catalog(path, **kwargs)
    assert str(path) in str(info.value)


def test_bad_files_raise_a_clear_message(tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    with pytest.raises(CatalogError, match="empty"):
        read_table(empty)
    with pytest.raises(CatalogError, match="no such file"):
        read_table(tmp_path / "missing.fits")
    image = tmp_path / "image.fits"
    fits.PrimaryHDU(np.zeros((4, 4))).writeto(image)
    with pytest.raises(CatalogError, match="holds no table"):
        read_table(image)
    latin = tmp_path / "latin.csv"
    latin.write_bytes("name,ra,dec\ncaf\xe9,1,2\n".encode("latin-1"))
    with pytest.raises(CatalogError, match=r"latin\.csv: not UTF-8"):
        read_table(latin)


@pytest.mark.parametrize("name", ["text.fits", "text.fit", "text.fts", "text.fits.gz"])
def test_a_text_file_named_fits_is_said_not_to_be_fits(tmp_path, name):
    """A text file with a FITS suffix is not read as a text table by astropy's guessing
    (it once said "no RA/Dec or x/y columns found (columns: this, is, not, ...)"): the
    message says it is not a FITS file, as the image reader does."""
    path = tmp_path / name
    path.write_text("this is not a FITS file\n" * 10)
    with pytest.raises(CatalogError) as info:
        make_catalog(path)
    assert str(info.value) == (
        f"{path}: not a FITS file (it does not start with 'SIMPLE  =' and is not gzipped)"
    )


def test_a_gzipped_text_file_named_fits_gz_is_said_not_to_be_fits(tmp_path):
    import gzip

    path = tmp_path / "cat.fits.gz"
    path.write_bytes(gzip.compress(b"ra dec\n1 2\n3 4\n"))
    with pytest.raises(CatalogError) as info:
        read_table(path)
    assert str(info.value) == (
        f"{path}: not a FITS file (gzipped, but what it holds does not start with 'SIMPLE  =')"
    )


def test_a_fits_table_that_cannot_be_read_says_why_and_guesses_nothing(tmp_path):
    """A FITS file whose table is cut short: its own failure, no other format guessed."""
    path = tmp_path / "short.fits"
    Table({"ra": np.arange(2000.0), "dec": np.zeros(2000)}).write(path)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 20000])
    with pytest.raises(CatalogError) as info:
        read_table(path)
    message = str(info.value)
    assert message.startswith(f"{path}: cannot be read as a FITS table: ")
    assert "astropy's format detection" not in message


def test_sky_catalog_on_an_image_without_wcs_says_why(truth):
    catalog = make_catalog(truth)
    placement = catalog.place(80, 120, wcs=None, image="synth.png")
    assert len(placement) == 0
    assert placement.message == (
        "synth.png has no WCS: 6 rows of catalog have only RA/Dec and cannot be placed on it"
    )


def test_without_wcs_the_message_names_the_fits_hdu(tmp_path, truth):
    """A MEF whose SCI has a WCS and HDU 2 none: "mef.fits [2] has no WCS", as the reader
    names that layer, not "mef.fits has no WCS"."""
    data = np.zeros((200, 300), dtype=np.float32)
    path = tmp_path / "mef.fits"
    fits.HDUList(
        [fits.PrimaryHDU(), fits.ImageHDU(data, header=tan_header(), name="SCI"),
         fits.ImageHDU(data)]
    ).writeto(path)  # fmt: skip
    catalog = make_catalog(truth)
    assert len(catalog.place_frame(frame_of(path, 0))) == 4
    placement = catalog.place_frame(frame_of(path, 1))
    assert placement.message == (
        "mef.fits [2] has no WCS: 6 rows of catalog have only RA/Dec and cannot be placed on it"
    )


def test_catalog_with_sky_and_pixels_falls_back_to_pixels_without_wcs():
    table = Table(
        {"ALPHA_J2000": [150.1], "DELTA_J2000": [2.2], "X_IMAGE": [3.0], "Y_IMAGE": [4.0]}
    )
    catalog = make_catalog(table)
    assert catalog.prefer == "sky"
    placement = catalog.place(10, 10)
    assert (placement.row[0], placement.col[0]) == (3.0, 2.0)
    assert placement.message is None


def test_rows_with_only_sky_or_only_pixels_are_each_placed_in_catalog_order(tan_frame, truth):
    """Like a DS9 file mixing image and fk5 regions: every row by what it has."""
    table = truth[:4].copy()
    table["x"] = [np.nan, 99.0, np.nan, 0.0]
    table["y"] = [np.nan, 59.0, np.nan, 199.0]
    table["RAJ2000"][[1, 3]] = np.nan
    catalog = make_catalog(table)
    assert_on(catalog.place_frame(tan_frame), catalog, [0, 1, 2, 3])


# -- placing -----------------------------------------------------------------------------------


def test_only_rows_on_the_image_are_placed_even_across_the_sky(tan_frame, truth):
    """All-sky rows (the antipode included) around a small image: only those inside."""
    rng = np.random.default_rng(3)
    n = 20000
    ra = rng.uniform(0, 360, n)
    dec = np.rad2deg(np.arcsin(rng.uniform(-1, 1, n)))
    ra[:4], dec[:4] = truth["RAJ2000"][:4], truth["DEJ2000"][:4]
    ra[4], dec[4] = (150.1 + 180) % 360, -2.2  # opposite side of the sky
    ra[5:5005] = 150.1 + rng.uniform(-0.1, 0.1, 5000)  # a dense field around the image
    dec[5:5005] = 2.2 + rng.uniform(-0.1, 0.1, 5000)
    catalog = make_catalog(Table({"ra": ra, "dec": dec}))
    placement = catalog.place_frame(tan_frame)
    assert set(range(4)) <= set(placement.rows) and 4 not in placement.rows
    # check the rest independently: every placed row really is inside, and no row is missed
    col, row = tan_frame.wcs.world_to_pixel_values(ra, dec)
    front = SkyCoord(ra, dec, unit="deg").separation(SkyCoord(150.1, 2.2, unit="deg")) < 1 * u.deg
    inside = front & (col >= -0.5) & (col < 299.5) & (row >= -0.5) & (row < 199.5)
    expected = np.flatnonzero(inside)
    assert 150 < len(expected) < 5000  # many rows near the image fall outside it
    np.testing.assert_array_equal(placement.rows, expected)  # in catalog order
    np.testing.assert_allclose(placement.col, col[expected], atol=1e-9)
    np.testing.assert_allclose(placement.row, row[expected], atol=1e-9)


@pytest.mark.parametrize(
    "path", [*sorted(IMAGES.glob("SPT-*.tif")), FITS_IMAGE], ids=lambda p: p.name[:16]
)
def test_every_sky_position_on_the_image_is_placed_up_to_its_corners(path):
    """A dense grid of sky positions over the whole footprint (and around it): every one
    that falls on the image (exact ``world_to_pixel``) is placed, corners and edges
    included. A 2' cutout spans 1 - cos(r) ~ 2 float32 ulps: a float32 first cut dropped
    rows up to 18 px inside the edge."""
    frame = frame_of(path)
    wcs, height, width = frame.wcs, frame.height, frame.width
    corners = wcs.pixel_to_world_values([-0.5, width - 0.5, -0.5, width - 0.5],
                                        [-0.5, -0.5, height - 0.5, height - 0.5])  # fmt: skip
    ra0, dec0 = wcs.pixel_to_world_values((width - 1) / 2, (height - 1) / 2)
    half = 1.2 * np.max(
        SkyCoord(*corners, unit="deg").separation(SkyCoord(ra0, dec0, unit="deg")).deg
    )
    offsets = np.linspace(-half, half, 601)
    east, north = (a.ravel() for a in np.meshgrid(offsets, offsets))
    dec = dec0 + north
    ra = np.mod(ra0 + east / np.cos(np.deg2rad(dec)), 360)
    catalog = make_catalog(Table({"ra": ra, "dec": dec}))
    placement = catalog.place_frame(frame)
    col, row = wcs.world_to_pixel_values(ra, dec)
    inside = (col >= -0.5) & (col < width - 0.5) & (row >= -0.5) & (row < height - 0.5)
    assert 0.2 < inside.mean() < 0.8  # the grid covers the image and goes beyond it
    np.testing.assert_array_equal(placement.rows, np.flatnonzero(inside))
    np.testing.assert_allclose(placement.col, col[inside], atol=1e-9)
    np.testing.assert_allclose(placement.row, row[inside], atol=1e-9)


def test_latitude_first_wcs(truth):
    """CTYPE1 = 'DEC--TAN': the first world axis is Dec. Rows land where the WCS says, and
    the footprint cut still keeps only the rows near the image."""
    header = tan_header()
    header["CTYPE1"], header["CTYPE2"] = "DEC--TAN", "RA---TAN"
    header["CRVAL1"], header["CRVAL2"] = 2.2, 150.1
    wcs = WCS(header)
    row = np.array([10.0, 59.0, 150.25, 199.0, -30.0, 100.0])
    col = np.array([20.0, 99.0, 60.5, 0.0, 50.0, 400.0])
    dec, ra = wcs.pixel_to_world_values(col, row)
    assert np.all(np.abs(dec - 2.2) < 0.2) and np.all(np.abs(ra - 150.1) < 0.2)
    far = Table({"ra": [150.1 + 180.0, 10.0], "dec": [-2.2, 2.2]})
    table = Table({"ra": np.r_[ra, far["ra"]], "dec": np.r_[dec, far["dec"]]})
    catalog = make_catalog(table, size=2.0, size_unit="arcsec")
    placement = catalog.place(200, 300, wcs=wcs)
    assert list(placement.rows) == [0, 1, 2, 3]
    np.testing.assert_allclose(placement.row, row[:4], atol=1e-8)
    np.testing.assert_allclose(placement.col, col[:4], atol=1e-8)
    np.testing.assert_allclose(placement.size, 2.0)  # 2" at 1"/px


def test_catalogs_convert_with_the_one_pixel_sky_pair(monkeypatch, tan_frame, truth):
    """Placing goes through ``napari_imagemarker.wcs`` (no second implementation that could
    disagree with the readout and the marks on latitude-first or galactic WCSs)."""
    from napari_imagemarker import wcs as wcs_module

    calls = []
    for name in ("pixel_to_sky", "sky_to_pixel"):
        function = getattr(wcs_module, name)

        def spy(*args, _function=function, _name=name, **kwargs):
            calls.append(_name)
            return _function(*args, **kwargs)

        monkeypatch.setattr(wcs_module, name, spy)
    placement = make_catalog(truth).place_frame(tan_frame)
    assert list(placement.rows) == [0, 1, 2, 3]
    assert set(calls) == {"pixel_to_sky", "sky_to_pixel"}


def test_galactic_wcs(truth):
    """A WCS in galactic coordinates: ICRS catalog rows are converted, not the WCS."""
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["GLON-TAN", "GLAT-TAN"]
    coord = SkyCoord(150.1, 2.2, unit="deg").galactic
    wcs.wcs.crval = [coord.l.deg, coord.b.deg]
    wcs.wcs.crpix = [50.5, 50.5]
    wcs.wcs.cdelt = [-1 / 3600, 1 / 3600]
    catalog = make_catalog(Table({"ra": [150.1], "dec": [2.2]}))
    placement = catalog.place(100, 100, wcs=wcs)
    assert (placement.row[0], placement.col[0]) == pytest.approx((49.5, 49.5), abs=1e-6)


def test_image_column_keeps_rows_to_their_image(tan_frame, truth):
    table = truth.copy()
    table["image"] = ["synthetic.fits", "other.fits", "", "/data/synthetic.fits", "x", "y"]
    catalog = make_catalog(table)
    placement = catalog.place_frame(tan_frame)
    assert list(placement.rows) == [0, 2, 3]  # its own rows (any folder), and unnamed ones
    assert placement.n_other_images == 3


def test_sizes_in_arcsec_radius_and_constant(tan_frame, truth):
    table = truth.copy()
    table["radius"] = [2.0, 3.0, np.nan, 1.0, 1.0, 1.0] * u.arcsec
    catalog = make_catalog(table)
    assert catalog.size_unit == "arcsec"
    placement = catalog.place_frame(tan_frame)
    # diameters at 1"/px; a missing size gets the default, min(H, W) / 40 but at least 8
    np.testing.assert_allclose(placement.size, [4.0, 6.0, 8.0, 2.0])
    constant = make_catalog(truth, size=2.5, size_unit="arcmin").place_frame(tan_frame)
    np.testing.assert_allclose(constant.size, 150.0)
    column = make_catalog(truth, size="mag").place_frame(tan_frame)
    np.testing.assert_allclose(column.size, truth["mag"][:4])


def test_features_keep_every_column_with_masked_values_blank():
    table = Table(
        {
            "ra": [150.1, 150.2],
            "dec": [2.2, 2.3],
            "z": MaskedColumn([0.5, 0.0], mask=[False, True]),
            "n": MaskedColumn([3, 0], mask=[False, True]),
            "note": MaskedColumn(["a", "b"], mask=[True, False]),
            "vector": np.zeros((2, 3)),
        }
    )
    features = make_catalog(table).features(np.array([0, 1]))
    assert list(features.columns) == ["ra", "dec", "z", "n", "note"]
    assert np.isnan(features["z"][1]) and np.isnan(features["n"][1])
    assert list(features["note"]) == ["", "b"]

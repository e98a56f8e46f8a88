"""Catalogs in each convention astronomers' programs write, placed to 1e-3 px and 1e-9 deg.

Every file here is written by hand (literal text, as the program writes it), except where
the convention *is* astropy's own serialisation (a SkyCoord column in ECSV or FITS), which
astropy writes. The truth is computed independently: the literal positions as an astropy
``SkyCoord`` in the frame the file states, put on the image by astropy's high-level
``WCS.world_to_pixel`` (which converts frames itself), or the literal pixel numbers minus
the writer's origin.
"""

from __future__ import annotations

import textwrap

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import FK4, FK5, BarycentricMeanEcliptic, Galactic, SkyCoord
from astropy.io import fits
from astropy.table import Table
from astropy.wcs import WCS

from conftest import tan_header
from napari_imagemarker.catalogs.build import make_catalog
from napari_imagemarker.catalogs.catalog import CatalogError, read_table
from napari_imagemarker.catalogs.frames import describe, meta_frame, parse_frame

H, W = 200, 300
#: Three positions on the image, ICRS: 10:00:24 +02:12:00 and two 36" away
ICRS_RA = [150.1, 150.11, 150.09]
ICRS_DEC = [2.2, 2.21, 2.19]


def icrs_wcs() -> WCS:
    return WCS(tan_header())


def fk5_wcs() -> WCS:
    header = tan_header()
    header["RADESYS"], header["EQUINOX"] = "FK5", 2000.0
    return WCS(header)


def galactic_wcs() -> WCS:
    header = tan_header(crval=(236.81366468, 42.10264796))
    header["CTYPE1"], header["CTYPE2"] = "GLON-TAN", "GLAT-TAN"
    del header["RADESYS"]
    return WCS(header)


def check(catalog, truth: SkyCoord, wcs: WCS, rows=None) -> None:
    """Every row of ``truth`` placed where astropy puts it (1e-3 px), and the catalog's
    ICRS positions equal to astropy's (1e-9 deg)."""
    rows = list(range(len(truth))) if rows is None else rows
    placement = catalog.place(H, W, wcs)
    assert list(placement.rows) == rows
    x, y = wcs.world_to_pixel(truth[rows])
    np.testing.assert_allclose(placement.col, x, atol=1e-3, rtol=0)
    np.testing.assert_allclose(placement.row, y, atol=1e-3, rtol=0)
    icrs = truth.icrs
    np.testing.assert_allclose(catalog.ra, icrs.ra.deg, atol=1e-9, rtol=0)
    np.testing.assert_allclose(catalog.dec, icrs.dec.deg, atol=1e-9, rtol=0)


def write(path, text: str):
    path.write_text(textwrap.dedent(text).lstrip("\n"))
    return path


# -- a SkyCoord column -------------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".ecsv", ".fits"])
@pytest.mark.parametrize(
    "frame", [FK4(equinox="B1950"), FK5(equinox="J2000"), Galactic(), "icrs"], ids=str
)
def test_a_skycoord_column_in_any_frame_is_converted_to_the_image_frame(tmp_path, suffix, frame):
    truth = SkyCoord(ICRS_RA, ICRS_DEC, unit="deg").transform_to(frame)
    path = tmp_path / f"coords{suffix}"
    Table({"coord": truth, "mag": [18.0, 19.0, 20.0]}).write(path)
    catalog = make_catalog(path)
    assert catalog.columns.skycoord == "coord"
    assert "SkyCoord" in catalog.choices["sky"]
    for wcs in (icrs_wcs(), fk5_wcs(), galactic_wcs()):
        check(catalog, truth, wcs)
    # its angles are features (the status bar shows them), the table kept as it was
    features = catalog.features(np.arange(3))
    assert {"mag"} < set(features.columns) and len(features.columns) == 3


def test_ra_may_name_the_skycoord_column(tmp_path):
    truth = SkyCoord(ICRS_RA, ICRS_DEC, unit="deg", frame="fk5")
    table = Table({"where": truth, "other_ra": [1.0, 2.0, 3.0], "other_dec": [0.0, 0.0, 0.0]})
    check(make_catalog(table, ra="where"), truth, icrs_wcs())


# -- VOTables: names, UCDs and COOSYS ----------------------------------------------------

VOTABLE = """
<?xml version="1.0" encoding="utf-8"?>
<VOTABLE version="1.4" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
<RESOURCE>
<COOSYS ID="J2000" system="eq_FK5" equinox="J2000"/>
<TABLE ID="t1">
<FIELD name="RAJ2000" ID="col1" ucd="pos.eq.ra" ref="J2000" datatype="double" unit="deg"/>
<FIELD name="DEJ2000" ID="col2" ucd="pos.eq.dec" ref="J2000" datatype="double" unit="deg"/>
<FIELD name="POS1" ID="col3" ucd="pos.eq.ra;meta.main" ref="J2000" datatype="char"
  arraysize="*" unit="h:m:s"/>
<FIELD name="POS2" ID="col4" ucd="pos.eq.dec;meta.main" ref="J2000" datatype="char"
  arraysize="*" unit="d:m:s"/>
<FIELD name="Vmag" ID="col5" ucd="phot.mag;em.opt.V" datatype="float"/>
<DATA><TABLEDATA>
<TR><TD>1.0</TD><TD>1.0</TD><TD>10 00 24.0123</TD><TD>+02 12 00.456</TD><TD>18.1</TD></TR>
<TR><TD>1.0</TD><TD>1.0</TD><TD>10 00 26.4</TD><TD>+02 12 36.0</TD><TD>18.2</TD></TR>
<TR><TD>1.0</TD><TD>1.0</TD><TD>10 00 21.6</TD><TD>+02 11 24.0</TD><TD>18.3</TD></TR>
</TABLEDATA></DATA>
</TABLE></RESOURCE></VOTABLE>
"""


def test_a_votable_is_read_with_field_names_its_main_ucds_and_its_coosys(tmp_path):
    path = write(tmp_path / "vizier.vot", VOTABLE)
    catalog = make_catalog(path)
    assert catalog.table.colnames == ["RAJ2000", "DEJ2000", "POS1", "POS2", "Vmag"]
    assert (catalog.columns.ra, catalog.columns.dec) == ("POS1", "POS2")
    assert "pos.eq.ra;meta.main" in catalog.choices["sky"]
    assert catalog.choices["frame"].startswith("FK5 J2000")
    assert "COOSYS" in catalog.choices["frame"]
    truth = SkyCoord(
        ["10 00 24.0123 +02 12 00.456", "10 00 26.4 +02 12 36.0", "10 00 21.6 +02 11 24.0"],
        unit=(u.hourangle, u.deg),
        frame=FK5(equinox="J2000"),
    )
    for wcs in (icrs_wcs(), fk5_wcs(), galactic_wcs()):
        check(catalog, truth, wcs)


def test_a_galactic_only_votable_is_placed(tmp_path):
    path = write(
        tmp_path / "gal.xml",
        """
        <?xml version="1.0"?>
        <VOTABLE version="1.3" xmlns="http://www.ivoa.net/xml/VOTable/v1.3">
        <RESOURCE><COOSYS ID="G" system="galactic"/><TABLE>
        <FIELD name="GLON" ID="l" ucd="pos.galactic.lon" ref="G" datatype="double" unit="deg"/>
        <FIELD name="GLAT" ID="b" ucd="pos.galactic.lat" ref="G" datatype="double" unit="deg"/>
        <DATA><TABLEDATA>
        <TR><TD>236.81366468</TD><TD>42.10264796</TD></TR>
        <TR><TD>236.81050328</TD><TD>42.11658895</TD></TR>
        </TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>
        """,
    )
    catalog = make_catalog(path)
    assert catalog.frame.name == "galactic"
    truth = SkyCoord([236.81366468, 236.81050328], [42.10264796, 42.11658895], unit="deg",
                     frame="galactic")  # fmt: skip
    for wcs in (icrs_wcs(), fk5_wcs(), galactic_wcs()):
        check(catalog, truth, wcs)


def test_ecliptic_ucds_without_coosys_are_barycentric_mean_ecliptic_j2000():
    lon, lat = [151.40065484, 151.40660144], [-9.37645833, -9.36359648]
    table = Table({"elon": lon, "elat": lat})
    table["elon"].meta["ucd"], table["elat"].meta["ucd"] = "pos.ecliptic.lon", "pos.ecliptic.lat"
    catalog = make_catalog(table)
    truth = SkyCoord(lon, lat, unit="deg", frame=BarycentricMeanEcliptic(equinox="J2000"))
    check(catalog, truth, icrs_wcs())


def test_pixel_ucds_are_used_for_pixels():
    table = Table({"a": [10.0, 20.5], "b": [5.0, 6.25], "c": [1, 2]})
    table["a"].meta["ucd"], table["b"].meta["ucd"] = "pos.cartesian.x", "pos.cartesian.y"
    catalog = make_catalog(table)
    assert (catalog.columns.x, catalog.columns.y) == ("a", "b")
    placement = catalog.place(H, W)
    np.testing.assert_array_equal(placement.col, [10.0, 20.5])
    np.testing.assert_array_equal(placement.row, [5.0, 6.25])


# -- FITS header frames ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("keywords", "frame"),
    [
        ({"RADESYS": "FK4", "EQUINOX": 1950.0}, FK4(equinox="B1950")),
        ({"EQUINOX": 1950.0}, FK4(equinox="B1950")),  # FITS: before 1984 alone means FK4
        ({"RADESYS": "FK5", "EQUINOX": 2000.0}, FK5(equinox="J2000")),
        ({"RADESYS": "FK5", "EQUINOX": 1975.0}, FK5(equinox="J1975")),
    ],
)
def test_a_fits_table_header_states_its_frame(tmp_path, keywords, frame):
    truth = SkyCoord(ICRS_RA, ICRS_DEC, unit="deg").transform_to(frame)
    hdu = fits.BinTableHDU(Table({"RA": truth.ra.deg, "DEC": truth.dec.deg}))
    for key, value in keywords.items():
        hdu.header[key] = value
    path = tmp_path / "cat.fits"
    hdu.writeto(path)
    catalog = make_catalog(path)
    assert catalog.frame.is_equivalent_frame(frame)
    assert "RADESYS" in catalog.choices["frame"]
    check(catalog, truth, icrs_wcs())
    check(catalog, truth, fk5_wcs())


def test_b1950_and_galactic_names_imply_their_frames():
    fk4 = SkyCoord(ICRS_RA, ICRS_DEC, unit="deg").transform_to(FK4(equinox="B1950"))
    catalog = make_catalog(Table({"RAB1950": fk4.ra.deg, "DEB1950": fk4.dec.deg}))
    assert "RAB1950" in catalog.choices["frame"]
    check(catalog, fk4, fk5_wcs())
    gal = SkyCoord(ICRS_RA, ICRS_DEC, unit="deg").galactic
    check(make_catalog(Table({"GLON": gal.l.deg, "GLAT": gal.b.deg})), gal, icrs_wcs())


def test_frame_can_be_given_and_unstated_frames_follow_the_image():
    fk5 = SkyCoord(ICRS_RA, ICRS_DEC, unit="deg").transform_to(FK5(equinox="J2000"))
    table = Table({"ra": fk5.ra.deg, "dec": fk5.dec.deg})
    unstated = make_catalog(table)
    assert unstated.frame is None and "unstated" in unstated.choices["frame"]
    # unstated: the numbers are taken in the image's own equatorial frame
    x, _ = fk5_wcs().world_to_pixel_values(fk5.ra.deg, fk5.dec.deg)
    placement = unstated.place(H, W, fk5_wcs())
    np.testing.assert_allclose(placement.col, x, atol=1e-9)
    given = make_catalog(table, frame="fk5")
    assert given.choices["frame"] == "FK5 J2000.000 (given)"
    check(given, fk5, icrs_wcs())
    check(given, fk5, galactic_wcs())
    with pytest.raises(CatalogError, match=r"frame=.fk6.*unknown frame"):
        make_catalog(table, frame="fk6")


def test_frame_names_and_keywords():
    assert parse_frame("fk4 B1975").is_equivalent_frame(FK4(equinox="B1975"))
    assert parse_frame("FK5").is_equivalent_frame(FK5(equinox="J2000"))
    assert describe(parse_frame("galactic")) == "Galactic"
    assert meta_frame({}) is None
    assert meta_frame({"radesys": "ICRS"})[0].name == "icrs"
    with pytest.raises(ValueError, match="GAPPT"):
        meta_frame({"RADESYS": "GAPPT"})


# -- CDS / MRT split sexagesimal ---------------------------------------------------------

MRT_DESCRIPTION = """
Title: Three sources, one of them south of the equator
Authors: Somebody, A., Else, B.
Table: positions
================================================================================
Byte-by-byte Description of file: {data}
--------------------------------------------------------------------------------
 Bytes Format Units   Label  Explanations
--------------------------------------------------------------------------------
 1-  4 A4     ---     Name   Source name
 6-  7 I2     h       RAh    Hour of Right Ascension (J2000)
 9- 10 I2     min     RAm    Minute of Right Ascension (J2000)
12- 18 F7.4   s       RAs    Second of Right Ascension (J2000)
    20 A1     ---     DE-    Sign of the Declination (J2000)
21- 22 I2     deg     DEd    Degree of Declination (J2000)
24- 25 I2     arcmin  DEm    Arcminute of Declination (J2000)
27- 32 F6.3   arcsec  DEs    Arcsecond of Declination (J2000)
34- 38 F5.2   mag     Vmag   V magnitude
--------------------------------------------------------------------------------
"""
MRT_DATA = """
src1 10 00 24.0123 +02 12 00.456 18.10
src2 10 00 26.4000 +02 12 36.000 18.20
src3 10 00 21.6000 -00 00 30.500 18.30
"""
MRT_TRUTH = ["10h00m24.0123s +02d12m00.456s", "10h00m26.4s +02d12m36s", "10h00m21.6s -0d0m30.5s"]


def test_cds_split_sexagesimal_columns_are_combined_exactly(tmp_path):
    path = write(
        tmp_path / "table.txt", MRT_DESCRIPTION.format(data="table.txt") + MRT_DATA.lstrip()
    )
    catalog = make_catalog(path)
    assert catalog.columns.split == {
        "ra": ["RAh", "RAm", "RAs"],
        "dec": ["DE-", "DEd", "DEm", "DEs"],
    }
    assert "CDS/MRT split sexagesimal" in catalog.choices["sky"]
    truth = SkyCoord(MRT_TRUTH, frame="icrs")
    np.testing.assert_allclose(catalog.ra, truth.ra.deg, atol=1e-9, rtol=0)
    np.testing.assert_allclose(catalog.dec, truth.dec.deg, atol=1e-9, rtol=0)
    assert catalog.dec[2] < 0  # "-00": the sign is its own column
    check(catalog, truth, icrs_wcs(), rows=[0, 1])  # the third is 2 deg south
    # the advice users followed before: naming RAh and DEd now combines all seven
    same = make_catalog(catalog.table, ra="RAh", dec="DEd")
    np.testing.assert_array_equal(same.ra, catalog.ra)
    np.testing.assert_array_equal(same.dec, catalog.dec)


def test_a_cds_table_with_a_separate_readme(tmp_path):
    readme = write(tmp_path / "ReadMe", MRT_DESCRIPTION.format(data="table1.dat"))
    data = write(tmp_path / "table1.dat", MRT_DATA)
    catalog = make_catalog(data, readme=readme)
    truth = SkyCoord(MRT_TRUTH, frame="icrs")
    np.testing.assert_allclose(catalog.ra, truth.ra.deg, atol=1e-9, rtol=0)
    np.testing.assert_allclose(catalog.dec, truth.dec.deg, atol=1e-9, rtol=0)
    with pytest.raises(CatalogError, match="no such ReadMe"):
        make_catalog(data, readme=tmp_path / "nope")


def test_a_cds_file_whose_title_has_commas_is_not_taken_for_csv(tmp_path):
    # the title line has a comma: the CSV fast path used to claim it and fail
    path = write(tmp_path / "t.dat", MRT_DESCRIPTION.format(data="t.dat") + MRT_DATA.lstrip())
    assert "," in path.read_text().splitlines()[1]
    assert read_table(path).meta["catalog_format"] == "cds"


# -- pixel conventions -------------------------------------------------------------------

DAOPHOT = """
#K IRAF       = NOAO/IRAFV2.16          version    %-23s
#K USER       = astro                   name       %-23s
#K PACKAGE    = apphot                  name       %-23s
#K TASK       = phot                    name       %-23s
#
#N IMAGE               XINIT     YINIT     ID    COORDS                 LID    \\
#U imagename           pixels    pixels    ##    filename               ##     \\
#F %-23s               %-10.3f   %-10.3f   %-6d  %-23s                  %-6d
#
#N XCENTER    YCENTER    XSHIFT  YSHIFT  XERR    YERR            CIER CERROR   \\
#U pixels     pixels     pixels  pixels  pixels  pixels          ##   cerrors
#F %-14.3f    %-11.3f    %-8.3f  %-8.3f  %-8.3f  %-15.3f         %-5d %-9s
#
img.fits               21.000    11.000    1     img.coo                1      \\
   21.125     11.500     0.125   0.500   0.010   0.010           0    NoError
img.fits               100.250   60.500    2     img.coo                2      \\
   100.250    60.750     0.000   0.250   0.010   0.010           0    NoError
"""

SEXTRACTOR = """
#   1 NUMBER                 Running object number
#   2 X_IMAGE                Object position along x                         [pixel]
#   3 Y_IMAGE                Object position along y                         [pixel]
#   4 MAG_AUTO               Kron-like elliptical aperture magnitude         [mag]
      1    21.125    11.500  18.5
      2   100.250    60.750  19.5
"""


@pytest.mark.parametrize(
    ("text", "name", "writer"),
    [(DAOPHOT, "img.mag.1", "daophot"), (SEXTRACTOR, "img.cat", "sextractor")],
)
def test_iraf_daophot_and_sextractor_pixels_count_from_1(tmp_path, text, name, writer):
    catalog = make_catalog(write(tmp_path / name, text))
    assert catalog.table.meta["catalog_format"] == writer
    assert catalog.pixel_origin == 1
    assert "count" in catalog.choices["pixel_origin"]
    placement = catalog.place(H, W, image="img.fits")  # DAOPHOT's IMAGE column names it
    np.testing.assert_allclose(placement.col, [20.125, 99.25], atol=1e-12)
    np.testing.assert_allclose(placement.row, [10.5, 59.75], atol=1e-12)
    override = make_catalog(catalog.table, x=catalog.columns.x, y=catalog.columns.y,
                            pixel_origin=0)  # fmt: skip
    placement = override.place(H, W, image="img.fits")
    np.testing.assert_allclose(placement.col, [21.125, 100.25], atol=1e-12)
    assert override.choices["pixel_origin"] == "0 (given)"


def test_photutils_xcenter_without_iraf_keywords_stays_0_based():
    catalog = make_catalog(Table({"xcenter": [5.0], "ycenter": [6.0]}))
    assert catalog.pixel_origin == 0


# -- IPAC, fallbacks, errors -------------------------------------------------------------


def test_an_ipac_table_with_units_astropy_cannot_parse(tmp_path):
    path = write(
        tmp_path / "irsa.tbl",
        r"""
        \fixlen = T
        |   ra          |   dec        |  flux           |
        |   double      |   double     |  real           |
        |   degrees     |   degrees    |  W/m^2/frobnitz |
            150.1          2.2            18.5
            150.11         2.21           19.5
        """,
    )
    catalog = make_catalog(path)
    truth = SkyCoord([150.1, 150.11], [2.2, 2.21], unit="deg")
    check(catalog, truth, icrs_wcs())


def test_an_ipac_ra_in_hours_is_converted(tmp_path):
    path = write(
        tmp_path / "hours.tbl",
        r"""
        |   ra          |   dec        |
        |   double      |   double     |
        |   hours       |   degrees    |
            10.0066666667  2.2
        """,
    )
    catalog = make_catalog(path)
    np.testing.assert_allclose(catalog.ra, [10.0066666667 * 15], atol=1e-9)


def test_a_fits_catalog_with_a_text_suffix_falls_back_to_astropy(tmp_path):
    path = tmp_path / "sources.cat"
    Table({"RA": ICRS_RA, "DEC": ICRS_DEC}).write(path, format="fits")
    table = read_table(path)
    assert table.meta["catalog_format"] == "astropy guess"
    check(make_catalog(path), SkyCoord(ICRS_RA, ICRS_DEC, unit="deg"), icrs_wcs())


def test_a_file_nothing_reads_names_itself_and_what_to_do(tmp_path):
    path = tmp_path / "junk.dat"
    path.write_bytes(b"ra dec\n1 2 3 4\n\x00\x01 zz\n")
    with pytest.raises(CatalogError) as err:
        read_table(path)
    message = str(err.value)
    assert str(path) in message and "format=" in message and "readme=" in message


def test_a_coordinate_column_whose_unit_is_no_angle_is_refused_by_name():
    table = Table({"ra": np.array([1.0, 2.0]), "dec": np.array([0.0, 1.0])})
    table["ra"].unit = u.m  # a length: no angle
    with pytest.raises(CatalogError, match=r"column ra.*unit m.*not an angle"):
        make_catalog(table, name="lengths")

"""read_marks / write_marks: one entry point, every format, and clear errors."""

from __future__ import annotations

import math
import warnings
from pathlib import Path

import numpy as np
import pytest
from astropy.table import Table

from napari_imagemarker.images.index import ImageIndex
from napari_imagemarker.marks.io import (
    FORMATS,
    MarksFormat,
    read_marks,
    register_format,
    write_marks,
)
from napari_imagemarker.marks.schema import (
    DEFAULT_GROUP_COLORS,
    MARK_COLUMNS,
    empty_marks,
    normalise_marks,
)

IMAGES = Path(__file__).parents[1] / "data" / "imgmarker" / "images"
FITS = IMAGES / "synth_mef_300x200_tan.fits"
GROUPS = ["BCG", "2", "Arc", "4", "5", "6", "7", "8", "9"]


@pytest.fixture
def marks() -> Table:
    """Three marks on the synthetic FITS, RA/Dec from its WCS, one without a WCS position."""
    wcs = ImageIndex(FITS).frame(FITS.name).wcs
    table = empty_marks(groups=GROUPS)
    for group, label, x, y in [(1, "", 60.0, 150.0), (2, "knot, café", 250.5, 30.25)]:
        ra, dec = wcs.pixel_to_world_values(x, y)
        table.add_row(
            dict(
                image=FITS.name,
                frame=0,
                group=group,
                label=label,
                x=x,
                y=y,
                ra=float(ra),
                dec=float(dec),
                user="ana",
                time="2026-11-21T10:00:00.000Z",
            )
        )
    table.add_row(
        dict(
            image="plain.png",
            frame=0,
            group=9,
            label='say "hi"',
            x=0,
            y=79,
            ra=np.nan,
            dec=np.nan,
            user="bo",
            time="2026-11-21T10:01:00.000Z",
        )
    )
    return table


def assert_same_marks(a: Table, b: Table) -> None:
    assert a.colnames == b.colnames
    for name in a.colnames:
        if a[name].dtype.kind == "f":
            assert np.array_equal(a[name], b[name], equal_nan=True), name
        else:
            assert list(a[name]) == list(b[name]), name
        assert a[name].dtype.kind == b[name].dtype.kind, name
    assert a.meta == b.meta


# --- schema ------------------------------------------------------------------------------


def test_empty_marks_has_the_schema_and_image_markers_colours():
    table = empty_marks()
    assert tuple(table.colnames) == MARK_COLUMNS
    assert [table[c].dtype.kind for c in MARK_COLUMNS] == list("UiiUffffUU")
    assert table.meta["pixel_origin"] == 0
    assert table.meta["groups"] == [str(i) for i in range(1, 10)]
    assert table.meta["group_colors"][:3] == ["#ff0000", "#ff8000", "#ffff00"]  # red, orange...
    assert table.meta["group_colors"][5] == "#008080"  # teal


def test_normalise_fills_defaults_and_rejects_bad_groups():
    table = normalise_marks({"group": [1.0, 2], "x": [1, 2], "y": [3, 4]})
    assert list(table["frame"]) == [0, 0] and list(table["label"]) == ["", ""]
    assert np.isnan(table["ra"]).all()
    with pytest.raises(ValueError, match=r"f.csv: row 1: column 'group' must be 1-9, got 10"):
        normalise_marks({"group": [1, 10], "x": [1, 2], "y": [3, 4]}, source="f.csv")
    with pytest.raises(ValueError, match="missing column"):
        normalise_marks({"group": [1], "x": [1]})


# --- native and plain formats ------------------------------------------------------------


@pytest.mark.parametrize("suffix", [".ecsv", ".csv", ".xml", ".vot"])
def test_round_trip_keeps_every_column_and_the_meta(marks, tmp_path, suffix):
    path = tmp_path / f"marks{suffix}"
    write_marks(marks, path)
    assert_same_marks(read_marks(path), normalise_marks(marks))


def test_ecsv_is_native_text_with_pixel_origin_and_extra_columns(marks, tmp_path):
    marks["score"] = [0.5, 1.0, 2.0]
    write_marks(marks, tmp_path / "m.ecsv")
    text = (tmp_path / "m.ecsv").read_text("utf-8")
    assert text.startswith("# %ECSV 1.0")
    assert "- {pixel_origin: 0}" in text
    back = read_marks(tmp_path / "m.ecsv")
    assert back.colnames == [*MARK_COLUMNS, "score"]
    assert list(back["score"]) == [0.5, 1.0, 2.0]


def test_ecsv_with_one_based_pixels_is_converted(marks, tmp_path):
    marks.meta["pixel_origin"] = 1  # as if a FITS-minded script had written it
    marks["x"] += 1
    marks["y"] += 1
    Table(marks).write(tmp_path / "one.ecsv")
    back = read_marks(tmp_path / "one.ecsv")
    assert list(back["x"][:2]) == [60.0, 250.5]
    assert back.meta["pixel_origin"] == 0


def test_csv_states_its_pixel_origin_and_can_count_from_one(marks, tmp_path):
    write_marks(marks, tmp_path / "zero.csv")
    lines = (tmp_path / "zero.csv").read_text("utf-8").splitlines()
    assert lines[:2] == ["# napari-imagemarker marks", "# pixel_origin: 0"]
    assert lines[4] == ",".join(MARK_COLUMNS)
    assert lines[5].startswith("synth_mef_300x200_tan.fits,0,1,,60.0,150.0,150.1220373")
    assert lines[7] == 'plain.png,0,9,"say ""hi""",0.0,79.0,nan,nan,bo,2026-11-21T10:01:00.000Z'

    write_marks(marks, tmp_path / "one.csv", pixel_origin=1)
    one = (tmp_path / "one.csv").read_text("utf-8").splitlines()
    assert one[1] == "# pixel_origin: 1"
    assert ",61.0,151.0," in one[5]
    assert_same_marks(read_marks(tmp_path / "one.csv"), normalise_marks(marks))


def test_votable_has_units_ucds_and_meta_params(marks, tmp_path):
    write_marks(marks, tmp_path / "m.xml")
    xml = (tmp_path / "m.xml").read_text("utf-8")
    assert 'name="ra" ucd="pos.eq.ra;meta.main" unit="deg"' in xml
    assert 'name="x" ucd="pos.cartesian.x;instr.pixel" unit="pixel"' in xml
    assert '<PARAM ID="pixel_origin" datatype="int" name="pixel_origin" value="0"/>' in xml
    assert "knot, café" in xml


# --- DS9 regions ------------------------------------------------------------------------


def test_ds9_image_regions_are_one_based_points_with_tag_text_and_colour(marks, tmp_path):
    path = tmp_path / "m.reg"
    write_marks(marks[:2], path)
    lines = path.read_text("utf-8").splitlines()
    assert lines[1].startswith("# napari-imagemarker: ")  # our groups, image and frame
    assert lines[:1] + lines[2:] == [
        "# Region file format: DS9 astropy/regions",
        "global include=1",
        "image",
        "point(61.00000000,151.00000000) # tag={BCG} color=#ff0000",
        "point(251.50000000,31.25000000) # text={knot, café} tag={2} color=#ff8000",
    ]


def test_ds9_file_is_read_back_identically_by_regions(marks, tmp_path):
    from regions import Regions

    for coordsys, precision in [("image", 8), ("icrs", 10), ("fk5", 10)]:
        path = tmp_path / f"{coordsys}.reg"
        write_marks(marks[:2], path, coordsys=coordsys)
        lines = path.read_text("utf-8").splitlines(keepends=True)
        # every line but our comment (which DS9 and regions ignore) is what regions writes
        ours = [line for line in lines if line.startswith("# napari-imagemarker: ")]
        assert len(ours) == 1
        text = "".join(line for line in lines if line not in ours)
        assert (
            Regions.read(path, format="ds9").serialize(format="ds9", precision=precision) == text
        )


def test_ds9_reads_back_marks_with_the_image_given(marks, tmp_path):
    write_marks(marks[:2], tmp_path / "pix.reg")
    back = read_marks(tmp_path / "pix.reg", images=FITS, groups=GROUPS)
    expected = normalise_marks(marks[:2])
    expected["user"] = ["", ""]
    expected["time"] = ["", ""]  # a region file has no user or time
    assert_same_marks(back, expected)

    write_marks(marks[:2], tmp_path / "sky.reg", coordsys="icrs")
    sky = read_marks(tmp_path / "sky.reg", images=FITS, groups=GROUPS)
    assert np.allclose(sky["x"], marks["x"][:2], atol=1e-6, rtol=0)
    assert np.allclose(sky["y"], marks["y"][:2], atol=1e-6, rtol=0)
    assert np.allclose(sky["ra"], marks["ra"][:2], atol=1e-9, rtol=0)
    assert list(sky["group"]) == [1, 2] and list(sky["label"]) == ["", "knot, café"]


def test_ds9_fk5_is_j2000_and_close_to_icrs(marks, tmp_path):
    write_marks(marks[:2], tmp_path / "fk5.reg", coordsys="fk5")
    back = read_marks(tmp_path / "fk5.reg", groups=GROUPS)
    # FK5 J2000 and ICRS differ by a few tens of milli-arcseconds, never more
    assert np.allclose(back["ra"], marks["ra"][:2], atol=0.05 / 3600, rtol=0)
    assert np.isnan(back["x"]).all()  # no image given: no pixel position


def test_ds9_labels_with_line_breaks_are_written_on_one_line(marks, tmp_path):
    """A region is one line: line breaks in a label become spaces (not a truncated label
    and a broken next line); a '}' cannot be written at all."""
    table = marks[:2].copy()
    table["label"] = ["two\nlines", "windows\r\nbreak\u2028and more"]
    path = tmp_path / "labels.reg"
    write_marks(table, path)
    back = read_marks(path, groups=GROUPS)
    assert list(back["label"]) == ["two lines", "windows break and more"]
    # header, our comment, global, image, 2 points
    assert len(path.read_text("utf-8").splitlines()) == 6
    table["label"] = ["fine", "a } brace"]
    with pytest.raises(ValueError, match=r"braces.reg: mark 1 .*'a } brace' holds '}'"):
        write_marks(table, tmp_path / "braces.reg")
    assert not (tmp_path / "braces.reg").exists()


def test_ds9_regions_from_elsewhere_map_tags_and_colours_to_groups(tmp_path):
    path = tmp_path / "ds9.reg"
    path.write_text(
        "# Region file format: DS9 version 4.1\n"
        "image\n"
        "point(10,20) # point=x color=red\n"
        "circle(30,40,5) # color=#ff8000 text={big}\n"
        "point(1,1) # tag={3}\n"
    )
    marks = read_marks(path)
    assert list(marks["group"]) == [1, 2, 3]
    assert list(marks["x"]) == [9.0, 29.0, 0.0] and list(marks["y"]) == [19.0, 39.0, 0.0]
    assert list(marks["label"]) == ["", "big", ""]
    assert list(marks["image"]) == ["", "", ""]


def test_ds9_errors(marks, tmp_path):
    with pytest.raises(ValueError, match=r"image coordinates need marks of one image frame"):
        write_marks(marks, tmp_path / "two_images.reg")
    with pytest.raises(ValueError, match=r"1 mark\(s\) have no RA/Dec"):
        write_marks(marks, tmp_path / "sky.reg", coordsys="icrs")
    path = tmp_path / "tags.reg"
    path.write_text("image\npoint(1,1) # tag={BCG}\npoint(2,2) # tag={galaxies}\n")
    with pytest.raises(ValueError, match=r"tags.reg: line 3, column 'tag': 'galaxies'"):
        read_marks(path, groups=GROUPS)
    path.write_text("image\npolygon(1,1,5,5,1,5)\n")
    with pytest.raises(ValueError, match=r"line 2: 1 region with no single position"):
        read_marks(path, strict=True)


DS9_MIXED = """\
# Region file format: DS9 version 4.1
global color=green dashlist=8 3 width=1 font="helvetica 10 normal roman" select=1
image
point(10,20) # point=circle text={a;b} tag={BCG}
circle(1,2,3); box(4,5,6,7,0) # tag={Arc}
# vector(1,2,3,4) vector=1
polygon(1,2,3,4,5,6)
fk5
point(150.1,2.2) # text={sky}
ruler(1,2,3,4) ruler=image image
# composite(1,2,0) || composite=1
circle(150.2,2.3,3") ||
text(150.1,2.3) text={hello}
# text(150.1,2.4) text={commented text}
line(1,2,3,4)
point(150.3,2.5) # tag={nope}
"""


def test_ds9_line_numbers_count_every_region_where_it_is(tmp_path):
    from regions import Regions

    from napari_imagemarker.marks.ds9 import read_regions

    path = tmp_path / "mixed.reg"
    path.write_text(DS9_MIXED)
    table = read_regions(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # regions: "ruler" is not supported
        parsed = Regions.read(path, format="ds9")
    assert len(table) == len(parsed) == 10  # what regions parses, we parse
    assert list(table["shape"]) == [
        type(r).__name__.replace("PixelRegion", "").replace("SkyRegion", "").lower()
        for r in parsed
    ]
    assert list(table["shape"]) == [
        "point", "circle", "rectangle", "polygon", "point", "circle", "text", "text", "line",
        "point",
    ]  # fmt: skip
    assert list(table["line"]) == [4, 5, 5, 7, 9, 12, 13, 14, 15, 16]
    assert table.meta["unsupported"] == ["ruler"]
    # an error names the line the region is on, after a line holding two regions
    with pytest.raises(ValueError, match=r"line 16, column 'tag': 'nope'"):
        read_marks(path, groups=GROUPS)


def test_ds9_regions_that_are_not_marks_are_skipped_counted_and_named(tmp_path):
    path = tmp_path / "mixed.reg"
    path.write_text(DS9_MIXED.replace(" # tag={nope}", ""))
    with pytest.warns(UserWarning) as caught:
        marks = read_marks(path, groups=GROUPS)
    (message,) = [str(w.message) for w in caught if "skipped" in str(w.message)]
    assert message == (
        f"{path}: skipped 5 regions with no single position: 1 polygon (line 7); "
        "2 text (lines 13, 14); 1 line (line 15); 1 ruler (a shape regions does not read); "
        "only point-like regions (point, circle, box, ellipse, annulus) are marks"
    )
    assert len(marks) == 6
    assert list(marks["label"]) == ["a;b", "", "", "sky", "", ""]
    # the tag of "circle(...); box(...) # tag={Arc}" is the box's; the circle is green (4)
    assert list(marks["group"])[:3] == [1, 4, 3]
    with pytest.raises(ValueError, match=r"mixed.reg: line 7: 5 regions .*\(strict mode\)"):
        read_marks(path, groups=GROUPS, strict=True)


def test_ds9_file_we_wrote_is_read_back_with_its_groups_and_image_and_no_argument(marks, tmp_path):
    table = normalise_marks(marks[:2])
    table.meta["groups"] = ["BCG", "second, with comma", "Arc", "4", "5", "6", "7", "8", "é"]
    table.meta["group_colors"][1] = "#123456"
    path = tmp_path / "named.reg"
    write_marks(table, path)
    back = read_marks(path)  # no groups=, no images=
    assert back.meta["groups"] == table.meta["groups"]
    assert back.meta["group_colors"] == table.meta["group_colors"]
    for name in ("image", "frame", "group", "label", "x", "y"):
        assert list(back[name]) == list(table[name]), name
    # with the image, the sky positions come back too: the marks are the same
    full = read_marks(path, images=FITS)
    expected = table.copy()
    expected["user"] = ["", ""]
    expected["time"] = ["", ""]  # a region file has no user or time
    assert_same_marks(full, expected)


# --- choosing the format ------------------------------------------------------------------


def test_csv_without_a_pixel_origin_line_is_read_as_image_markers(tmp_path):
    path = tmp_path / "hand.csv"
    path.write_text("label,x,y\nstar,10,20\n")
    marks = read_marks(path)
    assert (marks["x"][0], marks["y"][0]) == (10.0, 20.0)
    assert marks.meta["display_xy"] is True  # Image Marker's display pixels, no image named
    with pytest.raises(ValueError, match=r"hand.csv: line 1: no '# pixel_origin: 0'"):
        read_marks(path, format="csv")


def test_unknown_format_and_suffix(marks, tmp_path):
    with pytest.raises(ValueError, match=r"unknown marks format 'fits'"):
        write_marks(marks, tmp_path / "m.fits", format="fits")
    with pytest.raises(ValueError, match=r"cannot tell the marks format"):
        write_marks(marks, tmp_path / "m.dat")


def test_a_registered_format_is_dispatched_by_suffix(marks, tmp_path):
    written = []

    def writer(table, path, *, images=None):
        written.append((len(table), Path(path).name))

    register_format(MarksFormat("test-tsv", (".tsv",), writer=writer))
    try:
        write_marks(marks, tmp_path / "m.tsv")
    finally:
        FORMATS.unregister("test-tsv")
    assert written == [(3, "m.tsv")]


def test_save_folder_is_a_format_too(marks, tmp_path):
    folder = tmp_path / "save"
    one_user = marks[:2]
    write_marks(one_user, folder, images=IMAGES, date="2026-11-21")
    assert (
        (folder / "ana_marks.csv")
        .read_text()
        .splitlines()[1]
        .startswith("2026-11-21,synth_mef_300x200_tan.fits,BCG,None,60,49,150.1220373")
    )
    back = read_marks(folder, images=IMAGES)
    # Image Marker's file holds the display pixel of each mark, as it writes them
    assert list(back["x"]) == [60.0, 251.0] and list(back["y"]) == [150.0, 30.0]


# --- errors name the file, the line and the column ------------------------------------


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        (
            "bad.ecsv",
            "# %ECSV 1.0\n# ---\n# datatype:\n# - {name: group, datatype: int64}\n"
            "# - {name: x, datatype: float64}\n# - {name: y, datatype: float64}\n"
            "# schema: astropy-2.0\ngroup x y\n1 2.0 3.0\n1 two 3.0\n",
            r"line 10, column 'x': 'two' is not a number",
        ),
        (
            "nox.ecsv",
            "# %ECSV 1.0\n# ---\n# datatype:\n# - {name: group, datatype: int64}\n"
            "# - {name: y, datatype: float64}\n# schema: astropy-2.0\ngroup y\n1 3.0\n",
            r"line 7, column 'x': missing",
        ),
        ("empty.ecsv", "", r"empty.ecsv: the file is empty$"),
        ("blank.ecsv", "\n  \n", r"blank.ecsv: the file is empty$"),
        ("one_line.ecsv", "group x y", r"one_line.ecsv: not a valid ECSV marks table \(ECSV"),
        (
            "bad.csv",
            "# pixel_origin: 0\nimage,group,x,y\na.fits,1,2,3\na.fits,1,2,three\n",
            r"line 4, column 'y': 'three' is not a number",
        ),
        (
            "extra.csv",
            "# pixel_origin: 0\nimage,group,x,y,colour\n",
            r"line 2, column 'colour': unknown column",
        ),
        (
            "group.csv",
            "# pixel_origin: 0\nimage,group,x,y\na.fits,12,2,3\n",
            r"line 3, column 'group': '12' is not 1-9",
        ),
    ],
)
def test_bad_files_name_the_file_line_and_column(tmp_path, name, content, message):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ValueError, match=message) as err:
        read_marks(path)
    assert str(path) in str(err.value)


def test_bad_encoding_names_the_line(tmp_path):
    path = tmp_path / "latin1.csv"
    path.write_bytes(b"# pixel_origin: 0\nimage,group,label,x,y\na.fits,1,caf\xe9,2,3\n")
    with pytest.raises(ValueError, match=r"latin1.csv: line 3, column 13: byte 0xe9"):
        read_marks(path)
    marks = read_marks(path, encoding="cp1252")
    assert marks["label"][0] == "café"


def test_writes_are_atomic_and_leave_no_temporary_files(marks, tmp_path):
    for suffix in (".ecsv", ".csv", ".xml"):
        write_marks(marks, tmp_path / f"m{suffix}")
        write_marks(marks[:1], tmp_path / f"m{suffix}")  # replace
        assert len(read_marks(tmp_path / f"m{suffix}")) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.csv", "m.ecsv", "m.xml"]
    assert not math.isnan(read_marks(tmp_path / "m.ecsv")["ra"][0])
    assert DEFAULT_GROUP_COLORS[0] == "#ff0000"


def test_atomic_writes_are_readable_by_the_group_like_ordinary_files(tmp_path):
    import os
    import stat

    from napari_imagemarker.files import atomic_write

    path = tmp_path / "shared.csv"
    atomic_write(path, b"a,b\n")
    mode = stat.S_IMODE(os.stat(path).st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask
    assert path.read_bytes() == b"a,b\n"


def test_atomic_output_keeps_suffixes_and_leaves_nothing_on_error(tmp_path):
    import gzip

    import numpy as np
    from astropy.io import fits

    from napari_imagemarker.files import atomic_output

    target = tmp_path / "out.fits.gz"
    with atomic_output(target) as tmp:
        assert tmp.parent == tmp_path and tmp.name.endswith(".fits.gz")
        fits.PrimaryHDU(np.ones((3, 3))).writeto(tmp)
    assert gzip.decompress(target.read_bytes()).startswith(b"SIMPLE  =")
    before = target.read_bytes()
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("disk full")
    assert target.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.fits.gz"]
    with pytest.raises(IsADirectoryError, match="is a folder"), atomic_output(tmp_path):
        pass


def test_natural_key_sorts_numbers_by_value_and_survives_odd_digits():
    from napari_imagemarker.files import natural_key

    names = ["img10.fits", "img2.fits", "IMG1.fits", "a1\u00b22.png"]
    assert sorted(names, key=natural_key) == [
        "a1\u00b22.png",
        "IMG1.fits",
        "img2.fits",
        "img10.fits",
    ]


# --- astropy's Table I/O registry -----------------------------------------------------------


def test_astropy_table_reads_and_writes_our_formats(marks, tmp_path):
    """``Table.read/write(..., format="imgmarker...")`` is read_marks / write_marks."""
    import napari_imagemarker.marks.astropy_io  # noqa: F401  (what read_marks' module imports)

    one_image = normalise_marks(marks[:2])
    path = tmp_path / "m.reg"
    one_image.write(path, format="imgmarker.ds9")
    write_marks(one_image, tmp_path / "ref.reg")
    assert path.read_text("utf-8") == (tmp_path / "ref.reg").read_text("utf-8")
    via_astropy = Table.read(path, format="imgmarker.ds9", images=FITS)
    assert_same_marks(via_astropy, read_marks(path, images=FITS))
    with pytest.raises(OSError, match="already exists"):
        one_image.write(path, format="imgmarker.ds9")
    one_image.write(path, format="imgmarker.ds9", overwrite=True)

    mark_file = IMAGES.parent / "mark_files"
    first = mark_file / "xy_pixelsize.csv"
    assert_same_marks(
        Table.read(first, format="imgmarker", images=IMAGES),
        read_marks(first, format="imgmarker", images=IMAGES),
    )
    csv = tmp_path / "m.csv"
    one_image.write(csv, format="imgmarker.csv")
    assert_same_marks(Table.read(csv, format="imgmarker.csv"), read_marks(csv))

"""Image Marker's files: its save folder and its mark files, read and written exactly.

The golden save folder (tests/data/imgmarker/savedir) was written by imgmarker 1.2.0;
GOLDEN.md and expected.json state every fact these tests check.
"""

from __future__ import annotations

import glob
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from astropy import units as u

from napari_imagemarker.images.index import ImageIndex, array_to_display, display_to_array
from napari_imagemarker.imgmarker.savedir import read_savedir, write_savedir
from napari_imagemarker.marks.io import read_marks, write_marks

DATA = Path(__file__).parents[1] / "data" / "imgmarker"
SAVEDIR = DATA / "savedir"
IMAGES = DATA / "images"
MARK_FILES = DATA / "mark_files"
FITS = "synth_mef_300x200_tan.fits"
PNG = "synth_gray8_120x80_nowcs.png"
T0000 = "SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif"
GROUPS = ["BCG", "2", "Arc", "4", "5", "6", "7", "8", "9"]


@pytest.fixture(scope="module")
def saved():
    return read_savedir(SAVEDIR)


def our_position(mark: dict) -> tuple[float, float]:
    """(x, y) = (col, row) in our arrays for a mark of expected.json.

    expected.json's row is the file's stored row; our reader flips WCS-TIFFs (y-up), so
    there our row is 511 - stored row; FITS and PNG rows are as stored.
    """
    if mark["kind"] == "TIFF":
        return mark["col"], 511 - mark["row"]
    return mark["col"], mark["row"]


def assert_same_columns(a, b, names=None):
    for name in names or a.colnames:
        if a[name].dtype.kind == "f":
            assert np.array_equal(a[name], b[name], equal_nan=True), name
        else:
            assert list(a[name]) == list(b[name]), name


# --- reading the save folder ----------------------------------------------------------


def test_marks_are_converted_to_our_pixels_with_true_radec(saved, golden):
    marks = saved.marks
    assert len(marks) == len(golden["marks"]) == 15
    for mark, expected in zip(marks, golden["marks"], strict=True):
        assert mark["image"] == expected["image"]
        assert (mark["x"], mark["y"]) == our_position(expected)
        assert mark["group"] == expected["group_index"]
        assert mark["label"] == ("" if expected["label"] == "None" else expected["label"])
        assert mark["frame"] == 0  # Image Marker does not record the frame
        assert mark["user"] == "tester" and mark["time"] == "2026-11-21"
        if expected["true_ra"] is None:
            assert math.isnan(mark["ra"]) and math.isnan(mark["dec"])
        else:
            assert mark["ra"] == pytest.approx(expected["true_ra"], abs=1e-9)
            assert mark["dec"] == pytest.approx(expected["true_dec"], abs=1e-9)
            # and not Image Marker's values, which are a pixel off
            assert abs(mark["dec"] - expected["app_dec"]) > 1e-5


def test_golden_table_examples(saved):
    # GOLDEN.md mark 11: FITS display (60, 49) is array (row, col) (150, 60)
    m11 = saved.marks[10]
    assert (m11["image"], m11["x"], m11["y"]) == (FITS, 60.0, 150.0)
    # mark 13 sits on CRPIX, so its RA/Dec is CRVAL exactly
    assert saved.marks[12]["ra"] == pytest.approx(150.1, abs=1e-12)
    assert saved.marks[12]["dec"] == pytest.approx(2.2, abs=1e-12)
    # mark 3: TIFF display (511, 511) = stored row 511 = our row 0 (the WCS grid's bottom)
    assert (saved.marks[2]["x"], saved.marks[2]["y"]) == (511.0, 0.0)


def test_save_folder_state(saved):
    assert saved.user == "tester"
    assert saved.groups == GROUPS
    assert saved.categories == ["Merger", "2", "3", "4", "5"]
    assert saved.group_max == [None] * 9
    assert saved.randomize_order is False
    assert saved.left_click_group == 1
    assert saved.image_dir == "/home/tester/imgmarker/images"
    assert saved.problems == [] and saved.unresolved == []
    # in Image Marker's order: the folder's own listing, as its glob.glob returns it
    listed = glob.glob(str(SAVEDIR / "imports" / "*"))
    assert [str(p) for p in saved.imports] == listed
    assert sorted(p.name for p in saved.imports) == ["TEST_catalog.csv", "test_xy_nosize.txt"]
    assert saved.marks.meta["groups"] == GROUPS
    images = saved.images
    assert list(images["image"]) == [
        T0000,
        "SPT-CLJ2347-5101_4.39_sigma_grz_cont.tif",
        "SPT-CLJ2359-5051_4.92_sigma_grz_cont.tif",
        PNG,
        FITS,
    ]
    assert list(images["seen"]) == [True] * 5
    assert list(images["categories"]) == ["Merger+3", "", "", "", ""]
    assert list(images["comment"]) == ["", "", 'two "BCG"s, check later', "", ""]
    assert list(images["favorite"]) == [True, False, False, False, False]


def test_unseen_images_of_the_folder_follow_the_seen_ones(tmp_path):
    images = tmp_path / "images"
    shutil.copytree(IMAGES, images)
    shutil.copy(images / PNG, images / "unseen_2.png")
    shutil.copy(images / PNG, images / "unseen_10.png")
    saved = read_savedir(SAVEDIR, images=images)
    assert list(saved.images["image"][-2:]) == ["unseen_2.png", "unseen_10.png"]
    assert list(saved.images["seen"][-2:]) == [False, False]


def test_windows_line_endings_of_images_file_read_the_same(tmp_path, saved):
    folder = tmp_path / "savedir"
    shutil.copytree(SAVEDIR, folder)
    for name in ("tester_images.csv", "tester_favorites.csv"):
        path = folder / name
        path.write_bytes(path.read_bytes().replace(b"\r\n", b"\r\r\n"))
    again = read_savedir(folder, images=IMAGES)
    assert_same_columns(again.images, saved.images)


def test_missing_images_are_reported_and_their_marks_kept(tmp_path):
    empty = tmp_path / "no_images"
    empty.mkdir()
    folder = tmp_path / "savedir"
    shutil.copytree(SAVEDIR, folder)
    saved = read_savedir(folder, images=empty)
    assert len(saved.marks) == 0
    assert len(saved.unresolved) == 15
    assert len(saved.problems) == 4  # 4 marked images; T2347 has no marks to convert
    assert "not found" in saved.problems[0]
    out = tmp_path / "out"
    out.mkdir()
    write_savedir(
        out,
        "tester",
        saved.marks,
        saved.images,
        saved.groups,
        saved.categories,
        image_dir=saved.image_dir,
        image_paths=empty,
        unresolved=saved.unresolved,
        date="2026-11-21",
    )
    # nothing could be converted, so every row goes back as written: the golden file
    written = (out / "tester_marks.csv").read_bytes()
    assert written == (SAVEDIR / "tester_marks.csv").read_bytes()


# --- writing the save folder -----------------------------------------------------------


def without_radec(path: Path, kind: str) -> list[bytes]:
    """The file's lines (CRLF kept) with the RA and DEC fields blanked."""
    lines = path.read_bytes().split(b"\r\n")
    out = []
    for line in lines:
        if kind == "marks":  # RA, DEC are the last two fields, never quoted
            head, _, _ = line.rsplit(b",", 2) if line.count(b",") >= 2 else (line, b"", b"")
            out.append(head + b",RA,DEC")
        else:  # date, image, RA, DEC, then categories and comment (maybe quoted)
            parts = line.split(b",", 4)
            out.append(b",".join([*parts[:2], b"RA", b"DEC", *parts[4:]]) if parts[1:] else line)
    return out


def test_write_back_is_image_markers_layout_byte_for_byte(saved, golden, tmp_path):
    write_savedir(
        tmp_path,
        saved.user,
        saved.marks,
        saved.images,
        saved.groups,
        saved.categories,
        group_max=saved.group_max,
        randomize_order=saved.randomize_order,
        left_click_group=saved.left_click_group,
        image_dir=saved.image_dir,
        image_paths=IMAGES,
        date="2026-11-21",
    )
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "tester_config.txt",
        "tester_favorites.csv",
        "tester_images.csv",
        "tester_marks.csv",
    ]
    assert (tmp_path / "tester_config.txt").read_bytes() == (
        SAVEDIR / "tester_config.txt"
    ).read_bytes()
    for name, kind in [
        ("tester_marks.csv", "marks"),
        ("tester_images.csv", "images"),
        ("tester_favorites.csv", "images"),
    ]:
        ours, theirs = tmp_path / name, SAVEDIR / name
        assert ours.read_bytes().endswith(b"\r\n") and b"\n" not in ours.read_bytes().replace(
            b"\r\n", b""
        )
        assert without_radec(ours, kind) == without_radec(theirs, kind), name

    # the RA/DEC written are the true ones
    lines = (tmp_path / "tester_marks.csv").read_text("utf-8").splitlines()[1:]
    marked = [line for line in lines if ",None,None,nan,nan" not in line]
    for line, expected in zip(marked, golden["marks"], strict=True):
        ra, dec = (float(v) for v in line.rsplit(",", 2)[1:])
        if expected["true_ra"] is None:
            assert math.isnan(ra) and math.isnan(dec)
        else:
            assert ra == pytest.approx(expected["true_ra"], abs=1e-9)
            assert dec == pytest.approx(expected["true_dec"], abs=1e-9)
    lines = (tmp_path / "tester_images.csv").read_text("utf-8").splitlines()[1:]
    for line, expected in zip(lines, golden["images"], strict=True):
        ra, dec = (float(v) for v in line.split(",")[2:4])
        if expected["true_centre_ra"] is None:
            assert math.isnan(ra)
        else:
            assert ra == pytest.approx(expected["true_centre_ra"], abs=1e-9)
            assert dec == pytest.approx(expected["true_centre_dec"], abs=1e-9)


def test_written_folder_reads_back_to_the_same_session(saved, tmp_path):
    write_savedir(
        tmp_path,
        "tester",
        saved.marks,
        saved.images,
        saved.groups,
        saved.categories,
        image_dir=saved.image_dir,
        image_paths=IMAGES,
    )
    again = read_savedir(tmp_path, images=IMAGES)
    assert_same_columns(again.marks, saved.marks, [n for n in saved.marks.colnames if n != "time"])
    assert_same_columns(again.images, saved.images)
    assert again.groups == saved.groups and again.categories == saved.categories


def test_date_is_todays_utc_date_and_no_favourites_is_an_empty_file(saved, tmp_path):
    import datetime as dt

    images = saved.images.copy()
    images["favorite"] = False
    write_savedir(tmp_path, "ana", saved.marks, images, image_paths=IMAGES)
    assert (tmp_path / "ana_favorites.csv").read_bytes() == b""
    today = dt.datetime.now(dt.timezone.utc).date().isoformat()
    rows = (tmp_path / "ana_marks.csv").read_text().splitlines()[1:]
    assert {row[:10] for row in rows} == {today}
    # the marks' own group names travel in their meta
    assert rows[0].split(",")[2] == "BCG"


def test_subpixel_marks_and_labels_equal_to_the_group_name(saved, tmp_path):
    marks = saved.marks[:2].copy()
    marks["x"][0] = 100.25  # written as Image Marker writes a mark: the pixel that holds it
    marks["y"][0] = 460.5  # display y 511 - 460.5 = 50.5: the upper pixel, as Image Marker
    marks["label"][1] = "2"  # the group's own name is written as None
    write_savedir(tmp_path, "t", marks, saved.images[:1], image_paths=IMAGES, date="d")
    rows = (tmp_path / "t_marks.csv").read_text().splitlines()
    assert rows[1].startswith(f"d,{T0000},BCG,None,100,51,")
    assert rows[2].startswith(f"d,{T0000},2,None,0,0,")


def test_names_image_marker_cannot_store_are_refused(saved, tmp_path):
    with pytest.raises(ValueError, match="groups: 'a,b'"):
        write_savedir(
            tmp_path, "t", saved.marks, saved.images, ["a,b", *GROUPS[1:]], image_paths=IMAGES
        )
    with pytest.raises(ValueError, match="categories: 'x\\+y'"):
        write_savedir(
            tmp_path, "t", saved.marks, saved.images, categories=["x+y", "2", "3", "4", "5"]
        )


# --- pixel conventions -------------------------------------------------------------------


def test_display_pixels_flip_only_for_y_up_frames():
    index = ImageIndex(IMAGES)
    fits, tiff, png = (index.frame(n) for n in (FITS, T0000, PNG))
    assert display_to_array(60, 49, fits) == (60, 150)  # H = 200
    assert display_to_array(10, 500, tiff) == (10, 11)  # H = 512, row = 511 - y
    assert display_to_array(100, 60, png) == (100, 60)  # as stored
    col, row = display_to_array([0.0, 299.0], [0.0, 199.0], fits)
    assert np.array_equal(array_to_display(col, row, fits), ([0.0, 299.0], [0.0, 199.0]))


# --- Image Marker's mark files ---------------------------------------------------------


def test_marks_csv_written_alone_matches_the_golden_rows(saved, tmp_path):
    path = tmp_path / "tester_marks.csv"
    write_marks(saved.marks, path, format="imgmarker", images=IMAGES, date="2026-11-21")
    ours = without_radec(path, "marks")
    theirs = [
        r for r in without_radec(SAVEDIR / "tester_marks.csv", "marks") if b"nan,nan" not in r
    ]
    assert ours == [r for r in theirs if b",None,None,nan,nan" not in r]


def test_reads_the_rejected_xy_file_with_a_size_px_column():
    marks = read_marks(MARK_FILES / "xy_pixelsize.csv")
    assert list(marks["label"]) == ["Brightest Cluster Galaxy", "Star 1", "Star 2"]
    assert list(marks["x"]) == [325, 199, 311] and list(marks["y"]) == [182, 271, 401]
    assert list(marks["size"]) == [15, 15, 15] and marks["size"].unit == u.pix
    assert list(marks["image"]) == ["", "", ""]  # applies to every image: display pixels
    assert marks.meta["display_xy"] is True
    assert list(marks["group"]) == [1, 1, 1]


def test_reads_the_rejected_radec_file_with_capitalised_headers():
    marks = read_marks(MARK_FILES / "radec_pixelsize.csv")
    assert marks["ra"][0] == 0.193330989969354 and marks["dec"][0] == -51.7046426335012
    assert np.isnan(marks["x"]).all()
    assert marks["size"].unit == u.pix


def test_reads_pipe_delimited_files_with_spaced_headers_and_float_pixels():
    marks = read_marks(MARK_FILES / "xy_pixelsize_pipe.txt")
    assert list(marks["label"]) == ["BCG", "Star 1"]
    assert list(marks["x"]) == [325.0, 199.0] and list(marks["y"]) == [182.0, 271.0]


def test_reads_the_files_image_marker_imported():
    xy = read_marks(SAVEDIR / "imports" / "test_xy_nosize.txt")
    assert len(xy) == 5 and "size" not in xy.colnames
    catalog = read_marks(SAVEDIR / "imports" / "TEST_catalog.csv")
    assert list(catalog["label"]) == ["BCG prob. 0.99", "BCG prob. 1", "BCG prob. 0.8"]
    assert catalog["size"].unit == u.arcsec


def test_resaved_file_with_float_pixels_converts_per_image():
    marks = read_marks(MARK_FILES / "imgmarker_resaved.csv", images=IMAGES, groups=GROUPS)
    assert list(marks["image"]) == [FITS, PNG]
    assert (marks["x"][0], marks["y"][0]) == (60.0, 150.0)
    assert (marks["x"][1], marks["y"][1]) == (100.0, 60.0)
    assert list(marks["group"]) == [1, 2]
    assert marks["ra"][0] == pytest.approx(150.12203731626568, abs=1e-9)


def test_votable_export_of_image_marker_reads_as_its_marks(saved):
    marks = read_marks(SAVEDIR / "tester_marks.xml")
    with_wcs = saved.marks[np.isfinite(saved.marks["ra"])]
    assert len(marks) == 11
    assert_same_columns(marks, with_wcs, ["image", "group", "label", "x", "y", "ra", "dec"])


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"label,x,y,sizes\nA,1,2,3\n", r"line 1, column 'sizes': not an Image Marker field"),
        (b"label,x\nA,1\n", r"line 1, column 'y': missing"),
        (b"label,x,y\nA,1,2\nB,one,2\n", r"line 3, column 'x': 'one' is not a number"),
        (b"label,x,y\nA,1,2\ncaf\xe9,1,2\n", r"line 3, column 4: byte 0xe9 is not valid utf-8"),
        (b"group,x,y\nBCG,1,2\n", r"line 2, column 'group': unknown group 'BCG'"),
        (b"label,x,y\nA,1,2,3\n", r"line 2: 4 fields for 3 columns"),
    ],
)
def test_bad_mark_files_name_the_file_line_and_column(tmp_path, content, message):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message) as err:
        read_marks(path)
    assert str(path) in str(err.value)


def test_a_named_image_that_cannot_be_found_is_an_error_not_a_guess(tmp_path):
    path = tmp_path / "m.csv"
    path.write_text("image,x,y\nnowhere.fits,1,2\n")
    with pytest.raises(ValueError, match=r"line 2, column 'image': .*'nowhere.fits' not found"):
        read_marks(path)


def test_a_leftover_temporary_file_is_not_a_user(tmp_path):
    from napari_imagemarker.imgmarker.savedir import savedir_users

    (tmp_path / "tester_marks.csv").write_text("date,image,group,label,x,y,RA,DEC\r\n")
    (tmp_path / ".tmp-123-abc-other_marks.csv").write_text("")
    assert savedir_users(tmp_path) == ["tester"]

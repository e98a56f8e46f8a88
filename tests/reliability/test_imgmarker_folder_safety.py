"""Image Marker folders from elsewhere: nothing is read outside the places the images are,
and text a spreadsheet would run is written so that it does not run (issue 17, item 15)."""

from __future__ import annotations

import csv
import io
import shutil

import pytest
from reliability_helpers import make_images

from napari_imagemarker.imgmarker.marks_file import spreadsheet_safe, spreadsheet_text
from napari_imagemarker.imgmarker.savedir import read_savedir
from napari_imagemarker.marking.session import ImageSkippedWarning, MarkingSession

HEADER = "date,image,group,label,x,y,RA,DEC\r\n"


@pytest.mark.parametrize("kind", ["parent", "absolute"])
def test_image_names_with_a_folder_part_are_never_opened(tmp_path, kind):
    images = make_images(tmp_path / "images", n=1)
    save = tmp_path / "project" / "save"
    save.mkdir(parents=True)
    # a readable image outside the save folder and the image folder
    outside = make_images(tmp_path / "project" / "secret", n=1)[0]
    name = "../secret/img0.fits" if kind == "parent" else str(outside)
    rows = [
        "2026-01-01,img0.fits,1,None,3,4,nan,nan\r\n",
        f"2026-01-01,{name},1,None,5,6,nan,nan\r\n",
    ]
    (save / "ann_marks.csv").write_text(HEADER + "".join(rows), newline="")
    for search in (str(images[0].parent), None):  # given images, or the folders searched
        if search is None:
            shutil.copytree(images[0].parent, save.parent / "images")
        saved = read_savedir(save, "ann", images=search)
        assert list(saved.marks["image"]) == ["img0.fits"]
        assert [r["image"] for r in saved.unresolved] == [name]  # kept as written, unread
        assert any("not a plain file name" in p for p in saved.problems)
    with (
        pytest.warns(ImageSkippedWarning, match="not a plain file name"),
        MarkingSession(images, save, user="ann") as s,
    ):  # the import keeps it unresolved
        assert list(s.marks["image"]) == ["img0.fits"]
    assert name in (save / "ann_marks.csv").read_text()  # and writes it back unchanged


FORMULAS = [
    "=cmd|' /C calc'!A0",
    "+1+cmd|' /C calc'!A0",
    "-2+3",
    "@SUM(A1:A9)",
    "\tTAB",
    "'=already quoted",
    "''=twice",
]


def test_spreadsheet_formulas_are_neutralised_in_image_markers_files(tmp_path):
    images = make_images(tmp_path / "images", n=len(FORMULAS))
    save = tmp_path / "save"
    with MarkingSession(images, save, user="ann") as s:
        for path, text in zip(images, FORMULAS, strict=True):
            s.set_comment(text, image=path)
            s.add_mark(1, 1, 1, label=text, image=path)
        s.add_mark(2, 2, 1, label="-5")  # a number stays a number
    for name in ("ann_images.csv", "ann_marks.csv"):
        text = (save / name).read_bytes().decode("utf-8")
        cells = [c for row in csv.reader(io.StringIO(text, newline="")) for c in row]
        for text in FORMULAS:
            assert "'" + text in cells, (name, text)
        assert all(not c.startswith(("=", "+", "@")) for c in cells), name
    assert ",-5," in (save / "ann_marks.csv").read_text()
    saved = read_savedir(save, "ann", images=str(images[0].parent))  # read back exactly
    assert sorted(saved.images["comment"][: len(FORMULAS)]) == sorted(FORMULAS)
    assert sorted(set(saved.marks["label"]) - {"-5"}) == sorted(FORMULAS)


@pytest.mark.parametrize(
    "text", [*FORMULAS, "", "None", "plain", "-", "+", "'", "'plain", "1e5", "-inf", "nan"]
)
def test_spreadsheet_safe_text_comes_back_exactly(text):
    assert spreadsheet_text(spreadsheet_safe(text)) == text
    assert not spreadsheet_safe(text).startswith(("=", "+", "@", "\t", "\r")) or _number(text)


def _number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True

"""Marks files and Image Marker folders that are damaged or hostile: errors name the file,
and no text makes the parser take quadratic time (issue 17, items 13 and 14)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from regions import Regions

from napari_imagemarker import read_marks
from napari_imagemarker.marking.session import MarkingSession
from napari_imagemarker.marks.ds9 import LONG_WORD, read_regions

DATA = Path(__file__).parents[1] / "data" / "imgmarker"


def test_ds9_long_trailing_text_is_read_in_linear_time(tmp_path):
    # 200,000 characters of a bare word after the metadata: regions' own parser would take
    # minutes on this line (its time grows with the square of the word's length).
    path = tmp_path / "long.reg"
    junk = "b" * 200_000
    path.write_text(
        f"image\ncircle(10,10,3) # color=red text={{knot}} {junk}\npoint(4,5) # {junk}\n"
    )
    table = read_regions(path)
    assert list(table["shape"]) == ["circle", "point"]
    assert list(table["text"]) == ["knot", ""] and table["color"][0] == "red"
    marks = read_marks(path)
    assert list(marks["x"]) == [9.0, 3.0]


@pytest.mark.parametrize(
    "tail",
    [
        " # " + "b" * (LONG_WORD + 50),
        " # color=red " + "b" * (LONG_WORD + 50) + " width=3",
        " # text={a " + "b" * (LONG_WORD + 50) + "} tag={t}",
        " # text={a} " + "b" * LONG_WORD,  # not long enough to be touched
    ],
)
def test_dropping_long_words_changes_no_region(tmp_path, tail):
    text = "image\ncircle(10,10,3)" + tail + "\n"
    path = tmp_path / "r.reg"
    path.write_text(text)
    theirs = Regions.parse(text, format="ds9")[0]
    ours = read_regions(path)
    assert ours["text"][0] == theirs.meta.get("text", "")
    assert ours["color"][0] == theirs.visual.get("color", ours["color"][0])
    assert ours["tag"][0] == ",".join(map(str, theirs.meta.get("tag", [])))


def test_a_votable_with_damaged_metadata_names_the_file(tmp_path):
    path = tmp_path / "marks.xml"
    from astropy.table import Table

    from napari_imagemarker import write_marks

    table = Table({"image": ["a.fits"], "frame": [0], "group": [1], "x": [1.0], "y": [2.0]})
    write_marks(table, path)
    text = path.read_text()
    path.write_text(text.replace("[&quot;1&quot;, &quot;2&quot;", "[&quot;1&quot; &quot;2&quot;"))
    with pytest.raises(ValueError, match=r"marks.xml: "):
        read_marks(path)


def test_a_bad_group_maximum_in_an_image_marker_config_names_the_file(tmp_path):
    save = tmp_path / "save"
    shutil.copytree(DATA / "savedir", save)
    config = save / "tester_config.txt"
    config.write_text(config.read_text().replace("group_max = None,", "group_max = -1,"))
    with pytest.raises(ValueError, match=r"tester_config.txt: group_max: -1 is not"):
        MarkingSession(DATA / "images", save, user="tester")

"""Image Marker folders shared between people: a colleague's ``<user>_config.txt`` alone in a
folder, users listed from a folder's files, more than five categories, lowered group maxima,
and the integer display pixels Image Marker writes.

The colleague's folder is built from the real files Image Marker 1.2 wrote
(tests/data/imgmarker/savedir: ``tester_config.txt`` and ``imports/``).
"""

from __future__ import annotations

import csv
import io
import shutil
import warnings
from pathlib import Path

import pytest

from napari_imagemarker import MarkingSession
from napari_imagemarker.imgmarker.config import read_config
from napari_imagemarker.imgmarker.savedir import savedir_files, savedir_users
from napari_imagemarker.marking.session import (
    GroupFullError,
    NoImageListError,
    OthersFilesWarning,
)

DATA = Path(__file__).parents[1] / "data" / "imgmarker"
IMAGES = DATA / "images"
T0000 = "SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif"
T2347 = "SPT-CLJ2347-5101_4.39_sigma_grz_cont.tif"
FITS = "synth_mef_300x200_tan.fits"


@pytest.fixture
def colleague(tmp_path) -> Path:
    """A folder holding only Image Marker's ``tester_config.txt`` and ``imports/``."""
    folder = tmp_path / "shared"
    folder.mkdir()
    shutil.copy(DATA / "savedir" / "tester_config.txt", folder)
    shutil.copytree(DATA / "savedir" / "imports", folder / "imports")
    for path in [folder, *folder.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    return folder


def _edit_config(folder: Path, **lines: str) -> None:
    path = folder / "tester_config.txt"
    text = path.read_text()
    out = []
    for line in text.split("\n"):
        key = line.split("=")[0].strip()
        out.append(f"{key} = {lines[key]}" if key in lines else line)
    path.write_text("\n".join(out))


def _config_lines(folder: Path, user: str = "tester") -> dict[str, str]:
    text = (folder / f"{user}_config.txt").read_text()
    return dict(tuple(part.strip() for part in line.split("=", 1)) for line in text.split("\n"))


def test_a_config_alone_is_honoured_and_written_back_unchanged(colleague):
    _edit_config(
        colleague,
        group_max="1,2,None,None,None,None,None,None,None",
        left_click_group="3",
    )
    before = _config_lines(colleague)
    with MarkingSession(IMAGES, colleague, user="tester") as s:
        assert s.groups == ("BCG", "2", "Arc", "4", "5", "6", "7", "8", "9")
        assert s.categories == ("Merger", "2", "3", "4", "5")
        assert s.group_max[:3] == (1, 2, None)
        assert s.left_click_group == 3
        assert s.shuffle_seed is None
        assert [p.name for p in s.paths][:2] == [T0000, T2347]  # natural order
        assert len(s.marks) == 0
    after = _config_lines(colleague)
    # everything the colleague set is kept; image_dir now says where the images are here
    assert {k: v for k, v in after.items() if k != "image_dir"} == {
        k: v for k, v in before.items() if k != "image_dir"
    }
    assert after["image_dir"] == str(IMAGES)
    # and the next opening, from our own files, still has them
    with MarkingSession(None, colleague, user="tester", read_only=True) as s:
        assert s.groups[0] == "BCG" and s.left_click_group == 3 and s.group_max[0] == 1


def test_randomize_order_draws_one_seed_that_is_kept(colleague):
    _edit_config(colleague, randomize_order="True")
    with MarkingSession(IMAGES, colleague, user="tester") as s:
        seed, order = s.shuffle_seed, [p.name for p in s.paths]
        assert seed is not None
        assert sorted(order) == sorted(p.name for p in IMAGES.iterdir())
    assert _config_lines(colleague)["randomize_order"] == "True"
    with MarkingSession(None, colleague, user="tester") as s:
        assert s.shuffle_seed == seed and [p.name for p in s.paths] == order


def test_left_click_group_is_kept_as_it_changes(colleague):
    with MarkingSession(IMAGES, colleague, user="tester") as s:
        assert s.left_click_group == 1
        s.set_left_click_group(2)
        with pytest.raises(ValueError, match="group must be 1-9"):
            s.set_left_click_group(10)
    assert _config_lines(colleague)["left_click_group"] == "2"
    with MarkingSession(None, colleague, user="tester", read_only=True) as s:
        assert s.left_click_group == 2


def test_a_new_user_can_take_a_colleagues_settings(colleague):
    with MarkingSession(IMAGES, colleague, user="ana", settings_from="tester") as s:
        assert s.groups[:3] == ("BCG", "2", "Arc") and s.categories[0] == "Merger"
    assert _config_lines(colleague, "ana")["groups"] == "BCG,2,Arc,4,5,6,7,8,9"
    # the colleague's file is left as it was
    assert (colleague / "tester_config.txt").read_bytes() == (
        DATA / "savedir" / "tester_config.txt"
    ).read_bytes()
    with pytest.raises(ValueError, match=r"bob_config\.txt: no such file"):
        MarkingSession(IMAGES, colleague, user="carl", settings_from="bob")


def test_a_new_empty_session_beside_a_colleagues_files_is_never_silent(colleague):
    with pytest.warns(OthersFilesWarning) as caught:
        MarkingSession(IMAGES, colleague, user="ana").close()
    assert str(caught[0].message) == (
        f"{colleague} holds the files of tester and none of user 'ana': a new, empty "
        "session of 'ana' starts beside them (user='tester' resumes theirs, "
        "settings_from='tester' starts with their settings)"
    )
    # reopening one's own session, or taking the settings, says nothing
    with warnings.catch_warnings():
        warnings.simplefilter("error", OthersFilesWarning)
        MarkingSession(IMAGES, colleague, user="ana").close()
        MarkingSession(IMAGES, colleague, user="bo", settings_from="tester").close()


def test_no_image_list_is_its_own_error_naming_user_and_folder(colleague):
    with pytest.raises(NoImageListError) as error:
        MarkingSession(None, colleague, user="ana")
    assert error.value.user == "ana" and error.value.save_dir == colleague
    assert isinstance(error.value, ValueError)


def test_users_of_a_folder_and_their_files(colleague):
    assert savedir_users(colleague) == ["tester"]
    assert savedir_files(colleague) == {"tester": ["_config.txt"]}
    MarkingSession(IMAGES, colleague, user="ana", mirror=False).close()
    files = savedir_files(colleague)
    assert files["ana"] == ["_marks.ecsv", "_images.ecsv"]
    assert savedir_users(colleague) == ["tester"]  # Image Marker's files only
    assert savedir_files(colleague / "missing") == {}


# -- categories --------------------------------------------------------------------------


def test_seven_categories_from_the_config_and_in_image_markers_files(colleague):
    names = "Merger,Relaxed,Fossil,Lens,Bad,Double,Edge"
    _edit_config(colleague, categories=names)
    assert read_config(colleague / "tester_config.txt")["categories"] == names.split(",")
    with MarkingSession(IMAGES, colleague, user="tester") as s:
        assert len(s.categories) == 7
        s.set_categories([1, 7])
        assert s.toggle_category("Double") is True
        with pytest.raises(ValueError, match="category must be 1-7, got 8"):
            s.toggle_category(8)
    assert _config_lines(colleague)["categories"] == names
    rows = list(csv.reader(io.StringIO((colleague / "tester_images.csv").read_text())))
    assert rows[1][1] == T0000 and rows[1][4] == "Merger+Double+Edge"


def test_categories_can_be_added_and_unused_ones_removed(tmp_path):
    with MarkingSession(IMAGES, tmp_path, user="ann") as s:
        s.set_category_names(["a", "b", "c", "d", "e", "f"])
        s.toggle_category(6)
        with pytest.raises(ValueError, match="category 'f' is set on 1 image"):
            s.set_category_names(["a", "b", "c", "d", "e"])
        with pytest.raises(ValueError, match="10 names, expected 1 to 9"):
            s.set_category_names([str(i) for i in range(10)])
        s.toggle_category(6)
        s.set_category_names(["a", "b"])
        assert s.categories == ("a", "b")
    assert _config_lines(tmp_path, "ann")["categories"] == "a,b"


# -- group maxima ------------------------------------------------------------------------


def test_lowering_a_maximum_below_existing_marks_never_removes_them(tmp_path):
    with MarkingSession(IMAGES, tmp_path, user="ann", mirror=False) as s:
        for x in (10, 20, 30):
            s.add_mark(x, 10, 2)
        assert s.over_limit(2, 1) == {T0000: 3}
        assert s.over_limit(2, 3) == {} and s.over_limit(2, None) == {}
        s.set_group_max(2, 1)
        with pytest.raises(GroupFullError, match="already has 3 mark"):
            s.add_mark(40, 10, 2)
        assert len(s.marks) == 3  # nothing removed
        s.remove_mark(int(s.marks["id"][0]))
        s.remove_mark(int(s.marks["id"][0]))
        s.add_mark(50, 10, 2)  # one left: maximum 1 replaces it again
        assert list(s.marks["x"]) == [50.0]


# -- Image Marker's display pixels -------------------------------------------------------


def test_image_markers_csv_gets_integer_pixels_ours_keep_sub_pixels(tmp_path):
    with MarkingSession(IMAGES, tmp_path, user="ann") as s:
        s.add_mark(261.1434328718808, 461.4, 1)  # display y = 511 - 461.4 = 49.6
        s.add_mark(99.5, 411.5, 2)  # on the boundary: the pixel above, as Image Marker
        s.goto(FITS)
        s.add_mark(60.49, 150.2, 1)  # FITS: display y = 199 - 150.2 = 48.8
    rows = list(csv.reader(io.StringIO((tmp_path / "ann_marks.csv").read_text())))
    assert [r[4:6] for r in rows[1:3]] == [["261", "50"], ["100", "100"]]
    assert [r[4:6] for r in rows[1:] if r[1] == FITS] == [["60", "49"]]
    with MarkingSession(None, tmp_path, user="ann", read_only=True) as s:
        assert list(s.marks["x"]) == [261.1434328718808, 99.5, 60.49]

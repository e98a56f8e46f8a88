"""A save folder of three users (two of our sessions, one Image Marker folder with its
duplicates) and a gold standard, through the public API and the command line."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from conftest import IMGMARKER
from napari_imagemarker import MarkingSession, agreement, read_marks, write_marks
from napari_imagemarker.cli import main

T0000 = "SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif"
T2347 = "SPT-CLJ2347-5101_4.39_sigma_grz_cont.tif"
T2359 = "SPT-CLJ2359-5051_4.92_sigma_grz_cont.tif"
PNG = "synth_gray8_120x80_nowcs.png"
FITS = "synth_mef_300x200_tan.fits"
ORDER = [T0000, T2347, T2359, PNG, FITS]
CATEGORIES = ["Merger", "Lensed", "3", "4", "5"]
GROUPS = ["BCG", "member", "3", "4", "5", "6", "7", "8", "9"]


def _session(images, save, user, marks, categories):
    with MarkingSession(
        images, save, user=user, groups=GROUPS, categories=CATEGORIES, mirror_delay=0.05
    ) as s:
        for x, y, group, image in marks:
            s.add_mark(x, y, group, image=image)
        for image, cats in categories.items():
            s.set_categories(cats, image=image)
        for _ in ORDER:
            s.next()
        assert s.n_seen == len(ORDER)


# carol used Image Marker 1.2: T0000 and PNG were shown to her twice ("duplicates"). Its
# x, y are display pixels from the top: for these TIFFs (north up) row = 511 - y.
CAROL_MARKS = """\
date,image,group,label,x,y,RA,DEC\r
2026-12-01,SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif,BCG,None,256,254,nan,nan\r
2026-12-01,SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif,member,None,101,461,nan,nan\r
2026-12-01,SPT-CLJ2347-5101_4.39_sigma_grz_cont.tif,None,None,nan,nan,nan,nan\r
2026-12-01,SPT-CLJ2359-5051_4.92_sigma_grz_cont.tif,None,None,nan,nan,nan,nan\r
2026-12-01,synth_gray8_120x80_nowcs.png,None,None,nan,nan,nan,nan\r
2026-12-01,synth_mef_300x200_tan.fits,None,None,nan,nan,nan,nan\r
2026-12-01,SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif,BCG,DUPLICATE,255,256,nan,nan\r
2026-12-01,synth_gray8_120x80_nowcs.png,None,None,nan,nan,nan,nan\r
"""
CAROL_IMAGES = """\
date,image,RA,DEC,categories,comment\r
2026-12-01,SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif,nan,nan,Merger,None\r
2026-12-01,SPT-CLJ2347-5101_4.39_sigma_grz_cont.tif,nan,nan,None,None\r
2026-12-01,SPT-CLJ2359-5051_4.92_sigma_grz_cont.tif,nan,nan,None,None\r
2026-12-01,synth_gray8_120x80_nowcs.png,nan,nan,None,None\r
2026-12-01,synth_mef_300x200_tan.fits,nan,nan,None,None\r
2026-12-01,SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif,nan,nan,Merger,None\r
2026-12-01,synth_gray8_120x80_nowcs.png,nan,nan,Lensed,None\r
"""


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("team")
    images = root / "images"
    shutil.copytree(IMGMARKER / "images", images)
    save = root / "save"
    _session(
        images, save, "alice",
        [(256, 256, 1, T0000), (100, 50, 2, T0000), (20, 10, 1, PNG)],
        {T0000: ["Merger"], T2359: ["Lensed"]},
    )  # fmt: skip
    _session(
        images, save, "bob",
        [(257, 255, 1, T0000), (300, 200, 1, T2359)],
        {T2359: ["Merger"]},
    )  # fmt: skip
    (save / "carol_marks.csv").write_bytes(CAROL_MARKS.encode())
    (save / "carol_images.csv").write_bytes(CAROL_IMAGES.encode())
    (save / "carol_config.txt").write_text(
        f"image_dir = {images}\ngroups = {','.join(GROUPS)}\n"
        f"categories = {','.join(CATEGORIES)}\ngroup_max = {','.join(['None'] * 9)}\n"
        "randomize_order = False\nleft_click_group = 1"
    )
    gold = root / "gold"
    gold.mkdir()
    truth = read_marks(save / "alice_marks.ecsv")[:2]  # T0000: BCG (256, 256), member
    truth["user"] = "truth"
    write_marks(truth, gold / "truth_marks.ecsv")
    (gold / "truth_categories.csv").write_text(
        f"image,categories\n{T0000},Merger\n{T2359},None\n{PNG},Lensed\n"
    )
    return root


def test_three_users_every_json_key(folder, tmp_path):
    out = tmp_path / "report.json"
    html = tmp_path / "report.html"
    code = main([
        "agreement", str(folder / "save"), "--radius", "3",
        "--gold", str(folder / "gold" / "truth_marks.ecsv"),
        "--gold", str(folder / "gold" / "truth_categories.csv"),
        "--json", str(out), "--report", str(html),
    ])  # fmt: skip
    assert code == 0
    d = json.loads(out.read_text())
    users = ["alice", "bob", "carol"]
    assert d["settings"]["users"] == users

    # Merger: alice and carol on T0000, bob on T2359; every image seen by all three
    answers = {
        "alice": [1, 0, 0, 0, 0],
        "bob": [0, 0, 1, 0, 0],
        "carol": [1, 0, 0, 0, 0],
    }
    table = np.array([[3 - sum(answers[u][i] for u in users), sum(answers[u][i] for u in users)]
                      for i in range(5)])  # fmt: skip
    merger = d["categories"]["Merger"]
    assert merger["fleiss_kappa"] == pytest.approx(sm_fleiss(table), abs=1e-12)
    for a in users:
        for b in users:
            if a != b:
                expected = cohen_kappa_score(answers[a], answers[b])
                assert merger["cohen_kappa"][a][b] == pytest.approx(expected, abs=1e-12)
    assert merger["cohen_kappa"]["alice"]["carol"] == 1.0
    # Lensed: alice on T2359 only (carol's Lensed was on her duplicate of the PNG)
    assert d["categories"]["Lensed"]["n_yes"] == {"alice": 1, "bob": 0, "carol": 0}
    # nothing here: T2347 and FITS for all; PNG for bob and carol; T2359 for alice, carol
    assert d["nothing"]["n_yes"] == {"alice": 3, "bob": 3, "carol": 4}
    assert d["nothing"]["fleiss_kappa"] is not None

    # carol's duplicates: T0000 (same BCG 2.2 px away, Merger again), PNG (nothing again,
    # but Lensed this time)
    sc = d["self_consistency"]["carol"]
    assert sc["n_repeats"] == 2
    assert sc["categories"]["Merger"]["cohen_kappa"] == 1.0
    assert sc["categories"]["Lensed"]["cohen_kappa"] == 0.0  # no, yes: no better than chance
    assert sc["nothing"]["cohen_kappa"] == 1.0
    assert sc["marks"]["matched"] == 1 and sc["marks"]["match_rate"] == pytest.approx(2 / 3)
    assert set(d["self_consistency"]) == {"carol"}

    bcg = d["groups"]["BCG"]["consensus"]
    assert [(c["image"], c["n_users"]) for c in bcg] == [(T0000, 3)]
    c = bcg[0]
    assert (c["x"], c["y"]) == pytest.approx((256 + 1 / 3, 256))
    assert set(c) >= {"image", "x", "y", "ra", "dec", "n_users"}
    assert c["ra"] == pytest.approx(0.2020, abs=1e-3) and c["dec"] == pytest.approx(
        -51.694, abs=1e-3
    )
    member = d["groups"]["member"]["consensus"]
    assert [(m["image"], m["n_users"], m["users"]) for m in member] == [
        (T0000, 2, ["alice", "carol"])
    ]
    # bob's BCG on T2359 is his alone: not a consensus
    assert d["groups"]["BCG"]["n_clusters"] == 3  # T0000, T2359 (bob), PNG (alice)

    u = d["users"]
    assert u["alice"]["groups"]["BCG"]["precision"] == 0.5  # T0000 yes, PNG no
    assert u["alice"]["groups"]["BCG"]["recall"] == 1.0
    assert u["bob"]["groups"]["BCG"]["precision"] == 0.5
    assert u["bob"]["groups"]["member"]["recall"] == 0.0
    assert u["carol"]["groups"]["member"]["precision"] == 1.0
    for user in users:
        for g in ("BCG", "member"):
            assert set(u[user]["groups"][g]) >= {"precision", "recall"}

    # the gold standard: alice's marks are the truth's; bob's BCG 1.4 px off
    g = u["bob"]["gold"]
    assert g["groups"]["BCG"] == {
        "precision": 0.5, "recall": 1.0, "tp": 1, "fp": 1, "fn": 0,
        "median_offset": pytest.approx(2**0.5),
    }  # fmt: skip
    assert u["alice"]["gold"]["groups"]["member"]["precision"] == 1.0
    # Merger truth: T0000 yes, T2359 no, PNG no; bob said T2359
    assert u["bob"]["gold"]["categories"]["Merger"]["confusion"] == [[1, 1], [1, 0]]
    assert u["carol"]["gold"]["categories"]["Merger"]["confusion"] == [[2, 0], [0, 1]]

    ranked = d["images"]
    # all agree there is nothing on T2347 and the FITS: last, ties by name
    assert [(r["image"], r["disagreement"]) for r in ranked[-2:]] == [(T2347, 0.0), (FITS, 0.0)]
    assert ranked[0]["disagreement"] > 0.3

    page = html.read_text()
    assert page.count("data:image/png;base64,") == 3
    assert "<img alt='Fleiss kappa" in page and "src='http" not in page
    assert "alice - bob" in page


def test_python_api_and_consensus_file(folder, tmp_path):
    report = agreement(folder / "save", users="alice,carol", radius="1arcsec")
    assert report["settings"]["users"] == ["alice", "carol"]
    assert report["settings"]["radius_unit"] == "arcsec"
    # alice's PNG mark has no RA/Dec: left out in arcsec
    assert report["settings"]["marks_left_out"] == 1
    assert report["categories"]["Merger"]["cohen_kappa"]["alice"]["carol"] == 1.0
    text = report.tables()
    assert "Cohen's kappa per pair of users" in text and "alice - carol" in text

    out = tmp_path / "consensus.ecsv"
    assert main(["consensus", str(folder / "save"), str(out), "--min-users", "3"]) == 0
    marks = read_marks(out)
    assert len(marks) == 1 and marks["n_users"][0] == 3
    assert marks["image"][0] == T0000 and marks["group"][0] == 1
    assert marks["x"][0] == pytest.approx(256 + 1 / 3)
    assert main(["consensus", str(folder / "save"), str(tmp_path / "c.reg")]) == 0
    assert (tmp_path / "c.reg").read_text().count("point(") == 2


def test_bad_input_is_one_line(folder, tmp_path, capsys):
    assert main(["agreement", str(tmp_path / "missing")]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert main(["agreement", str(folder / "save"), "--users", "alice,zoe"]) == 2
    assert "zoe" in capsys.readouterr().err
    assert main(["agreement", str(folder / "save"), "--radius", "3 furlongs"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "radius" in err
    assert main(["agreement", str(folder / "save"), "--gold", str(tmp_path / "no.ecsv")]) == 2
    assert "no.ecsv" in capsys.readouterr().err


def test_image_marker_savedir_gives_a_report(tmp_path):
    report = agreement(IMGMARKER / "savedir")
    assert report["settings"]["users"] == ["tester"]
    assert report["settings"]["n_images"] == 5
    assert report["categories"]["Merger"]["fleiss_kappa"] is None  # one user
    assert report["users"]["tester"]["n_marks"] == 15
    text = report.tables()
    assert "Agreement needs two users or more: with one, only the self-consistency" in text
    assert "(no image was shown twice)" in text
    # no table of "undef." kappas and zero marks for a single user
    assert "Between users" not in text and "Each user against" not in text
    report.write_html(tmp_path / "r.html")
    json.loads(report.to_json())


def test_open_sessions_are_read_with_their_journal(folder, tmp_path):
    """A session still open (changes only in its journal) gives the same report as closed
    ones, whose snapshot files are read directly; and its latest change counts."""
    closed = agreement(folder / "save").to_dict()
    copy = tmp_path / "save"
    shutil.copytree(folder / "save", copy)
    images = folder / "images"
    with MarkingSession(images, copy, user="bob") as bob:
        bob.set_comment("journal only", image=T0000)  # not a number of the report
        assert any((copy / ".imagemarker" / "bob").glob("journal*"))
        assert agreement(copy).to_dict() == closed
        bob.set_categories(["Merger"], image=T0000)  # now bob agrees with alice and carol
        merger = agreement(copy)["categories"]["Merger"]
        assert (
            merger["cohen_kappa"]["bob"]["alice"]
            != closed["categories"]["Merger"]["cohen_kappa"]["bob"]["alice"]
        )
        assert merger["n_yes"]["bob"] == 2

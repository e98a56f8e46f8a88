"""The report's numbers from users' work in memory, checked by hand and against the
textbook implementations."""

import numpy as np
import pytest
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from napari_imagemarker.agreement.compute import compute, parse_radius
from napari_imagemarker.agreement.work import Gold, Marks, UserWork


def marks(rows):
    if not rows:
        return Marks.empty()
    img, g, x, y = zip(*rows)
    n = len(rows)
    return Marks(
        np.array(img),
        np.array(g),
        np.array(x, float),
        np.array(y, float),
        np.full(n, np.nan),
        np.full(n, np.nan),
    )


def test_three_users_by_hand():
    a = UserWork(
        "a",
        ["i1", "i2", "i3"],
        {"i1": [1], "i2": [1, 2]},
        marks([("i1", 1, 10, 10), ("i1", 1, 50, 50), ("i2", 2, 5, 5)]),
        repeat_seen=["i1"],
        repeat_categories={"i1": [1]},
        repeat_marks=marks([("i1", 1, 10.5, 10)]),
    )
    b = UserWork(
        "b", ["i1", "i2", "i3"], {"i1": [1]}, marks([("i1", 1, 11, 10), ("i2", 2, 5.5, 5)])
    )
    c = UserWork("c", ["i1", "i2"], {"i2": [2]}, marks([("i1", 1, 10, 11), ("i1", 1, 80, 80)]))
    data, _ = compute([c, b, a], 3)
    assert data["settings"]["users"] == ["a", "b", "c"]
    # category 1: a yes yes no, b yes no no, c no no -
    cat1 = data["categories"]["1"]
    k = cohen_kappa_score([1, 1, 0], [1, 0, 0])
    assert cat1["cohen_kappa"]["a"]["b"] == pytest.approx(k, abs=1e-12)
    assert cat1["cohen_kappa"]["b"]["a"] == cat1["cohen_kappa"]["a"]["b"]
    # group 1 on i1: a(10,10) b(11,10) c(10,11) cluster of 3 seen by 3 -> consensus
    cons = data["groups"]["1"]["consensus"]
    assert len(cons) == 1 and cons[0]["n_users"] == 3 and cons[0]["users"] == ["a", "b", "c"]
    assert cons[0]["x"] == pytest.approx(31 / 3)
    # group 2 on i2: a and b within radius, seen by 3 users -> 2 > 1.5 -> consensus
    assert data["groups"]["2"]["n_consensus"] == 1
    ua = data["users"]["a"]["groups"]["1"]
    assert ua["precision"] == 0.5 and ua["recall"] == 1.0
    uc = data["users"]["c"]["groups"]["1"]
    assert uc["precision"] == 0.5
    sc = data["self_consistency"]["a"]
    assert sc["marks"]["matched"] == 1 and sc["marks"]["match_rate"] == pytest.approx(2 / 3)
    assert sc["categories"]["1"]["cohen_kappa"] is None  # one value: yes and yes
    # nothing: i3 seen by a, b without marks
    assert data["nothing"]["n_yes"] == {"a": 1, "b": 1, "c": 1}
    top = data["images"][0]
    assert top["image"] in ("i1", "i2")
    dis = [r["disagreement"] for r in data["images"]]
    assert dis == sorted(dis, reverse=True)


def test_fleiss_in_report_equals_statsmodels():
    rng = np.random.default_rng(1)
    n = 300
    truth = rng.random(n) < 0.3
    works = []
    answers = []
    for u in range(5):
        ans = truth ^ (rng.random(n) < 0.15)
        answers.append(ans)
        works.append(
            UserWork(
                f"u{u}",
                [f"im{i}" for i in range(n)],
                {f"im{i}": [3] for i in range(n) if ans[i]},
                Marks.empty(),
            )
        )
    data, _ = compute(works, 2)
    ans = np.stack(answers, 1)
    table = np.stack([(~ans).sum(1), ans.sum(1)], 1)
    assert data["categories"]["3"]["fleiss_kappa"] == pytest.approx(sm_fleiss(table), abs=1e-12)
    assert data["categories"]["3"]["cohen_kappa"]["u1"]["u3"] == pytest.approx(
        cohen_kappa_score(ans[:, 1], ans[:, 3]), abs=1e-12
    )
    assert data["nothing"]["fleiss_kappa"] is None  # everyone: nothing everywhere


def test_gold():
    a = UserWork("a", ["i1", "i2"], {"i1": [1]}, marks([("i1", 1, 10, 10), ("i2", 1, 3, 3)]))
    gold = Gold(marks([("i1", 1, 11, 10), ("i1", 1, 40, 40)]), {"i1": ["1"], "i2": ["1"]})
    data, _ = compute([a], 3, gold=gold)
    g = data["users"]["a"]["gold"]
    assert g["groups"]["1"] == {
        "precision": 0.5,
        "recall": 0.5,
        "tp": 1,
        "fp": 1,
        "fn": 1,
        "median_offset": 1.0,
    }
    assert g["categories"]["1"]["confusion"] == [[0, 0], [1, 1]]


def test_radius():
    assert parse_radius("1arcsec").unit == "arcsec"
    assert parse_radius("3").value == 3 and parse_radius(3).unit == "px"
    with pytest.raises(ValueError):
        parse_radius("-1")
    with pytest.raises(ValueError):
        parse_radius("3 furlongs")


def synth(n_users, n_images, n_sources, seed=0):
    rng = np.random.default_rng(seed)
    src = rng.uniform(0, 500, size=(n_images, n_sources, 2))
    works = []
    for u in range(n_users):
        hit = rng.random((n_images, n_sources)) < 0.9
        ii, ss = np.nonzero(hit)
        xy = src[ii, ss] + rng.normal(0, 1, size=(len(ii), 2))
        names = np.array([f"img{i:05d}.fits" for i in range(n_images)])
        m = Marks(
            names[ii],
            (ss % 2 + 1).astype(np.int64),
            xy[:, 0],
            xy[:, 1],
            np.full(len(ii), np.nan),
            np.full(len(ii), np.nan),
        )
        cats = {names[i]: [1] for i in range(n_images) if rng.random() < 0.2}
        works.append(UserWork(f"user{u:02d}", names.tolist(), cats, m))
    return works


def test_many_users_find_the_sources():
    works = synth(8, 60, 5)
    data, _ = compute(works, 3)
    n_cons = sum(g["n_consensus"] for g in data["groups"].values())
    # 5 sources per image, each marked by 90% of 8 users: nearly all found
    assert 0.95 * 300 <= n_cons <= 300
    for u in data["users"].values():
        for g in u["groups"].values():
            assert g["recall"] > 0.8 and g["precision"] > 0.9
            assert g["offsets"]["median"] < 1.5  # 1 px scatter per axis

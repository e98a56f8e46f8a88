"""Kappas against scikit-learn and statsmodels (test-only dependencies) on answers generated
with known agreement, the stated rules for undefined cases, and the matching/clustering."""

import warnings

import numpy as np
import pytest
from scipy.cluster.hierarchy import fcluster, linkage
from scipy.spatial.distance import pdist
from sklearn.metrics import cohen_kappa_score
from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

from napari_imagemarker.agreement.kappa import cohen_kappa, fleiss_kappa, rating_counts
from napari_imagemarker.agreement.matching import cluster, match, sky_offsets


def _raters(rng, n_items, n_raters, p_true, flip, n_cat=2):
    """Answers of raters who copy a hidden truth, each answer replaced by a random one with
    probability ``flip``: agreement falls as ``flip`` grows."""
    truth = rng.choice(n_cat, size=n_items, p=p_true)
    out = np.tile(truth[:, None], (1, n_raters))
    wrong = rng.random(out.shape) < flip
    out[wrong] = rng.integers(0, n_cat, size=wrong.sum())
    return out


@pytest.mark.parametrize("seed", range(20))
def test_cohen_equals_sklearn(seed):
    rng = np.random.default_rng(seed)
    n_cat = 2 + seed % 3
    r = _raters(rng, 50 + 13 * seed, 2, np.full(n_cat, 1 / n_cat), 0.1 + 0.04 * seed, n_cat)
    ours = cohen_kappa(r[:, 0], r[:, 1])
    assert ours.kappa == pytest.approx(cohen_kappa_score(r[:, 0], r[:, 1]), abs=1e-12)
    assert ours.n == len(r)


def test_kappa_falls_with_the_noise():
    rng = np.random.default_rng(7)
    values = []
    for flip in (0.0, 0.2, 0.5, 1.0):
        r = _raters(rng, 2000, 2, [0.5, 0.5], flip)
        values.append(cohen_kappa(r[:, 0], r[:, 1]).kappa)
    assert values[0] == 1.0
    assert values[0] > values[1] > values[2] > values[3]
    assert abs(values[3]) < 0.05  # random answers: chance


def test_cohen_known_agreement():
    # 100 images; A says yes on 50, B on 50; they agree on 80 -> p_o=0.8, p_e=0.5, kappa=0.6
    a = np.array([1] * 40 + [1] * 10 + [0] * 10 + [0] * 40)
    b = np.array([1] * 40 + [0] * 10 + [1] * 10 + [0] * 40)
    k = cohen_kappa(a, b)
    assert (k.observed, k.expected) == (0.8, 0.5)
    assert k.kappa == pytest.approx(0.6, abs=1e-15)


def test_cohen_degenerate():
    k = cohen_kappa([1, 1, 1], [1, 1, 1])
    assert k.kappa is None and k.observed == 1.0 and "undefined" in k.note
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert np.isnan(cohen_kappa_score([1, 1, 1], [1, 1, 1]))
    k = cohen_kappa([], [])
    assert k.kappa is None and k.n == 0
    # one rater constant, the other not: defined (kappa 0)
    k = cohen_kappa([1, 1, 1, 1], [1, 0, 1, 1])
    assert k.kappa == pytest.approx(cohen_kappa_score([1, 1, 1, 1], [1, 0, 1, 1]), abs=1e-12)


@pytest.mark.parametrize("seed", range(20))
def test_fleiss_equals_statsmodels(seed):
    rng = np.random.default_rng(100 + seed)
    n_cat = 2 + seed % 3
    r = _raters(rng, 40 + 7 * seed, 3 + seed % 5, np.full(n_cat, 1 / n_cat), 0.05 * seed, n_cat)
    counts = rating_counts(r, n_cat)
    ours = fleiss_kappa(counts)
    assert ours.kappa == pytest.approx(sm_fleiss(counts), abs=1e-12)


def test_fleiss_two_raters_not_cohen_but_scott():
    # Fleiss with 2 raters is Scott's pi: pooled marginals
    a = np.array([1] * 45 + [0] * 5 + [1] * 15 + [0] * 35)
    b = np.array([1] * 45 + [1] * 5 + [0] * 15 + [0] * 35)
    counts = rating_counts(np.stack([a, b], 1))
    assert fleiss_kappa(counts).kappa == pytest.approx(sm_fleiss(counts), abs=1e-12)


def test_fleiss_missing_raters():
    # images seen by 2 or 3 of 3 users; images with 1 rater are left out
    r = np.array([[1, 1, -1], [0, 0, 0], [1, 0, 1], [1, -1, -1], [0, 0, -1], [1, 1, 1]])
    counts = rating_counts(r)
    k = fleiss_kappa(counts)
    assert k.n == 5
    p_i = np.array([1, 1, 1 / 3, 1, 1])
    p1 = (2 + 0 + 2 + 0 + 3) / 13
    p_e = p1**2 + (1 - p1) ** 2
    assert k.kappa == pytest.approx((p_i.mean() - p_e) / (1 - p_e), abs=1e-15)
    full = counts[counts.sum(1) == 3]
    assert fleiss_kappa(full).kappa == pytest.approx(sm_fleiss(full), abs=1e-12)


def test_fleiss_degenerate():
    assert fleiss_kappa(np.array([[3, 0], [3, 0]])).kappa is None
    assert fleiss_kappa(np.array([[1, 0], [0, 1]])).n == 0
    assert fleiss_kappa(np.zeros((0, 2))).kappa is None


def test_match_optimal_not_greedy():
    a = np.array([[0.0, 0], [2.0, 0]])
    b = np.array([[1.1, 0], [3.5, 0]])
    # greedy nearest would pair a1-b0 (0.9) and leave a0 unmatched; optimal pairs both
    ia, ib, _ = match(a, b, 1.6)
    assert sorted(zip(ia.tolist(), ib.tolist())) == [(0, 0), (1, 1)]
    assert match(a, np.zeros((0, 2)), 1)[0].size == 0
    assert match(a, b + 100, 1)[0].size == 0


def test_cluster_one_per_user_and_radius():
    xy = np.array([[0, 0], [0.5, 0], [0.8, 0], [10, 10], [10.5, 10], [0.2, 0.1]])
    users = np.array(["a", "b", "c", "a", "b", "a"])
    labels = cluster(xy, users, 1.0)
    # the two 'a' marks near the origin must split
    assert labels[0] != labels[5]
    for lab in set(labels.tolist()):
        members = users[labels == lab]
        assert len(set(members)) == len(members)
        pts = xy[labels == lab]
        assert (np.linalg.norm(pts[:, None] - pts[None], axis=-1) <= 1.0).all()
    assert labels[3] == labels[4]


def test_cluster_chain_does_not_merge():
    xy = np.array([[0, 0], [0.9, 0], [1.8, 0]])
    labels = cluster(xy, ["a", "b", "c"], 1.0)
    assert len(set(labels.tolist())) == 2


def test_sky_offsets():
    off = sky_offsets([10.0, 10.0 + 1 / 3600 / np.cos(np.radians(-50))], [-50.0, -50.0], 10, -50)
    assert off[0] == pytest.approx([0, 0], abs=1e-9)
    assert off[1] == pytest.approx([1.0, 0.0], abs=1e-4)


@pytest.mark.parametrize("seed", range(10))
def test_cohen_bool_equals_sklearn(seed):
    rng = np.random.default_rng(500 + seed)
    r = _raters(rng, 200, 2, [0.7, 0.3], 0.2).astype(bool)
    ours = cohen_kappa(r[:, 0], r[:, 1])
    assert ours.kappa == pytest.approx(cohen_kappa_score(r[:, 0], r[:, 1]), abs=1e-12)
    assert cohen_kappa(np.zeros(4, bool), np.zeros(4, bool)).kappa is None


@pytest.mark.parametrize("seed", range(30))
def test_cluster_equals_scipy_fcluster(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 40))
    xy = rng.normal(0, 2, size=(n, 2)) + rng.integers(0, 3, size=(n, 1)) * 5
    users = rng.integers(0, 6, size=n)
    ours = cluster(xy, users, 2.5)
    d = pdist(xy)
    i, j = np.triu_indices(n, 1)
    d[users[i] == users[j]] = 1e18
    ref = fcluster(linkage(d, "complete"), t=2.5, criterion="distance")
    # the same partition as scipy's own cut of the same complete-linkage tree
    pairs = set(zip(ours.tolist(), ref.tolist(), strict=True))
    assert len(pairs) == len(set(ours.tolist())) == len(set(ref.tolist()))


@pytest.mark.parametrize("seed", range(10))
def test_clusters_of_many_segments_equal_one_segment_at_a_time(seed):
    from napari_imagemarker.agreement.matching import cluster_segments

    rng = np.random.default_rng(seed)
    n = 400
    segments = rng.integers(0, 12, size=n)
    centres = rng.uniform(0, 60, size=(12, 6, 2))
    xy = centres[segments, rng.integers(0, 6, size=n)] + rng.normal(0, 1.2, size=(n, 2))
    users = rng.integers(0, 8, size=n)
    ours = cluster_segments(xy, users, segments, 4.0)
    ref = np.zeros(n, dtype=int)
    for s in np.unique(segments):
        members = np.flatnonzero(segments == s)
        ref[members] = s * 1000 + cluster(xy[members], users[members], 4.0)
    pairs = set(zip(ours.tolist(), ref.tolist(), strict=True))
    assert len(pairs) == len(set(ours.tolist())) == len(set(ref.tolist()))
    assert sorted(set(ours.tolist())) == list(range(len(set(ours.tolist()))))

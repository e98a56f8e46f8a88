"""Which marks are the same feature: one-to-one matching and consensus clusters.

Positions are 2-D offsets in one unit (pixels, or arcseconds on the tangent plane around the
image, see :func:`sky_offsets`); ``radius`` is in the same unit.
"""

from __future__ import annotations

import functools

import numpy as np
from scipy.cluster.hierarchy import linkage
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist, pdist

__all__ = ["cluster", "cluster_segments", "match", "sky_offsets"]

# Distance between two marks of one user: no cluster may contain both.
_APART = 1e18


def match(a, b, radius: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pair marks of ``a`` with marks of ``b``, each used at most once, within ``radius``.

    The most pairs possible, and among those the smallest total distance (an optimal
    assignment, not greedy nearest neighbours).

    Parameters
    ----------
    a, b : (n, 2) and (m, 2) arrays
        Positions.
    radius : float
        Largest distance of a pair (inclusive).

    Returns
    -------
    ia, ib, distance : arrays of the same length
        Indices into ``a`` and ``b`` of each pair, and its distance.
    """
    a = np.asarray(a, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(b, dtype=np.float64).reshape(-1, 2)
    empty = np.zeros(0, dtype=np.intp)
    if len(a) == 0 or len(b) == 0:
        return empty, empty, np.zeros(0)
    d = cdist(a, b)
    close = d <= radius
    if not close.any():
        return empty, empty, np.zeros(0)
    # An unmatched pair costs more than any sum of matched distances: the assignment first
    # maximises the number of pairs within the radius, then minimises their total distance.
    far = 1.0 + 2.0 * min(len(a), len(b)) * max(float(radius), 1e-300)
    cost = np.where(close, d, far)
    ia, ib = linear_sum_assignment(cost)
    ok = close[ia, ib]
    return ia[ok], ib[ok], d[ia[ok], ib[ok]]


def cluster(xy, users, radius: float) -> np.ndarray:
    """Group marks of different users that lie on one feature.

    Complete-linkage clustering: in every cluster all marks lie within ``radius`` of each
    other, and no user has two marks (two marks of one user count as infinitely apart).
    Clusters merge closest first, so the result does not depend on the order of users.

    Parameters
    ----------
    xy : (n, 2) array
        Positions.
    users : (n,) int array
        Who placed each mark (a number per user).
    radius : float

    Returns
    -------
    labels : (n,) int array
        Cluster of each mark, numbered 0, 1, ... in order of first appearance.
    """
    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    n = len(xy)
    if n <= 1:
        return np.zeros(n, dtype=np.intp)
    users = np.asarray(users)
    d = pdist(xy)
    i, j = _pairs(n)
    d[users[i] == users[j]] = _APART
    z = linkage(d, method="complete")
    # Complete linkage never merges below an earlier merge: the merges up to the radius
    # are a prefix of z. Follow them to each mark's cluster.
    m = int(np.searchsorted(z[:, 2], radius, side="right"))
    parent = np.arange(2 * n - 1)
    for k, (a, b) in enumerate(z[:m, :2].astype(np.intp).tolist()):
        parent[a] = parent[b] = n + k
    root = np.arange(n)
    while True:
        up = parent[root]
        if (up == root).all():
            break
        root = up
    _, first, labels = np.unique(root, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))  # number clusters by first appearance
    return order[labels].astype(np.intp)


def cluster_segments(xy, users, segments, radius: float) -> np.ndarray:
    """:func:`cluster` applied to each segment (e.g. one image and group) of many marks at
    once, with the same result.

    Marks closer than ``radius`` are linked (one k-d tree query for all segments); a
    connected group of marks in which every pair is linked and every user appears once is
    one cluster as it is (complete linkage would merge it whole), and only the other groups
    go through :func:`cluster`. Complete linkage never joins marks that are not connected,
    so this equals running :func:`cluster` per segment.

    Parameters
    ----------
    xy : (n, 2) array
    users : (n,) int array
    segments : (n,) int array
        Marks of different segments are never in one cluster.
    radius : float

    Returns
    -------
    labels : (n,) int array
        Cluster numbers, unique over all segments, 0 ... n_clusters - 1.
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components
    from scipy.spatial import cKDTree

    xy = np.asarray(xy, dtype=np.float64).reshape(-1, 2)
    users = np.asarray(users, dtype=np.int64)
    segments = np.asarray(segments, dtype=np.int64)
    n = len(xy)
    if n == 0:
        return np.zeros(0, dtype=np.intp)
    # a third coordinate puts segments farther apart than the radius
    span = float(np.ptp(xy)) if n > 1 else 0.0
    step = 2.0 * (span + radius) + 1.0
    _, seg = np.unique(segments, return_inverse=True)
    pairs = cKDTree(np.c_[xy, seg * step]).query_pairs(radius, output_type="ndarray")
    i, j = pairs[:, 0], pairs[:, 1]
    graph = coo_matrix((np.ones(len(i), dtype=np.int8), (i, j)), shape=(n, n))
    n_comp, comp = connected_components(graph, directed=False)
    size = np.bincount(comp, minlength=n_comp)
    linked = np.bincount(comp[i], minlength=n_comp)
    n_users = np.bincount(np.unique(comp * (users.max() + 1) + users) // (users.max() + 1),
                          minlength=n_comp)  # fmt: skip
    whole = (linked == size * (size - 1) // 2) & (n_users == size)
    labels = np.where(whole[comp], comp, -1)
    next_label = n_comp
    by_comp = np.argsort(comp, kind="stable")  # marks of each component, in input order
    start = np.concatenate([[0], np.cumsum(size)])
    for c in np.flatnonzero(~whole).tolist():
        members = by_comp[start[c] : start[c + 1]]
        sub = cluster(xy[members], users[members], radius)
        labels[members] = next_label + sub
        next_label += int(sub.max()) + 1
    _, labels = np.unique(labels, return_inverse=True)
    return labels.astype(np.intp)


@functools.lru_cache(maxsize=256)
def _pairs(n: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column of each entry of a condensed distance matrix of ``n`` points."""
    return np.triu_indices(n, k=1)


def sky_offsets(ra, dec, ra0: float, dec0: float) -> np.ndarray:
    """Offsets in arcseconds (east, north) of positions from ``(ra0, dec0)`` on the tangent
    plane (gnomonic projection), all in degrees. Exact enough for separations of degrees."""
    ra = np.radians(np.asarray(ra, dtype=np.float64))
    dec = np.radians(np.asarray(dec, dtype=np.float64))
    a0, d0 = np.radians(ra0), np.radians(dec0)
    cos_c = np.sin(d0) * np.sin(dec) + np.cos(d0) * np.cos(dec) * np.cos(ra - a0)
    xi = np.cos(dec) * np.sin(ra - a0) / cos_c
    eta = (np.cos(d0) * np.sin(dec) - np.sin(d0) * np.cos(dec) * np.cos(ra - a0)) / cos_c
    return np.degrees(np.stack([xi, eta], axis=-1)) * 3600.0

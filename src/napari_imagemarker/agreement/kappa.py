"""Cohen's and Fleiss' kappa, with a stated rule for the cases where kappa is undefined.

Kappa measures agreement beyond chance: ``(p_o - p_e) / (1 - p_e)``, where ``p_o`` is the
observed agreement and ``p_e`` the agreement expected if the raters answered at random with
their own overall rates. 1 is perfect agreement, 0 is what chance gives, below 0 is worse
than chance.

Degenerate cases never return NaN. The result's ``kappa`` is ``None`` and ``note`` says why:

* no item rated by two raters (no image in common, a single user): ``n = 0``;
* every rating has the same value (``p_e = 1``): agreement is complete but cannot be told
  from chance, so kappa is undefined; ``observed`` is then 1.

``observed``, ``expected`` and ``n`` are always given, so a reader still sees how often the
raters agreed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

__all__ = ["NOTE", "UNDEFINED", "Kappa", "cohen_kappa", "fleiss_kappa", "rating_counts"]

NO_ITEMS = "no image rated by two users"
ONE_VALUE = "every answer was the same: complete agreement, kappa undefined"
#: How an undefined kappa is shown in tables, and the note that explains it.
UNDEFINED = "undef."
NOTE = (
    f"{UNDEFINED}: kappa is undefined where every answer was the same, or no image was seen "
    "by both; 'agree' still says how often answers matched."
)


@dataclass(frozen=True)
class Kappa:
    """A kappa and what it was computed from.

    Attributes
    ----------
    kappa : float or None
        None when undefined (see ``note``).
    observed : float or None
        Observed agreement: the fraction of images (Cohen) or of pairs of users on an image
        (Fleiss, averaged over images) that agree. None when ``n`` is 0.
    expected : float or None
        Agreement expected by chance from the overall rates.
    n : int
        Images used.
    note : str or None
        Why ``kappa`` is None.
    """

    kappa: float | None
    observed: float | None
    expected: float | None
    n: int
    note: str | None = None

    def as_dict(self) -> dict:
        return asdict(self)


def _finish(p_o: float, p_e: float, n: int, one_value: bool) -> Kappa:
    if one_value:
        return Kappa(None, p_o, p_e, n, ONE_VALUE)
    return Kappa((p_o - p_e) / (1.0 - p_e), p_o, p_e, n)


def cohen_kappa(a: Sequence, b: Sequence) -> Kappa:
    """Cohen's kappa of two raters who rated the same items (nominal values).

    Equal to :func:`sklearn.metrics.cohen_kappa_score` (unweighted) where that is defined.

    Parameters
    ----------
    a, b : sequences of the same length
        Rater A's and rater B's answer for each item (booleans, numbers or strings).
    """
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape or a.ndim != 1:
        raise ValueError(
            f"two ratings of the same items expected, got shapes {a.shape}, {b.shape}"
        )
    n = a.size
    if n == 0:
        return Kappa(None, None, None, 0, NO_ITEMS)
    if a.dtype == bool and b.dtype == bool:  # yes/no answers: no sorting needed
        ca, cb, k = a.view(np.uint8), b.view(np.uint8), 2
        one_value = bool(a.all() and b.all()) or not (a.any() or b.any())
    else:
        values, codes = np.unique(np.concatenate([a, b]), return_inverse=True)
        ca, cb, k = codes[:n], codes[n:], values.size
        one_value = k == 1
    count_a = np.bincount(ca, minlength=k)
    count_b = np.bincount(cb, minlength=k)
    p_o = np.count_nonzero(ca == cb) / n
    p_e = float(np.dot(count_a, count_b)) / (n * n)
    return _finish(p_o, p_e, n, one_value)


def fleiss_kappa(counts) -> Kappa:
    """Fleiss' kappa from a table of counts: ``counts[i, j]`` raters put item ``i`` in
    category ``j``.

    Items may have different numbers of raters (users who saw different images): each
    item's agreement is the fraction of its pairs of raters that agree,
    ``(sum_j n_ij**2 - n_i) / (n_i (n_i - 1))``, averaged over the items; chance agreement
    is ``sum_j p_j**2`` with ``p_j`` the share of all ratings in category ``j``. Items with
    fewer than two raters are left out. With the same number of raters on every item this is
    Fleiss (1971), equal to :func:`statsmodels.stats.inter_rater.fleiss_kappa`.
    """
    counts = np.asarray(counts, dtype=np.int64)
    if counts.ndim != 2:
        raise ValueError(f"a 2-D table of counts expected, got shape {counts.shape}")
    n_i = counts.sum(axis=1)
    keep = n_i >= 2
    counts, n_i = counts[keep], n_i[keep]
    n = int(counts.shape[0])
    if n == 0:
        return Kappa(None, None, None, 0, NO_ITEMS)
    n_i = n_i.astype(np.float64)
    table = counts.astype(np.float64)
    p_item = ((table * table).sum(axis=1) - n_i) / (n_i * (n_i - 1.0))
    p_o = float(p_item.mean())
    totals = counts.sum(axis=0)
    p_cat = totals / float(totals.sum())
    p_e = float((p_cat * p_cat).sum())
    return _finish(p_o, p_e, n, one_value=np.count_nonzero(totals) == 1)


def rating_counts(ratings, n_categories: int = 2):
    """Counts table for :func:`fleiss_kappa` from a ratings matrix.

    Parameters
    ----------
    ratings : 2-D int array
        ``ratings[i, u]``: category (0 ... n_categories-1) user ``u`` gave item ``i``, or -1
        if ``u`` did not rate it.
    """
    ratings = np.asarray(ratings)
    out = np.zeros((ratings.shape[0], n_categories), dtype=np.int64)
    for j in range(n_categories):
        out[:, j] = np.count_nonzero(ratings == j, axis=1)
    return out

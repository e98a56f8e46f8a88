"""The agreement report's numbers from several users' work (no files, no Qt).

Rules, stated once (docs/agreement.md explains them for users):

* An image counts for a user when the user saw it, marked it or gave it a category.
* Groups and categories are compared by number (1-9, 1-5); each is named as most users name
  it. "Nothing here" is a yes/no answer per image: seen and no mark of any group.
* Kappas: see :mod:`kappa` (None with a note where undefined, never NaN).
* ``radius`` is how far a mark may lie from the feature's position. Two marks can be the
  same feature when at most ``2 * radius`` apart (both within ``radius`` of one point); a
  mark matches a gold-standard mark within ``radius`` of it.
* Consensus: marks of one group on one image, from different users, all at most
  ``2 * radius`` apart (complete linkage, at most one mark per user:
  :func:`~napari_imagemarker.agreement.matching.cluster`). A
  cluster is a consensus mark when more than half of the users who saw the image, and at
  least two, put a mark in it (or at least ``min_users``). Precision and recall of a user
  count only images seen by at least two users; the user's own mark is part of the vote.
* Self-consistency: first look against repeat of the same images by the same user; marks
  are paired one-to-one (at most ``2 * radius`` apart); match rate = 2 x pairs / (marks on
  both looks).
* Gold standard: images named in the gold files; marks paired one-to-one, each user mark
  within ``radius`` of its gold mark.
* Disagreement of an image: every category, "nothing here" and every cluster on it is a
  yes/no question to the users who saw it; its agreement is the fraction of pairs of those
  users who answer alike; disagreement = 1 - mean agreement.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from napari_imagemarker.agreement.kappa import cohen_kappa, fleiss_kappa
from napari_imagemarker.agreement.matching import cluster_segments, match, sky_offsets
from napari_imagemarker.agreement.work import Gold, Marks, UserWork

__all__ = ["Radius", "compute", "parse_radius"]


@dataclass(frozen=True)
class Radius:
    """How close two marks must be to count as the same feature."""

    value: float
    unit: str  # "px" or "arcsec"

    def __str__(self) -> str:
        return f"{self.value:g} {'px' if self.unit == 'px' else 'arcsec'}"


_RADIUS = re.compile(r"^\s*([0-9.eE+-]+)\s*(px|pix|pixels?|arcsec|\"|'')?\s*$")


def parse_radius(radius) -> Radius:
    """``3`` or ``"3"`` or ``"3px"``: pixels; ``"1arcsec"`` or ``'1"'``: arcseconds; an
    astropy angle Quantity: arcseconds."""
    if isinstance(radius, Radius):
        return radius
    unit = getattr(radius, "unit", None)
    if unit is not None:  # astropy Quantity
        from astropy import units as u

        if unit.physical_type == "angle":
            value, kind = float(radius.to_value(u.arcsec)), "arcsec"
        elif unit == u.pix:
            value, kind = float(radius.value), "px"
        else:
            raise ValueError(f"radius: {radius} is neither pixels nor an angle")
    elif isinstance(radius, str):
        m = _RADIUS.match(radius)
        if not m:
            raise ValueError(f"radius: {radius!r} is not a number of pixels or '<n>arcsec'")
        value = float(m.group(1))
        kind = "arcsec" if m.group(2) in ("arcsec", '"', "''") else "px"
    else:
        value, kind = float(radius), "px"
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"radius: must be a positive number, got {radius!r}")
    return Radius(value, kind)


def _majority(names: Sequence[Sequence[str]], n: int) -> list[str]:
    out = []
    for k in range(n):
        votes = Counter(v[k] for v in names if len(v) > k)
        out.append(votes.most_common(1)[0][0] if votes else str(k + 1))
    return out


def _num(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


class _Positions:
    """Positions in the unit of the radius: pixels, or arcsec on the tangent plane around
    a reference point per image."""

    def __init__(self, radius: Radius, refs: dict[str, tuple[float, float]]):
        self.radius = radius
        self.refs = refs

    def of(self, marks: Marks) -> tuple[np.ndarray, np.ndarray]:
        """(n, 2) positions and which marks have one."""
        if self.radius.unit == "px":
            ok = np.isfinite(marks.x) & np.isfinite(marks.y)
            return np.stack([marks.x, marks.y], axis=-1), ok
        ok = np.isfinite(marks.ra) & np.isfinite(marks.dec)
        ref = np.array([self.refs.get(n, (np.nan, np.nan)) for n in marks.image.tolist()])
        ref = ref.reshape(-1, 2)
        with np.errstate(invalid="ignore"):
            xy = sky_offsets(marks.ra, marks.dec, ref[:, 0], ref[:, 1])
        return xy.reshape(-1, 2), ok & np.isfinite(xy).all(axis=-1).reshape(-1)


def _sky_refs(works: Sequence[UserWork], gold: Gold | None) -> dict[str, tuple[float, float]]:
    refs: dict[str, tuple[float, float]] = {}
    all_marks = [w.marks for w in works] + [w.repeat_marks for w in works]
    if gold is not None and gold.marks is not None:
        all_marks.append(gold.marks)
    for m in all_marks:
        ok = np.isfinite(m.ra) & np.isfinite(m.dec)
        for name, ra, dec in zip(m.image[ok].tolist(), m.ra[ok].tolist(), m.dec[ok].tolist()):
            refs.setdefault(name, (ra, dec))
    return refs


def _mean_sky(ra: np.ndarray, dec: np.ndarray, labels: np.ndarray, n: int):
    """Mean direction of the points of each label (unit vectors), degrees."""
    r, d = np.radians(ra), np.radians(dec)
    ok = np.isfinite(r) & np.isfinite(d)
    vec = np.stack([np.cos(d) * np.cos(r), np.cos(d) * np.sin(r), np.sin(d)], axis=-1)
    vec[~ok] = 0.0
    s = np.stack([np.bincount(labels, vec[:, k], minlength=n) for k in range(3)], axis=-1)
    good = np.bincount(labels, ok, minlength=n) > 0
    out_ra = np.degrees(np.arctan2(s[:, 1], s[:, 0])) % 360.0
    out_dec = np.degrees(np.arctan2(s[:, 2], np.hypot(s[:, 0], s[:, 1])))
    out_ra[~good] = np.nan
    out_dec[~good] = np.nan
    return out_ra, out_dec


def compute(
    works: Sequence[UserWork],
    radius,
    gold: Gold | None = None,
    min_users: int | None = None,
) -> tuple[dict, dict]:
    """Every number of the report.

    Returns
    -------
    data : dict
        JSON-ready (see docs/agreement.md for the keys).
    extra : dict
        Arrays for plots: ``offsets`` (user -> distances of their consensus marks from the
        cluster centre).
    """
    radius = parse_radius(radius)
    if min_users is not None and int(min_users) < 1:
        raise ValueError(f"min_users must be at least 1, got {min_users}")
    works = sorted(works, key=lambda w: w.user)
    users = [w.user for w in works]
    if len(set(users)) != len(users):
        raise ValueError(f"a user appears twice: {users}")
    n_users = len(users)
    group_names = _majority([w.group_names for w in works], 9)
    category_names = _majority([w.category_names for w in works], 5)
    positions = _Positions(radius, _sky_refs(works, gold) if radius.unit == "arcsec" else {})

    # -- images x users: seen, categories (bit mask), has marks -------------------------------
    names = sorted(
        {n for w in works for n in w.seen} | {n for w in works for n in w.marks.image.tolist()}
    )
    index = {n: i for i, n in enumerate(names)}
    names_array = np.array(names, dtype="U") if names else np.zeros(0, "U1")
    n_img = len(names)
    seen = np.zeros((n_img, n_users), dtype=bool)
    cats = np.zeros((n_img, n_users), dtype=np.int64)
    n_marks = np.zeros((n_img, n_users), dtype=np.int64)
    for u, w in enumerate(works):
        seen[[index[n] for n in w.seen], u] = True
        if len(w.marks):
            img = np.searchsorted(names_array, w.marks.image)
            seen[img, u] = True
            np.add.at(n_marks[:, u], img, 1)
        for name, numbers in w.categories.items():
            if name in index:
                cats[index[name], u] = sum(1 << (c - 1) for c in numbers)
                seen[index[name], u] |= bool(numbers)
    nothing = seen & (n_marks == 0)
    n_seen = seen.sum(axis=1)
    used = sorted(
        {
            c
            for w in works
            for v in (*w.categories.values(), *w.repeat_categories.values())
            for c in v
        }
    )

    def yes_no_block(answers: np.ndarray) -> dict:
        counts = np.stack([(seen & ~answers).sum(1), (seen & answers).sum(1)], axis=1)
        fk = fleiss_kappa(counts)
        cohen, pairs = {}, {}
        for a in range(n_users):
            for b in range(n_users):
                if a == b:
                    continue
                both = seen[:, a] & seen[:, b]
                k = cohen_kappa(answers[both, a], answers[both, b]) if a < b else pairs[(b, a)]
                pairs[(a, b)] = k
                cohen.setdefault(users[a], {})[users[b]] = k
        return {
            "fleiss_kappa": fk.kappa,
            "fleiss": fk.as_dict(),
            "cohen_kappa": {a: {b: k.kappa for b, k in row.items()} for a, row in cohen.items()},
            "cohen": {a: {b: k.as_dict() for b, k in row.items()} for a, row in cohen.items()},
            "n_yes": {u: int((seen[:, i] & answers[:, i]).sum()) for i, u in enumerate(users)},
        }

    categories_out = {}
    for c in used:
        answers = seen & ((cats >> (c - 1)) & 1).astype(bool)
        categories_out[category_names[c - 1]] = {"number": c, **yes_no_block(answers)}
    nothing_out = yes_no_block(nothing)

    # -- consensus clusters --------------------------------------------------------------------
    parts = [(u, w.marks) for u, w in enumerate(works) if len(w.marks)]
    if parts:
        m_user = np.concatenate([np.full(len(m), u) for u, m in parts])
        m_img = np.concatenate([np.searchsorted(names_array, m.image) for _, m in parts])
        m_group = np.concatenate([m.group for _, m in parts])
        m_x = np.concatenate([m.x for _, m in parts])
        m_y = np.concatenate([m.y for _, m in parts])
        m_ra = np.concatenate([m.ra for _, m in parts])
        m_dec = np.concatenate([m.dec for _, m in parts])
        xy, ok = positions.of(
            Marks(np.array(names, dtype="U")[m_img], m_group, m_x, m_y, m_ra, m_dec)
        )
    else:
        m_user = m_img = m_group = np.zeros(0, np.int64)
        m_x = m_y = m_ra = m_dec = np.zeros(0)
        xy, ok = np.zeros((0, 2)), np.zeros(0, bool)
    left_out = int((~ok).sum())
    keep = np.flatnonzero(ok)
    labels = np.full(len(m_user), -1, dtype=np.int64)
    labels[keep] = cluster_segments(
        xy[keep], m_user[keep], m_img[keep] * 16 + m_group[keep], 2.0 * radius.value
    )
    n_cl = int(labels.max()) + 1 if len(keep) else 0
    member = labels >= 0
    lab_m = labels[member]
    c_n = np.bincount(lab_m, minlength=n_cl)
    c_img = np.zeros(n_cl, np.int64)
    c_group = np.zeros(n_cl, np.int64)
    c_img[lab_m] = m_img[member]
    c_group[lab_m] = m_group[member]
    c_x = np.bincount(lab_m, m_x[member], minlength=n_cl) / np.maximum(c_n, 1)
    c_y = np.bincount(lab_m, m_y[member], minlength=n_cl) / np.maximum(c_n, 1)
    c_px = np.bincount(lab_m, xy[member, 0], minlength=n_cl) / np.maximum(c_n, 1)
    c_py = np.bincount(lab_m, xy[member, 1], minlength=n_cl) / np.maximum(c_n, 1)
    c_ra, c_dec = _mean_sky(m_ra[member], m_dec[member], lab_m, n_cl)
    c_seen = n_seen[c_img]
    # a consensus mark: more than half of the users who saw the image, at least two
    majority = (c_n >= 2) & (2 * c_n > c_seen)
    c_cons = majority if min_users is None else c_n >= int(min_users)
    # who marked each consensus cluster (grouped by sorting, not one mark at a time)
    in_cons = np.flatnonzero(member)[c_cons[lab_m]]
    in_cons = in_cons[np.lexsort((m_user[in_cons], labels[in_cons]))]
    cuts = np.flatnonzero(np.diff(labels[in_cons])) + 1
    user_names = np.array(users, dtype=object)
    cluster_users = {
        int(labels[part[0]]): user_names[m_user[part]].tolist()
        for part in np.split(in_cons, cuts)
        if len(part)
    }

    groups_out = {}
    for g in sorted(set(c_group.tolist())):
        sel = np.flatnonzero((c_group == g) & c_cons)
        sel = sel[np.lexsort((c_x[sel], c_img[sel]))]
        allc = c_group == g
        groups_out[group_names[g - 1]] = {
            "number": int(g),
            "n_clusters": int(allc.sum()),
            "n_consensus": len(sel),
            "consensus": [
                {
                    "image": names[c_img[k]],
                    "x": float(c_x[k]),
                    "y": float(c_y[k]),
                    "ra": _num(c_ra[k]),
                    "dec": _num(c_dec[k]),
                    "n_users": int(c_n[k]),
                    "n_seen": int(c_seen[k]),
                    "users": cluster_users[k],
                }
                for k in sel.tolist()
            ],
        }

    # -- per user against the consensus ---------------------------------------------------------
    eligible_img = n_seen >= 2
    users_out: dict[str, dict] = {}
    offsets: dict[str, np.ndarray] = {}
    m_cons = np.zeros(len(m_user), bool)
    m_cons[member] = c_cons[lab_m]
    m_elig = eligible_img[m_img] & member
    d_all = np.full(len(m_user), np.nan)
    d_all[member] = np.hypot(xy[member, 0] - c_px[lab_m], xy[member, 1] - c_py[lab_m])
    for u, w in enumerate(works):
        mine = m_user == u
        per_group = {}
        for g in sorted(set(c_group.tolist())):
            in_g = mine & (m_group == g) & m_elig
            tp_marks = int((in_g & m_cons).sum())
            cons_here = c_cons & (c_group == g) & seen[c_img, u] & eligible_img[c_img]
            found = np.zeros(n_cl, bool)
            found[labels[in_g & m_cons]] = True
            d = d_all[in_g & m_cons]
            per_group[group_names[g - 1]] = {
                "precision": _ratio(tp_marks, int(in_g.sum())),
                "recall": _ratio(int((found & cons_here).sum()), int(cons_here.sum())),
                "n_marks": int(in_g.sum()),
                "n_consensus": int(cons_here.sum()),
                "offsets": _spread(d, radius.unit),
            }
        d = d_all[mine & m_cons]
        offsets[w.user] = d
        users_out[w.user] = {
            "n_seen": int(seen[:, u].sum()),
            "n_marks": len(w.marks),
            "n_repeats": len(w.repeat_seen),
            "groups": per_group,
            "offsets": _spread(d, radius.unit),
        }

    # -- self-consistency on repeats ------------------------------------------------------------
    self_out = {}
    for w in works:
        if not w.repeat_seen:
            continue
        first_seen = set(w.seen) | set(w.marks.image.tolist())
        reps = sorted(n for n in set(w.repeat_seen) if n in first_seen)
        block: dict = {"n_repeats": len(reps), "categories": {}}
        for c in used:
            a = np.array([c in w.categories.get(n, ()) for n in reps], dtype=bool)
            b = np.array([c in w.repeat_categories.get(n, ()) for n in reps], dtype=bool)
            k = cohen_kappa(a, b)
            block["categories"][category_names[c - 1]] = {"cohen_kappa": k.kappa, **k.as_dict()}
        has1 = set(w.marks.image.tolist())
        has2 = set(w.repeat_marks.image.tolist())
        k = cohen_kappa(
            np.array([n not in has1 for n in reps], bool),
            np.array([n not in has2 for n in reps], bool),
        )
        block["nothing"] = {"cohen_kappa": k.kappa, **k.as_dict()}
        block["marks"] = _pair_up(w.marks, w.repeat_marks, set(reps), positions, 2 * radius.value)
        block["marks"]["match_rate"] = _ratio(
            2 * block["marks"]["matched"], block["marks"]["n_first"] + block["marks"]["n_repeat"]
        )
        self_out[w.user] = block

    # -- gold standard ---------------------------------------------------------------------------
    gold_out = None
    if gold is not None:
        gold_out = {"source": gold.source, "n_images": len(gold.images)}
        covered = gold.images
        for u, w in enumerate(works):
            mine = {n for n in names if seen[index[n], u]} & covered
            entry: dict = {"n_images": len(mine)}
            if gold.marks is not None:
                gm = gold.marks.take(np.isin(gold.marks.image, sorted(mine)))
                um = w.marks.take(np.isin(w.marks.image, sorted(mine)))
                entry["groups"] = {}
                for g in sorted(set(gm.group.tolist()) | set(um.group.tolist())):
                    r = _pair_up(
                        um.take(um.group == g),
                        gm.take(gm.group == g),
                        mine,
                        positions,
                        radius.value,
                    )
                    tp, fp, fn = (
                        r["matched"],
                        r["n_first"] - r["matched"],
                        r["n_repeat"] - r["matched"],
                    )
                    entry["groups"][group_names[g - 1]] = {
                        "precision": _ratio(tp, tp + fp),
                        "recall": _ratio(tp, tp + fn),
                        "tp": tp,
                        "fp": fp,
                        "fn": fn,
                        "median_offset": r["median_offset"],
                    }
            if gold.categories is not None:
                entry["categories"] = {}
                truth_names = {n: set(v) for n, v in gold.categories.items()}
                judged = sorted(mine & set(gold.categories))
                for c in sorted(
                    set(used)
                    | {
                        category_names.index(x) + 1
                        for v in truth_names.values()
                        for x in v
                        if x in category_names
                    }
                ):
                    name = category_names[c - 1]
                    t = np.array([name in truth_names[n] for n in judged], bool)
                    p = np.array([c in w.categories.get(n, ()) for n in judged], bool)
                    k = cohen_kappa(t, p)
                    entry["categories"][name] = {
                        "confusion": [
                            [int((~t & ~p).sum()), int((~t & p).sum())],
                            [int((t & ~p).sum()), int((t & p).sum())],
                        ],
                        "precision": _ratio(int((t & p).sum()), int(p.sum())),
                        "recall": _ratio(int((t & p).sum()), int(t.sum())),
                        "cohen_kappa": k.kappa,
                    }
            users_out[w.user]["gold"] = entry

    # -- images ranked by disagreement -----------------------------------------------------------
    multi = n_seen >= 2
    m = n_seen.astype(np.float64)
    pair_den = np.where(multi, m * (m - 1), 1.0)

    def agree(k):
        return (k * (k - 1) + (m - k) * (m - k - 1)) / pair_den

    p_sum = np.zeros(n_img)
    q_n = np.zeros(n_img)
    for c in used:
        k = (seen & ((cats >> (c - 1)) & 1).astype(bool)).sum(1).astype(np.float64)
        p_sum += agree(k)
        q_n += 1
    p_sum += agree((nothing).sum(1).astype(np.float64))
    q_n += 1
    if n_cl:
        k = c_n.astype(np.float64)
        mm = m[c_img]
        pc = np.where(
            mm >= 2,
            (k * (k - 1) + (mm - k) * (mm - k - 1)) / np.where(mm >= 2, mm * (mm - 1), 1),
            0,
        )
        p_sum += np.bincount(c_img, pc, minlength=n_img)
        q_n += np.bincount(c_img, minlength=n_img)
    dis = 1.0 - p_sum / q_n
    ranked = np.flatnonzero(multi)
    ranked = ranked[
        np.lexsort((np.array(names, dtype="U")[ranked] if len(ranked) else ranked, -dis[ranked]))
    ]
    clusters_on = np.bincount(c_img, minlength=n_img) if n_cl else np.zeros(n_img, int)
    images_out = [
        {
            "image": names[i],
            "disagreement": float(dis[i]),
            "n_users": int(n_seen[i]),
            "n_clusters": int(clusters_on[i]),
        }
        for i in ranked.tolist()
    ]

    data = {
        "settings": {
            "users": users,
            "radius": radius.value,
            "radius_unit": radius.unit,
            "min_users": min_users,
            "n_images": n_img,
            "marks_left_out": left_out,
            "groups": group_names,
            "categories": category_names,
        },
        "categories": categories_out,
        "nothing": nothing_out,
        "groups": groups_out,
        "users": users_out,
        "self_consistency": self_out,
        "images": images_out,
    }
    if gold_out is not None:
        data["gold"] = gold_out
    return data, {"offsets": offsets}


def _spread(d: np.ndarray, unit: str) -> dict:
    """Summary of distances ``d`` from the consensus positions."""
    return {
        "unit": unit,
        "n": int(d.size),
        "median": _num(np.median(d)) if d.size else None,
        "p68": _num(np.percentile(d, 68)) if d.size else None,
    }


def _pair_up(a: Marks, b: Marks, images: set[str], positions: _Positions, limit: float) -> dict:
    """Pair marks of ``a`` and ``b`` (same image and group) one-to-one, at most ``limit``
    apart."""
    keep_a = np.isin(a.image, sorted(images))
    keep_b = np.isin(b.image, sorted(images))
    a, b = a.take(keep_a), b.take(keep_b)
    xa, oka = positions.of(a)
    xb, okb = positions.of(b)
    n_first, n_repeat, matched, dists = len(a), len(b), 0, []
    by_b: dict[tuple, list[int]] = {}
    for k, key in enumerate(zip(b.image.tolist(), b.group.tolist())):
        if okb[k]:
            by_b.setdefault(key, []).append(k)
    by_a: dict[tuple, list[int]] = {}
    for k, key in enumerate(zip(a.image.tolist(), a.group.tolist())):
        if oka[k]:
            by_a.setdefault(key, []).append(k)
    for key, ia in by_a.items():
        ib = by_b.get(key)
        if not ib:
            continue
        pa, _, d = match(xa[ia], xb[ib], limit)
        matched += len(pa)
        dists.extend(d.tolist())
    return {
        "n_first": n_first,
        "n_repeat": n_repeat,
        "matched": matched,
        "median_offset": float(np.median(dists)) if dists else None,
    }

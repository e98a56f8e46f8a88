"""The agreement report: numbers as a dict, readable tables, JSON, and the consensus marks."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from napari_imagemarker.agreement.kappa import NOTE, UNDEFINED

__all__ = ["AgreementReport", "agreement"]


def fmt(value, digits: int = 2, none: str = UNDEFINED) -> str:
    """A number for the tables: None as ``undef.`` (kappa undefined, see the notes), or
    ``none``."""
    if value is None:
        return none
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def _table(header: list[str], rows: list[list[str]], indent: str = "  ") -> list[str]:
    widths = [max(len(str(r[k])) for r in [header, *rows]) for k in range(len(header))]

    def line(row) -> str:
        cells = (
            str(v).ljust(w) if k == 0 else str(v).rjust(w)
            for k, (v, w) in enumerate(zip(row, widths, strict=True))
        )
        return indent + "  ".join(cells)

    return [line(header), *(line(r) for r in rows)]


class AgreementReport(Mapping):
    """How far users agree, from one save folder (see :func:`napari_imagemarker.agreement`).

    A read-only mapping of plain Python values (JSON-ready), with the keys documented in
    docs/agreement.md: ``settings``, ``categories``, ``nothing``, ``groups``, ``users``,
    ``self_consistency``, ``images`` and, with a gold standard, ``gold``.
    """

    def __init__(
        self, data: dict[str, Any], extra: dict[str, Any], save_dir: Path, works=()
    ) -> None:
        self._data = data
        self._extra = extra
        self.save_dir = save_dir
        #: What each user did, as read (:class:`~napari_imagemarker.agreement.work.UserWork`).
        self.works = list(works)

    def __getitem__(self, key: str):
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __repr__(self) -> str:
        s = self._data["settings"]
        return (
            f"<AgreementReport {len(s['users'])} users on {s['n_images']} images, "
            f"radius {s['radius']:g} {s['radius_unit']}>"
        )

    @property
    def offsets(self) -> dict[str, np.ndarray]:
        """Per user: distances of their consensus marks from the cluster centres (in the
        radius unit)."""
        return dict(self._extra["offsets"])

    def to_dict(self) -> dict[str, Any]:
        """A deep copy of the numbers."""
        return json.loads(json.dumps(self._data))

    def to_json(self, path: str | os.PathLike | None = None) -> str:
        """The numbers as JSON (``null`` where undefined); written to ``path`` if given."""
        text = json.dumps(self._data, indent=1, allow_nan=False)
        if path is not None:
            from napari_imagemarker.files import atomic_write

            atomic_write(Path(path), (text + "\n").encode("utf-8"))
        return text

    def write_html(self, path: str | os.PathLike, top: int = 30) -> None:
        """Write the report as one self-contained HTML page with plots (matplotlib): kappa
        per question, offsets from the consensus, the most disputed images."""
        from napari_imagemarker.agreement.page import write_html

        write_html(self, path, top=top)

    # -- consensus as marks ------------------------------------------------------------------

    def consensus_marks(self, user: str = "consensus"):
        """The consensus marks as a marks table (our schema: ``read_marks`` reads it back,
        ``write_marks`` exports it to DS9, VOTable, Image Marker), with an ``n_users`` column:
        how many users marked each."""
        from astropy.table import Table

        from napari_imagemarker.marks.schema import normalise_marks

        s = self._data["settings"]
        rows = []
        for g in self._data["groups"].values():
            for c in g["consensus"]:
                rows.append(
                    (c["image"], g["number"], c["x"], c["y"], c["ra"], c["dec"], c["n_users"])
                )
        rows.sort(key=lambda r: (r[0], r[1], r[2]))
        now = datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        nan = math.nan
        table = Table(
            {
                "image": np.array([r[0] for r in rows], dtype="U") if rows else np.zeros(0, "U1"),
                "frame": np.zeros(len(rows), dtype=np.int64),
                "group": np.array([r[1] for r in rows], dtype=np.int64),
                "label": np.array([""] * len(rows), dtype="U") if rows else np.zeros(0, "U1"),
                "x": np.array([r[2] for r in rows], dtype=np.float64),
                "y": np.array([r[3] for r in rows], dtype=np.float64),
                "ra": np.array([nan if r[4] is None else r[4] for r in rows], dtype=np.float64),
                "dec": np.array([nan if r[5] is None else r[5] for r in rows], dtype=np.float64),
                "user": np.array([user] * len(rows), dtype="U") if rows else np.zeros(0, "U1"),
                "time": np.array([now] * len(rows), dtype="U") if rows else np.zeros(0, "U1"),
                "n_users": np.array([r[6] for r in rows], dtype=np.int64),
            }
        )
        table.meta["groups"] = list(s["groups"])
        return normalise_marks(table, keep_extra=True)

    # -- text --------------------------------------------------------------------------------

    def sections(self, top: int = 10) -> list[tuple[str, list[str], list[list]]]:
        """The report's tables: ``(title, header, rows)``; the first has no rows (its title
        is the summary line)."""
        d = self._data
        s = d["settings"]
        users = s["users"]
        summary = (
            f"Agreement of {len(users)} user(s) ({', '.join(users)}) on {s['n_images']} "
            f"image(s); marks agree within {s['radius']:g} {s['radius_unit']}."
        )
        alone = len(users) < 2
        if alone:
            summary += (
                " Agreement needs two users or more: with one, only the self-consistency on"
                " images shown twice can be measured"
                + ("." if d["self_consistency"] else " (no image was shown twice).")
            )
        if s["marks_left_out"]:
            summary += f" {s['marks_left_out']} mark(s) without RA/Dec were left out."
        out: list[tuple[str, list[str], list[list]]] = [(summary, [], [])]
        items = [(name, block) for name, block in d["categories"].items()]
        items.append(("nothing here", d["nothing"]))
        if not alone:  # with one user these tables only hold "undef." and zeros
            out.append((
                "Between users (kappa: 1 = perfect, 0 = chance)",
                ["question", "Fleiss' kappa", "agree", "images"],
                [[n, fmt(b["fleiss_kappa"]), fmt(b["fleiss"]["observed"], none="-"),
                  b["fleiss"]["n"]] for n, b in items],
            ))  # fmt: skip
            pairs = [(a, b) for i, a in enumerate(users) for b in users[i + 1 :]]
            out.append((
                "Cohen's kappa per pair of users",
                ["users", *[n for n, _ in items]],
                [[f"{a} - {b}", *[fmt(blk["cohen_kappa"][a][b]) for _, blk in items]]
                 for a, b in pairs],
            ))  # fmt: skip
        if d["self_consistency"]:
            cat_names = list(d["categories"])
            rows = [
                [u, sc["n_repeats"], *[fmt(sc["categories"][c]["cohen_kappa"]) for c in cat_names],
                 fmt(sc["nothing"]["cohen_kappa"]), fmt(sc["marks"]["match_rate"], none="-")]
                for u, sc in d["self_consistency"].items()
            ]  # fmt: skip
            out.append((
                "Self-consistency on repeated images (Cohen's kappa, first look against second)",
                ["user", "repeats", *cat_names, "nothing here", "marks matched"],
                rows,
            ))  # fmt: skip
        if d["groups"] and not alone:
            out.append((
                "Consensus marks (marked by more than half of the users who saw the image)"
                if s["min_users"] is None
                else f"Consensus marks (marked by at least {s['min_users']} users)",
                ["group", "clusters", "consensus"],
                [[g, b["n_clusters"], b["n_consensus"]] for g, b in d["groups"].items()],
            ))  # fmt: skip
            rows = []
            for u in users:
                ub = d["users"][u]
                for g, gb in ub["groups"].items():
                    rows.append(
                        [u, g, fmt(gb["precision"], none="-"), fmt(gb["recall"], none="-"),
                         gb["n_marks"], fmt(gb["offsets"]["median"], none="-"),
                         fmt(gb["offsets"]["p68"], none="-")]
                    )  # fmt: skip
            out.append((
                f"Each user against the consensus (offsets in {s['radius_unit']})",
                ["user", "group", "precision", "recall", "marks on shared images",
                 "median offset", "68%"],
                rows,
            ))  # fmt: skip
        if "gold" in d:
            rows = []
            for u in users:
                gb = d["users"][u].get("gold", {})
                for g, b in gb.get("groups", {}).items():
                    rows.append([u, f"group {g}", fmt(b["precision"], none="-"),
                                 fmt(b["recall"], none="-"),
                                 f"{b['tp']}/{b['fp']}/{b['fn']}"])  # fmt: skip
                for c, b in gb.get("categories", {}).items():
                    (_, fp), (fn, tp) = b["confusion"]
                    rows.append(
                        [
                            u,
                            c,
                            fmt(b["precision"], none="-"),
                            fmt(b["recall"], none="-"),
                            f"{tp}/{fp}/{fn}",
                        ]
                    )
            out.append((
                f"Against the gold standard ({d['gold']['source']})",
                ["user", "what", "precision", "recall", "TP/FP/FN"],
                rows,
            ))  # fmt: skip
        if d["images"]:
            out.append((
                f"Most disputed images (of {len(d['images'])} seen by two users or more)",
                ["image", "disagreement", "users", "clusters"],
                [[r["image"], fmt(r["disagreement"]), r["n_users"], r["n_clusters"]]
                 for r in d["images"][:top]],
            ))  # fmt: skip
        return out

    def tables(self, top: int = 10) -> str:
        """The report as plain-text tables (what ``imagemarker agreement`` prints)."""
        lines: list[str] = []
        for k, (title, header, rows) in enumerate(self.sections(top)):
            if k:
                lines.append("")
            lines.append(title)
            if header:
                lines += _table(header, rows)
        lines += ["", NOTE]
        return "\n".join(lines)


def agreement(
    save_dir: str | os.PathLike,
    users: Sequence[str] | str | None = None,
    radius: float | str = 3.0,
    gold: str | os.PathLike | Sequence[str | os.PathLike] | None = None,
    *,
    min_users: int | None = None,
    images=None,
) -> AgreementReport:
    """How far several users' marks and categories agree, from one save folder.

    Parameters
    ----------
    save_dir : path-like
        A folder with several users' marking sessions (ours, ``<user>_marks.ecsv`` ...) or
        Image Marker's files (``<user>_marks.csv`` ...), or both.
    users : sequence of str or comma-separated str, optional
        Whose work to compare; default everyone with files there.
    radius : float or str
        How far a mark may lie from the feature it marks: pixels (``3``, ``"3px"``) or an
        angle (``"1arcsec"``, or an astropy Quantity; marks are then compared by RA/Dec).
        Marks of different users (or of one user's two looks) at most ``2 * radius`` apart
        can be the same feature; a mark within ``radius`` of a gold mark matches it.
    gold : path or paths, optional
        The truth: a marks file (any format :func:`~napari_imagemarker.read_marks` reads)
        and/or a categories file (``image`` and ``categories`` columns, names joined by
        ``+``, as Image Marker's ``<user>_images.csv``).
    min_users : int, optional
        A cluster is a consensus mark when at least this many users marked it; default: more
        than half of the users who saw the image, and at least two.
    images : folder or list of paths, optional
        Where the gold marks file's images are, if it is in Image Marker's display pixels.

    Returns
    -------
    AgreementReport
        A mapping of the numbers (see docs/agreement.md), with ``tables()``, ``to_json()``,
        ``write_html()`` and ``consensus_marks()``.

    Raises
    ------
    ValueError
        No such folder, no users, an unknown user, a bad radius, or a damaged file (the
        message names it).
    """
    from napari_imagemarker.agreement.compute import compute
    from napari_imagemarker.agreement.load import load_gold, load_users

    if isinstance(users, str):
        users = [u for u in (v.strip() for v in users.split(",")) if u]
    works = load_users(save_dir, users)
    truth = load_gold(gold, images=images) if gold else None
    data, extra = compute(works, radius, gold=truth, min_users=min_users)
    return AgreementReport(data, extra, Path(save_dir).expanduser().absolute(), works)

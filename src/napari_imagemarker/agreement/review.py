"""Reviewing the most disputed images: which files, and every user's marks on each.

Plain data for the "Agreement" dock (:mod:`napari_imagemarker._napari.agreement`): the dock
opens a marking session for the reviewer over :attr:`Review.paths` and draws
:meth:`Review.marks_on` in a colour per user.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

__all__ = ["USER_COLORS", "Review"]

#: Colours of users' marks (matplotlib's tab10, without the group colours' pure red).
USER_COLORS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#d62728",
)  # fmt: skip


@dataclass(frozen=True)
class UserMarks:
    """One user's marks on one image: ``x``, ``y`` (0-based column and row, DESIGN.md),
    ``group`` (1-9)."""

    user: str
    color: str
    x: np.ndarray
    y: np.ndarray
    group: np.ndarray


class Review:
    """The most disputed images of a report, with every user's marks.

    Parameters
    ----------
    report : AgreementReport
        From :func:`napari_imagemarker.agreement`.
    n : int
        How many images, most disputed first.

    Attributes
    ----------
    names : list of str
        The images to review (files found), most disputed first.
    paths : list of Path
    missing : list of str
        Disputed images whose file none of the users' sessions locates.
    colors : dict
        User -> colour (``#rrggbb``).
    """

    def __init__(self, report, n: int = 20) -> None:
        if n < 1:
            raise ValueError(f"review at least one image, not {n}")
        works = report.works
        if not report["images"]:
            raise ValueError(
                f"{report.save_dir}: no image was seen by two users or more: nothing to review"
            )
        self.colors = {w.user: USER_COLORS[k % len(USER_COLORS)] for k, w in enumerate(works)}
        self._works = {w.user: w for w in works}
        self.names, self.paths, self.missing = [], [], []
        for row in report["images"][:n]:
            name = row["image"]
            path = next((w.paths[name] for w in works if name in w.paths), None)
            if path is not None and Path(path).is_file():
                self.names.append(name)
                self.paths.append(Path(path))
            else:
                self.missing.append(name)
        if not self.paths:
            raise ValueError(
                f"{report.save_dir}: none of the {len(report['images'][:n])} most disputed "
                "images can be found (their folder moved?)"
            )

    def marks_on(self, image: str) -> list[UserMarks]:
        """Every user's first-look marks on ``image`` (users without any left out)."""
        out = []
        for user, work in self._works.items():
            m = work.marks
            keep = m.image == image
            if keep.any():
                out.append(UserMarks(user, self.colors[user], m.x[keep], m.y[keep], m.group[keep]))
        return out

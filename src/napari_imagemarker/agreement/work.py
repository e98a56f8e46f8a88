"""What one user did, as the agreement statistics read it (no files, no images).

Loaders (ours and Image Marker's save folders) produce :class:`UserWork`; the statistics
only read it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Gold", "Marks", "UserWork"]


@dataclass(frozen=True)
class Marks:
    """Marks as columns: image name, group (1-9), x, y (0-based column and row of the
    array, see DESIGN.md), ra, dec (degrees, NaN without WCS)."""

    image: np.ndarray
    group: np.ndarray
    x: np.ndarray
    y: np.ndarray
    ra: np.ndarray
    dec: np.ndarray

    @classmethod
    def empty(cls) -> Marks:
        f = np.zeros(0)
        return cls(np.zeros(0, "U1"), np.zeros(0, np.int64), f, f, f, f)

    @classmethod
    def from_table(cls, table) -> Marks:
        if table is None or len(table) == 0:
            return cls.empty()
        return cls(
            np.asarray(table["image"], dtype="U"),
            np.asarray(table["group"], dtype=np.int64),
            *(np.asarray(table[c], dtype=np.float64) for c in ("x", "y", "ra", "dec")),
        )

    def __len__(self) -> int:
        return len(self.image)

    def take(self, keep) -> Marks:
        return Marks(*(getattr(self, f)[keep] for f in self.__dataclass_fields__))


@dataclass
class UserWork:
    """One user's marks and image categories, first pass and repeats apart.

    Attributes
    ----------
    user : str
    seen : list of str
        Images the user looked at (first pass): seen, marked or given a category.
    categories : dict
        Image -> category numbers (1-5) set on the first pass.
    marks : Marks
        First-pass marks.
    repeat_seen, repeat_categories, repeat_marks
        The same for the images shown to the user a second time (duplicates).
    group_names, category_names : lists of 9 and 5 str
    paths : dict
        Image name -> path of the file, where known (for reviewing the images).
    """

    user: str
    seen: Sequence[str]
    categories: Mapping[str, Sequence[int]]
    marks: Marks
    repeat_seen: Sequence[str] = ()
    repeat_categories: Mapping[str, Sequence[int]] = field(default_factory=dict)
    repeat_marks: Marks = field(default_factory=Marks.empty)
    group_names: Sequence[str] = tuple(str(g) for g in range(1, 10))
    category_names: Sequence[str] = tuple(str(c) for c in range(1, 6))
    paths: Mapping[str, str] = field(default_factory=dict)


@dataclass
class Gold:
    """The truth to compare users with: marks and/or categories (names) per image."""

    marks: Marks | None = None
    categories: Mapping[str, Sequence[str]] | None = None
    source: str = ""

    @property
    def images(self) -> set[str]:
        out = set()
        if self.marks is not None:
            out |= set(self.marks.image.tolist())
        if self.categories is not None:
            out |= set(self.categories)
        return out

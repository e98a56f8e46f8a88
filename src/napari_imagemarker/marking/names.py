"""Checks of what a person names and numbers in a session: user, groups, categories, maxima,
colours.

Names must fit Image Marker's files (its rules and messages are
:func:`napari_imagemarker.imgmarker.config.check_group_names` and
``check_category_names``); every check raises ValueError with a message that says what is
allowed.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from napari_imagemarker.files import check_text
from napari_imagemarker.imgmarker import config
from napari_imagemarker.imgmarker.config import MAX_CATEGORIES
from napari_imagemarker.marking.state import SessionState
from napari_imagemarker.marks.schema import N_GROUPS

__all__ = [
    "category_numbers",
    "check_category",
    "check_category_names",
    "check_color",
    "check_group",
    "check_group_names",
    "check_max",
    "check_user",
    "opening_changes",
]


def check_user(user: str) -> str:
    """``user`` stripped, if it can be part of a file name."""
    user = check_text(user, "user").strip()
    if not user or user.startswith(".") or any(c in user for c in '/\\:*?"<>|'):
        raise ValueError(
            f"user {user!r} cannot be part of a file name: use letters, digits, '-' or '_'"
        )
    return user


def check_group(group: int) -> int:
    """A group number, 1-9."""
    if isinstance(group, bool) or int(group) != group or not 1 <= group <= N_GROUPS:
        raise ValueError(f"group must be 1-{N_GROUPS}, got {group!r}")
    return int(group)


def check_category(category: int, n: int = MAX_CATEGORIES) -> int:
    """A category number, 1-``n`` (the session's number of categories)."""
    if isinstance(category, bool) or int(category) != category or not 1 <= category <= n:
        raise ValueError(f"category must be 1-{n}, got {category!r}")
    return int(category)


def check_group_names(names: Sequence[str]) -> list[str]:
    """9 group names Image Marker can store (no commas)."""
    return config.check_group_names(names)


def check_category_names(names: Sequence[str]) -> list[str]:
    """1-9 category names Image Marker can store (no commas, no ``+``)."""
    return config.check_category_names(names)


def check_max(values: Sequence[int | None]) -> list[int | None]:
    """Group maxima as stored: 9 values, each a positive int or None (0 also means None)."""
    values = list(values)
    if len(values) != N_GROUPS:
        raise ValueError(f"group_max: {len(values)} values given, expected {N_GROUPS}")
    out: list[int | None] = []
    for v in values:
        if v is None or v == 0:
            out.append(None)
        elif int(v) == v and v > 0:
            out.append(int(v))
        else:
            raise ValueError(f"group_max: {v!r} is not a positive integer or None")
    return out


def check_color(color: str) -> str:
    """A colour written ``#rrggbb`` (lower case)."""
    text = str(color).strip().lower()
    if len(text) != 7 or text[0] != "#" or any(c not in "0123456789abcdef" for c in text[1:]):
        raise ValueError(f"colour must be written #rrggbb, got {color!r}")
    return text


def category_numbers(categories: Iterable[int | str], names: Sequence[str]) -> list[int]:
    """Sorted category numbers from numbers (1 to ``len(names)``) and current ``names``."""
    numbers = set()
    for c in categories:
        if isinstance(c, str):
            if c not in names:
                raise ValueError(f"no category named {c!r} (have {list(names)})")
            numbers.add(names.index(c) + 1)
        else:
            numbers.add(check_category(c, len(names)))
    return sorted(numbers)


def opening_changes(
    state: SessionState,
    groups: Sequence[str] | None,
    categories: Sequence[str] | None,
    group_max: Sequence[int | None] | None,
    seed: int | None,
    paths: Sequence[Path],
) -> dict[str, Any]:
    """What the arguments of a session being opened change in its saved configuration
    (the fields of a ``config`` record; empty if nothing)."""
    changes: dict[str, Any] = {}
    if groups is not None and list(groups) != state.groups:
        changes["groups"] = check_group_names(groups)
    if categories is not None and list(categories) != state.categories:
        changes["categories"] = check_category_names(categories)
    if group_max is not None and check_max(group_max) != state.group_max:
        changes["group_max"] = check_max(group_max)
    if seed is not None and seed != state.seed:
        changes["seed"] = int(seed)
    path_strings = [os.path.abspath(p) for p in paths]
    if path_strings != state.paths:
        changes["paths"] = path_strings
    return changes

"""Image Marker's ``<user>_config.txt``: group and category names, limits, image folder.

Image Marker writes the literal text ``None`` for an empty value (:data:`NONE`), in its
config and in its CSV files.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from napari_imagemarker.files import check_text, read_text
from napari_imagemarker.marks.schema import DEFAULT_CATEGORIES, DEFAULT_GROUPS, N_GROUPS

__all__ = [
    "MAX_CATEGORIES",
    "NONE",
    "N_CATEGORIES",
    "check_category_names",
    "check_group_names",
    "check_names",
    "format_config",
    "image_search_dirs",
    "read_config",
]

#: Image Marker's number of categories (its window shows five check boxes).
N_CATEGORIES = 5
#: Most categories a session may have: one per key Ctrl+1 ... Ctrl+9. Image Marker reads a
#: config with more than five names, and its files store any of them by name, but its window
#: shows check boxes for the first five only.
MAX_CATEGORIES = 9
#: Image Marker's text for "no value".
NONE = "None"


def _split_names(value: str, n: int | range, path: Path, line: int, key: str) -> list[str]:
    names = [v.strip() for v in value.split(",")]
    allowed = n if isinstance(n, range) else range(n, n + 1)
    if len(names) not in allowed:
        expected = str(n) if isinstance(n, int) else f"{allowed.start} to {allowed.stop - 1}"
        raise ValueError(f"{path}: line {line}, {key!r}: {len(names)} names, expected {expected}")
    return names


def read_config(path: str | Path) -> dict[str, Any] | None:
    """Read ``<user>_config.txt``; None when the file does not exist.

    Returns
    -------
    dict
        ``image_dir`` (str or None), ``groups`` (9 str), ``categories`` (1 to
        :data:`MAX_CATEGORIES` str; Image Marker writes five),
        ``group_max`` (9 int or None), ``randomize_order`` (bool), ``left_click_group``
        (int); defaults for keys the file lacks. Unknown keys are ignored, as Image Marker
        does.
    """
    path = Path(path)
    if not path.is_file():
        return None
    config: dict[str, Any] = {
        "image_dir": None,
        "groups": list(DEFAULT_GROUPS),
        "categories": list(DEFAULT_CATEGORIES),
        "group_max": [None] * N_GROUPS,
        "randomize_order": False,
        "left_click_group": 1,
    }
    for number, raw in enumerate(read_text(path).splitlines(), start=1):
        if not raw.strip():
            continue
        key, sep, value = raw.partition("=")
        key, value = key.strip(), value.strip()
        if not sep:
            raise ValueError(f"{path}: line {number}: expected 'key = value', got {raw!r}")
        if key == "image_dir":
            config["image_dir"] = None if value == NONE else value
        elif key == "groups":
            config["groups"] = _split_names(value, N_GROUPS, path, number, key)
        elif key == "categories":
            config["categories"] = _split_names(
                value, range(1, MAX_CATEGORIES + 1), path, number, key
            )
        elif key == "group_max":
            values = _split_names(value, N_GROUPS, path, number, key)
            try:
                config["group_max"] = [None if v == NONE else int(v) for v in values]
            except ValueError:
                raise ValueError(
                    f"{path}: line {number}, column 'group_max': expected integers or None, "
                    f"got {value!r}"
                ) from None
        elif key == "randomize_order":
            config["randomize_order"] = value == "True"
        elif key == "left_click_group":
            if not (value.isdigit() and 1 <= int(value) <= N_GROUPS):
                raise ValueError(
                    f"{path}: line {number}, column 'left_click_group': expected 1-9, "
                    f"got {value!r}"
                )
            config["left_click_group"] = int(value)
    return config


def format_config(
    image_dir: str | None,
    groups: Sequence[str],
    categories: Sequence[str],
    group_max: Sequence[int | None],
    randomize_order: bool,
    left_click_group: int,
) -> bytes:
    """``<user>_config.txt`` bytes: six ``key = value`` lines, LF, no final newline."""
    lines = [
        f"image_dir = {image_dir if image_dir is not None else NONE}",
        f"groups = {','.join(groups)}",
        f"categories = {','.join(categories)}",
        f"group_max = {','.join(NONE if m is None else str(int(m)) for m in group_max)}",
        f"randomize_order = {bool(randomize_order)}",
        f"left_click_group = {int(left_click_group)}",
    ]
    return "\n".join(lines).encode("utf-8")


def image_search_dirs(save_dir: str | Path, config: dict[str, Any] | None) -> list[Path]:
    """Where a save folder's images may be: the config's ``image_dir`` (a path on the machine
    that wrote it), then ``images/`` beside the save folder, then ``images/`` inside it."""
    save_dir = Path(save_dir)
    dirs = []
    if config and config.get("image_dir"):
        image_dir = config["image_dir"]
        dirs.append(save_dir if image_dir in (".", "./") else Path(image_dir))
    dirs += [save_dir.parent / "images", save_dir / "images"]
    return dirs


def check_names(names: Sequence[str], n: int, what: str, forbidden: str) -> list[str]:
    """The names as str, checked to be writable to Image Marker's config; ValueError if not."""
    names = [check_text(v, what) for v in names]
    if len(names) != n:
        raise ValueError(f"{what}: {len(names)} names, expected {n}")
    for name in names:
        bad = [c for c in forbidden if c in name]
        if bad or name != name.strip() or not name:
            raise ValueError(
                f"{what}: {name!r} cannot be written to Image Marker's config "
                f"(no {' or '.join(repr(c) for c in forbidden)}, no blanks around, not empty)"
            )
    return names


def check_group_names(names: Sequence[str]) -> list[str]:
    """9 group names Image Marker can store (no ``,``, no blanks around, not empty)."""
    return check_names(names, N_GROUPS, "groups", ",")


def check_category_names(names: Sequence[str]) -> list[str]:
    """1 to :data:`MAX_CATEGORIES` category names Image Marker can store (no ``,`` or ``+``,
    no blanks around, not empty)."""
    names = [str(v) for v in names]
    if not 1 <= len(names) <= MAX_CATEGORIES:
        raise ValueError(f"categories: {len(names)} names, expected 1 to {MAX_CATEGORIES}")
    return check_names(names, len(names), "categories", ",+")

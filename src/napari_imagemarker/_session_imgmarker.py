"""Image Marker save folders in a session: import on first open, and name rules.

Reading and writing Image Marker's files is :mod:`napari_imagemarker.io.imgmarker`; this
module turns its :class:`~napari_imagemarker.io.imgmarker.SaveDir` into the session's state.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ._session_store import ImageState, SessionState
from .imagelist import resolve_images
from .io.marks_schema import N_GROUPS

__all__ = ["check_max", "has_imgmarker_files", "import_saved", "read_imgmarker"]


def has_imgmarker_files(save_dir: Path, user: str) -> bool:
    """Whether ``save_dir`` holds Image Marker's marks or images file for ``user``."""
    return any((save_dir / f"{user}_{s}").is_file() for s in ("marks.csv", "images.csv"))


def read_imgmarker(save_dir: Path, user: str, images) -> dict[str, Any]:
    """Read the folder; ``paths``: the image list given, else its configured image folder."""
    from .io.imgmarker import image_search_dirs, read_config, read_savedir

    given = None if images is None else [str(p) for p in resolve_images(images)]
    saved = read_savedir(save_dir, user, images=given)
    paths = given
    if paths is None:
        config = read_config(save_dir / f"{user}_config.txt")
        folder = next((d for d in image_search_dirs(save_dir, config) if d.is_dir()), None)
        paths = [str(p) for p in resolve_images(folder)] if folder is not None else None
    return {"saved": saved, "paths": paths}


def import_saved(state: SessionState, saved) -> None:
    """Fill an empty ``state`` from a :class:`~napari_imagemarker.io.imgmarker.SaveDir`:
    marks (ids 1, 2, ... in file order), names, group maxima and image states."""
    state.groups = list(saved.groups)
    state.categories = list(saved.categories)
    state.group_max = check_max(saved.group_max)
    for row in saved.marks:
        values = {name: _py(row[name]) for name in row.colnames}
        state._apply_add({"id": state.next_id, **values})
    names = list(state.categories)
    for row in saved.images:
        cats = str(row["categories"])
        numbers = [names.index(c) + 1 for c in cats.split("+") if c in names] if cats else []
        image = ImageState(
            seen=bool(row["seen"]),
            categories=tuple(sorted(numbers)),
            comment=str(row["comment"]),
            favorite=bool(row["favorite"]),
        )
        if image != ImageState():
            state.images[str(row["image"])] = image
    state.unresolved = list(saved.unresolved)


def _py(value):
    """numpy scalar -> Python scalar (for JSON)."""
    return value.item() if hasattr(value, "item") else value


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

"""Image Marker save folders in a session: imported on first open, kept current after.

Reading and writing Image Marker's files is :mod:`napari_imagemarker.imgmarker.savedir`; this
module turns its :class:`~napari_imagemarker.imgmarker.savedir.SaveDir` into the session's state
(:func:`import_record`, one journal record), and the session's state back into its files
(:class:`Mirror`).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from napari_imagemarker.images.lists import resolve_images
from napari_imagemarker.marking.names import check_max
from napari_imagemarker.marking.state import ImageState, SessionState, images_table
from napari_imagemarker.marks.schema import MARK_COLUMNS

__all__ = [
    "Mirror",
    "has_imgmarker_files",
    "import_record",
    "mirror_images_table",
    "read_imgmarker",
    "read_settings",
    "settings_config",
]


def has_imgmarker_files(save_dir: Path, user: str) -> bool:
    """Whether ``save_dir`` holds Image Marker's marks, images or config file for ``user``
    (a colleague's ``<user>_config.txt`` alone counts: its settings are to be used)."""
    names = ("marks.csv", "images.csv", "config.txt")
    return any((save_dir / f"{user}_{s}").is_file() for s in names)


def read_imgmarker(save_dir: Path, user: str, images) -> dict[str, Any]:
    """Read the folder; ``paths``: the image list given, else its configured image folder."""
    from napari_imagemarker.imgmarker.config import image_search_dirs, read_config
    from napari_imagemarker.imgmarker.savedir import read_savedir

    given = None if images is None else [str(p) for p in resolve_images(images)]
    saved = read_savedir(save_dir, user, images=given)
    try:
        check_max(saved.group_max)
    except ValueError as err:  # a value the session cannot hold: say where it came from
        raise ValueError(f"{save_dir / f'{user}_config.txt'}: {err}") from None
    paths = given
    if paths is None:
        config = read_config(save_dir / f"{user}_config.txt")
        folder = next((d for d in image_search_dirs(save_dir, config) if d.is_dir()), None)
        paths = [str(p) for p in resolve_images(folder)] if folder is not None else None
    return {"saved": saved, "paths": paths}


def read_settings(save_dir: Path, user: str) -> dict[str, Any] | None:
    """The settings of ``<user>_config.txt`` in ``save_dir`` (None if there is none), as
    :func:`settings_config` takes them."""
    from napari_imagemarker.imgmarker.config import read_config

    return read_config(save_dir / f"{user}_config.txt")


def settings_config(config: dict[str, Any]) -> dict[str, Any]:
    """Image Marker's settings (:func:`~napari_imagemarker.imgmarker.config.read_config`) as
    the fields of a ``config`` journal record: group and category names, group maxima, the
    left-click group and, for ``randomize_order = True``, a shuffle seed drawn now and kept
    from then on (Image Marker draws a new order of the unseen images each time it opens)."""
    fields = {
        "groups": list(config["groups"]),
        "categories": list(config["categories"]),
        "group_max": check_max(config["group_max"]),
        "left_click_group": int(config["left_click_group"]),
    }
    if config["randomize_order"]:
        fields["seed"] = secrets.randbelow(2**31)
    return fields


def import_record(saved) -> dict[str, Any]:
    """The journal record that imports a :class:`~napari_imagemarker.imgmarker.savedir.SaveDir`
    into an empty session: its marks (ids 1, 2, ... in file order), the settings of its
    config (:func:`settings_config`) and image states, all in one record, so that the
    import is durable whole or not at all (applied by :meth:`SessionState.apply_import`)."""
    categories = list(saved.categories)
    images = []
    for row in saved.images:
        cats = str(row["categories"])
        numbers = sorted(
            {categories.index(c) + 1 for c in cats.split("+") if c in categories} if cats else ()
        )
        image = ImageState(
            seen=bool(row["seen"]),
            categories=tuple(numbers),
            comment=str(row["comment"]),
            favorite=bool(row["favorite"]),
        )
        if image != ImageState():
            images.append([str(row["image"]), image.seen, numbers, image.comment, image.favorite])
    settings = settings_config(
        {
            "groups": saved.groups,
            "categories": saved.categories,
            "group_max": saved.group_max,
            "left_click_group": saved.left_click_group,
            "randomize_order": saved.randomize_order,
        }
    )
    return {
        "op": "import",
        **settings,
        "marks": [[_py(row[name]) for name in MARK_COLUMNS] for row in saved.marks],
        "images": images,
        "unresolved": list(saved.unresolved),
    }


def _py(value):
    """numpy scalar -> Python scalar (for JSON)."""
    return value.item() if hasattr(value, "item") else value


class Mirror:
    """Image Marker's files of ``user`` in ``save_dir`` (``<user>_marks.csv``,
    ``_images.csv``, ``_favorites.csv``, ``_config.txt``), rewritten from a session's state.

    Parameters
    ----------
    save_dir : Path
    user : str
    order : sequence of Path
        The session's images in order: where Image Marker's files say the images are, and
        whose headers give its display y.
    """

    def __init__(self, save_dir: Path, user: str, order: Sequence[Path]) -> None:
        self.save_dir = save_dir
        self.user = user
        self.order = list(order)
        self._index = None  # an ImageIndex: reads each image's header once per session

    def write(self, state: SessionState, repeats: SessionState | None = None) -> list[str]:
        """Rewrite the files (each atomically) from ``state``, a copy nobody else changes:
        this takes time in proportion to the number of marks. ``repeats``: a copy of the
        repeats' state, written as Image Marker writes duplicates.

        Returns
        -------
        list of str
            Problems: marks left out of ``<user>_marks.csv`` because their image is in
            neither the session's list nor the list it was saved with, nor found on disk
            (their display y depends on the image's height). They stay in the session.
        """
        from napari_imagemarker.imgmarker.savedir import write_savedir

        self._index_for(state)
        marks = state.marks_table()
        problems = []
        lost = [n for n in state.by_image if not _findable(self._index, n)]
        if lost:
            keep = ~np.isin(np.asarray(marks["image"], dtype=str), lost)
            n_out = int((~keep).sum())
            marks = marks[keep]
            shown = ", ".join(lost[:3]) + (" ..." if len(lost) > 3 else "")
            problems.append(
                f"{self.save_dir / f'{self.user}_marks.csv'}: {n_out} mark(s) on "
                f"{len(lost)} image(s) that cannot be found or read ({shown}) are left out "
                f"of Image Marker's file; they stay in {self.user}_marks.ecsv"
            )
        write_savedir(
            self.save_dir,
            self.user,
            marks,
            mirror_images_table(state, self.order),
            state.groups,
            state.categories,
            group_max=state.group_max,
            randomize_order=state.seed is not None,
            left_click_group=state.left_click_group,
            image_dir=str(self.order[0].parent) if self.order else None,
            image_paths=self._index,
            unresolved=state.unresolved,
            repeats=None if repeats is None else repeat_tables(repeats, state.categories),
        )
        return problems

    def _index_for(self, state: SessionState):
        """The index of image headers (made once per session), ``state`` indexed."""
        from napari_imagemarker.images.index import ImageIndex

        state.index_images()
        if self._index is None:
            # the list this session scans, then the list saved with it (images marked in
            # another session with a longer list), then their folders
            known = [str(p) for p in self.order]
            known += [p for p in state.paths if p not in set(known)]
            folders = dict.fromkeys(str(p.parent) for p in self.order)
            self._index = ImageIndex(known, folders)
        return self._index

    def warm(self, state: SessionState, most: int = 64) -> bool:
        """Read ``most`` of the headers :meth:`write` will need (every image seen or marked)
        and not read yet, so that writing, at the latest when the session closes, does not
        read them then (about 2 ms an SPT cutout, for its WCS: 4 s for 2,000). Return whether
        all are read."""
        index = self._index_for(state)
        names = [n for n, s in state.images.items() if s.seen]
        to_read = [n for n in dict.fromkeys([*names, *state.by_image]) if not index.is_read(n)]
        for name in to_read[:most]:
            _findable(index, name)
        return len(to_read) <= most


def _findable(index, name: str) -> bool:
    """Whether ``index`` finds and can read image ``name`` (its frames give display y)."""
    try:
        index.frames(name)
    except (OSError, ValueError):
        return False
    return True


def repeat_tables(state: SessionState, categories: Sequence[str]):
    """``(marks, images)`` tables of the repeats' state (a copy), for
    :func:`~napari_imagemarker.imgmarker.savedir.write_savedir`: the repeated images seen or
    with anything recorded, in the order they were recorded, their categories named by
    ``categories``: the session's current names, as on the first looks' rows (groups are
    named the same way, by ``write_savedir``)."""
    from astropy.table import Table

    state.index_images()
    # seen, or with anything recorded (a category ticked on the repeat on screen when the
    # session closed), as the first looks in mirror_images_table
    names = [n for n, s in state.images.items() if s.seen or s != ImageState(seconds=s.seconds)]
    names += [n for n in state.by_image if n not in set(names)]
    rows = [state.images.get(n, ImageState()) for n in names]

    def column(values, dtype="U"):
        return np.array(values, dtype=dtype) if values else np.zeros(0, dtype)

    images = Table(
        {
            "image": column(names),
            "seen": np.ones(len(names), dtype=bool),
            "categories": column(
                ["+".join(categories[c - 1] for c in s.categories) for s in rows]
            ),
            "comment": column([s.comment for s in rows]),
            "favorite": np.zeros(len(names), dtype=bool),
        }
    )
    return state.marks_table(), images


def mirror_images_table(state: SessionState, order: Sequence[Path]):
    """The session's images table as Image Marker's files need it: ``seen`` also where
    anything is recorded (Image Marker drops unseen images), and a ``path`` column."""
    table = images_table(state, order)
    names = table["image"].tolist()
    recorded = []
    for name in names:
        s = state.images.get(name)
        recorded.append(s is not None and s != ImageState(seconds=s.seconds))
    table["seen"] |= np.array(recorded, dtype=bool)
    paths = {p.name: str(p) for p in order}
    table["path"] = np.array([paths.get(n, "") for n in names], dtype="U")
    return table

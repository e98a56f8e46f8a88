"""Image Marker (imgmarker 1.2) save folders, read and written in its exact layout.

A save folder holds, per user, ``<user>_marks.csv``, ``<user>_images.csv``,
``<user>_favorites.csv``, ``<user>_config.txt`` and an ``imports/`` folder of mark files.
:func:`read_savedir` turns them into our marks table (our pixel convention, RA/Dec
recomputed from our WCS) and the per-image state; :func:`write_savedir` writes them back so
that Image Marker and its users' scripts read them as their own.

One deliberate difference: the RA/DEC we write are the true sky positions of the marks and
image centres. Image Marker writes a mark's RA/DEC one pixel off in y (it passes
``(x, H - y)`` instead of ``(x, H - 1 - y)`` to ``all_pix2world``) and an image's centre half
a pixel off (``(W/2, H/2)`` instead of ``((W-1)/2, (H-1)/2)``). Image Marker never reads
these columns back for its own files, so it is unaffected; scripts get correct positions.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from astropy.table import Table

from napari_imagemarker.files import atomic_write, read_text
from napari_imagemarker.images.index import ImageIndex, ImagesLike, frame_wcs
from napari_imagemarker.imgmarker.config import (
    NONE,
    check_category_names,
    check_group_names,
    format_config,
    image_search_dirs,
    read_config,
)
from napari_imagemarker.imgmarker.marks_file import (
    format_csv,
    format_marks_csv,
    parse_marks_csv,
    read_records,
    utc_date,
)
from napari_imagemarker.marks.schema import (
    DEFAULT_CATEGORIES,
    DEFAULT_GROUPS,
    N_GROUPS,
    normalise_marks,
)
from napari_imagemarker.wcs import pixel_to_sky

__all__ = [
    "DUPLICATE",
    "IMAGES_HEADER",
    "USER_FILES",
    "SaveDir",
    "empty_images",
    "import_files",
    "read_savedir",
    "savedir_files",
    "savedir_users",
    "write_savedir",
]

#: Label Image Marker gives marks placed on an image shown again (a duplicate); a mark with
#: its own label gets ``<label>, DUPLICATE``.
DUPLICATE = "DUPLICATE"
#: Header of ``<user>_images.csv`` and ``<user>_favorites.csv``.
IMAGES_HEADER = ("date", "image", "RA", "DEC", "categories", "comment")


@dataclass
class SaveDir:
    """What an Image Marker save folder holds for one user.

    Attributes
    ----------
    user : str
    marks : astropy.table.Table
        Our marks schema: x = column, y = row of the array as our reader returns it
        (0-based), RA/Dec recomputed from our WCS. Image Marker does not record the frame, so
        ``frame`` is 0.
    images : astropy.table.Table
        One row per image, in Image Marker's resume order (seen images as listed in its
        files, then the unseen images of the image folder in natural order): ``image``,
        ``seen`` (bool), ``categories`` (names joined by ``"+"``, ``""`` for none),
        ``comment`` (``""`` for none), ``favorite`` (bool).
    groups : list of 9 str
    categories : list of str
        1 to 9 names (Image Marker's default is five).
    group_max : list of 9 int or None
        Most marks per image in each group (None: no limit).
    randomize_order : bool
    left_click_group : int
    image_dir : str or None
        As written in the config: a path on the machine that wrote it.
    problems : list of str
        Images that could not be found or read, and what was done.
    unresolved : list of dict
        Marks rows on images that could not be found, as written; pass them to
        :func:`write_savedir` to keep them.
    imports : list of Path
        The mark files Image Marker imported (``imports/``), for catalog overlays; their
        marks are not in ``marks``.
    repeats : list of dict
        Later rows of ``<user>_images.csv`` for an image already listed (``image``,
        ``categories``, ``comment`` as written, ``None`` for none): what was done on Image
        Marker's duplicates. ``images`` keeps each image's first row. Marks placed on a
        duplicate are in ``marks``, labelled ``DUPLICATE`` or ``<label>, DUPLICATE``.
        Earlier versions of napari-imagemarker wrote the *number* of a category ticked on a
        repeat in place of its name: a number that names no category is read as the name
        of the category at that position (``1`` is the first); one that is also a
        category's name stays that name (it cannot be told apart).
    """

    user: str
    marks: Table
    images: Table
    groups: list[str] = field(default_factory=lambda: list(DEFAULT_GROUPS))
    categories: list[str] = field(default_factory=lambda: list(DEFAULT_CATEGORIES))
    group_max: list[int | None] = field(default_factory=lambda: [None] * N_GROUPS)
    randomize_order: bool = False
    left_click_group: int = 1
    image_dir: str | None = None
    problems: list[str] = field(default_factory=list)
    unresolved: list[dict] = field(default_factory=list)
    imports: list[Path] = field(default_factory=list)
    repeats: list[dict] = field(default_factory=list)


def empty_images() -> Table:
    """An images table with no rows: image, seen, categories, comment, favorite."""
    return Table(
        {
            "image": np.zeros(0, "U"),
            "seen": np.zeros(0, bool),
            "categories": np.zeros(0, "U"),
            "comment": np.zeros(0, "U"),
            "favorite": np.zeros(0, bool),
        }
    )


# --- reading ----------------------------------------------------------------------------


#: The files of one user in a save folder: Image Marker's, then ours (the session's
#: snapshots, see :mod:`napari_imagemarker.marking.store`).
USER_FILES = ("_marks.csv", "_images.csv", "_config.txt", "_marks.ecsv", "_images.ecsv")


def savedir_files(save_dir: str | Path) -> dict[str, list[str]]:
    """The users with files in ``save_dir`` and, for each, the suffixes of its files in
    the order of :data:`USER_FILES`; users sorted. Empty if the folder does not exist."""
    found: dict[str, set[str]] = {}
    try:
        paths = list(Path(save_dir).iterdir())
    except OSError:
        return {}
    for path in paths:
        if path.name.startswith("."):  # e.g. the temporary file of an interrupted write
            continue
        for suffix in USER_FILES:
            if path.name.endswith(suffix) and len(path.name) > len(suffix):
                found.setdefault(path.name[: -len(suffix)], set()).add(suffix)
    return {user: [s for s in USER_FILES if s in found[user]] for user in sorted(found)}


def savedir_users(save_dir: str | Path) -> list[str]:
    """Users with a marks, images or config file of Image Marker in ``save_dir``, sorted."""
    image_marker = set(USER_FILES[:3])
    return [u for u, s in savedir_files(save_dir).items() if image_marker & set(s)]


def import_files(save_dir: str | Path) -> list[Path]:
    """The mark files Image Marker imported into ``save_dir`` (its ``imports/`` folder), in
    the order Image Marker lists them and numbers them for Alt+1 ... Alt+9: the folder's own
    order, as :func:`glob.glob` returns it (not sorted; hidden files left out). Empty when
    there is no ``imports/``.

    Image Marker 1.2 drops (and deletes) the files with a ``size(px)`` column, which we read:
    with such a file in the folder its numbers after that file are one lower than ours.
    """
    folder = Path(save_dir) / "imports"
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return []
    return [Path(e.path) for e in entries if not e.name.startswith(".") and e.is_file()]


def _read_images_file(path: Path) -> list[dict[str, str]]:
    if not path.is_file() or path.stat().st_size == 0:
        return []
    valid = [h.lower() for h in IMAGES_HEADER]
    names, records = read_records(read_text(path), str(path), valid)
    for needed in ("image", "categories", "comment"):
        if needed not in names:
            raise ValueError(f"{path}: line 1, column {needed!r}: missing")
    return [rec for _, rec in records]


def read_savedir(
    save_dir: str | Path,
    user: str | None = None,
    images: ImagesLike | None = None,
) -> SaveDir:
    """Read an Image Marker save folder.

    Parameters
    ----------
    save_dir : str or Path
        The folder holding ``<user>_marks.csv`` etc.
    user : str, optional
        Whose files to read; may be omitted when the folder holds one user's files.
    images : folder, list of image paths, or ImageIndex, optional
        Where the images are (to convert Image Marker's display pixels and compute RA/Dec;
        only headers are read, and only of images that have marks). Otherwise the config's
        ``image_dir``, then ``images/`` beside the save folder, are searched.

    Returns
    -------
    SaveDir
        Marks on images that cannot be found are reported in ``problems`` and kept, as
        written, in ``unresolved``; nothing is dropped.

    Raises
    ------
    ValueError
        No or several users' files, or a malformed file (message names file, line, column).
    """
    save_dir = Path(save_dir)
    if user is None:
        users = savedir_users(save_dir)
        if len(users) != 1:
            found = ", ".join(users) if users else "none"
            raise ValueError(f"{save_dir}: pass user= (users with files here: {found})")
        user = users[0]
    config = read_config(save_dir / f"{user}_config.txt") or {}
    groups = config.get("groups", list(DEFAULT_GROUPS))
    search = image_search_dirs(save_dir, config)
    index = ImageIndex(images, search)
    if images is None:  # list the image folder too, for the unseen images
        folder = next((d for d in search if d.is_dir()), None)
        index = ImageIndex(ImageIndex(folder, search) if folder else None, search)

    marks_path = save_dir / f"{user}_marks.csv"
    if marks_path.is_file():
        parsed = parse_marks_csv(
            read_text(marks_path),
            source=str(marks_path),
            groups=groups,
            images=index,
            user=user,
            strict=False,
        )
    else:
        parsed = parse_marks_csv(
            "image,group,x,y\n", source=str(marks_path), groups=groups, user=user
        )
    image_rows = _read_images_file(save_dir / f"{user}_images.csv")
    favorites = {r["image"] for r in _read_images_file(save_dir / f"{user}_favorites.csv")}

    info: dict[str, dict] = {}
    repeats: list[dict] = []
    categories = list(config.get("categories", DEFAULT_CATEGORIES))
    for r in image_rows:  # a later row for an image: what was done on its duplicate
        if r["image"] in info:
            repeat = {k: r.get(k, NONE) for k in ("image", "categories", "comment")}
            repeat["categories"] = _numbers_named(repeat["categories"], categories)
            repeats.append(repeat)
        else:
            info[r["image"]] = r
    seen = list(dict.fromkeys([*info, *parsed.seen]))
    seen_set = set(seen)
    unseen = [n for n in index.names() if n not in seen_set]
    names = [*seen, *unseen]
    rows = [info.get(name, {}) for name in names]
    table = Table(
        {
            "image": np.array(names, dtype="U") if names else np.zeros(0, "U"),
            "seen": np.array([name in info or name in seen_set for name in names], dtype=bool),
            "categories": _column([r.get("categories", NONE) for r in rows]),
            "comment": _column([r.get("comment", NONE) for r in rows]),
            "favorite": np.array([name in favorites for name in names], dtype=bool),
        }
    )
    return SaveDir(
        user=user,
        marks=parsed.marks,
        images=table,
        groups=list(groups),
        categories=categories,
        group_max=list(config.get("group_max", [None] * N_GROUPS)),
        randomize_order=bool(config.get("randomize_order", False)),
        left_click_group=int(config.get("left_click_group", 1)),
        image_dir=config.get("image_dir"),
        problems=parsed.problems,
        unresolved=parsed.unresolved,
        imports=import_files(save_dir),
        repeats=repeats,
    )


def _numbers_named(text: str, names: Sequence[str]) -> str:
    """The categories of a duplicate's row (``"+"``-joined) with each number that names no
    category replaced by the name at its position: earlier versions of this program wrote
    ``1`` for the first category ticked on a repeat (see :attr:`SaveDir.repeats`)."""
    if text == NONE or not text:
        return text
    parts = text.split("+")
    for k, part in enumerate(parts):
        number = int(part) if part.isascii() and part.isdigit() else 0
        if part not in names and 1 <= number <= len(names):
            parts[k] = names[number - 1]
    return "+".join(parts)


def _column(values: list[str]) -> np.ndarray:
    """Text column with Image Marker's ``None`` sentinel turned into ``""``."""
    return np.array(["" if v == NONE else v for v in values] or [""], dtype="U")[: len(values)]


# --- writing ----------------------------------------------------------------------------


def _centre_sky(index: ImageIndex, name: str) -> tuple[float, float]:
    """True RA/Dec of the centre of frame 0, ``((W-1)/2, (H-1)/2)``; NaN if unknown."""
    try:
        frames = index.frames(name)
    except (OSError, ValueError):
        return math.nan, math.nan
    frame = frames[0]
    ra, dec = pixel_to_sky(frame_wcs(frames, 0), (frame.width - 1) / 2, (frame.height - 1) / 2)
    return float(ra), float(dec)


def _text(value: str) -> str:
    return NONE if value == "" else value


def write_savedir(
    save_dir: str | Path,
    user: str,
    marks: Table,
    images: Table,
    groups: Sequence[str] | None = None,
    categories: Sequence[str] = DEFAULT_CATEGORIES,
    *,
    group_max: Sequence[int | None] | None = None,
    randomize_order: bool = False,
    left_click_group: int = 1,
    image_dir: str | Path | None = None,
    image_paths: ImagesLike | None = None,
    unresolved: Sequence[dict] = (),
    date: str | None = None,
    repeats: tuple[Table, Table] | None = None,
) -> None:
    """Write an Image Marker save folder for ``user``, each file atomically.

    Writes ``<user>_marks.csv``, ``<user>_images.csv``, ``<user>_favorites.csv`` (0 bytes
    when nothing is a favourite) and ``<user>_config.txt`` exactly as imgmarker 1.2 does:
    header line, CRLF on every CSV line, ``csv`` minimal quoting, ``None``/``nan`` sentinels,
    display x/y (``100`` when whole), the UTC date on every row, images in list order and
    marks in table order within each image, a label equal to its group name (or empty) as
    ``None``. ``imports/`` is left alone.

    x/y are written as Image Marker writes a mark it placed: the integer display pixel that
    holds the position (``floor(x + 0.5)``), e.g. ``261`` for our ``261.14``. Our own files
    (``<user>_marks.ecsv`` and the formats of :func:`napari_imagemarker.write_marks`) keep
    the sub-pixel position.

    Unlike Image Marker, the RA/DEC written are the true ones: a mark's RA/Dec as in
    ``marks`` (our readers and the session compute them from the WCS at the mark's pixel)
    and each image's exact centre, ``pixel_to_world((W-1)/2, (H-1)/2)`` of frame 0.

    Parameters
    ----------
    save_dir : str or Path
        Existing folder.
    user : str
    marks : astropy.table.Table
        Our marks schema (0-based, our pixel convention).
    images : astropy.table.Table
        One row per image in list order: ``image``, ``seen``, ``categories`` (``"+"``-joined
        names), ``comment``, ``favorite``; other columns are ignored, an optional ``path``
        column locates the files. Unseen images without marks get no rows; images of
        ``marks`` missing from it are written after it, as seen.
    groups : sequence of 9 str, optional
        Default ``marks.meta["groups"]``.
    categories : sequence of str
        1 to 9 names.
    group_max : sequence of 9 int or None, optional
        Default: no limits.
    randomize_order : bool
    left_click_group : int
    image_dir : str or Path, optional
        Written into the config; default the folder of the first image found.
    image_paths : folder, list of paths, mapping name -> frames, or ImageIndex, optional
        Where the image files are (their sizes and orientation give display y); default the
        ``path`` column, then ``image_dir``. Pass the same :class:`ImageIndex` to repeated
        calls so that each image's header is read once.
    unresolved : sequence of dict
        :attr:`SaveDir.unresolved` rows to write back unchanged.
    date : str, optional
        ``YYYY-MM-DD``; default today's UTC date.
    repeats : (marks, images) tables, optional
        What was done on images shown a second time (duplicates), written after the rest
        as Image Marker writes duplicates: marks labelled ``DUPLICATE`` (or ``<label>,
        DUPLICATE``), each repeated image a second row of ``<user>_images.csv`` (a ``None``
        row in the marks file when it got no mark). Not favourites.

    Raises
    ------
    ValueError
        A group or category name Image Marker cannot store (comma, ``+``), or a marked image
        that cannot be found.
    """
    save_dir = Path(save_dir)
    marks = normalise_marks(marks, groups=groups)
    groups = check_group_names(marks.meta["groups"])
    categories = check_category_names(categories)
    group_max = list(group_max) if group_max is not None else [None] * N_GROUPS
    if len(group_max) != N_GROUPS:
        raise ValueError(f"group_max: {len(group_max)} values, expected {N_GROUPS}")
    date = utc_date() if date is None else date

    if image_paths is None and "path" in images.colnames:
        image_paths = [str(p) for p in images["path"]]
    if isinstance(image_paths, ImageIndex):  # keep the caller's cache of headers
        index = image_paths
    else:
        index = ImageIndex(image_paths, [image_dir] if image_dir is not None else [])
    if image_dir is None:
        found = next((index.path(n) for n in index.names() if index.path(n)), None)
        image_dir = str(found.parent) if found is not None else None

    order = [str(n) for n in images["image"].tolist()]
    columns = {
        name: images[name].tolist() for name in ("seen", "categories", "comment", "favorite")
    }
    state = {name: k for k, name in enumerate(order)}
    marked = [n for n in dict.fromkeys(marks["image"].tolist()) if n]
    seen = {n for n, s in zip(order, columns["seen"], strict=True) if s} | set(marked)
    seen_order = [n for n in dict.fromkeys([*order, *marked]) if n in seen]

    image_rows, favorite_rows = [], []
    for name in seen_order:
        ra, dec = _centre_sky(index, name)
        k = state.get(name)
        cats = _text(str(columns["categories"][k])) if k is not None else NONE
        comment = _text(str(columns["comment"][k])) if k is not None else NONE
        line = [date, name, _float(ra), _float(dec), cats, comment]
        image_rows.append(line)
        if k is not None and columns["favorite"][k]:
            favorite_rows.append(line)

    marks_bytes = format_marks_csv(
        marks, index, groups=groups, date=date, order=seen_order, seen=seen, unresolved=unresolved
    )
    if repeats is not None and len(repeats[1]):
        more_marks, more_images = _repeat_rows(repeats, index, groups, date)
        marks_bytes += more_marks
        image_rows += more_images
    atomic_write(save_dir / f"{user}_marks.csv", marks_bytes)
    atomic_write(save_dir / f"{user}_images.csv", format_csv(IMAGES_HEADER, image_rows))
    favorites = format_csv(IMAGES_HEADER, favorite_rows) if favorite_rows else b""
    atomic_write(save_dir / f"{user}_favorites.csv", favorites)
    config = format_config(
        None if image_dir is None else str(image_dir),
        groups,
        categories,
        group_max,
        randomize_order,
        left_click_group,
    )
    atomic_write(save_dir / f"{user}_config.txt", config)


def _repeat_rows(repeats: tuple[Table, Table], index: ImageIndex, groups, date: str):
    """Marks-file lines (bytes, no header) and images-file rows of the repeats."""
    marks, images = repeats
    marks = normalise_marks(marks, groups=groups)
    names = [groups[g - 1] for g in marks["group"].tolist()]
    marks["label"] = [
        DUPLICATE if label in ("", group) else f"{label}, {DUPLICATE}"
        for label, group in zip(marks["label"].tolist(), names, strict=True)
    ]
    order = [str(n) for n in images["image"].tolist()]
    body = format_marks_csv(marks, index, groups=groups, date=date, order=order, seen=order)
    rows = []
    for row in images:
        ra, dec = _centre_sky(index, str(row["image"]))
        cats, comment = _text(str(row["categories"])), _text(str(row["comment"]))
        rows.append([date, str(row["image"]), _float(ra), _float(dec), cats, comment])
    return body.split(b"\r\n", 1)[1], rows


def _float(value: float) -> str:
    return "nan" if math.isnan(value) else repr(float(value))

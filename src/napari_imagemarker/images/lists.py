"""Which images a session scans, and in what order.

:func:`resolve_images` turns what a person types (a folder, a glob, a list, or a text file of
paths) into a list of files in natural order (``img2`` before ``img10``), touching only the
directory entries, never the files. :func:`shuffled` gives a reproducible order for a seed.
"""

from __future__ import annotations

import glob as _glob
import hashlib
import os
import re
from collections.abc import Iterable, Sequence
from pathlib import Path

from napari_imagemarker.files import natural_key
from napari_imagemarker.images.read import IMAGE_SUFFIXES

__all__ = ["is_image_path", "list_folder", "resolve_images", "shuffled"]

_GLOB_CHARS = re.compile(r"[*?\[]")


def is_image_path(path: str | os.PathLike) -> bool:
    """Whether the file name ends with one of the suffixes the readers open
    (:data:`napari_imagemarker.images.read.IMAGE_SUFFIXES`, any case)."""
    return os.fspath(path).lower().endswith(IMAGE_SUFFIXES)


def _sorted_images(paths: Iterable[str]) -> list[Path]:
    found = [p for p in paths if is_image_path(p)]
    # natural order (img2 before img10, case-insensitive), then exact names: a total order
    return [Path(p) for p in sorted(found, key=_natural_then_exact)]


def _natural_then_exact(path: str) -> tuple:
    name = os.path.basename(path)
    return natural_key(name), name


def list_folder(folder: str | os.PathLike) -> list[Path]:
    """The image files of ``folder`` (not its subfolders), in natural order.

    Only directory entries are read, never the files. Natural order puts ``img2`` before
    ``img10`` and ignores case; names equal but for case follow in code-point order.
    """
    with os.scandir(folder) as entries:
        return _sorted_images(e.path for e in entries if e.is_file())


def _read_list_file(path: Path) -> list[Path]:
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"{path}: a list of images must be UTF-8 text") from None
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        entry = Path(os.path.expanduser(line))
        # Relative entries are relative to the list file, so a folder can move as a whole.
        out.append(entry if entry.is_absolute() else path.parent / entry)
    return out


def resolve_images(images: str | os.PathLike | Sequence[str | os.PathLike]) -> list[Path]:
    """List the image files a session should scan.

    Parameters
    ----------
    images : path-like, str or sequence of path-like
        One of:

        * a folder: its image files (by suffix, see :func:`is_image_path`), natural order;
        * a glob pattern such as ``"/data/spt/*.tif"`` or ``"cutouts/**/*.fits"``: the
          matching image files, natural order by file name;
        * a text file (any suffix that is not an image suffix): one path per line, relative
          to the file's folder, blank lines and ``#`` comments ignored, order kept;
        * a sequence of paths, or a single image file: kept as given.

    Returns
    -------
    list of pathlib.Path
        Paths as given or found; they are not checked for existence here (a session reports
        missing files and skips them).

    Raises
    ------
    ValueError
        ``images`` is a path that does not exist and is not a glob, or two images share a file
        name (marks identify an image by its file name, as Image Marker does).
    """
    if isinstance(images, (str, os.PathLike)):
        text = os.path.expanduser(os.fspath(images))
        path = Path(text)
        if path.is_dir():
            paths = list_folder(path)
        elif path.is_file():
            paths = [path] if is_image_path(path) else _read_list_file(path)
        elif _GLOB_CHARS.search(text):
            paths = _sorted_images(p for p in _glob.glob(text, recursive=True))
        else:
            raise ValueError(f"{text}: no such folder, image, list file or glob pattern")
    else:
        paths = [Path(os.path.expanduser(os.fspath(p))) for p in images]
    seen: dict[str, Path] = {}
    for p in paths:
        if p.name in seen and seen[p.name] != p:
            raise ValueError(
                f"two images have the file name {p.name!r}: {seen[p.name]} and {p}; "
                "marks identify an image by its file name, so rename one"
            )
        seen[p.name] = p
    return list(dict.fromkeys(paths))


def shuffled(paths: Sequence[Path], seed: int) -> list[Path]:
    """Return ``paths`` in a pseudo-random order fixed by ``seed`` and the file names.

    Each image is ranked by the SHA-256 of ``"<seed>:<file name>"``. Unlike a shuffled index
    list, this order is the same on every machine and Python/NumPy version, and adding or
    removing images keeps the relative order of the others.
    """

    def rank(p: Path) -> bytes:
        return hashlib.sha256(f"{int(seed)}:{p.name}".encode()).digest()

    return sorted(paths, key=rank)

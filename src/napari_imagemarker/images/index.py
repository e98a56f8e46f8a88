"""Find images by file name and convert mark positions between pixel conventions and the sky.

Mark files name images by file name only (``image`` column); converting their positions
needs each frame's shape, orientation and WCS. :class:`ImageIndex` finds the files in a
folder or a list of paths and reads their headers once (never their pixels) through
:func:`napari_imagemarker.images.read.image_frames`.

Two pixel conventions meet here:

* ours (DESIGN.md §3): ``x`` = 0-based column, ``y`` = 0-based row of the array as our reader
  returns it; ``wcs.pixel_to_world_values(x, y)``;
* Image Marker's *display* pixels: from the top-left pixel of the picture as it shows it,
  y down. It shows FITS images flipped upside down and TIFF/PNG as stored, so for the frames
  our reader returns "y-up" (FITS, and TIFFs carrying FITS cards, whose rows our reader
  flips) ``row = H - 1 - y_display``; for the others ``row = y_display``; ``col = x`` always.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

from napari_imagemarker.images.frames import FrameInfo

__all__ = [
    "ImageIndex",
    "ImagesLike",
    "array_to_display",
    "display_to_array",
    "flip_rows",
    "frame_wcs",
    "is_file_name",
]


class ImageIndex:
    """Image files by file name, with their frames' headers read once, on first use.

    Parameters
    ----------
    images : folder, image path, sequence of paths, or mapping, optional
        A folder (its FITS/TIFF/PNG/JPEG files, natural sort), one image file, a list of
        image paths, or a mapping of file name to a list of
        :class:`~napari_imagemarker.images.frames.FrameInfo` already read.
    search_dirs : sequence of folders
        Further folders to look in for a name not found in ``images``, in order.
    """

    def __init__(self, images: ImagesLike | None = None, search_dirs: Iterable = ()):
        self._paths: dict[str, Path] = {}
        self._frames: dict[str, list[FrameInfo]] = {}
        self._errors: dict[str, str] = {}
        self._search_dirs = [Path(d) for d in search_dirs if d is not None]
        if isinstance(images, ImageIndex):
            self._paths.update(images._paths)
            self._frames.update(images._frames)
            self._search_dirs = images._search_dirs + self._search_dirs
        elif isinstance(images, Mapping):
            for name, frames in images.items():
                self._frames[str(name)] = list(frames)
        elif images is not None:
            for path in _list_images(images):
                self._paths.setdefault(path.name, path)

    def names(self) -> list[str]:
        """File names given explicitly (folder contents in natural order, or list order)."""
        return list(dict.fromkeys([*self._paths, *self._frames]))

    def path(self, name: str) -> Path | None:
        """The file for ``name``, or None when it is in none of the places searched.

        ``name`` is a file name: one with a folder part (``../x.fits``, ``/etc/x``) is
        never looked for, so a marks file cannot make us read outside those places."""
        if name in self._paths:
            return self._paths[name]
        if not is_file_name(name):
            return None
        for folder in self._search_dirs:
            candidate = folder / name
            if candidate.is_file():
                self._paths[name] = candidate
                return candidate
        return None

    def frames(self, name: str) -> list[FrameInfo]:
        """All frames of image ``name``.

        Raises
        ------
        FileNotFoundError
            The image is in none of the places searched.
        ValueError or OSError
            The file cannot be read (message from the image reader).
        """
        if name in self._frames:
            return self._frames[name]
        path = self.path(name)
        if path is None and not is_file_name(name):
            raise FileNotFoundError(
                f"image {name!r} is not a plain file name (it has a folder part); "
                "it is not looked for"
            )
        if path is None:
            where = [str(p) for p in self._search_dirs] or ["the images given"]
            raise FileNotFoundError(f"image {name!r} not found (looked in {', '.join(where)})")
        from napari_imagemarker.images.read import (
            image_frames,  # lazy: pulls in the FITS/TIFF readers
        )

        frames = image_frames(path)
        self._frames[name] = frames
        return frames

    def is_read(self, name: str) -> bool:
        """Whether the frames of image ``name`` are known without reading a file."""
        return name in self._frames

    def frame(self, name: str, index: int = 0) -> FrameInfo:
        """Frame ``index`` of image ``name``; raises ValueError if there is no such frame."""
        frames = self.frames(name)
        if not 0 <= index < len(frames):
            raise ValueError(f"image {name!r} has {len(frames)} frame(s); no frame {index}")
        return frames[index]


def is_file_name(name: str) -> bool:
    """Whether ``name`` is a plain file name: no folder part, not ``.`` or ``..``."""
    return (
        bool(name)
        and name not in (".", "..")
        and "/" not in name
        and "\\" not in name
        and "\0" not in name
        and not Path(name).is_absolute()
    )


ImagesLike = str | Path | Sequence[str | Path] | Mapping[str, Sequence[FrameInfo]] | ImageIndex


def _list_images(images) -> list[Path]:
    from napari_imagemarker.images.lists import list_folder  # lazy: pulls in the FITS/TIFF readers

    if isinstance(images, (str, Path)):
        path = Path(images)
        if path.is_dir():
            return list_folder(path)
        return [path]
    return [Path(p) for p in images]


def display_to_array(x, y, frame: FrameInfo) -> tuple[np.ndarray, np.ndarray]:
    """Image Marker display pixels ``(x, y)`` -> our ``(col, row)`` in ``frame``'s array.

    Parameters
    ----------
    x, y : float or array
        0-based pixel from the top-left of the image as Image Marker displays it, y down.
    frame : FrameInfo
        Gives the height and whether the array is y-up.

    Returns
    -------
    col, row : ndarray of float64
        0-based column and row of the array as our reader returns it.
    """
    return np.asarray(x, dtype=np.float64), flip_rows(y, frame.height, frame.y_up)


def flip_rows(y, height, y_up):
    """Display y <-> our row, elementwise: ``height - 1 - y`` where ``y_up``, else ``y``.

    The one place the flip is written; :func:`display_to_array` and the writers of Image
    Marker files (many images at once) use it.
    """
    y = np.asarray(y, dtype=np.float64)
    return np.where(y_up, np.asarray(height, dtype=np.float64) - 1.0 - y, y)


def array_to_display(col, row, frame: FrameInfo) -> tuple[np.ndarray, np.ndarray]:
    """Our ``(col, row)`` -> Image Marker display ``(x, y)``; the inverse of
    :func:`display_to_array` (the flip is its own inverse)."""
    return display_to_array(col, row, frame)


def frame_wcs(frames: Sequence[FrameInfo], index: int):
    """The celestial WCS for frame ``index``: its own, else frame 0's if the frames have the
    same size and orientation (a TIFF's later pages, Image Marker's rule); else None."""
    frame = frames[index]
    if frame.wcs is not None:
        return frame.wcs
    first = frames[0]
    if (first.height, first.width, first.y_up) == (frame.height, frame.width, frame.y_up):
        return first.wcs
    return None

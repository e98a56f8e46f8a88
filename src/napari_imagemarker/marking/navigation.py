"""Where a marking session is: its order of images, the current one, and their headers.

:class:`Navigator` reads image headers (size, frames, WCS) through
:func:`napari_imagemarker.images.read.image_frames`, never pixels, and keeps the last few in a
cache that a viewer's reader thread may fill ahead of time. Moving makes the first readable
image in the direction of travel current; unreadable ones are reported and skipped.
"""

from __future__ import annotations

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path

from napari_imagemarker.marking.events import CurrentImage, SessionEvent
from napari_imagemarker.marking.state import finite

__all__ = ["Navigator", "nothing_to_scan"]

#: Images whose headers stay cached (the current one, those around it, the read-ahead).
CACHED_HEADERS = 64


class Navigator:
    """The order of a session's images and the position in it.

    Parameters
    ----------
    order : sequence of Path
        The images to scan, in order (missing files already left out).
    report : callable
        ``report(message)`` for an image that cannot be read.

    Not thread-safe by itself except :meth:`frames`: the session calls the rest holding its
    lock.
    """

    def __init__(self, order: Sequence[Path], report: Callable[[str], None]) -> None:
        self.order = list(order)
        self.position = {p.name: i for i, p in enumerate(self.order)}
        self.pos = -1  # none yet: land() picks the first
        self.entered = time.monotonic()  # when the current image became current
        self._report = report
        self._cache: OrderedDict[str, list] = OrderedDict()
        self._cache_guard = threading.Lock()  # frames() may run in a reader thread

    @property
    def current(self) -> CurrentImage:
        """``(index, name, path)`` of the current image."""
        path = self.order[self.pos]
        return CurrentImage(self.pos, path.name, path)

    def index_of(self, image: int | str | os.PathLike) -> int:
        """Position of ``image``: an index (negative counts from the end), a file name or a
        path; IndexError or KeyError if the session has no such image."""
        if isinstance(image, int):
            if not -len(self.order) <= image < len(self.order):
                raise IndexError(f"image {image} is out of range (0-{len(self.order) - 1})")
            return image % len(self.order)
        name = Path(image).name
        if name not in self.position:
            raise KeyError(f"{name!r} is not one of the images of this session")
        return self.position[name]

    def path_of(self, name: str, saved: Sequence[str] = ()) -> Path:
        """The file of image ``name``: in the order, else among ``saved`` paths (images of
        an earlier list that keep their marks); KeyError if neither has it."""
        if name in self.position:
            return self.order[self.position[name]]
        for p in saved:
            if Path(p).name == name:
                return Path(p)
        raise KeyError(f"{name!r} is not one of the images of this session")

    def move(
        self,
        target: int,
        step: int,
        leave: Callable[[str, float], None],
        events: list[SessionEvent],
    ) -> CurrentImage:
        """Leave the current image and land on ``target`` or the next readable image in
        direction ``step`` (``+1`` or ``-1``); off either end, stay.

        ``leave(name, seconds)`` is called first with the image left and the time spent on
        it; ``navigated`` and ``image_skipped`` events are appended to ``events``.
        """
        if target == self.pos:
            return self.current
        leave(self.order[self.pos].name, time.monotonic() - self.entered)
        if 0 <= target < len(self.order):
            self.land(target, step, events)
        self.entered = time.monotonic()
        return self.current

    def land(self, target: int, step: int, events: list[SessionEvent]) -> CurrentImage | None:
        """Make the first readable image from ``target`` in direction ``step`` current;
        None (position unchanged) if there is none."""
        i = target
        while 0 <= i < len(self.order):
            path = self.order[i]
            try:
                self.frames(path)
            except (OSError, ValueError) as exc:
                # reader errors already start with the file's name
                reason = str(exc) if str(exc).startswith(str(path)) else f"{path}: {exc}"
                self._report(f"{reason} (skipped)")
                events.append(
                    SessionEvent("image_skipped", path.name, i, data={"reason": str(exc)})
                )
                i += step
                continue
            self.pos = i
            events.append(SessionEvent("navigated", path.name, i))
            return self.current
        return None

    def frames(self, path: Path) -> list:
        """Frames of the image at ``path`` from its headers, cached; safe from any thread.

        Raises
        ------
        OSError, ValueError
            The file cannot be read, or holds no image.
        """
        with self._cache_guard:
            cached = self._cache.get(path.name)
            if cached is not None:
                self._cache.move_to_end(path.name)
                return cached
        from napari_imagemarker.images.read import image_frames  # lazy: the FITS/TIFF readers

        frames = image_frames(path)  # outside the guard: two threads may both read a header
        if not frames:
            raise ValueError(f"{path}: has no image data")
        with self._cache_guard:
            self._cache[path.name] = frames
            self._cache.move_to_end(path.name)
            if len(self._cache) > CACHED_HEADERS:
                self._cache.popitem(last=False)
        return frames

    def frame_info(self, path: Path, frame: int):
        """``(FrameInfo, celestial WCS or None)`` of frame ``frame`` of ``path``; ValueError
        if it has no such frame."""
        from napari_imagemarker.images.index import frame_wcs

        frames = self.frames(path)
        if isinstance(frame, bool) or int(frame) != frame or not 0 <= frame < len(frames):
            raise ValueError(f"{path.name} has {len(frames)} frame(s); no frame {frame!r}")
        return frames[int(frame)], frame_wcs(frames, int(frame))

    def sky(self, path: Path, frame: int, x: float, y: float) -> tuple[float, float]:
        """RA/Dec (deg; NaN without WCS) of column ``x``, row ``y`` (0-based, our pixel
        convention) of frame ``frame`` of ``path``.

        Raises
        ------
        ValueError
            No such frame, a coordinate that is not finite, or a position off the frame
            (more than half a pixel beyond its edge pixels).
        """
        from napari_imagemarker.wcs import pixel_to_sky

        info, wcs = self.frame_info(path, frame)
        x, y = finite(x), finite(y)
        if not (-0.5 <= x < info.width - 0.5 and -0.5 <= y < info.height - 0.5):
            raise ValueError(
                f"({x}, {y}) is outside {path.name} frame {frame} "
                f"({info.width} x {info.height} pixels)"
            )
        ra, dec = pixel_to_sky(wcs, x, y)
        return float(ra), float(dec)


def nothing_to_scan(images, paths: Sequence[Path]) -> str:
    """The error for an image list without any file to scan: where we looked, and for what."""
    from napari_imagemarker.images.read import IMAGE_SUFFIXES

    if paths:
        first = os.path.abspath(paths[0])
        return f"none of the {len(paths)} images exist (the first: {first})"
    if not isinstance(images, (str, os.PathLike)):
        return "no images to scan: the list of images is empty"
    where = os.path.abspath(os.path.expanduser(os.fspath(images)))
    if os.path.isfile(where):
        return f"{where}: no images to scan: the list file names none"
    return (
        f"{where}: no images to scan (looked for files ending in "
        f"{', '.join(IMAGE_SUFFIXES)}, in upper or lower case)"
    )

"""Read the images a person is about to look at before they ask for them.

:class:`Prefetcher` reads frames in one background thread and keeps a handful of them, so
that moving to the next or previous image only hands an array to the canvas. It holds at
most ``keep`` frames whatever the number of images seen. No Qt, no napari.
"""

from __future__ import annotations

import contextlib
import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from napari_imagemarker.display.limits import sample_pixels
from napari_imagemarker.images.frames import FrameInfo
from napari_imagemarker.images.read import image_frames, layer_kwargs, read_frame

__all__ = ["LoadedFrame", "Prefetcher", "load_frame"]

#: Arrays smaller than this are read into memory in the background (memory-mapped FITS data
#: would otherwise be paged in by the GUI thread while drawing).
_LOAD_BYTES = 256 * 2**20


@dataclass(frozen=True)
class LoadedFrame:
    """One frame, ready to be shown.

    Attributes
    ----------
    path : Path
    index : int
        Frame number in the file.
    frames : list of FrameInfo
        Every frame of the file (headers only).
    data : array
        Pixels, 0-based ``(row, col[, channel])`` as the reader returns them.
    kwargs : dict
        napari Image layer keyword arguments (name, metadata, rgb, colormap, contrast limits).
    data_range : tuple of float or None
        Smallest and largest value (from a sample of pixels) of a single-channel frame.
    """

    path: Path
    index: int
    frames: list[FrameInfo]
    data: Any
    kwargs: dict[str, Any]
    data_range: tuple[float, float] | None = None

    @property
    def info(self) -> FrameInfo:
        return self.frames[self.index]


def load_frame(path: str | Path, index: int = 0, frames_of=image_frames) -> LoadedFrame:
    """Read frame ``index`` of ``path`` (its last frame if it has fewer) with everything
    the image layer needs.

    ``frames_of(path)`` describes the file's frames; a session's cached
    :meth:`~napari_imagemarker.MarkingSession.image_frames` saves reading the headers again
    when the session moves there.

    Raises
    ------
    ValueError or OSError
        With a message naming the file and the problem.
    """
    path = Path(path)
    frames = frames_of(path)
    # the frame index carries over from image to image: an image with fewer frames shows
    # its last one
    index = max(0, min(int(index), len(frames) - 1))
    data, _ = read_frame(path, index)
    if isinstance(data, np.memmap) and data.nbytes <= _LOAD_BYTES:
        data = np.array(data)
    name = path.name if len(frames) == 1 else f"{path.name} [{frames[index].name}]"
    kwargs = layer_kwargs(frames[index], data, name)
    data_range = None
    if not frames[index].rgb:
        values = sample_pixels(data)
        if values.size:
            data_range = (float(values.min()), float(values.max()))
    return LoadedFrame(path, index, frames, data, kwargs, data_range)


class Prefetcher:
    """Background reader with a small cache of frames.

    Parameters
    ----------
    loader : callable
        ``loader(path, index) -> LoadedFrame``; default :func:`load_frame`.
    keep : int
        Most frames held (the current, next and previous images and a few frames).
    """

    def __init__(self, loader=load_frame, keep: int = 6) -> None:
        self._loader = loader
        self.keep = max(1, int(keep))  # frames held at most
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="imagemarker-prefetch")
        self._cache: OrderedDict[tuple[str, int], Future] = OrderedDict()
        self._guard = threading.Lock()
        self._closed = False

    def get(self, path: str | Path, index: int = 0) -> LoadedFrame:
        """The frame, from the cache (waiting for a read in progress) or read now.

        Raises what the loader raises.
        """
        key = (str(path), int(index))
        with self._guard:
            future = self._cache.get(key) or self._clamped(key)
            if future is not None:
                self._cache.move_to_end(key)
        if future is None or future.cancelled():
            future = Future()
            try:
                future.set_result(self._loader(Path(path), int(index)))
            except Exception as exc:
                future.set_exception(exc)
            self._store(key, future)
        return future.result()

    def _clamped(self, key: tuple[str, int]) -> Future | None:
        """A frame read for another index of the same file that the loader clamped to this
        one (frame 2 wanted of a file that has one), stored under ``key`` too."""
        for (path, _), future in list(self._cache.items()):
            if path != key[0] or not future.done() or future.cancelled():
                continue
            if future.exception() is None and future.result().index == key[1]:
                self._cache[key] = future
                return future
        return None

    def want(self, items) -> None:
        """Read ``items`` (``(path, index)`` pairs, most wanted first) in the background,
        unless they are already held or being read."""
        if self._closed:
            return
        for path, index in items:
            key = (str(path), int(index))
            with self._guard:
                if key in self._cache:
                    self._cache.move_to_end(key)
                    continue
            self._store(key, self._pool.submit(self._loader, Path(path), int(index)))

    def held(self) -> list[tuple[str, int]]:
        """The frames read or being read, as ``(path, frame index)``, oldest first."""
        with self._guard:
            return list(self._cache)

    def wait(self, timeout: float | None = None) -> None:
        """Wait until every background read has finished."""
        with self._guard:
            pending = [f for f in self._cache.values() if not f.done()]
        for future in pending:
            with contextlib.suppress(Exception):  # cancelled or timed out: nothing to wait for
                future.exception(timeout=timeout)

    def forget(self, path: str | Path | None = None) -> None:
        """Drop the held frames of ``path`` (all frames if None), e.g. after it changed."""
        with self._guard:
            for key in [k for k in self._cache if path is None or k[0] == str(path)]:
                self._cache.pop(key).cancel()

    def close(self) -> None:
        """Stop reading; frames in progress are discarded."""
        self._closed = True
        self.forget()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def _store(self, key: tuple[str, int], future: Future) -> None:
        with self._guard:
            self._cache[key] = future
            self._cache.move_to_end(key)
            while len(self._cache) > self.keep:
                _, old = self._cache.popitem(last=False)
                old.cancel()

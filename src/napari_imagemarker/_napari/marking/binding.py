"""A marking session bound to a napari viewer: the image, the marks, the keys.

:func:`open_session` is the Python entry point (``napari_imagemarker.open_session``); the
"Image Marker" dock calls it too. :class:`MarkingBinding` is the thin layer between a
:class:`~napari_imagemarker.MarkingSession` and the viewer: it shows the session's current
image in one reused Image layer and its marks in one Points layer, turns keys and clicks into
session calls, and follows the session's events, so a script driving the session moves the
viewer too.

Speed: the next and previous images are read in a background thread
(:class:`~napari_imagemarker.marking.prefetch.Prefetcher`), the layers are reused (their
``data`` is replaced), and nothing done per image depends on how many images were seen.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
from napari.layers import Image
from napari.utils.notifications import show_info, show_warning
from qtpy.QtCore import QEventLoop, QTimer
from qtpy.QtWidgets import QApplication
from superqt.utils import ensure_main_thread

from napari_imagemarker._napari.after_paint import after_paint
from napari_imagemarker._napari.display.session import follow_display
from napari_imagemarker._napari.marking.keys import NavigationFilter, bind_keys, unbind_keys
from napari_imagemarker._napari.marking.marks_layer import MarksLayer
from napari_imagemarker._napari.marking.mouse import MarkingMouse, take_over_points_modes
from napari_imagemarker._napari.viewers import (
    bind_session,
    session_binding,
    unbind_session,
    unwrap,
)
from napari_imagemarker.marking.history import MarkHistory
from napari_imagemarker.marking.prefetch import LoadedFrame, Prefetcher, load_frame
from napari_imagemarker.marking.session import MarkingSession, SessionEvent
from napari_imagemarker.wcs import FITS_ORIGIN

__all__ = ["MarkingBinding", "ShownImage", "binding_for", "open_session"]

PLUGIN = "napari-imagemarker"
DOCK = "Image Marker"

#: What :meth:`MarkingBinding.guard` returns when the session refused a change.
FAILED = object()


@dataclass(frozen=True)
class ShownImage:
    """What is on the canvas, passed to :attr:`MarkingBinding.image_shown` callbacks.

    Attributes
    ----------
    index : int
        Position in the session's order.
    name : str
        File name.
    path : Path
    frame : int
        Frame shown (TIFF page, FITS image extension), 0-based.
    n_frames : int
    layer : napari.layers.Image
        The image layer; ``layer.metadata`` holds ``wcs``, ``header``, ``path``, ``frame``
        and ``y_up`` (DESIGN.md).
    frame_name : str
        Name of the frame shown (``"page 1"``, an EXTNAME, ...); the layer's name follows
        only after the canvas has drawn.
    """

    index: int
    name: str
    path: Path
    frame: int
    n_frames: int
    layer: Image
    frame_name: str = ""

    @property
    def wcs(self):
        """The frame's celestial WCS, or None."""
        return self.layer.metadata.get("wcs")


def binding_for(viewer) -> MarkingBinding | None:
    """The marking session bound to ``viewer``, if any."""
    return session_binding(viewer)


def open_session(
    viewer,
    images: str | os.PathLike | list | None,
    save_dir: str | os.PathLike,
    **kwargs: Any,
) -> MarkingSession:
    """Open a marking session and show it in ``viewer`` with the "Image Marker" dock.

    Parameters
    ----------
    viewer : napari.Viewer
    images : folder, glob, list file, list of paths, or None
        As for :class:`~napari_imagemarker.MarkingSession`; None resumes the saved list (or
        an Image Marker save folder's images).
    save_dir : path-like
        Where the session is saved.
    **kwargs
        Passed to :class:`~napari_imagemarker.MarkingSession` (``user``, ``groups``,
        ``categories``, ``shuffle_seed``, ``group_max``, ...).

    Returns
    -------
    MarkingSession
        The session, bound to the viewer: calling its methods moves the viewer, and what is
        done in the viewer is made through it. A session already bound to this viewer is
        closed first (everything it holds is saved).

    Raises
    ------
    ValueError, OSError, SessionLockedError
        As :class:`~napari_imagemarker.MarkingSession` does (no images, save folder not
        writable, session open elsewhere); the message says what to do.
    """
    _, dock = viewer.window.add_plugin_dock_widget(PLUGIN, DOCK)
    return dock.open_session(images, save_dir, **kwargs)


class MarkingBinding:
    """Binds a :class:`~napari_imagemarker.MarkingSession` to a napari viewer.

    Parameters
    ----------
    viewer : napari.Viewer
    session : MarkingSession
        Open for writing; closed by :meth:`close`.
    canvas : QWidget, optional
        The canvas widget, which gets Tab, arrows, Space (see :class:`~.keys.NavigationFilter`).

    Attributes
    ----------
    image_layer : napari.layers.Image
        The current frame (reused from image to image).
    marks : MarksLayer
        The marks of the current image (``marks.layer`` is the Points layer).
    history : MarkHistory
        Undo/redo of mark changes.
    active_group : int
        Group placed by a left click (1-9); starts as the session's
        :attr:`~napari_imagemarker.MarkingSession.left_click_group`, which follows it.
    imports : ImportedFiles or None
        The mark files of the save folder's ``imports/`` shown as overlays (set by the dock;
        Alt+1 ... Alt+9 show or hide them).
    frame : int
        Frame shown.
    image_shown : list of callable
        Called with a :class:`ShownImage` after each image or frame is on the canvas, e.g.
        to move catalog overlays along. Append to it; exceptions are reported, not raised.
    listeners : list of callable
        Called with what changed: ``"image"``, ``"frame"``, ``"group"``, ``"state"``
        (categories, comment, favourite of the current image), ``"marks"``, ``"names"``,
        ``"help"`` (F1), ``"closed"``. The dock listens here.
    """

    def __init__(self, viewer, session: MarkingSession, canvas=None) -> None:
        viewer = unwrap(viewer)
        if binding_for(viewer) is not None:
            raise RuntimeError("this viewer already shows a marking session; close it first")
        self.viewer = viewer
        self.session = session
        self.history = MarkHistory(session)
        self.prefetcher = Prefetcher(partial(load_frame, frames_of=session.image_frames))
        self.active_group = session.left_click_group
        self.imports = None
        # the frame last chosen (Space, the frame list; kept by the session): shown on each
        # next image that has it, so one image of a single frame does not lose the choice
        self.chosen_frame = session.chosen_frame
        self.frame = 0  # the frame shown
        self._clamp_frame()
        self.image_layer: Image | None = None
        self.image_shown: list[Callable[[ShownImage], Any]] = []
        self.listeners: list[Callable[[str], Any]] = []
        self.shown: ShownImage | None = None
        self._clipboard: list[tuple[float, float, int, str]] = []
        self._paths = session.paths  # fixed for the session's life
        self._y_up: bool | None = None
        self._fitted: tuple | None = None  # the camera as fit_view left it
        self._closed = False
        self.marks = MarksLayer(viewer, session, self.history, self.report)
        self.marks.set_group(self.active_group)
        self.mouse = MarkingMouse(self)
        take_over_points_modes(self.marks.layer)
        self.mouse.attach(self.marks.layer)
        self.mouse.take_viewer(viewer)
        self._key_filter = NavigationFilter(self)
        self._canvas = canvas
        if canvas is not None:
            canvas.installEventFilter(self._key_filter)
        bind_keys(self.marks.layer, self)
        bind_keys(viewer, self, everywhere_only=True)
        bind_session(viewer, self)
        session.connect(self._on_event)
        follow_display(self)  # stretch, limits and blur carry over, saved with the session
        try:
            self._show(fit=True)
            self.marks.layer.mode = "add"
            viewer.layers.selection.active = self.marks.layer
        except BaseException:
            self.close()  # unregistered, unbound, session closed (and saved)
            raise
        for problem in session.problems:
            self.report(problem)

    # -- showing ------------------------------------------------------------------------------

    def _clamp_frame(self) -> None:
        """The frame to show on the current image: the one chosen, or its last if it has
        fewer (unchanged if its frames cannot be read: showing it will say why)."""
        with contextlib.suppress(OSError, ValueError):
            self.frame = min(self.chosen_frame, len(self.session.image_frames()) - 1)

    def _show(self, fit: bool = False) -> None:
        """Put the session's current image (frame ``self.frame``) on the canvas; ``fit``:
        fit the view to it (each new image, as Image Marker does)."""
        current = self.session.current
        try:
            loaded = self.prefetcher.get(current.path, self.frame)
        except (OSError, ValueError) as exc:
            self.report(
                f"Cannot show {current.name}: {exc}. Its marks and notes are kept; "
                "press Tab for the next image."
            )
            loaded = self._placeholder(current.path)
        if self._set_image(loaded) or fit:
            self.fit_view()
        info = loaded.info
        # what is shown is known before the marks are drawn: marks placed next go on this
        # image even if drawing them failed
        self.shown = ShownImage(
            current.index, current.name, current.path, self.frame, len(loaded.frames),
            self.image_layer, loaded.frames[min(self.frame, len(loaded.frames) - 1)].name,
        )  # fmt: skip
        self.marks.ensure_in(self.viewer)
        self.marks.show(current.name, self.frame, info.height, info.width)
        if info.y_up != self._y_up:
            # the session's image decides, whatever else is in the viewer (DESIGN.md)
            self.viewer.scene.camera.orientation2d = ("up" if info.y_up else "down", "right")
            self._y_up = info.y_up
        self._tell("image")
        for callback in list(self.image_shown):
            try:
                callback(self.shown)
            except Exception as exc:  # a broken overlay must not stop marking
                self.report(f"{getattr(callback, '__qualname__', callback)} failed: {exc}")
        # after the canvas has drawn: a reader thread parsing headers holds the GIL
        after_paint(partial(self._prefetch, current.index, loaded))

    def fit_view(self) -> None:
        """Fit the view to the image (each new image, as Image Marker does); it is fitted
        again when the canvas changes size until the person zooms or pans."""
        # the image only: a wide catalog overlay must not shrink it
        self.viewer.reset_view(layers=[self.image_layer])
        self._fitted = self._camera()

    def _camera(self) -> tuple:
        camera = self.viewer.scene.camera
        return tuple(camera.center), camera.zoom

    def canvas_resized(self) -> None:
        """The canvas changed size (the dock took its room, the window was resized)."""
        if self._as_fitted():
            QTimer.singleShot(0, self._refit)

    def _refit(self) -> None:
        if self._as_fitted():
            self.fit_view()

    def _as_fitted(self) -> bool:
        """Whether the view is as fit_view left it (the person has not zoomed or panned)."""
        return not self._closed and self._fitted is not None and self._camera() == self._fitted

    def _set_image(self, loaded: LoadedFrame) -> bool:
        """Show ``loaded`` in the image layer; return whether the view should be reset."""
        kwargs = dict(loaded.kwargs)
        self._image_name = kwargs["name"]
        layer = self.image_layer
        data = loaded.data
        if (
            layer is not None
            and layer in self.viewer.layers
            and layer.rgb == kwargs["rgb"]
            and layer.data.ndim == np.ndim(data)
        ):
            reset = layer.data.shape != data.shape
            if reset or layer.data.dtype != data.dtype:
                layer.data = data
            else:
                # Same shape and type: the viewer listens to ``events.data`` only to work
                # out its dimensions again, which halves the cost of showing the next image
                # for nothing. Others learn of the new image from ``image_shown``.
                with layer.events.data.blocker():
                    layer.data = data
            layer.metadata = kwargs["metadata"]
            # renamed after the canvas has drawn: the layer list repaints for a new name
            after_paint(self._restore_names)
            if "contrast_limits" in kwargs:
                lo, hi = kwargs["contrast_limits"]
                low, high = loaded.data_range or (lo, hi)
                layer.contrast_limits_range = (min(low, lo), max(high, hi))
                layer.contrast_limits = (lo, hi)
            return reset
        new = Image(data, **kwargs)
        self.mouse.attach(new)
        new.events.help.connect(_image_help)
        bind_keys(new, self)
        # In the old one's place, else under the marks, else on top of what was there. The
        # new layer goes in before the old one goes out: removing an Image layer and adding
        # one in the same turn of the event loop can crash vispy (seen with Mesa).
        layers = self.viewer.layers
        if layer in layers:
            index = layers.index(layer)
        elif self.marks.layer in layers:
            index = layers.index(self.marks.layer)
        else:
            index = len(layers)
        self.viewer.layers.insert(index, new)
        if layer is not None and layer in self.viewer.layers:
            self.viewer.layers.remove(layer)
        self.image_layer = new
        return True

    def _restore_names(self) -> None:
        """Give the layers their names (napari adds " [1]" to a name that is taken)."""
        if self._closed:
            return
        self.marks.layer.name = self.marks.name
        if self.image_layer is not None:
            self.image_layer.name = self._image_name

    def _placeholder(self, path: Path) -> LoadedFrame:
        """An empty frame of the right size for an image whose pixels cannot be read."""
        frames = self.session.frames
        info = frames[min(self.frame, len(frames) - 1)]
        data = np.zeros(info.shape, dtype=np.uint8)
        kwargs = {
            "name": f"{path.name} (unreadable)",
            "metadata": {"path": str(path), "frame": info.index, "y_up": info.y_up},
            "rgb": info.rgb,
        }
        if info.wcs is not None:
            kwargs["metadata"]["wcs"] = info.wcs
        if not info.rgb:
            kwargs.update(colormap="gray", contrast_limits=(0.0, 1.0))
        return LoadedFrame(path, info.index, frames, data, kwargs)

    def _prefetch(self, index: int, loaded: LoadedFrame) -> None:
        # the neighbours at the frame shown, which carries over to them
        wanted = []
        if index + 1 < len(self._paths):
            wanted.append((self._paths[index + 1], self.chosen_frame))
        if len(loaded.frames) > 1:
            wanted.append((loaded.path, (self.frame + 1) % len(loaded.frames)))
        if index > 0:
            wanted.append((self._paths[index - 1], self.chosen_frame))
        self.prefetcher.want(wanted)

    # -- session events -----------------------------------------------------------------------

    @ensure_main_thread
    def _on_event(self, event: SessionEvent) -> None:
        """Follow the session, whoever changed it (the dock, a key, a script)."""
        if self._closed:
            return
        kind = event.type
        shown = self.shown.name if self.shown is not None else None
        if kind == "navigated":
            # Image Marker keeps the frame index from image to image (clamped to the frames
            # of the new one): SPT users keep looking at the contour page
            self._clamp_frame()
            self._show(fit=True)
            self._tell("frame")
        elif kind.startswith("mark_"):
            if event.image == shown:
                self.marks.refresh()
                self._tell("marks")
        elif kind == "image_changed":
            if event.image == shown:
                self._tell("state")
        elif kind == "names_changed":
            self.marks.refresh()
            self._tell("names")
        elif kind == "image_skipped":
            self.report(
                f"Skipped {event.image}: {event.data.get('reason', 'cannot be read')}. "
                "Its saved marks are kept; fix or remove the file and reopen the session."
            )
        elif kind == "closed":
            self.close()

    def _tell(self, what: str) -> None:
        for listener in list(self.listeners):
            listener(what)

    def report(self, message: str) -> None:
        """Show ``message`` as a napari notification (a warning)."""
        show_warning(message)

    def guard(self, action: Callable, *args) -> Any:
        """Run a session change; a refusal or a failed save becomes a notification."""
        try:
            return action(*args)
        except (ValueError, KeyError, IndexError) as exc:
            self.report(str(exc).strip("'\""))
        except OSError as exc:
            self.report(
                f"Could not save to {self.session.save_dir}: {exc}. That change was not "
                "made; everything saved before is safe. Free space or fix permissions, "
                "then do it again."
            )
        except RuntimeError as exc:  # closed session
            self.report(str(exc))
        return FAILED

    # -- actions (keys, clicks and the dock call these) ----------------------------------------

    def set_active_group(self, group: int) -> None:
        """Make ``group`` (1-9) the one a left click places."""
        if not 1 <= int(group) <= 9:
            raise ValueError(f"group must be 1-9, got {group!r}")
        self.active_group = int(group)
        self.marks.set_group(self.active_group)
        self._tell("group")
        # kept as Image Marker's left_click_group, so that the next opening starts with it
        self.guard(self.session.set_left_click_group, self.active_group)

    def add_mark_at(self, row: float, col: float, group: int | None = None) -> int | None:
        """Add a mark at data position (``row``, ``col``) of the shown frame; return its id
        (None if refused, with a notification)."""
        group = self.active_group if group is None else int(group)
        mark_id = self.guard(
            self.history.add, float(col), float(row), group, None, self.frame, self.shown.name
        )
        if mark_id is FAILED:
            return None
        self._show_marks_again("a new mark is always shown. Ctrl+Z removes it")
        return mark_id

    def _show_marks_again(self, why: str) -> None:
        """Show the hidden marks after a change the person must see, and say why."""
        if self.marks_hidden:
            self.marks.layer.visible = True
            show_info(f"The marks are shown again (they were hidden with Alt+M): {why}.")

    @property
    def marks_hidden(self) -> bool:
        """Whether the marks are hidden (Alt+M); hidden marks cannot be deleted, selected
        or moved by the mouse or the Delete key, and a new mark shows them again."""
        return not self.marks.layer.visible

    def _refuse_hidden(self, what: str) -> bool:
        """Say so and return True when the marks are hidden."""
        if self.marks_hidden:
            show_info(f"{what}: the marks are hidden; Alt+M shows them.")
        return self.marks_hidden

    def add_mark_at_cursor(self, group: int) -> int | None:
        """Add a mark of ``group`` where the mouse points (keys 1-9)."""
        if self.image_layer is None or not getattr(self.viewer, "mouse_over_canvas", True):
            self.report(f"Point at the feature on the image, then press {group}.")
            return None
        row, col = self.image_layer.world_to_data(self.viewer.cursor.position)[-2:]
        info = self.image_layer.data.shape
        height, width = (info[-3], info[-2]) if self.image_layer.rgb else info[-2:]
        if not (-0.5 <= row < height - 0.5 and -0.5 <= col < width - 0.5):
            self.report(f"The cursor is off the image: point at the feature and press {group}.")
            return None
        return self.add_mark_at(row, col, group)

    def center_on(self, row: float, col: float) -> None:
        """Centre the view on data position (``row``, ``col``) (middle click, Alt+click)."""
        world = self.image_layer.data_to_world((row, col))
        self.viewer.scene.camera.center = tuple(float(v) for v in world[-2:])

    def delete_mark_near(self, row: float, col: float) -> None:
        """Remove the mark nearest (``row``, ``col``) within its drawn radius (Shift+click);
        undoable."""
        if self._refuse_hidden("Shift+click deletes nothing"):
            return
        index = self.marks.mark_near(row, col)
        if index is None:
            show_info("Shift+click: no mark under the cursor to delete.")
            return
        mark_id = int(self.marks.layer.features["id"].iloc[index])
        self.guard(self.history.remove, [mark_id], self.shown.name)

    def toggle_mark_near(self, row: float, col: float) -> None:
        """Select or unselect the mark under (``row``, ``col``) (Ctrl+click)."""
        if self._refuse_hidden("Ctrl+click selects nothing"):
            return
        index = self.marks.mark_near(row, col)
        if index is None:
            return
        selected = set(self.marks.layer.selected_data)
        self.marks.layer.selected_data = selected ^ {index}

    def delete_selected(self, listed: bool = False) -> None:
        """Remove the selected marks (Delete / Backspace); while the marks are hidden only
        when they were chosen in the dock's table (``listed``), where they are seen."""
        ids = self.marks.selected_ids
        if not ids or (not listed and self._refuse_hidden("Delete removes no mark")):
            return
        self.guard(self.history.remove, ids, self.shown.name)

    def delete_all_marks(self) -> int:
        """Remove every mark of the current image (all its frames) as one action, which
        Ctrl+Z undoes; return how many were removed."""
        name = self.shown.name
        ids = list(self.session.mark_records(name))
        if not ids:
            show_info(f"{name} has no marks to delete.")
            return 0
        if self.guard(self.history.remove, ids, name) is FAILED:
            return 0
        show_info(f"Deleted {len(ids)} mark(s) of {name}; Ctrl+Z restores them.")
        return len(ids)

    def show_help(self) -> None:
        """Ask the dock to show the keys, with this session's group and category names
        (F1)."""
        self._tell("help")

    def undo(self) -> None:
        """Undo the last mark change, going to its image first if needed (Ctrl+Z)."""
        self._step(self.history.undo_target(), self.history.undo, "undo")

    def redo(self) -> None:
        """Redo the last undone mark change (Ctrl+Shift+Z)."""
        self._step(self.history.redo_target(), self.history.redo, "redo")

    def _step(self, target, action, what: str) -> None:
        if target is None:
            show_info(f"Nothing to {what}.")
            return
        image, frame = target
        if image != self.shown.name:
            change = self.history.undo_action() if what == "undo" else self.history.redo_action()
            show_info(
                f"{what.capitalize()}: back to image {image} to {_STEP[what].get(change, change)}."
            )
            self.guard(self.session.goto, image)
        if frame != self.frame:
            self.show_frame(frame)
        if self.guard(action) is not FAILED:
            self._show_marks_again(f"what {what} changed is shown")

    def next_image(self) -> None:
        """Go to the next image (Tab, →, ↓); the one left is marked seen. On the last
        image: back to the first, with a notification (as Image Marker does)."""
        before = self.session.current
        after = self.guard(self.session.next)
        if after is FAILED or after != before:
            return
        if len(self.session) < 2:
            show_info("This is the only image of the session.")
        elif before.index == len(self.session) - 1:
            show_info(
                f"That was the last image ({before.index + 1} of {len(self.session)}): "
                f"back to the first, {self.session.paths[0].name}."
            )
            self.guard(self.session.goto, 0)

    def previous_image(self) -> None:
        """Go to the previous image (Shift+Tab, ←, ↑); on the first, say so."""
        before = self.session.current
        if self.guard(self.session.previous) == before and before.index == 0:
            show_info("This is the first image; Tab goes on, and wraps round after the last.")

    def goto(self, image: int | str) -> None:
        """Go to an image by position (0-based) or file name."""
        self.guard(self.session.goto, image)

    def next_frame(self) -> None:
        """Show the next frame of the image, cycling (Space)."""
        n = self.shown.n_frames if self.shown is not None else 1
        if n > 1:
            self.show_frame((self.frame + 1) % n)

    def previous_frame(self) -> None:
        """Show the previous frame of the image, cycling (Shift+Space)."""
        n = self.shown.n_frames if self.shown is not None else 1
        if n > 1:
            self.show_frame((self.frame - 1) % n)

    def show_frame(self, frame: int) -> None:
        """Show frame ``frame`` (0-based) of the current image; it stays the frame shown on
        the next images (clamped to their frames)."""
        n = self.shown.n_frames if self.shown is not None else 1
        frame = int(frame)
        if not 0 <= frame < n:
            raise IndexError(f"frame {frame} is out of range: this image has {n} (0-{n - 1})")
        self.frame = self.chosen_frame = frame
        self.guard(self.session.set_chosen_frame, frame)  # the next opening starts on it
        self._show()
        self._tell("frame")

    def toggle_import(self, number: int) -> None:
        """Show or hide imported mark file ``number`` of the save folder (Alt+1 ... Alt+9,
        in Image Marker's order)."""
        if self.imports is not None:
            self.imports.toggle(int(number))
        else:
            self.report(f"Alt+{number}: no imported mark files are shown for this session.")

    def toggle_favorite(self) -> None:
        """Favourite on/off (F)."""
        self.guard(self.session.set_favorite, not self.state().favorite)

    def toggle_category(self, category: int) -> None:
        """Category ``category`` on/off (Ctrl+1 ... Ctrl+9)."""
        n = len(self.session.categories)
        if not 1 <= int(category) <= n:
            self.report(
                f"Ctrl+{category}: this session has {n} categories. Add categories in the "
                "dock's This image section to use it."
            )
            return
        self.guard(self.session.toggle_category, int(category))

    def set_comment(self, text: str) -> None:
        """Store the comment of the current image."""
        self.guard(self.session.set_comment, text)

    def nothing_here(self) -> None:
        """Record "seen, nothing here" and go to the next image (N). Refused, with a
        notification, while the image has marks."""
        if self.guard(self.session.mark_nothing) is not FAILED:
            self.next_image()

    def copy_selected(self) -> None:
        """Copy the selected marks (Ctrl+C): their RA and Dec in degrees, one mark a line,
        go to the system clipboard as text (x and y in 1-based FITS pixels for an image
        without WCS), and the marks themselves are kept for Ctrl+V."""
        ids = self.marks.selected_ids
        if not ids:
            show_info("Ctrl+C: select marks first (Ctrl+click on them), then copy.")
            return
        table = self.session.image_marks(self.shown.name)
        rows = {int(i): k for k, i in enumerate(table["id"])}
        chosen = [table[rows[i]] for i in ids if i in rows]
        self._clipboard = [
            (float(m["x"]), float(m["y"]), int(m["group"]), str(m["label"])) for m in chosen
        ]
        sky = all(np.isfinite(m["ra"]) and np.isfinite(m["dec"]) for m in chosen)
        if sky:
            lines = [f"{float(m['ra']):.7f} {float(m['dec']):+.7f}" for m in chosen]
            what = "RA Dec (degrees)"
        else:
            lines = [
                f"{float(m['x']) + FITS_ORIGIN:.2f} {float(m['y']) + FITS_ORIGIN:.2f}"
                for m in chosen
            ]
            what = "x y (FITS pixels, from 1)"
        QApplication.clipboard().setText("\n".join(lines) + "\n")
        show_info(
            f"Copied the {what} of {len(chosen)} mark(s) to the clipboard; Ctrl+V puts the "
            "marks on another image."
        )

    def toggle_marks(self) -> None:
        """Hide or show the marks layer (Alt+M)."""
        layer = self.marks.layer
        layer.visible = not layer.visible

    def toggle_labels(self) -> None:
        """Hide or show the marks' labels (Alt+L)."""
        text = self.marks.layer.text
        text.visible = not text.visible

    def paste(self) -> None:
        """Add the copied marks to the current image at the same positions (Ctrl+V)."""
        added = [
            self.guard(self.history.add, x, y, group, label or None, self.frame, self.shown.name)
            for x, y, group, label in self._clipboard
        ]
        if any(mark_id is not FAILED for mark_id in added):
            self._show_marks_again("the pasted marks are shown")

    def state(self):
        """What is recorded about the current image: ``seen``, ``categories`` (numbers),
        ``comment``, ``favorite``, ``nothing``."""
        return self.session.image_state(self.shown.name)

    @property
    def n_seen(self) -> int:
        """How many images of the session's order are seen."""
        return self.session.n_seen

    def bind_layer(self, layer) -> None:
        """Give another layer (e.g. a catalog overlay) the marking keys and mouse, so they
        work while it is selected (the mouse only in its pan/zoom mode)."""
        bind_keys(layer, self)
        self.mouse.attach(layer)

    @property
    def closed(self) -> bool:
        """Whether :meth:`close` was called."""
        return self._closed

    # -- closing ------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop following the viewer, close the session (everything is saved) and remove
        the two layers. Safe to call twice."""
        if self._closed:
            return
        self._closed = True
        unbind_session(self.viewer, self)
        with contextlib.suppress(ValueError):
            self.session.disconnect(self._on_event)
        self.prefetcher.close()
        with contextlib.suppress(RuntimeError):  # the canvas may be deleted already
            if self._canvas is not None:
                self._canvas.removeEventFilter(self._key_filter)
        with contextlib.suppress(Exception):  # the viewer may be half torn down already
            unbind_keys(self.viewer, everywhere_only=True)
            self.mouse.release_viewer(self.viewer)
        layers = [self.marks.layer, self.image_layer]
        for layer in layers:
            if layer is not None:
                layer.visible = False
        try:
            self._close_session()
        finally:
            # Removed at the next turn of the event loop, after whatever is added now (a
            # session opened next): see _set_image.
            QTimer.singleShot(0, partial(_remove_layers, self.viewer, layers))
            self._tell("closed")

    def _close_session(self) -> None:
        """``session.close()`` in a thread while the window keeps drawing (it rewrites Image
        Marker's files, which needs the header of every image seen: seconds for thousands
        of images read for the first time). Returns when everything is saved; a person's
        clicks and keys wait until then."""
        outcome: list[BaseException] = []
        n_seen, save_dir = self.session.n_seen, self.session.save_dir

        def run() -> None:
            try:
                self.session.close()
            except BaseException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=run, name="imagemarker-close")
        try:
            worker.start()
        except RuntimeError:  # no new threads while the interpreter exits: close here
            run()
        else:
            self._wait_for(worker, n_seen, save_dir)
        if outcome:
            raise outcome[0]

    def _wait_for(self, worker: threading.Thread, n_seen: int, save_dir) -> None:
        """Keep the window drawing (not taking input) while ``worker`` closes the session."""
        worker.join(CLOSE_QUIET)
        if worker.is_alive():
            drawn = False
            with contextlib.suppress(RuntimeError):  # the canvas is gone: the window closes
                drawn = self._canvas is not None and self._canvas.isVisible()
            if drawn:
                show_info(f"Saving the session ({n_seen} images seen) to {save_dir} ...")
                app = QApplication.instance()
                while worker.is_alive():
                    app.processEvents(QEventLoop.ProcessEventsFlag.ExcludeUserInputEvents, 20)
                    worker.join(0.02)
                show_info(f"Session saved in {save_dir}.")
            worker.join()


#: Closing a session waits this long (s) before saying it is saving and keeping the window
#: drawn while it does.
CLOSE_QUIET = 0.1

#: What undoing or redoing each kind of action does, for the notification when it changes
#: image (MarkHistory's action names).
_STEP = {
    "undo": {
        "add": "remove the mark added there",
        "remove": "put back the mark(s) removed there",
        "move": "move the mark(s) back",
        "label": "restore the mark's label",
    },
    "redo": {
        "add": "add the mark again",
        "remove": "remove the mark(s) again",
        "move": "move the mark(s) again",
        "label": "set the mark's label again",
    },
}

#: Status-bar hint while the image layer is selected (napari's names its digit keys).
IMAGE_HELP = (
    "click: add a mark of the active group, Shift+click: delete, Ctrl+click: select, "
    "1-9: add at the cursor, Tab: next image"
)


def _image_help(event) -> None:
    layer = event.source
    if layer.help != IMAGE_HELP:
        layer.help = IMAGE_HELP


def _remove_layers(viewer, layers) -> None:
    with contextlib.suppress(Exception):  # the viewer may be gone
        for layer in layers:
            if layer is not None and layer in viewer.layers:
                viewer.layers.remove(layer)
        follower = binding_for(viewer)
        if follower is not None:  # a session opened meanwhile got "marks [1]": the name is free
            follower._restore_names()


def canvas_widget(widget):
    """The canvas of the napari window that holds ``widget`` (where key presses arrive), or
    None."""
    from napari.qt import QtViewer

    window = widget.window() if widget is not None else None
    qt_viewer = window.findChild(QtViewer) if window is not None else None
    return qt_viewer.canvas.native if qt_viewer is not None else None

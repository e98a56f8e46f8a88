"""Image Marker's imported mark files, shown as catalog overlays while a session is open.

Image Marker copies the mark files a person imports into ``imports/`` of the save folder and
draws them on every image they fall on; Alt+1 ... Alt+9 show or hide them, in the order it
lists them (:func:`~napari_imagemarker.imgmarker.savedir.import_files`), and each has a colour
one can change. :class:`ImportedFiles` does the same here: one
:class:`~napari_imagemarker._napari.catalogs.overlay.CatalogOverlay` per file, under the
marks layer, following the session from image to image.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from napari_imagemarker._napari.catalogs.overlay import CatalogOverlay
from napari_imagemarker.catalogs.build import make_catalog
from napari_imagemarker.imgmarker.savedir import import_files

__all__ = ["IMPORT_COLORS", "ImportedFiles"]

#: Colours of imported files 1, 2, ...: Image Marker's white for the first, then colours that
#: stand apart from the group colours and from each other on the SPT cutouts.
IMPORT_COLORS = (
    "#ffffff",
    "#00e5ff",
    "#ff4fd8",
    "#b6ff00",
    "#ffb000",
    "#4f8cff",
    "#c9a0ff",
    "#00ffa0",
    "#ff7f7f",
)
#: Alt+1 ... Alt+9
MAX_KEYS = 9


class ImportedFiles:
    """The files of ``imports/`` of a session's save folder, each as a catalog overlay.

    Parameters
    ----------
    binding : MarkingBinding
        The session shown; the overlays follow its images, go under its marks layer, get its
        keys, and are removed when it closes.

    Attributes
    ----------
    paths : list of Path
        Every file of ``imports/``, in Image Marker's order (file ``n`` is ``paths[n - 1]``
        and Alt+n).
    overlays : list of CatalogOverlay or None
        One per path; None for a file that cannot be read (see ``errors``).
    colors : list of str
        The colour of each file, ``#rrggbb``.
    errors : dict of int to str
        File number -> why it is not shown.
    changed : list of callable
        Called with no argument after a file is shown, hidden or recoloured (the dock).
    """

    def __init__(self, binding) -> None:
        self.binding = binding
        self.viewer = binding.viewer
        self.paths = import_files(binding.session.save_dir)
        self.overlays: list[CatalogOverlay | None] = []
        self.errors: dict[int, str] = {}
        self.colors = [IMPORT_COLORS[i % len(IMPORT_COLORS)] for i in range(len(self.paths))]
        self.changed: list[Callable[[], Any]] = []
        layers = self.viewer.layers
        for n, path in enumerate(self.paths, start=1):
            try:
                catalog = make_catalog(path)
                overlay = CatalogOverlay(
                    catalog,
                    color=self.colors[n - 1],
                    name=layer_name(path),
                    image=binding.image_layer,
                )
            except Exception as exc:  # a file Image Marker would skip: say why, go on
                self.errors[n] = reason = _without_arguments(str(exc))
                self.overlays.append(None)
                binding.report(
                    f"The imported mark file {path.name} cannot be shown: {reason}. Fix it or "
                    "remove it from the save folder's imports folder, then reopen the session."
                )
                continue
            # under the marks, so that one's own marks stay on top and clickable
            layers.insert(layers.index(binding.marks.layer), overlay.layer)
            overlay.follow(self.viewer, image=binding.image_layer)
            binding.bind_layer(overlay.layer)
            self.overlays.append(overlay)
        if self.paths:
            layers.selection.active = binding.marks.layer
        binding.listeners.append(self._on_change)

    def __len__(self) -> int:
        return len(self.paths)

    def layer(self, n: int):
        """The Points layer of file ``n`` (1-based), or None."""
        overlay = self._overlay(n)
        return overlay.layer if overlay is not None else None

    def _overlay(self, n: int) -> CatalogOverlay | None:
        return self.overlays[n - 1] if 1 <= n <= len(self.overlays) else None

    def visible(self, n: int) -> bool:
        layer = self.layer(n)
        return bool(layer is not None and layer.visible)

    def toggle(self, n: int) -> None:
        """Show or hide file ``n`` (Alt+n)."""
        self.set_visible(n, not self.visible(n))

    def set_visible(self, n: int, visible: bool) -> None:
        """Show or hide file ``n``; a notification says when there is no such file."""
        layer = self.layer(n)
        if layer is None:
            self.binding.report(self._missing(n))
            return
        layer.visible = bool(visible)
        self._tell()

    def set_color(self, n: int, color: str) -> None:
        """Draw file ``n`` in ``color`` (``#rrggbb``) on every image."""
        overlay = self._overlay(n)
        if overlay is None:
            self.binding.report(self._missing(n))
            return
        overlay.set_color(color)
        self.colors[n - 1] = color
        self._tell()

    def _missing(self, n: int) -> str:
        if not self.paths:
            return (
                f"Alt+{n} shows or hides imported mark file {n}, but this save folder has no "
                "imports folder with mark files."
            )
        if n in self.errors:
            return f"Imported mark file {n}, {self.paths[n - 1].name}, could not be read."
        return (
            f"There is no imported mark file {n}: the imports folder holds {len(self.paths)} "
            f"(Alt+1 to Alt+{min(len(self.paths), MAX_KEYS)})."
        )

    def _tell(self) -> None:
        for callback in list(self.changed):
            callback()

    def _on_change(self, what: str) -> None:
        if what == "closed":
            self.close()

    def close(self) -> None:
        """Remove the overlays from the viewer."""
        for overlay in self.overlays:
            if overlay is None:
                continue
            with contextlib.suppress(Exception):  # the viewer may be torn down already
                overlay.unfollow()
                if overlay.layer in self.viewer.layers:
                    self.viewer.layers.remove(overlay.layer)
        self.overlays = [None] * len(self.overlays)


def _without_arguments(text: str) -> str:
    """A catalog reader's message without its advice to Python callers (``; pass ra=, ...``):
    here the file is to be fixed, not the call."""
    return re.sub(r";? *pass \w+=.*$", "", text).strip()


def layer_name(path: Path) -> str:
    """The layer name of an imported file: ``imports/<file name>``."""
    return f"imports/{path.name}"

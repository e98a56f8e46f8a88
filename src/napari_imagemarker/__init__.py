"""napari-imagemarker: astronomical images with their WCS, fast visual marking, and maskfill.

The public names are imported lazily so that ``import napari_imagemarker`` stays cheap (napari
imports plugins at start-up) and so that using one part never imports the others' heavy
dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Imported eagerly (pure NumPy, cheap): these functions share their names with their
# packages, and binding them here once means a later ``import napari_imagemarker.maskfill``
# (or ``.agreement``) cannot shadow them.
from napari_imagemarker.agreement import agreement
from napari_imagemarker.maskfill import maskfill
from napari_imagemarker.version import version as __version__

# public name -> module that defines it
_EXPORTS = {
    "read_image": "napari_imagemarker.images.read",
    "image_frames": "napari_imagemarker.images.read",
    "read_frame": "napari_imagemarker.images.read",
    # through astropy_io, which also registers our formats with Table.read/write
    "read_marks": "napari_imagemarker.marks.astropy_io",
    "write_marks": "napari_imagemarker.marks.astropy_io",
    "MarkingSession": "napari_imagemarker.marking.session",
    "open_session": "napari_imagemarker._napari.marking.binding",
    "load_catalog": "napari_imagemarker._napari.catalogs.load",
}

__all__ = [
    "MarkingSession",
    "__version__",
    "agreement",
    "image_frames",
    "load_catalog",
    "maskfill",
    "open_session",
    "read_frame",
    "read_image",
    "read_marks",
    "write_marks",
]

if TYPE_CHECKING:  # pragma: no cover
    from napari_imagemarker._napari.catalogs.load import load_catalog
    from napari_imagemarker._napari.marking.binding import open_session
    from napari_imagemarker.images.read import image_frames, read_frame, read_image
    from napari_imagemarker.marking.session import MarkingSession
    from napari_imagemarker.marks.io import read_marks, write_marks


def __getattr__(name: str):
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'napari_imagemarker' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(__all__)

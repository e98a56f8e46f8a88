"""napari-imagemarker: astronomical images with their WCS, fast visual marking, and maskfill.

The public names are imported lazily so that ``import napari_imagemarker`` stays cheap (napari
imports plugins at start-up) and so that using one part never imports the others' heavy
dependencies.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

# Imported eagerly (pure NumPy, cheap): the function shares its name with its module, and
# binding it here once means a later ``import napari_imagemarker.maskfill`` cannot shadow it.
from .maskfill import maskfill

try:
    from ._version import version as __version__
except ImportError:  # pragma: no cover - only when running from a source tree without install
    __version__ = "0.0.0"

# public name -> module that defines it
_EXPORTS = {
    "read_image": "napari_imagemarker.io.images",
    "image_frames": "napari_imagemarker.io.images",
    "read_frame": "napari_imagemarker.io.images",
    "read_marks": "napari_imagemarker.io.marks",
    "write_marks": "napari_imagemarker.io.marks",
    "MarkingSession": "napari_imagemarker.session",
    "open_session": "napari_imagemarker._napari.marking",
    "load_catalog": "napari_imagemarker._napari.catalog",
}

__all__ = [
    "MarkingSession",
    "__version__",
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
    from ._napari.catalog import load_catalog
    from ._napari.marking import open_session
    from .io.images import image_frames, read_frame, read_image
    from .io.marks import read_marks, write_marks
    from .session import MarkingSession


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

"""npe2 reader hook: FITS and TIFF files through :func:`napari_imagemarker.read_image`."""

from __future__ import annotations

from napari.utils.notifications import show_warning

from napari_imagemarker._napari.orientation import orient_current_viewer
from napari_imagemarker.images.read import image_format, image_frames, read_image

_OURS = ("fits", "tiff")


def get_reader(path):
    """Return a reader for a FITS or TIFF path (or a list of them), or None.

    Never raises: a file this plugin cannot read gives None, with a notification that names
    the file and the problem, so napari can try another reader.
    """
    paths = [path] if isinstance(path, str) else list(path)
    # PNG/JPEG are napari's own (read_image handles them for the marking session)
    if not paths or not all(isinstance(p, str) and image_format(p) in _OURS for p in paths):
        return None
    for p in paths:
        try:
            image_frames(p)
        except (OSError, ValueError) as err:
            show_warning(str(err))
            return None
        except Exception as err:  # never a traceback in napari's face
            show_warning(f"{p}: cannot be read ({type(err).__name__}: {err})")
            return None
    return _read_paths


def _read_paths(path):
    paths = [path] if isinstance(path, str) else list(path)
    layers = []
    for p in paths:
        try:
            layers.extend(read_image(p))
        except Exception as err:
            show_warning(str(err))
    if not layers:
        return None
    orient_current_viewer(any(kw["metadata"].get("y_up") for _, kw, _ in layers))
    return layers

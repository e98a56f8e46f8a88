"""npe2 reader hook: FITS and TIFF files through :func:`napari_imagemarker.read_image`."""

from __future__ import annotations

from napari.utils.notifications import show_warning

from napari_imagemarker._napari.orientation import orient_current_viewer
from napari_imagemarker.images.read import image_format, image_frames, read_image

_OURS = ("fits", "tiff")


def get_reader(path):
    """Return a reader for a FITS or TIFF path (or a list of them), or None.

    Never raises: a file whose headers this plugin cannot read gives None, with a
    notification that names the file and the problem, so napari can try another reader. A
    file whose headers read but whose data does not (truncated, say) fails in the reader
    function, with an error that names it.
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
    """The layers of every path; a file that cannot be read is named in a warning, and if
    none can, the error says why (napari shows it in its "choose a reader" dialog, rather
    than only "returned no data")."""
    paths = [path] if isinstance(path, str) else list(path)
    layers, problems = [], []
    for p in paths:
        try:
            layers.extend(read_image(p))
        except Exception as err:
            problems.append(str(err) if isinstance(err, OSError | ValueError) else (
                f"{p}: cannot be read ({type(err).__name__}: {err})"
            ))  # fmt: skip
    if not layers:
        raise ValueError("\n".join(problems) or f"{', '.join(paths)}: no image to show")
    for problem in problems:  # the others opened: these are said, not raised
        show_warning(problem)
    orient_current_viewer(any(kw["metadata"].get("y_up") for _, kw, _ in layers))
    return layers

"""``make run`` and ``imagemarker mark``: napari with a marking session open, ready to mark.

Usage: ``python -m napari_imagemarker._napari.launch [IMAGES SAVE_DIR] [--user NAME]``.
Without arguments it opens the demo session: the images shipped with the package (three
SPT-3G cutouts and a FITS file with a WCS) and a save folder that is kept between runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PLUGIN = "napari-imagemarker"
FRONT = "Image Marker"


def build_viewer(images=None, save_dir=None, user: str | None = None, viewer=None):
    """A napari window with every dock of this plugin and a marking session open.

    Parameters
    ----------
    images : folder, glob, list file or list of paths, optional
        What to mark; default the demo images (:func:`~napari_imagemarker.images.sample.
        demo_images`).
    save_dir : str or Path, optional
        Where marks are saved; default the demo's folder (kept between runs). Required
        when ``images`` is given.
    user : str, optional
        Whose marks; default the login name (or the one user of an Image Marker folder).
    viewer : napari.Viewer, optional
        The window to use; default a new one.

    Returns
    -------
    (napari.Viewer, MarkingSession)
    """
    import napari
    from npe2 import PluginManager

    from napari_imagemarker._napari.marking.binding import open_session
    from napari_imagemarker.images.sample import demo_images, demo_save_dir

    if images is None:
        images, save_dir = demo_images(), demo_save_dir()
    elif save_dir is None:
        raise ValueError("give the save folder after the images (IMAGES SAVE_DIR)")
    Path(save_dir).mkdir(parents=True, exist_ok=True)
    if viewer is None:
        viewer = napari.Viewer(title="napari-imagemarker")
    manifest = PluginManager.instance().get_manifest(PLUGIN)
    names = [widget.display_name for widget in manifest.contributions.widgets or []]
    # every dock at full height, as tabs; the marking dock added last, so it is in front
    names.sort(key=lambda name: name == FRONT)
    for name in names:
        viewer.window.add_plugin_dock_widget(PLUGIN, name, tabify=True)
    kwargs = {} if user is None else {"user": user}
    session = open_session(viewer, images, save_dir, **kwargs)
    return viewer, session


def fill_screen(viewer) -> bool:
    """Give the window the whole screen unless napari remembers a size the person chose.

    napari's first window is about 1100x630 whatever the screen; with the layer controls on
    the left and the marking dock on the right that leaves the image a strip 320 pixels
    wide on a 1366x768 laptop. Returns whether the window was resized.
    """
    from napari.settings import get_settings
    from qtpy.QtWidgets import QApplication

    application = get_settings().application
    if application.window_size or application.window_maximized:
        return False
    screen = QApplication.primaryScreen()
    if screen is None:
        return False
    area = screen.availableGeometry()
    viewer.window.set_geometry(area.x(), area.y(), area.width(), area.height())
    return True


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="imagemarker mark",
        description="Open napari with a marking session; without arguments, the demo.",
    )
    parser.add_argument("images", nargs="?", help="folder, glob or list file of images")
    parser.add_argument("save_dir", nargs="?", help="folder for the marks (made if needed)")
    parser.add_argument("--user", help="whose marks (default: the login name)")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run napari until its window is closed; returns the exit code."""
    args = _parser().parse_args(sys.argv[1:] if argv is None else argv)
    if args.images is not None and args.save_dir is None:
        print("imagemarker mark: give the save folder after the images", file=sys.stderr)
        return 2
    import napari

    try:
        _viewer, session = build_viewer(args.images, args.save_dir, args.user)
    except (ValueError, OSError) as err:
        print(f"imagemarker mark: error: {err}", file=sys.stderr)
        return 2
    what = "the demo images" if args.images is None else str(args.images)
    print(
        f"Marking {len(session)} images of {what} as {session.user}; every click is saved "
        f"in {session.save_dir} (close the window to stop; run again to resume)."
    )
    from qtpy.QtCore import QTimer

    fill_screen(_viewer)
    # fit the first image once the window has its real size (it is shown by napari.run)
    QTimer.singleShot(0, _viewer.reset_view)
    napari.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Make the documentation screenshots from a real napari window.

Run under a virtual display: ``xvfb-run -a .venv/bin/python docs/screenshots.py``.
Each function opens a viewer, does what a user would, and saves docs/images/<name>.png.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import napari
from qtpy.QtWidgets import QApplication

HERE = Path(__file__).parent
DATA = HERE.parent / "tests" / "data"
SHARED = HERE.parent.parent / "shared" / "data"
PLUGIN = "napari-imagemarker"


def _image(name: str) -> Path:
    for root in (DATA / "imgmarker" / "images", SHARED / "imgmarker" / "images"):
        if (root / name).exists():
            return root / name
    raise FileNotFoundError(name)


def _settle(viewer, n: int = 20) -> None:
    for _ in range(n):
        QApplication.processEvents()


def _viewer(title: str, docks: list[str]):
    """A window of a fixed size with its docks, settled before anything is opened in it, so
    that the canvas has its final size when the view is reset."""
    viewer = napari.Viewer(title=title)
    viewer.window._qt_window.resize(1300, 820)
    for dock in docks:
        viewer.window.add_plugin_dock_widget(PLUGIN, dock)
    for _ in range(5):
        _settle(viewer)
        time.sleep(0.1)
    return viewer


def readout() -> None:
    """An SPT cluster field (STIFF TIFF with WCS) with the coordinate readout."""
    viewer = _viewer("napari-imagemarker: SPT-CLJ0000-5141", ["Coordinate readout"])
    viewer.open(_image("SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif"), plugin=PLUGIN)
    viewer.reset_view()
    _settle(viewer)
    # the cursor on the bright galaxy above the centre (data = world coordinates here)
    viewer.cursor.position = (0.0, 313.2, 260.8)
    _settle(viewer)
    viewer.screenshot(str(HERE / "images" / "readout_spt.png"), canvas_only=False)
    viewer.close()


def launch() -> None:
    """What ``make run`` shows: the sample field with every dock of the plugin."""
    from napari_imagemarker._napari.launch import build_viewer

    viewer = build_viewer()
    viewer.window._qt_window.resize(1400, 860)
    for _ in range(5):
        _settle(viewer)
        time.sleep(0.1)
    viewer.reset_view()
    viewer.cursor.position = (127.0, 95.0)
    _settle(viewer)
    viewer.screenshot(str(HERE / "images" / "make_run.png"), canvas_only=False)
    viewer.close()


def maskfill_m51() -> None:
    """The M51 example of maskfill filled from Layers > Filter, before and after side by side."""
    import numpy as np

    from napari_imagemarker.io.images import read_image

    viewer = _viewer("napari-imagemarker: maskfill on M51", [])
    menu = "Fill masked pixels with maskfill (Image Marker)"
    [action] = [a for a in _menu_actions(viewer, "Layers", "Filter") if a.text() == menu]
    action.trigger()  # the dock opens from the menu, as a person would open it
    for _ in range(5):
        _settle(viewer)
        time.sleep(0.1)
    folder = DATA / "maskfill"
    [image] = viewer.open(str(folder / "m51_with_cosmicrays.fits"), plugin=PLUGIN)
    [(mask, _, _)] = read_image(folder / "m51_mask.fits")
    labels = viewer.add_labels(np.asarray(mask).astype(np.uint8), name="m51_mask.fits")
    widget = next(w for w in viewer.window.dock_widgets.values() if hasattr(w, "run_button"))
    widget.image.value, widget.mask.value = image, labels
    widget.run_button.native.click()
    while widget.worker is not None:
        _settle(viewer)
        time.sleep(0.05)
    labels.visible = False
    grid = viewer.canvas.grid if hasattr(viewer, "canvas") else viewer.grid  # napari 0.9 moved it
    grid.enabled = True
    grid.shape = (1, 2)
    viewer.reset_view()
    _settle(viewer)
    viewer.screenshot(str(HERE / "images" / "maskfill_m51.png"), canvas_only=False)
    viewer.close()


def _menu_actions(viewer, *path: str) -> list:
    """The actions of a menu of the menu bar, e.g. ``("Layers", "Filter")``."""
    actions = viewer.window._qt_window.menuBar().actions()
    for name in path:
        menu = next(a.menu() for a in actions if a.text().replace("&", "") == name)
        actions = menu.actions()
    return actions


SHOTS = {"readout": readout, "launch": launch, "maskfill": maskfill_m51}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(SHOTS):
        SHOTS[name]()
        print("wrote", name)

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


SHOTS = {"readout": readout, "launch": launch}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(SHOTS):
        SHOTS[name]()
        print("wrote", name)

"""Make the documentation screenshots from a real napari window.

Run under a virtual display the size of a small laptop screen:
``xvfb-run -a -s "-screen 0 1366x768x24" .venv/bin/python docs/screenshots.py [NAME ...]``.
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
    """What ``make run`` shows on a 1366x768 screen: the demo session, the first SPT
    cutout fitted, the marking dock in front of the plugin's other docks."""
    from napari_imagemarker._napari.launch import build_viewer, fill_screen

    viewer, _session = build_viewer()
    if not fill_screen(viewer):  # napari remembers a window size: take the screen anyway
        viewer.window.set_geometry(0, 0, 1366, 768)
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

    from napari_imagemarker.images.read import read_image

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


def _source_table(image):
    """A small source catalog of an RGB image with a WCS: the brightest sources, with RA/Dec
    from the layer's WCS, a magnitude and a g - z colour (grz: blue = g, red = z)."""
    import numpy as np
    from astropy.table import Table
    from scipy import ndimage

    rgb = np.asarray(image.data, dtype=float)
    rgb = rgb.reshape(-1, *rgb.shape[-3:])[0]  # the first frame (the TIFF's pages are stacked)
    smooth = ndimage.gaussian_filter(rgb, (2.0, 2.0, 0))
    light = smooth.sum(axis=-1)
    peaks = light == ndimage.maximum_filter(light, size=15)
    peaks[:8], peaks[-8:], peaks[:, :8], peaks[:, -8:] = False, False, False, False
    rows, cols = np.nonzero(peaks & (light > np.percentile(light, 98.5)))
    keep = np.argsort(light[rows, cols])[::-1][:60]
    rows, cols = rows[keep], cols[keep]
    g, z = smooth[rows, cols, 2] + 1.0, smooth[rows, cols, 0] + 1.0
    ra, dec = image.metadata["wcs"].pixel_to_world_values(cols, rows)
    return Table(
        {
            "id": np.arange(1, len(rows) + 1),
            "RAJ2000": np.round(ra % 360, 7),
            "DEJ2000": np.round(dec, 7),
            "mag": np.round(27 - 2.5 * np.log10(light[rows, cols]), 2),
            "g_z": np.round(-2.5 * np.log10(g / z), 2),
        }
    )


def catalog() -> None:
    """A source catalog over SPT-CLJ0000-5141, coloured by g - z, with the table of its rows,
    and Image Marker's TEST_catalog BCG candidate."""
    import tempfile

    import numpy as np

    from napari_imagemarker import load_catalog

    viewer = _viewer("napari-imagemarker: catalog over SPT-CLJ0000-5141", ["Catalog overlay"])
    [image] = viewer.open(_image("SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif"), plugin=PLUGIN)
    widget = next(w for w in viewer.window.dock_widgets.values() if hasattr(w, "table_view"))
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "spt0000_sources.ecsv"
        _source_table(image).write(path)
        widget.read(path)
        widget.color_by_box.setCurrentText("g_z")
        widget.colormap_box.setCurrentText("coolwarm")
        layer = widget.overlay()
    bcg = load_catalog(
        viewer, DATA / "imgmarker" / "savedir" / "imports" / "TEST_catalog.csv", color="yellow"
    )
    viewer.layers.selection.active = layer
    viewer.reset_view()
    _close_notifications(viewer)
    _settle(viewer)
    # the reddest source near the BCG candidate: selected, and under the cursor
    near = np.hypot(*(layer.data - bcg.data[0]).T) < 120
    pick = int(np.argmax(np.where(near, layer.features["g_z"], -np.inf)))
    layer.selected_data = {pick}
    viewer.cursor.position = tuple(layer.data_to_world(layer.data[pick]))
    _settle(viewer)
    viewer.screenshot(str(HERE / "images" / "catalog_spt.png"), canvas_only=False)
    viewer.close()


def marking() -> None:
    """A marking session on SPT-CLJ0000-5141: the BCG, cluster members and an arc candidate
    marked in three groups, with the Image Marker dock."""
    import tempfile

    import numpy as np

    from napari_imagemarker import open_session
    from napari_imagemarker._napari.marking.binding import binding_for

    viewer = _viewer("napari-imagemarker: marking SPT-CLJ0000-5141", ["Image Marker"])
    viewer.window.set_geometry(0, 0, 1366, 768)  # a small laptop screen
    for _ in range(5):
        _settle(viewer)
        time.sleep(0.1)
    with tempfile.TemporaryDirectory() as tmp:
        session = open_session(
            viewer,
            _image("SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif").parent,
            Path(tmp) / "marks",
            user="tester",
            groups=["BCG", "member", "arc", "4", "5", "6", "7", "8", "9"],
            categories=["merger", "lensing", "bad data", "4", "5"],
        )
        binding = binding_for(viewer)
        image = binding.image_layer
        # the BCG candidate of Image Marker's TEST_catalog, and the reddest bright sources
        # around it as members (positions from the image itself, as a person would click)
        sources = _source_table(image)
        cols, rows = image.metadata["wcs"].world_to_pixel_values(
            sources["RAJ2000"], sources["DEJ2000"]
        )
        bcg = np.array([402.0, 330.0])
        distance = np.hypot(rows - bcg[0], cols - bcg[1])
        red = np.argsort(-np.where((distance > 12) & (distance < 150), sources["g_z"], -9))
        binding.add_mark_at(*bcg, group=1)
        for i in red[:5]:
            binding.add_mark_at(rows[i], cols[i], group=2)
        arc = binding.add_mark_at(352.0, 282.0, group=3)
        session.set_label(arc, "arc?")
        session.set_categories([2])
        session.set_comment("arc SW of the BCG, check deeper data")
        binding.set_active_group(2)
        viewer.reset_view()
        _close_notifications(viewer)
        for _ in range(5):
            _settle(viewer)
            time.sleep(0.1)
        viewer.cursor.position = (352.0, 282.0)  # on the arc: its RA/Dec in the dock
        _settle(viewer)
        viewer.screenshot(str(HERE / "images" / "marking_spt.png"), canvas_only=False)
        viewer.close()


def agreement_review() -> None:
    """Three people's marks on the SPT cutouts, the Agreement dock's tables, and the review
    of the most disputed image with each person's marks in their colour."""
    import shutil
    import tempfile

    from napari_imagemarker import MarkingSession
    from napari_imagemarker._napari.marking.binding import binding_for

    rng = __import__("numpy").random.default_rng(3)
    names = [
        "SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif",
        "SPT-CLJ2347-5101_4.39_sigma_grz_cont.tif",
        "SPT-CLJ2359-5051_4.92_sigma_grz_cont.tif",
    ]
    # the five brightest galaxies near the middle of each image, as people would click them
    features = {name: _bright_peaks(_image(name), 5) for name in names}
    users = {"ann": (0.95, 0.8), "ben": (0.8, 1.5), "cat": (0.6, 2.5)}  # hit rate, scatter
    with tempfile.TemporaryDirectory() as tmp:
        images = Path(tmp) / "images"
        images.mkdir()
        for name in names:
            shutil.copy(_image(name), images / name)
        team = Path(tmp) / "team"
        for user, (hit, scatter) in users.items():
            groups = ["BCG", "member", "3", "4", "5", "6", "7", "8", "9"]
            categories = ["merger", "lensing", "3", "4", "5"]
            with MarkingSession(images, team, user, groups, categories) as s:
                for name, spots in features.items():
                    for k, (row, col) in enumerate(spots):
                        if k == 0 or rng.random() < hit:
                            dy, dx = rng.normal(0, scatter, 2)
                            s.add_mark(col + dx, row + dy, 1 if k == 0 else 2, image=name)
                    if user != "cat" and name == names[0]:
                        s.set_categories(["merger"], image=name)
                for _ in s.paths:
                    s.next()
        viewer = _viewer("napari-imagemarker: review of disputed images", ["Agreement"])
        viewer.window._qt_window.resize(1500, 950)
        dock = viewer.window.dock_widgets["Agreement (napari-imagemarker)"]
        dock.folder_edit.setText(str(team))
        dock.radius_edit.setText("4")
        dock.compute()
        dock.n_spin.setValue(3)
        dock.start_review()
        binding = binding_for(viewer)
        dock.tabs.setCurrentIndex(3)  # each user against the consensus
        viewer.window._qt_window.raise_()
        dock.parent().raise_()
        viewer.reset_view()
        _close_notifications(viewer)
        for _ in range(8):
            _settle(viewer)
            time.sleep(0.1)
        binding.marks.layer.refresh()
        viewer.screenshot(str(HERE / "images" / "agreement_review.png"), canvas_only=False)
        viewer.close()


def _bright_peaks(path: Path, n: int) -> list[tuple[float, float]]:
    """(row, col) of the ``n`` brightest smoothed peaks within 180 px of the centre."""
    import numpy as np
    from scipy import ndimage

    from napari_imagemarker import read_frame

    data = np.asarray(read_frame(path)[0], dtype=float)
    light = ndimage.gaussian_filter(data.sum(axis=-1) if data.ndim == 3 else data, 2.0)
    peaks = light == ndimage.maximum_filter(light, size=15)
    rows, cols = np.nonzero(peaks)
    h, w = light.shape
    near = np.hypot(rows - h / 2, cols - w / 2) < 180
    rows, cols = rows[near], cols[near]
    best = np.argsort(light[rows, cols])[::-1][:n]
    return [(float(rows[k]), float(cols[k])) for k in best]


def _close_notifications(viewer) -> None:
    """Close the pop-up notifications, which would cover the canvas."""
    from napari._qt.dialogs.qt_notification import NapariQtNotification

    for popup in viewer.window._qt_window.findChildren(NapariQtNotification):
        popup.close()


def _menu_actions(viewer, *path: str) -> list:
    """The actions of a menu of the menu bar, e.g. ``("Layers", "Filter")``."""
    actions = viewer.window._qt_window.menuBar().actions()
    for name in path:
        menu = next(a.menu() for a in actions if a.text().replace("&", "") == name)
        actions = menu.actions()
    return actions


def display() -> None:
    """An SPT cutout with asinh stretch, ZScale limits and a 1.5 px blur, set in the Display
    dock as a person does (the combo boxes, then 15 presses of the arrow key on the blur
    slider), in a 1366 x 768 window."""
    from qtpy.QtCore import Qt
    from qtpy.QtTest import QTest

    viewer = _viewer("napari-imagemarker: display", ["Display"])
    viewer.window._qt_window.resize(1366, 768)  # a laptop screen, as in xvfb-run's -screen
    dock = next(w for w in viewer.window.dock_widgets.values() if hasattr(w, "blur_slider"))
    viewer.open(_image("SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif"), plugin=PLUGIN)
    viewer.reset_view()
    _settle(viewer)
    dock.stretch_box.setCurrentIndex(dock.stretch_box.findText("Asinh"))
    dock.interval_box.setCurrentIndex(dock.interval_box.findText("ZScale"))
    dock.blur_slider.setFocus()
    for _ in range(15):
        QTest.keyClick(dock.blur_slider, Qt.Key.Key_Right)
    for _ in range(5):
        _settle(viewer)
        time.sleep(0.1)
    print(dock.summary.text())
    viewer.screenshot(str(HERE / "images" / "display_spt.png"), canvas_only=False)
    viewer.close()


SHOTS = {
    "readout": readout,
    "launch": launch,
    "maskfill": maskfill_m51,
    "catalog": catalog,
    "marking": marking,
    "agreement": agreement_review,
    "display": display,
}

if __name__ == "__main__":
    for name in sys.argv[1:] or list(SHOTS):
        SHOTS[name]()
        print("wrote", name)

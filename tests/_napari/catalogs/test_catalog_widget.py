"""Catalog overlays in a real napari window (under Xvfb): load_catalog, following the image
and the marking session, the dock's pickers and preview, and the row table."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from astropy.table import Table
from qtpy.QtCore import Qt

from conftest import IMGMARKER
from napari_imagemarker import load_catalog, read_image
from napari_imagemarker._napari.catalogs import load as catalog_module
from napari_imagemarker._napari.catalogs import overlay as catalog_overlay
from napari_imagemarker._napari.catalogs.colors import MISSING_COLOR, row_colors
from napari_imagemarker._napari.catalogs.load import catalog_overlays, overlay_of, refresh_catalogs
from napari_imagemarker._napari.marking.binding import open_session
from napari_imagemarker.catalogs.build import make_catalog
from napari_imagemarker.catalogs.catalog import CatalogError

PLUGIN = "napari-imagemarker"
IMAGES = IMGMARKER / "images"
TEST_CATALOG = IMGMARKER / "savedir" / "imports" / "TEST_catalog.csv"
T0000 = IMAGES / "SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif"
T2347 = IMAGES / "SPT-CLJ2347-5101_4.39_sigma_grz_cont.tif"
T2359 = IMAGES / "SPT-CLJ2359-5051_4.92_sigma_grz_cont.tif"
PNG = IMAGES / "synth_gray8_120x80_nowcs.png"
#: GOLDEN.md: where each TEST_catalog row really is, as (row, col) of our (flipped) TIFF
ON_T0000 = ("BCG prob. 0.8", 511 - 401.877, 330.084)
ON_T2347 = ("BCG prob. 1", 511 - 312.587, 310.764)


def add_image(viewer, path):
    """Add frame 0 of an image as our reader returns it (metadata: path, wcs, y_up)."""
    data, kwargs, _ = read_image(path)[0]
    return viewer.add_image(data, **kwargs)


def assert_points(layer, *expected):
    """The layer shows exactly these (label, row, col)."""
    assert len(layer.data) == len(expected)
    for (label, row, col), point, got in zip(
        expected, layer.data, layer.features["label"], strict=True
    ):
        assert got == label
        np.testing.assert_allclose(point, (row, col), atol=2e-3)


@pytest.fixture
def warnings_shown(monkeypatch):
    """The notifications the catalog code shows, as text."""
    shown: list[str] = []
    for module in (catalog_module, catalog_overlay):
        monkeypatch.setattr(module, "show_warning", shown.append)
    return shown


@pytest.fixture
def notifications():
    """Every napari notification shown meanwhile, as (severity, text)."""
    from napari.utils.notifications import notification_manager

    shown: list[tuple[str, str]] = []

    def record(notification):
        shown.append((str(notification.severity), str(notification.message)))

    notification_manager.notification_ready.connect(record)
    yield shown
    notification_manager.notification_ready.disconnect(record)


def mef_with_hdus_without_wcs(path):
    """A MEF: HDU 1 SCI with a WCS, HDU 2 (no EXTNAME) and HDU 3 ERR without one."""
    from astropy.io import fits

    from conftest import tan_header

    data = np.zeros((200, 300), dtype=np.float32)
    fits.HDUList(
        [
            fits.PrimaryHDU(),
            fits.ImageHDU(data, header=tan_header(), name="SCI"),
            fits.ImageHDU(data),
            fits.ImageHDU(data, name="ERR"),
        ]
    ).writeto(path)
    return path


# -- load_catalog --------------------------------------------------------------------------------


def test_catalog_follows_the_active_image(make_napari_viewer):
    viewer = make_napari_viewer()
    first = add_image(viewer, T0000)
    layer = load_catalog(viewer, TEST_CATALOG)
    assert layer in viewer.layers and layer.name == "TEST_catalog"
    assert_points(layer, ON_T0000)
    assert layer.size[0] == pytest.approx(5 / 0.262, rel=1e-3)  # 5" at 0.262"/px
    # hovering shows the catalog row in the status bar
    status = layer.get_status(layer.data_to_world(layer.data[0]), world=True)["coordinates"]
    assert "label: BCG prob. 0.8" in status
    # opening another cluster moves the catalog there; selecting the first brings it back
    add_image(viewer, T2347)
    assert_points(layer, ON_T2347)
    viewer.layers.selection.active = first
    assert_points(layer, ON_T0000)
    # selecting the catalog layer itself keeps it where it is
    viewer.layers.selection.active = layer
    assert_points(layer, ON_T0000)


def test_catalog_on_an_image_layer_stays_on_it(make_napari_viewer):
    viewer = make_napari_viewer()
    first = add_image(viewer, T0000)
    second = add_image(viewer, T2347)
    first.scale = (2.0, 2.0)
    layer = load_catalog(first, TEST_CATALOG, color="red")
    assert layer in viewer.layers
    assert_points(layer, ON_T0000)
    assert tuple(layer.scale) == (2.0, 2.0)  # drawn over the image, whatever its transform
    np.testing.assert_allclose(layer.face_color, [[1, 0, 0, 1]])
    viewer.layers.selection.active = second
    assert_points(layer, ON_T0000)


def test_catalog_follows_an_image_layer_that_is_reused(make_napari_viewer):
    """What the marking dock does: the same layer gets the next image's data and metadata."""
    viewer = make_napari_viewer()
    image = add_image(viewer, T0000)
    layer = load_catalog(viewer, TEST_CATALOG)
    data, kwargs, _ = read_image(T2347)[0]
    image.data = data
    image.metadata = kwargs["metadata"]
    assert_points(layer, ON_T2347)


def open_two_images(viewer, tmp_path):
    """A marking session over copies of T0000 and T2347, shown in ``viewer``."""
    folder = tmp_path / "images"
    folder.mkdir()
    for path in (T0000, T2347):
        shutil.copy(path, folder)
    return open_session(viewer, folder, tmp_path / "save", user="tester")


def test_catalog_follows_the_marking_session(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    session = open_two_images(viewer, tmp_path)
    layer = load_catalog(session, TEST_CATALOG)
    assert_points(layer, ON_T0000)
    session.next()
    assert_points(layer, ON_T2347)
    session.previous()
    assert_points(layer, ON_T0000)
    session.close()


def test_a_placement_error_on_the_next_image_is_a_notification(
    make_napari_viewer, tmp_path, warnings_shown, monkeypatch
):
    """A catalog that cannot be placed says so itself, once, and the session moves on
    (the error does not reach the marking dock's navigation)."""
    from napari_imagemarker._napari.marking import binding as marking

    dock_warnings: list[str] = []
    monkeypatch.setattr(marking, "show_warning", dock_warnings.append)
    viewer = make_napari_viewer()
    session = open_two_images(viewer, tmp_path)
    layer = load_catalog(session, TEST_CATALOG)
    catalog = overlay_of(layer).catalog

    def broken(*args, **kwargs):
        raise RuntimeError("the WCS is broken")

    monkeypatch.setattr(catalog, "place", broken)
    session.next()
    assert session.current.index == 1
    assert warnings_shown == ["TEST_catalog: cannot be placed on this image: the WCS is broken"]
    assert dock_warnings == []
    session.close()


def test_sky_catalog_on_image_without_wcs_warns_and_shows_nothing(
    make_napari_viewer, warnings_shown
):
    viewer = make_napari_viewer()
    add_image(viewer, PNG)
    layer = load_catalog(viewer, TEST_CATALOG)
    assert len(layer.data) == 0
    assert warnings_shown == [
        "synth_gray8_120x80_nowcs.png has no WCS: 3 rows of TEST_catalog have only RA/Dec "
        "and cannot be placed on it"
    ]
    # the next image with a WCS gets its row
    add_image(viewer, T2359)
    assert list(layer.features["label"]) == ["BCG prob. 0.99"]


def test_no_wcs_is_said_once_and_only_about_the_image_it_is_placed_on(
    make_napari_viewer, notifications
):
    """Once, as a warning (the load's INFO line does not repeat it); not again when the
    catalog moves to an image with a WCS, comes back, or the viewer is closed."""
    viewer = make_napari_viewer()
    png = add_image(viewer, PNG)
    layer = load_catalog(viewer, TEST_CATALOG)
    assert len(layer.data) == 0
    no_wcs = (
        "synth_gray8_120x80_nowcs.png has no WCS: 3 rows of TEST_catalog have only RA/Dec "
        "and cannot be placed on it"
    )
    assert notifications == [
        ("warning", no_wcs),
        ("info", "TEST_catalog: 0 of 3 rows on this image."),
    ]
    notifications.clear()
    tiff = add_image(viewer, T2359)
    assert list(layer.features["label"]) == ["BCG prob. 0.99"]
    viewer.layers.selection.active = png
    assert len(layer.data) == 0
    viewer.layers.selection.active = tiff
    assert len(layer.features) == 1
    viewer.layers.clear()  # what closing the viewer does: the PNG is on top once more
    assert notifications == []


def test_no_wcs_names_the_hdu_of_a_multi_extension_fits(
    make_napari_viewer, tmp_path, notifications
):
    """Not "mef.fits has no WCS" when another HDU of mef.fits has one."""
    viewer = make_napari_viewer()
    path = mef_with_hdus_without_wcs(tmp_path / "mef.fits")
    layers = {layer.name: layer for layer in viewer.open(path, plugin=PLUGIN)}
    assert sorted(layers) == ["mef.fits [2]", "mef.fits [ERR]", "mef.fits [SCI]"]
    viewer.layers.selection.active = layers["mef.fits [SCI]"]
    catalog = Table({"ra": [150.1], "dec": [2.2]})
    layer = load_catalog(viewer, catalog, name="one")
    assert len(layer.data) == 1
    notifications.clear()
    viewer.layers.selection.active = layers["mef.fits [2]"]
    viewer.layers.selection.active = layers["mef.fits [ERR]"]
    assert len(layer.data) == 0
    assert notifications == [
        ("warning", f"mef.fits [{hdu}] has no WCS: 1 rows of one have only RA/Dec and "
         "cannot be placed on it")
        for hdu in ("2", "ERR")
    ]  # fmt: skip
    assert overlay_of(layer).summary() == (
        "one: 0 of 1 rows on this image; mef.fits [ERR] has no WCS: 1 rows of one have only "
        "RA/Dec and cannot be placed on it."
    )


def test_bad_catalog_raises_and_adds_nothing(make_napari_viewer, tmp_path):
    viewer = make_napari_viewer()
    add_image(viewer, T0000)
    path = tmp_path / "nothing.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(CatalogError, match=r"nothing\.csv: no RA/Dec or x/y columns"):
        load_catalog(viewer, path)
    assert len(viewer.layers) == 1


def test_partial_load_says_how_many_rows_were_skipped(make_napari_viewer, warnings_shown):
    viewer = make_napari_viewer()
    add_image(viewer, T0000)
    table = Table({"ra": [0.193330989969354, 400.0], "dec": [-51.7046426335012, 0.0]})
    layer = load_catalog(viewer, table, name="two")
    assert len(layer.data) == 1
    assert warnings_shown == [
        "two: 2 rows. RA/Dec from columns ra, dec (degrees). "
        "1 row skipped (1 with RA outside 0°..360°)."
    ]


def test_colour_by_a_column(make_napari_viewer):
    viewer = make_napari_viewer()
    image = add_image(viewer, T0000)
    rows, cols = np.meshgrid([100.0, 200.0, 300.0], [100.0, 400.0])
    table = Table(
        {
            "x": cols.ravel(),
            "y": rows.ravel(),
            "z": [0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
            "kind": ["star", "galaxy", "star", "qso", "galaxy", "star"],
        }
    )
    by_number = load_catalog(image, table, color_by="z", colormap="gray")
    grey = by_number.face_color[:, 0]
    assert np.all(np.diff(grey) > 0)  # brighter for larger z
    by_kind = overlay_of(load_catalog(image, table, color_by="kind"))
    colors = {
        k: tuple(c) for k, c in zip(by_kind.layer.features["kind"], by_kind.layer.face_color)
    }
    assert len(set(colors.values())) == 3 and set(by_kind.legend) == {"galaxy", "qso", "star"}


def test_row_colors_one_colour_categories_numbers_and_colour_names():
    """The colour mapping on its own (no viewer): every row's colour, computed once."""
    table = Table(
        {
            "x": [1.0, 2.0, 3.0, 4.0],
            "y": [1.0, 2.0, 3.0, 4.0],
            "kind": ["star", "galaxy", "star", "star"],
            "z": [0.1, 0.5, np.nan, 0.3],
            "color": ["red", "", "#00ff00", "red"],
        }
    )
    catalog = make_catalog(table)
    one = row_colors(catalog, color="red")
    np.testing.assert_array_equal(one.rgba, [[1, 0, 0, 1]] * 4)
    assert one.column is None and one.legend == {}
    kinds = row_colors(catalog, color_by="KIND")  # any case
    assert kinds.column == "kind" and set(kinds.legend) == {"galaxy", "star"}
    assert tuple(kinds.rgba[0]) == tuple(kinds.rgba[2]) != tuple(kinds.rgba[1])
    z = row_colors(catalog, color_by="z", colormap="gray")
    np.testing.assert_allclose(z.rgba[[0, 1, 2]], [[0, 0, 0, 1], [1, 1, 1, 1], MISSING_COLOR])
    names = row_colors(catalog, color_by="color")  # DS9's colours are kept
    assert names.legend == {"": "#ffffff", "#00ff00": "#00ff00", "red": "#ff0000"}
    with pytest.raises(CatalogError, match=r"no column 'nope' to colour by \(columns: x, y"):
        row_colors(catalog, color_by="nope")


def test_refresh_catalogs_after_changing_the_wcs_in_place(make_napari_viewer):
    viewer = make_napari_viewer()
    image = add_image(viewer, T0000)
    layer = load_catalog(viewer, TEST_CATALOG)
    _, kwargs, _ = read_image(T2347)[0]
    image.metadata.update(kwargs["metadata"])  # no event: the overlay cannot know
    refresh_catalogs(viewer)
    assert_points(layer, ON_T2347)
    assert catalog_overlays(viewer) == [overlay_of(layer)]


# -- the dock -------------------------------------------------------------------------------------


@pytest.fixture
def dock(make_napari_viewer):
    viewer = make_napari_viewer()
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, "Catalog overlay")
    return viewer, widget


def test_dock_detects_columns_previews_and_overlays(dock, qtbot, tmp_path):
    viewer, widget = dock
    add_image(viewer, T0000)
    path = tmp_path / "clusters.csv"
    path.write_text(
        "Name,RAJ2000,DEJ2000,z\n"
        "SPT-CLJ0000-5141,00:00:46.39944,-51:42:16.7134,0.8\n"
        "far away,12:00:00,+10:00:00,0.1\n"
    )
    assert widget.read(path)
    assert (widget.ra_box.currentText(), widget.dec_box.currentText()) == ("RAJ2000", "DEJ2000")
    assert widget.x_box.currentText() == "—"
    assert "sexagesimal hours / sexagesimal degrees" in widget.status.text()
    header = [widget.preview.horizontalHeaderItem(j).text() for j in range(4)]
    assert header == ["RAJ2000", "RA (deg)", "DEJ2000", "Dec (deg)"]
    assert widget.preview.item(0, 1).text() == "0.193331"  # 00:00:46.39944 in degrees
    assert widget.preview.item(0, 3).text() == "-51.704643"
    qtbot.mouseClick(widget.overlay_button, Qt.MouseButton.LeftButton)
    layer = viewer.layers[-1]
    assert layer.name == "clusters" and viewer.layers.selection.active is layer
    assert list(layer.features["Name"]) == ["SPT-CLJ0000-5141"]
    np.testing.assert_allclose(layer.data, [ON_T0000[1:]], atol=0.01)
    assert widget.table_view.model().rowCount() == 1
    assert "1 of 2 rows on this image; 1 fall outside it" in widget.table_label.text()


def test_dock_asks_when_columns_are_ambiguous(dock, tmp_path):
    viewer, widget = dock
    add_image(viewer, T0000)
    path = tmp_path / "two_centres.csv"
    path.write_text("RA_BCG,DEC_BCG,RA_SZ,DEC_SZ\n0.19333,-51.70464,0.2,-51.7\n")
    widget.read(path)
    assert "several columns could be the coordinates" in widget.status.text()
    assert not widget.overlay_button.isEnabled()
    assert widget.overlay() is None and len(viewer.layers) == 1
    widget.ra_box.setCurrentText("RA_SZ")
    widget.dec_box.setCurrentText("DEC_SZ")
    assert widget.overlay_button.isEnabled()
    assert "RA/Dec from columns RA_SZ, DEC_SZ" in widget.status.text()


def test_dock_reports_a_file_it_cannot_read(dock, tmp_path):
    _, widget = dock
    path = tmp_path / "image.fits"
    from astropy.io import fits

    fits.PrimaryHDU(np.zeros((3, 3))).writeto(path)
    assert not widget.read(path)
    assert "image.fits: holds no table" in widget.status.text()
    assert not widget.overlay_button.isEnabled()


def test_dock_says_a_text_file_named_fits_is_not_fits(dock, tmp_path):
    """Not "no RA/Dec or x/y columns found (columns: this, is, not, a, FITS, file)"."""
    _, widget = dock
    path = tmp_path / "text.fits"
    path.write_text("this is not a FITS file\n" * 10)
    assert not widget.read(path)
    assert widget.status.text() == (
        f"{path}: not a FITS file (it does not start with 'SIMPLE  =' and is not gzipped)"
    )
    assert not widget.overlay_button.isEnabled()


def test_dock_skips_ds9_text_and_polygon_regions_and_says_so(dock, tmp_path, notifications):
    """Not rings at the text's (99, 99) and the polygon's mean vertex, silently."""
    viewer, widget = dock
    add_image(viewer, T0000)
    path = tmp_path / "regions.reg"
    path.write_text(
        "# Region file format: DS9 version 4.1\n"
        "image\n"
        "circle(200,300,5) # color=red\n"
        "polygon(10,10,20,10,20,20)\n"
        "# text(100,100) text={hello}\n"
        "text(100,100) text={hello}\n"
    )
    assert widget.read(path)
    skipped = (
        "3 rows skipped (3 with no single position: 1 polygon (line 4), 2 text (lines 5, 6))."
    )
    assert widget.status.text().endswith(skipped)
    notifications.clear()
    layer = widget.overlay()
    np.testing.assert_allclose(layer.data, [(299.0, 199.0)])
    assert list(layer.features["shape"]) == ["circle"]
    assert [text for severity, text in notifications if severity == "warning"] == [
        widget.status.text()
    ]


def test_image_marker_marks_file_loads_without_a_skipped_row_warning(
    make_napari_viewer, notifications
):
    """Its "image seen, nothing marked" row is no bad row: no "1 row skipped" warning."""
    viewer = make_napari_viewer()
    add_image(viewer, T0000)
    layer = load_catalog(viewer, IMGMARKER / "savedir" / "tester_marks.csv")
    np.testing.assert_allclose(
        layer.data, [(461, 100), (511, 0), (0, 511), (311, 300), (255, 256)]
    )
    assert notifications == [
        ("info", "tester_marks: 5 of 15 rows on this image; 10 belong to other images.")
    ]


def test_dock_loads_the_mark_files_image_marker_rejects(dock):
    viewer, widget = dock
    add_image(viewer, T0000)
    widget.read(IMGMARKER / "mark_files" / "xy_pixelsize.csv")
    assert widget.size_box.currentText() == "size(px)"
    layer = widget.overlay()
    assert len(layer.data) == 3 and np.all(layer.size == 15)
    # Image Marker's display pixels: (325, 182) from the top-left of the y-up TIFF
    np.testing.assert_allclose(layer.data[0], (511 - 182, 325))


def test_table_rows_and_points_stay_in_step(dock, qtbot):
    viewer, widget = dock
    add_image(viewer, T0000)
    widget.read(IMGMARKER / "savedir" / "imports" / "test_xy_nosize.txt")
    layer = widget.overlay()
    view = widget.table_view
    assert view.model().rowCount() == 5
    assert view.model().headerData(0, Qt.Orientation.Horizontal) == "label"
    # clicking a row centres the view on that point
    rect = view.visualRect(view.model().index(3, 0))
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
    np.testing.assert_allclose(viewer.scene.camera.center[-2:], layer.data[3])
    assert set(layer.selected_data) == {3}
    # selecting points on the canvas selects their rows
    layer.selected_data = {0, 1, 4}
    rows = sorted(i.row() for i in view.selectionModel().selectedRows())
    assert rows == [0, 1, 4]


def test_dock_shows_the_frame_the_file_states_and_lets_it_be_overridden(dock, tmp_path):
    from astropy.coordinates import FK5, SkyCoord
    from astropy.wcs import WCS

    from conftest import tan_header

    viewer, widget = dock
    wcs = WCS(tan_header())  # ICRS
    viewer.add_image(
        np.zeros((200, 300), np.float32),
        metadata={"wcs": wcs, "y_up": True, "path": str(tmp_path / "img.fits")},
    )
    path = tmp_path / "fk5.vot"
    path.write_text(
        '<?xml version="1.0"?>\n<VOTABLE version="1.3" '
        'xmlns="http://www.ivoa.net/xml/VOTable/v1.3"><RESOURCE>'
        '<COOSYS ID="J2000" system="eq_FK5" equinox="J2000"/><TABLE>'
        '<FIELD name="RAJ2000" ID="c1" ucd="pos.eq.ra;meta.main" ref="J2000" '
        'datatype="double" unit="deg"/>'
        '<FIELD name="DEJ2000" ID="c2" ucd="pos.eq.dec;meta.main" ref="J2000" '
        'datatype="double" unit="deg"/>'
        "<DATA><TABLEDATA><TR><TD>150.1</TD><TD>2.2</TD></TR>"
        "<TR><TD>150.11</TD><TD>2.21</TD></TR></TABLEDATA></DATA>"
        "</TABLE></RESOURCE></VOTABLE>"
    )
    assert widget.read(path)
    assert widget.ra_box.currentText() == "RAJ2000"  # a field name, not its ID
    assert "frame FK5 J2000.000 (from VOTable COOSYS eq_FK5 J2000)" in widget.status.text()
    layer = widget.overlay()
    assert layer.metadata["catalog_choices"]["frame"].startswith("FK5 J2000")
    assert "meta.main" in layer.metadata["catalog_choices"]["sky"]
    truth = SkyCoord([150.1, 150.11], [2.2, 2.21], unit="deg", frame=FK5(equinox="J2000"))
    x, y = wcs.world_to_pixel(truth)
    np.testing.assert_allclose(layer.data, np.column_stack([y, x]), atol=1e-3)
    # the user says the numbers are ICRS: the dock and the new layer follow
    widget.frame_box.setCurrentText("icrs")
    assert "ICRS (given)" in widget.status.text()
    icrs_layer = widget.overlay()
    x, y = wcs.world_to_pixel_values([150.1, 150.11], [2.2, 2.21])
    np.testing.assert_allclose(icrs_layer.data, np.column_stack([y, x]), atol=1e-3)
    assert np.abs(icrs_layer.data - layer.data).max() > 5e-3  # FK5 is not ICRS: 20 mas


# -- big catalogs: a worker, a progress bar, Cancel ---------------------------------------


def _big_csv(path, n: int):
    import pandas as pd

    rng = np.random.default_rng(3)
    pd.DataFrame(
        {
            "ra": rng.uniform(0, 360, n),
            "dec": rng.uniform(-90, 90, n),
            "mag": rng.uniform(15, 25, n),
        }
    ).to_csv(path, index=False)
    return path


def test_a_million_row_catalog_loads_in_a_worker_with_a_progress_bar(dock, qtbot, tmp_path):
    from napari.utils import progress
    from qtpy.QtCore import QTimer

    viewer, widget = dock
    path = _big_csv(tmp_path / "big.csv", 1_000_000)
    assert path.stat().st_size >= widget.worker_bytes
    seen: list[tuple[bool, int]] = []  # (loading?, the bar's count) at each timer tick
    timer = QTimer()
    timer.timeout.connect(lambda: seen.append((widget.worker is not None, bar.n)))
    assert widget.read(path)  # returns at once: the worker reads
    bar = widget.worker.pbar
    assert isinstance(bar, progress) and bar.total == 100 and bar.desc == "Reading big.csv"
    assert not widget.cancel_button.isHidden() and widget.status.text() == "Reading big.csv…"
    timer.start(1)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=600_000)
    timer.stop()
    # the event loop served the timer while the worker read, and saw the bar move
    while_loading = [n for loading, n in seen if loading]
    assert len(while_loading) >= 3
    assert len(set(while_loading)) >= 3
    assert bar.n == 100
    assert len(widget.catalog) == 1_000_000
    assert widget.status.text().startswith("big: 1,000,000 rows. RA/Dec from columns ra, dec")
    assert widget.cancel_button.isHidden() and widget.overlay_button.isEnabled()
    assert (widget.ra_box.currentText(), widget.dec_box.currentText()) == ("ra", "dec")
    add_image(viewer, T0000)  # and the million rows overlay as any catalog does
    layer = widget.overlay()
    assert layer in viewer.layers and len(layer.metadata["catalog"]) == 1_000_000


def test_a_load_can_be_cancelled_and_errors_reach_the_status_line(dock, qtbot, tmp_path):
    _, widget = dock
    widget.worker_bytes = 0  # every file through the worker
    path = _big_csv(tmp_path / "cancel.csv", 200_000)
    widget.read(path)
    widget.cancel_button.click()
    qtbot.waitUntil(lambda: widget.worker is None, timeout=300_000)
    assert widget.table is None and widget.catalog is None
    assert widget.status.text() == "Reading cancel.csv was cancelled; nothing was loaded."
    assert not widget.overlay_button.isEnabled()

    junk = tmp_path / "junk.dat"
    junk.write_bytes(b"ra dec\n1 2 3 4\n\x00\x01 zz\n")
    widget.read(junk)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=300_000)
    assert widget.status.text().startswith(f"{junk}: cannot be read as")
    assert "format=" in widget.status.text() and widget.table is None

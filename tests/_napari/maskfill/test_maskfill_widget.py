"""The maskfill dock in a real napari window (under Xvfb): menu, layers, thread, errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from qtpy.QtWidgets import QMenu

from conftest import tan_header
from napari_imagemarker._napari.maskfill import widget as maskfill_widget
from napari_imagemarker._napari.maskfill.widget import (
    ALL_PLANES,
    CURRENT_PLANE,
    NAN_PIXELS,
    MaskfillWidget,
)
from napari_imagemarker.maskfill import maskfill
from napari_imagemarker.maskfill.grow import grow_mask

PLUGIN = "napari-imagemarker"
WIDGET = "Fill masked pixels with maskfill"
M51 = Path(__file__).parents[2] / "data" / "maskfill"  # the reference's example


@pytest.fixture
def viewer(make_napari_viewer):
    return make_napari_viewer()


@pytest.fixture
def widget(viewer) -> MaskfillWidget:
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, WIDGET)
    return widget


def _run(qtbot, widget, **values):
    worker = widget(**values)
    assert worker is not None, "the widget refused the input"
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60000)  # the thread has finished
    assert not worker.is_running
    return worker


def _field(viewer, tmp_path, shape=(120, 150), seed=0):
    """A FITS image with a rotated TAN WCS, opened through the plugin's reader."""
    data = np.random.default_rng(seed).normal(100, 5, shape).astype(np.float32)
    header = tan_header()
    header["OBJECT"] = "test field"
    path = tmp_path / "field.fits"
    fits.PrimaryHDU(data, header=header).writeto(path)
    [layer] = viewer.open(str(path), plugin=PLUGIN)
    return layer


def _labels(viewer, shape, boxes, value=1, name="mask"):
    labels = np.zeros(shape, dtype=np.uint8)
    for r0, r1, c0, c1 in boxes:
        labels[..., r0:r1, c0:c1] = value
    return viewer.add_labels(labels, name=name)


def _menu_actions(menu: QMenu, path=()) -> dict[tuple[str, ...], object]:
    found = {}
    for action in menu.actions():
        text = action.text().replace("&", "")
        if action.menu() is not None:
            found.update(_menu_actions(action.menu(), (*path, text)))
        elif text:
            found[(*path, text)] = action
    return found


def test_layers_filter_menu_opens_the_dock(viewer):
    menubar = viewer.window._qt_window.menuBar()
    actions = {}
    for top in menubar.actions():
        if top.menu() is not None:
            actions.update(_menu_actions(top.menu(), (top.text().replace("&", ""),)))
    key = ("Layers", "Filter", "Fill masked pixels with maskfill (Image Marker)")
    assert key in actions, sorted(k for k in actions if k[0] == "Layers")
    actions[key].trigger()
    docks = viewer.window.dock_widgets
    assert any(isinstance(w, MaskfillWidget) for w in docks.values()), list(docks)


def test_fills_m51_from_labels_like_the_library(qtbot, viewer, widget):
    [image] = viewer.open(str(M51 / "m51_with_cosmicrays.fits"), plugin=PLUGIN)
    mask = fits.getdata(M51 / "m51_mask.fits")
    labels = viewer.add_labels(mask.astype(np.uint8), name="cosmic rays")
    image.scale, image.translate = (2.0, 2.0), (5.0, -3.0)
    labels.scale, labels.translate = image.scale, image.translate
    image.contrast_limits = (10.0, 400.0)

    worker = _run(qtbot, widget, image=image, mask=labels)

    assert not worker.is_running
    out = viewer.layers[f"{image.name} maskfilled"]
    expected, _ = maskfill(np.asarray(image.data), mask)
    np.testing.assert_array_equal(out.data, expected)
    assert not np.isnan(out.data).any()
    changed = out.data != image.data
    assert changed.any() and not changed[mask == 0].any()  # only masked pixels change
    np.testing.assert_array_equal(out.scale, image.scale)
    np.testing.assert_array_equal(out.translate, image.translate)
    assert tuple(out.contrast_limits) == (10.0, 400.0)
    assert out.colormap.name == image.colormap.name
    assert out.metadata["path"] == image.metadata["path"]
    assert out.metadata["header"]["OBJECT"] == image.metadata["header"]["OBJECT"]
    assert "maskfill" in str(out.metadata["header"]["HISTORY"])
    np.testing.assert_array_equal(out.metadata["mask"], mask != 0)
    assert out.metadata["maskfill"]["mask"] == "cosmic rays"
    assert viewer.layers.selection.active is out
    assert widget.status.value == f"added '{out.name}'"


def test_wcs_header_kept_and_rerun_replaces_the_layer(qtbot, viewer, widget, tmp_path):
    image = _field(viewer, tmp_path)
    labels = _labels(viewer, image.data.shape, [(40, 48, 50, 70)])
    _run(qtbot, widget, image=image, mask=labels, size=5, operator="mean")
    _run(qtbot, widget, image=image, mask=labels, size=3)

    names = [layer.name for layer in viewer.layers]
    assert names.count("field.fits [0] maskfilled") == 1, names
    out = viewer.layers["field.fits [0] maskfilled"]
    assert out.metadata["maskfill"]["size"] == 3
    wcs = out.metadata["wcs"]
    assert isinstance(wcs, WCS)
    sky = wcs.pixel_to_world(60, 44)
    expected = WCS(tan_header()).pixel_to_world(60, 44)
    assert sky.separation(expected).arcsec < 1e-9


def test_label_subset_and_unsmoothed_layer(qtbot, viewer, widget, tmp_path):
    image = _field(viewer, tmp_path)
    labels_data = np.zeros(image.data.shape, dtype=np.int32)
    labels_data[10:20, 10:20] = 1
    labels_data[60:70, 60:70] = 2
    labels = viewer.add_labels(labels_data, name="dq")
    _run(qtbot, widget, image=image, mask=labels, label_values="2", keep_unsmoothed=True)

    out = viewer.layers["field.fits [0] maskfilled"]
    raw = viewer.layers["field.fits [0] maskfilled (unsmoothed)"]
    filled, unsmoothed = maskfill(np.asarray(image.data), labels_data == 2)
    np.testing.assert_array_equal(out.data, filled)
    np.testing.assert_array_equal(raw.data, unsmoothed)
    np.testing.assert_array_equal(out.metadata["unsmoothed"], unsmoothed)
    np.testing.assert_array_equal(out.data[10:20, 10:20], image.data[10:20, 10:20])


def test_shapes_mask_is_rasterised_on_the_image_grid(qtbot, viewer, widget, tmp_path):
    image = _field(viewer, tmp_path)
    image.scale = (2.0, 2.0)
    # a rectangle drawn in world coordinates over rows 30-39, columns 20-49 of the image
    shapes = viewer.add_shapes(
        [np.array([[59.5, 39.5], [59.5, 99.5], [79.5, 99.5], [79.5, 39.5]])],
        shape_type="rectangle",
        name="box",
    )
    _run(qtbot, widget, image=image, mask=shapes)

    used = viewer.layers["field.fits [0] maskfilled"].metadata["mask"]
    rows, cols = np.nonzero(used)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (30, 39, 20, 49)


def test_boolean_image_layer_as_mask_grown_by_two_pixels(qtbot, viewer, widget, tmp_path):
    """A mask as users often have it: a boolean array (from a detection, a threshold),
    shown as an Image layer, grown a little to cover the faint wings."""
    image = _field(viewer, tmp_path)
    flags = np.zeros(image.data.shape, bool)
    flags[40:43, 30:70] = True  # a satellite trail
    flags[90, 100] = True  # a hot pixel
    mask_layer = viewer.add_image(flags, name="trail mask")
    viewer.add_image(np.zeros(image.data.shape, np.float32), name="not a mask")
    offered = [c if isinstance(c, str) else c.name for c in widget.mask.choices]
    assert "trail mask" in offered and "not a mask" not in offered

    _run(qtbot, widget, image=image, mask=mask_layer, grow=2)

    out = viewer.layers["field.fits [0] maskfilled"]
    grown = grow_mask(flags, 2)
    np.testing.assert_array_equal(out.metadata["mask"], grown)
    assert grown.sum() > flags.sum() and out.metadata["maskfill"]["grow"] == 2
    np.testing.assert_array_equal(out.data, maskfill(np.asarray(image.data), flags, grow=2)[0])
    assert "grow=2" in str(out.metadata["header"]["HISTORY"])
    changed = out.data != image.data
    assert changed[grown & ~flags].any() and not changed[~grown].any()


def test_shapes_mask_grown(qtbot, viewer, widget, tmp_path):
    image = _field(viewer, tmp_path)
    shapes = viewer.add_shapes(
        [np.array([[30, 20], [30, 50], [39, 50], [39, 20]])], shape_type="rectangle"
    )
    _run(qtbot, widget, image=image, mask=shapes, grow=3)
    used = viewer.layers["field.fits [0] maskfilled"].metadata["mask"]
    rows, cols = np.nonzero(used)
    assert (rows.min(), rows.max(), cols.min(), cols.max()) == (27, 42, 17, 53)


def test_nan_pixels_of_the_image(qtbot, viewer, widget):
    data = np.random.default_rng(2).normal(size=(80, 90)).astype(np.float64)
    data[30:33, 40:50] = np.nan
    image = viewer.add_image(data, name="holes")
    _run(qtbot, widget, image=image, mask=NAN_PIXELS)
    out = viewer.layers["holes maskfilled"]
    np.testing.assert_array_equal(out.data, maskfill(data, np.zeros(data.shape))[0])
    assert not np.isnan(out.data).any()


def test_cube_current_plane_and_all_planes(qtbot, viewer, widget):
    cube = np.random.default_rng(3).normal(size=(4, 50, 60)).astype(np.float32)
    image = viewer.add_image(cube, name="cube")
    labels = _labels(viewer, (50, 60), [(20, 25, 30, 40)])
    viewer.dims.set_current_step(0, 2)

    _run(qtbot, widget, image=image, mask=labels, planes=CURRENT_PLANE)
    out = viewer.layers["cube maskfilled"]
    assert out.data.shape == (1, 50, 60)
    assert out.translate[0] == 2.0  # shown at plane 2, where it was filled
    np.testing.assert_array_equal(out.data[0], maskfill(cube[2], labels.data)[0])

    _run(qtbot, widget, image=image, mask=labels, planes=ALL_PLANES)
    out = viewer.layers["cube maskfilled"]
    np.testing.assert_array_equal(out.data, maskfill(cube, labels.data)[0])


def test_rgb_is_filled_per_channel(qtbot, viewer, widget):
    rgb = np.random.default_rng(4).integers(0, 255, (40, 50, 3), dtype=np.uint8)
    image = viewer.add_image(rgb, name="colour", rgb=True)
    labels = _labels(viewer, (40, 50), [(10, 14, 10, 30)])
    _run(qtbot, widget, image=image, mask=labels)
    out = viewer.layers["colour maskfilled"]
    assert out.rgb and out.data.dtype == np.uint8 and out.data.shape == rgb.shape
    for channel in range(3):
        filled = maskfill(rgb[..., channel], labels.data)[0]
        np.testing.assert_array_equal(out.data[..., channel], np.round(filled))


def test_preview_fills_the_visible_region_only(qtbot, make_napari_viewer, tmp_path):
    viewer = make_napari_viewer(show=True)  # the visible region needs a real canvas
    viewer.window._qt_window.resize(900, 700)
    _, widget = viewer.window.add_plugin_dock_widget(PLUGIN, WIDGET)
    image = _field(viewer, tmp_path, shape=(400, 400))
    labels = _labels(viewer, (400, 400), [(195, 200, 190, 215), (20, 25, 20, 30)])
    viewer.reset_view()
    viewer.scene.camera.center = (0, 200, 200)
    viewer.scene.camera.zoom *= 4
    qtbot.waitUntil(lambda: np.ptp(image.corner_pixels[:, -1]) < 300)

    worker = widget.preview(image=image, mask=labels)
    assert worker is not None
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60000)

    preview = viewer.layers["field.fits [0] maskfill preview"]
    rows, cols = preview.metadata["region"]
    assert rows.start > 0 and cols.start > 0 and rows.stop < 400 and cols.stop < 400
    assert preview.metadata["exact"]
    full, _ = maskfill(np.asarray(image.data), labels.data)
    np.testing.assert_array_equal(preview.data, full[rows, cols])
    np.testing.assert_array_equal(
        preview.translate, image.translate + np.array([rows.start, cols.start])
    )

    _run(qtbot, widget, image=image, mask=labels)
    names = [layer.name for layer in viewer.layers]
    assert "field.fits [0] maskfill preview" not in names  # the real result replaces it


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("shape", "the shapes do not match: mask 'small' is (30, 30), image 'img' is (40, 50)"),
        ("empty", "nothing to fill: 'empty' marks no pixel of img"),
        ("all", "nothing valid to fill from: every pixel of img is masked or NaN"),
        ("size", "size must be an odd number >= 3, not 4"),
        ("labels", "cannot read the label values 'one'"),
    ],
)
def test_bad_input_is_a_notification_and_adds_nothing(
    viewer, widget, notifications, case, message
):
    image = viewer.add_image(np.ones((40, 50), dtype=np.float32), name="img")
    masks = {
        "shape": viewer.add_labels(np.ones((30, 30), dtype=np.uint8), name="small"),
        "empty": viewer.add_labels(np.zeros((40, 50), dtype=np.uint8), name="empty"),
        "all": viewer.add_labels(np.ones((40, 50), dtype=np.uint8), name="all"),
    }
    mask = masks.get(case, masks["all"] if case != "labels" else masks["empty"])
    values = {"size": 4} if case == "size" else {}
    if case == "labels":
        values["label_values"] = "one"
    n_layers = len(viewer.layers)

    assert widget(image=image, mask=mask, **values) is None

    assert any(message in str(n.message) for n in notifications), [
        str(n.message) for n in notifications
    ]
    assert len(viewer.layers) == n_layers


def test_a_refused_fill_after_a_good_one_does_not_show_the_old_result(
    qtbot, viewer, widget, tmp_path, notifications
):
    """Fill, then press again with an empty mask: the status no longer says "added ...",
    which would read as if the refused fill had added a layer."""
    image = _field(viewer, tmp_path)
    labels = _labels(viewer, image.data.shape, [(40, 48, 50, 70)])
    _run(qtbot, widget, image=image, mask=labels)
    assert widget.status.value.startswith("added ")
    empty = viewer.add_labels(np.zeros(image.data.shape, np.uint8), name="empty")
    n_layers = len(viewer.layers)
    assert widget(image=image, mask=empty) is None
    assert widget.status.value == "not filled: see the message"
    assert any("nothing to fill" in str(n.message) for n in notifications)
    assert len(viewer.layers) == n_layers


def test_an_image_closed_while_it_is_filled_gets_no_result(qtbot, viewer, widget, tmp_path):
    """Press the button, then close the image before the fill ends: no result layer
    appears for an image that is gone, and the status says why."""
    image = _field(viewer, tmp_path)
    labels = _labels(viewer, image.data.shape, [(40, 48, 50, 70)])
    worker = widget(image=image, mask=labels)
    assert worker is not None
    viewer.layers.remove(image)
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60000)
    assert [layer.name for layer in viewer.layers] == ["mask"]
    assert widget.status.value == f"not added: '{image.name}' was closed while being filled"


def test_failure_in_the_thread_is_a_notification(qtbot, viewer, widget, notifications):
    data = np.ones((30, 30))
    data[:, :15], data[:, 15:] = np.inf, -np.inf  # the mean of +inf and -inf is NaN
    image = viewer.add_image(data, name="infinite", contrast_limits=(0, 1))
    labels = _labels(viewer, (30, 30), [(14, 16, 14, 16)])
    _run(qtbot, widget, image=image, mask=labels, operator="mean")
    messages = [str(n.message) for n in notifications]
    assert any(m.startswith("maskfill: ") and "can never be filled" in m for m in messages), (
        messages
    )
    assert "infinite maskfilled" not in [layer.name for layer in viewer.layers]
    assert widget.run_button.enabled


def test_cancel_adds_nothing(qtbot, viewer, widget, notifications):
    data = np.random.default_rng(5).normal(size=(600, 600)).astype(np.float32)
    image = viewer.add_image(data, name="big")
    labels = _labels(viewer, data.shape, [(100, 500, 100, 500)])
    worker = widget(image=image, mask=labels)
    widget.cancel_button.native.click()  # as a person would, right after starting
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60000)
    assert worker.abort_requested
    assert "big maskfilled" not in [layer.name for layer in viewer.layers]
    assert any("cancelled" in str(n.message) for n in notifications)
    assert widget.status.value == "cancelled"


def test_gui_stays_responsive_while_filling(qtbot, viewer, widget, monkeypatch):
    """The fill runs in a thread: while it is still working, the event loop serves an event
    queued after it started. A fill on the main thread would hold the loop until it ended
    (here it would wait in vain for that event, and fail)."""
    import threading

    from qtpy.QtCore import QTimer

    compute = maskfill_widget._compute
    started, served = threading.Event(), threading.Event()

    def compute_after_the_loop_served(*args):
        started.set()
        assert served.wait(30), "the event loop served nothing while the fill was running"
        return compute(*args)

    monkeypatch.setattr(maskfill_widget, "_compute", compute_after_the_loop_served)
    rng = np.random.default_rng(6)
    data = rng.normal(size=(300, 300)).astype(np.float32)
    mask = np.zeros(data.shape, dtype=np.uint8)
    mask[100:140, 100:140] = 1
    image = viewer.add_image(data, name="large")
    labels = viewer.add_labels(mask, name="m")
    worker = widget(image=image, mask=labels)
    qtbot.waitUntil(started.is_set, timeout=30000)
    running_when_served = []
    QTimer.singleShot(0, lambda: (running_when_served.append(widget.worker), served.set()))
    qtbot.waitUntil(lambda: widget.worker is None, timeout=60000)

    assert running_when_served == [worker] and worker is not None
    assert "large maskfilled" in [layer.name for layer in viewer.layers]


def test_writer_saves_the_command_line_layout(qtbot, viewer, widget, tmp_path):
    image = _field(viewer, tmp_path)
    labels = _labels(viewer, image.data.shape, [(40, 48, 50, 70)])
    _run(qtbot, widget, image=image, mask=labels, keep_unsmoothed=True)
    out = viewer.layers["field.fits [0] maskfilled"]
    path = tmp_path / "filled.fits"

    viewer.layers.selection = {out}
    written = viewer.layers.save(str(path), selected=True, plugin=PLUGIN)

    assert [Path(p) for p in written] == [path]
    with fits.open(path) as hdul:
        assert [h.name for h in hdul] == ["PRIMARY", "UNSMOOTHED", "MASK"]
        np.testing.assert_array_equal(hdul[0].data, out.data)
        np.testing.assert_array_equal(hdul[1].data, out.metadata["unsmoothed"])
        np.testing.assert_array_equal(hdul[2].data, (labels.data != 0).astype(np.uint8))
        header = hdul[0].header
        assert header["OBJECT"] == "test field"
        assert header["EXT0"] == "Filled Smoothed Image"
        assert header["EXT1"] == "Filled Image (no smoothing)"
        assert header["EXT2"].startswith("Mask")
        sky = WCS(header).pixel_to_world(60, 44)
        assert sky.separation(WCS(tan_header()).pixel_to_world(60, 44)).arcsec < 1e-9


def test_writer_saves_any_image_layer_with_its_wcs(viewer, tmp_path):
    image = _field(viewer, tmp_path)
    path = tmp_path / "copy.fits"
    viewer.layers.selection = {image}
    viewer.layers.save(str(path), selected=True, plugin=PLUGIN)
    with fits.open(path) as hdul:
        assert len(hdul) == 1
        np.testing.assert_array_equal(hdul[0].data, image.data)
        assert hdul[0].header["OBJECT"] == "test field"
        assert WCS(hdul[0].header).wcs.ctype[0] == "RA---TAN"


def test_writer_fsyncs_the_file_before_renaming_it(tmp_path, durable_writes):
    """A power cut after the rename must not leave an empty file under the final name."""
    from napari_imagemarker._napari.writer import write_fits

    path = tmp_path / "copy.fits"
    assert write_fits(str(path), np.ones((4, 5), np.float32), {"metadata": {}}) == [str(path)]

    durable_writes.assert_durable(path)
    np.testing.assert_array_equal(fits.getdata(path), np.ones((4, 5), np.float32))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.fits"]


def test_the_widget_does_not_import_the_dask_batch():
    """The preview needs the tiler only; the batch module (and dask.distributed) stay out."""
    code = (
        "import sys, napari_imagemarker._napari.maskfill.widget as w; "
        "print(sorted(m for m in ('napari_imagemarker.maskfill.batch', 'distributed') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"

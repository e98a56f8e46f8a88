"""Next-image latency of the marking dock in a real napari window, with napari's own floor
and Image Marker's next-image path emulated beside it in the same run.

Latency is measured from the key press until the new image has been drawn on the canvas:
the key is sent to the canvas widget with ``QTest.keyClick`` (the same Qt event a keyboard
produces; the handler runs inside it), then Qt events are processed until the canvas has
drawn (the end of vispy's draw event for ours, of the view's paint event for Image Marker).

* Ours: ``open_session`` over N 512x512 RGB TIFFs (JPEG, STIFF FITS cards in tag 270, made by
  ``bench_session.make_tiffs``), window 1300x820 with the dock, the → key (next image).
  Before each press the script waits ``--dwell`` seconds, as a person looks at each image;
  the background prefetch of the next image finishes within that time. Also printed: the
  key handler's own time (until the press returns), and napari's floor in the same window:
  a bare Image layer whose ``data`` is set to the next, already read, image.
* Image Marker 1.2 (emulated with the calls it makes on "next"): save, i.e. rewrite its marks,
  images and favourites files from scratch with every mark's RA/Dec (``bench_session.
  imgmarker_save``; 2 marks per image seen), then ``Image.open`` + ``seek(0)`` of the next
  image, ``ImageQt`` → ``QPixmap`` on a ``QGraphicsPixmapItem``, and the view repaints.

``--no-mirror`` opens the session without Image Marker's files, to show what their
background rewrite costs the presses that happen while it runs.

Run under a virtual display (numbers are noisy on a shared machine: run it alone)::

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/bench_dock.py \
        [--images 300] [--dwell 0.1] [--no-mirror]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_session import imgmarker_save, make_tiffs


def _pump(app, until, timeout=5.0):
    end = time.perf_counter() + timeout
    while not until():
        app.processEvents()
        if time.perf_counter() > end:
            raise TimeoutError("the canvas did not draw")


def _settle(app, seconds):
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.002)


def ours(
    folder: Path, n: int, dwell: float, mirror: bool = True
) -> tuple[list[float], list[float], list[float]]:
    """Key press -> canvas drawn with the dock; the key handler's own time; and napari's floor
    in the same window: a bare Image layer whose data is set to the next (already read)
    image, with nothing else done."""
    import napari
    from qtpy.QtCore import Qt
    from qtpy.QtTest import QTest

    from napari_imagemarker import open_session, read_frame
    from napari_imagemarker._napari.marking.binding import binding_for

    viewer = napari.Viewer(title="bench_dock")
    viewer.window._qt_window.resize(1300, 820)
    app = napari.qt.get_qapp()
    _settle(app, 0.5)
    paths = sorted(folder.glob("*.tif"))[:n]
    with tempfile.TemporaryDirectory() as save_dir:
        session = open_session(
            viewer, [str(p) for p in paths], save_dir, user="bench", mirror=mirror
        )
        binding = binding_for(viewer)
        canvas = viewer.window._qt_viewer.canvas
        widget = canvas.native
        drawn: list[float] = []
        canvas._scene_canvas.events.draw.connect(
            lambda event: drawn.append(time.perf_counter()), position="last"
        )
        widget.setFocus()
        _settle(app, 0.5)
        latencies, handler = [], []
        for i in range(n - 1):
            binding.prefetcher.wait()
            _settle(app, dwell)
            drawn.clear()
            start = time.perf_counter()
            QTest.keyClick(widget, Qt.Key.Key_Right)
            handler.append(time.perf_counter() - start)
            _pump(app, lambda: drawn)
            latencies.append(drawn[0] - start)
            assert session.current.index == i + 1, "the key did not move to the next image"
        dock = viewer.window.dock_widgets["Image Marker (napari-imagemarker)"]
        dock.close_session()
        _settle(app, 0.2)
        arrays = [read_frame(p)[0] for p in paths[:20]]
        layer = viewer.add_image(arrays[0], rgb=True)
        _settle(app, 0.5)
        floor = []
        for i in range(1, 100):
            _settle(app, dwell)
            drawn.clear()
            start = time.perf_counter()
            layer.data = arrays[i % len(arrays)]
            _pump(app, lambda: drawn)
            floor.append(drawn[0] - start)
        viewer.close()
    return latencies, handler, floor


def imgmarker(folder: Path, n: int, dwell: float) -> list[float]:
    from astropy.io import fits
    from astropy.wcs import WCS
    from PIL import Image, ImageQt
    from qtpy.QtCore import QEvent, QObject, Qt
    from qtpy.QtGui import QPixmap
    from qtpy.QtTest import QTest
    from qtpy.QtWidgets import QApplication, QGraphicsPixmapItem, QGraphicsScene, QGraphicsView

    app = QApplication.instance()
    paths = sorted(folder.glob("*.tif"))[:n]
    names = [p.name for p in paths]
    wcs = {}
    for p in paths:  # Image Marker reads every header when it opens the folder
        with Image.open(p) as f:
            wcs[p.name] = WCS(fits.Header.fromstring(f.tag_v2[270]))
    scene = QGraphicsScene()
    item = QGraphicsPixmapItem()
    scene.addItem(item)
    view = QGraphicsView(scene)
    view.resize(1300, 820)
    view.show()
    painted: list[float] = []

    class PaintWatch(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.Paint:
                app.sendPostedEvents()
                painted.append(time.perf_counter())
            return False

    watch = PaintWatch()
    view.viewport().installEventFilter(watch)
    state = {"i": 0, "image": None}
    marks: dict[str, list] = {}

    def show(i):
        if state["image"] is not None:
            state["image"].close()
        image = Image.open(paths[i])
        image.seek(0)
        item.setPixmap(QPixmap.fromImage(ImageQt.ImageQt(image.convert("RGBA"))))
        state["image"] = image

    class Keys(QObject):
        def eventFilter(self, obj, event):
            if event.type() == QEvent.Type.KeyPress and event.key() == Qt.Key.Key_Right:
                i = state["i"]
                marks[names[i]] = [(100, 50, 1), (300, 200, 2)]
                with tempfile.TemporaryDirectory() as d:  # its save(): every file rewritten
                    imgmarker_save(Path(d), names[: i + 1], marks, wcs)
                state["i"] = i + 1
                show(i + 1)
                return True
            return False

    keys = Keys()
    view.installEventFilter(keys)
    show(0)
    _settle(app, 0.5)
    latencies = []
    for _ in range(n - 1):
        _settle(app, dwell)
        painted.clear()
        start = time.perf_counter()
        QTest.keyClick(view, Qt.Key.Key_Right)
        view.viewport().update()
        _pump(app, lambda: painted)
        latencies.append(painted[-1] - start)
    view.close()
    return latencies


def _ms(values, q):
    return float(np.percentile(np.asarray(values) * 1e3, q))


def report(name: str, latencies: list[float]) -> dict[str, float]:
    first, last = latencies[:50], latencies[-50:]  # flat from the first images to the last?
    stats = {
        "p50": _ms(latencies, 50),
        "p95": _ms(latencies, 95),
        "first50_p50": _ms(first, 50),
        "last50_p50": _ms(last, 50),
        "last50_p95": _ms(last, 95),
    }
    print(
        f"{name:<28} p50 {stats['p50']:6.1f} ms   p95 {stats['p95']:6.1f} ms   "
        f"images 1-50 p50 {stats['first50_p50']:6.1f} ms   last 50 p50 "
        f"{stats['last50_p50']:6.1f} ms, p95 {stats['last50_p95']:6.1f} ms",
        flush=True,
    )
    return stats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=300)
    parser.add_argument("--dwell", type=float, default=0.1, help="seconds on each image")
    parser.add_argument(
        "--no-mirror",
        action="store_true",
        help="do not keep Image Marker's files current (the session's background rewrite)",
    )
    args = parser.parse_args()
    folder = make_tiffs(max(args.images, 300))
    print(
        f"next-image latency, key press -> canvas drawn, {args.images} images of 512x512 RGB "
        f"(JPEG TIFF), dwell {args.dwell * 1e3:.0f} ms"
        f"{', no Image Marker files' if args.no_mirror else ''}; Python {platform.python_version()}, "
        f"{platform.machine()}",
        flush=True,
    )
    import napari

    mine, handler, floor = ours(folder, args.images, args.dwell, mirror=not args.no_mirror)
    theirs = imgmarker(folder, args.images, args.dwell)
    print()
    a = report("napari-imagemarker dock", mine)
    report("  of which the key handler", handler)
    report("  napari floor (bare layer)", floor)
    b = report("Image Marker 1.2 (emulated)", theirs)
    print(
        f"ratio Image Marker / ours: p50 {b['p50'] / a['p50']:.1f}x, p95 "
        f"{b['p95'] / a['p95']:.1f}x; ours / napari floor: p50 "
        f"{a['p50'] / (statistics.median(floor) * 1e3):.1f}x; targets p50 <= 10 ms, p95 <= 30 ms: "
        f"{'met' if a['p50'] <= 10 and a['p95'] <= 30 else 'NOT met'}; napari {napari.__version__}"
    )


if __name__ == "__main__":
    main()

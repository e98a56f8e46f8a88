"""Responsiveness of napari while the maskfill widget fills a 4096 x 4096 image.

A timer asks the event loop for a tick every 10 ms and pans the camera a little each time,
as a person looking around would; the gaps between ticks are how long the window stays
frozen.  Measured idle (the redraws alone), while the widget fills in its thread worker and
adds the result, and, for comparison, while the same fill runs on the main thread (what a
plain function call from a button would do).

Run under a virtual display::

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/bench_maskfill_widget.py
"""

from __future__ import annotations

import os
import platform
import time

import numpy as np
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import QApplication

N = 4096


def stress(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A noisy 4096 x 4096 float32 image; 8000 streaks of 1-20 px and 200 discs masked."""
    rng = np.random.default_rng(seed)
    image = rng.normal(100, 10, (N, N)).astype(np.float32)
    mask = np.zeros((N, N), dtype=np.uint8)
    for _ in range(8000):
        r, c, length = rng.integers(0, N), rng.integers(0, N), rng.integers(1, 20)
        if rng.random() < 0.5:
            mask[r, c : c + length] = 1
        else:
            mask[r : r + length, c] = 1
    for _ in range(200):
        r, c, radius = rng.integers(0, N), rng.integers(0, N), rng.integers(5, 40)
        mask[max(r - radius, 0) : r + radius, max(c - radius, 0) : c + radius] = 1
    return image, mask


class Ticker:
    """Ticks every 10 ms, pans the camera a little, and records the gaps."""

    def __init__(self, camera) -> None:
        self.camera = camera
        self.times: list[float] = []
        self.timer = QTimer()
        self.timer.timeout.connect(self.tick)

    def tick(self) -> None:
        self.times.append(time.perf_counter())
        center = list(self.camera.center)
        center[-1] += 1.0 if len(self.times) % 2 else -1.0
        self.camera.center = tuple(center)

    def __enter__(self) -> Ticker:
        self.times = [time.perf_counter()]
        self.timer.start(10)
        return self

    def __exit__(self, *exc) -> None:
        self.timer.stop()
        self.times.append(time.perf_counter())

    def report(self, label: str) -> float:
        return self.report_times(self.times, label)

    @staticmethod
    def report_times(times: list[float], label: str) -> float:
        gaps = np.diff(times) * 1000
        print(f"{label}: {times[-1] - times[0]:.2f} s, {len(gaps)} ticks, gap "
              f"median {np.median(gaps):.0f} ms, 95% {np.percentile(gaps, 95):.0f} ms, "
              f"max {gaps.max():.0f} ms")  # fmt: skip
        return float(gaps.max())


def main() -> None:
    import napari

    from napari_imagemarker._napari.maskfill.widget import MaskfillWidget
    from napari_imagemarker.maskfill import maskfill

    print(f"{platform.node()}: {os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}, "
          f"napari {napari.__version__}")  # fmt: skip
    image, mask = stress()
    print(f"{N} x {N} float32, {int(mask.sum())} masked pixels")
    viewer = napari.Viewer()
    viewer.window._qt_window.resize(1300, 820)
    widget = MaskfillWidget(viewer)
    viewer.window.add_dock_widget(widget)
    layer = viewer.add_image(image, name="stress")
    labels = viewer.add_labels(mask, name="mask")
    for _ in range(20):
        QApplication.processEvents()
        time.sleep(0.02)
    cam = viewer.scene.camera

    with Ticker(cam) as idle:  # the cost of the panning itself: redraws of two 4k layers
        end = time.perf_counter() + 2.0
        while time.perf_counter() < end:
            QApplication.processEvents()
            time.sleep(0.001)
    idle.report("idle, panning only")

    returned: list[float] = []
    with Ticker(cam) as threaded:
        worker = widget(image=layer, mask=labels)
        worker.returned.connect(lambda _: returned.append(time.perf_counter()))
        while widget.worker is not None:
            QApplication.processEvents()
            time.sleep(0.001)
        for _ in range(30):  # until the new layer has been drawn
            QApplication.processEvents()
            time.sleep(0.01)
    filling = [t for t in threaded.times if t <= returned[0]]
    showing = [t for t in threaded.times if t >= filling[-1]]
    worst_threaded = threaded.report("widget, whole run")
    Ticker.report_times(filling, "  while the thread fills")
    Ticker.report_times(showing, "  while napari adds and draws the 4k x 4k result")
    assert "stress maskfilled" in [lay.name for lay in viewer.layers]

    with Ticker(cam) as blocking:
        QTimer.singleShot(50, lambda: maskfill(image, mask))  # on the main thread
        end = time.perf_counter() + 0.1
        while time.perf_counter() < end or len(blocking.times) < 3:
            QApplication.processEvents()
            time.sleep(0.001)
        for _ in range(10):
            QApplication.processEvents()
            time.sleep(0.01)
    worst_blocking = blocking.report("same fill on the main thread")
    print(
        f"ratio of the longest freeze, main thread / widget: {worst_blocking / worst_threaded:.1f}"
    )
    viewer.close()


if __name__ == "__main__":
    main()

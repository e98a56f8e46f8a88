"""Benchmark: re-stretch and re-blur a 4096 x 4096 image and an SPT cutout (display dock).

Run: ``.venv/bin/python benchmarks/bench_display.py`` (no window needed; add
``--window`` under ``xvfb-run -a`` to also time the first redraw on a real canvas).

What a person waits for when dragging a control of the Display dock:

* **grey 4096^2 float32** (a 16.8-megapixel image with 1% NaN): our re-stretch computes
  the limits on a sample and a 1024-entry table that becomes the colormap (napari maps the
  raw texture on the GPU); our re-blur only gives the GPU a new Gaussian kernel, which it
  samples NaN-aware (``--window`` times that redraw against vispy's own sampler, which
  lets NaN spread). The
  competitor is what a display-copy implementation recomputes on every change: astropy's
  ``ImageNormalize(data, interval, stretch)`` over the whole array, and a NaN-aware
  Gaussian blur of the whole array on the CPU (``display.gaussian_blur``, the same scipy
  calls as ours for RGB).
* **SPT cutout** (2 pages x 512 x 512 x RGB uint8, the real file): our display copy is
  rebuilt from cached scaled channels: a new stretch is one table look-up per pixel; the
  blur is the GPU kernel, as for grey images. Only float RGB with NaN is blurred in the
  copy, on the CPU and NaN-aware (timed too). The competitor is Image Marker's way: PIL's
  ``GaussianBlur`` on the 8-bit picture, and astropy's ``ImageNormalize`` per channel.
* **RGB 4096^2** (synthetic): the same display copy at the size of a large colour mosaic.

Times are the best of ``--repeat`` runs, ours and the competitor's alternating, in one
process.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import tifffile
from astropy.visualization import (
    AsinhStretch,
    ImageNormalize,
    LinearStretch,
    LogStretch,
    ZScaleInterval,
)
from PIL import Image as PILImage
from PIL import ImageFilter

from napari_imagemarker.display import (
    DisplaySettings,
    RGBDisplay,
    gaussian_blur,
    gaussian_kernel,
    grey_display,
)

HERE = Path(__file__).parent
SPT = HERE.parent / "tests" / "data" / "imgmarker" / "images"
SPT = SPT / "SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif"


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def side_by_side(label: str, ours, theirs, repeat: int, what: str) -> None:
    t_ours, t_theirs = [], []
    for _ in range(repeat):  # alternating, so that both see the same machine load
        t_ours.append(best(ours, 1))
        t_theirs.append(best(theirs, 1))
    a, b = min(t_ours), min(t_theirs)
    print(f"  {label:<34} ours {a * 1e3:8.1f} ms   {what} {b * 1e3:8.1f} ms   x{b / a:6.1f}")


def sky(n: int, rng) -> np.ndarray:
    image = rng.normal(100.0, 5.0, (n, n)).astype(np.float32)
    rows, cols = rng.integers(0, n, 2000), rng.integers(0, n, 2000)
    image[rows, cols] += rng.exponential(2000, 2000).astype(np.float32)
    image[rng.random((n, n)) < 0.01] = np.nan
    return image


def grey(repeat: int) -> None:
    rng = np.random.default_rng(0)
    data = sky(4096, rng)
    print("grey 4096 x 4096 float32, 1% NaN")
    for stretch in (LogStretch(), AsinhStretch(0.1), LinearStretch()):
        settings = DisplaySettings(stretch, ZScaleInterval())
        side_by_side(
            f"re-stretch {type(stretch).__name__} + ZScale",
            lambda s=settings: grey_display(data, s),
            lambda s=settings: ImageNormalize(data, interval=s.interval, stretch=s.stretch)(data),
            repeat,
            "full-array ImageNormalize",
        )
    for radius in (1.5, 5.0):
        side_by_side(
            f"re-blur {radius} px",
            lambda r=radius: gaussian_kernel(r),
            lambda r=radius: gaussian_blur(data, r),
            repeat,
            "CPU NaN-aware blur",
        )
    print("  (ours: the GPU samples the raw texture with the kernel; layer.data unchanged)")


def rgb(label: str, raw: np.ndarray, repeat: int) -> None:
    print(label)
    display = RGBDisplay(raw)
    base = DisplaySettings(AsinhStretch(0.1), ZScaleInterval())
    display.render(base)  # limits cached, as after the first change

    def pil_blur(r):
        for p in raw.reshape(-1, *raw.shape[-3:]):
            PILImage.fromarray(np.ascontiguousarray(p)).filter(ImageFilter.GaussianBlur(r))

    def normalize_all(stretch):
        for c in range(3):
            ImageNormalize(raw[..., c], interval=ZScaleInterval(), stretch=stretch)(raw[..., c])

    for stretch in (LogStretch(), LinearStretch()):
        side_by_side(
            f"re-stretch {type(stretch).__name__}",
            lambda s=stretch: display.render(base.replace(stretch=s)),
            lambda s=stretch: normalize_all(s),
            repeat,
            "ImageNormalize x3 ",
        )
    for radius in (1.0, 2.5):
        side_by_side(
            f"re-blur {radius} px (GPU kernel)",
            lambda r=radius: gaussian_kernel(r),
            lambda r=radius: pil_blur(r),
            repeat,
            "PIL GaussianBlur  ",
        )
    # float RGB with NaN: the copy is blurred on the CPU, NaN-aware (each call a new radius)
    nan_raw = raw.astype(np.float32)
    nan_raw[..., :16, :16, :] = np.nan
    nan_display = RGBDisplay(nan_raw)
    nan_display.render(base)
    for radius in (1.0, 2.5):
        radii = iter([radius, radius + 0.05] * repeat * 2)
        side_by_side(
            f"re-blur {radius} px (NaN, CPU)",
            lambda radii=radii: nan_display.render(base.replace(blur=next(radii))),
            lambda r=radius: pil_blur(r),
            repeat,
            "PIL GaussianBlur  ",
        )


def window(repeat: int) -> None:
    """The redraw on a real canvas (software OpenGL under Xvfb), and the cost of the
    NaN-aware GPU sampler against vispy's own (which lets NaN spread), side by side."""
    import napari

    viewer = napari.Viewer()
    data = sky(4096, np.random.default_rng(1))
    # added before the plugin's napari package is imported: vispy's own sampler
    assert "napari_imagemarker._napari" not in sys.modules
    plain = viewer.add_image(data, name="vispy sampler")
    from napari_imagemarker._napari.display.layer import apply_display
    from napari_imagemarker._napari.display.nan_kernel import installed

    assert installed()
    ours = viewer.add_image(data, name="NaN-aware sampler")
    viewer.reset_view()
    print("window: apply + redraw of the canvas, grey 4096 x 4096, 1% NaN (software OpenGL)")
    for settings in (
        DisplaySettings(LogStretch(), ZScaleInterval()),
        DisplaySettings(LogStretch(), ZScaleInterval(), 1.5),
        DisplaySettings(LogStretch(), ZScaleInterval(), 3.0),
    ):

        def go(layer, other, s=settings):
            layer.visible, other.visible = True, False
            apply_display(layer, s)
            viewer.screenshot(canvas_only=True, flash=False)

        side_by_side(
            settings.describe(),
            lambda: go(ours, plain),
            lambda: go(plain, ours),
            repeat,
            "vispy's sampler",
        )
    viewer.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--window", action="store_true", help="also time a real canvas")
    args = parser.parse_args()
    grey(args.repeat)
    rgb("SPT cutout 2 x 512 x 512 x RGB uint8 (real file)", tifffile.imread(SPT), args.repeat)
    big = (np.random.default_rng(2).random((4096, 4096, 3)) * 255).astype(np.uint8)
    rgb("RGB 4096 x 4096 uint8 (synthetic)", big, max(2, args.repeat // 2))
    if args.window:
        window(args.repeat)


if __name__ == "__main__":
    main()

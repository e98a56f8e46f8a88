"""maskfill: our implementation against the reference package maskfill 1.1.1, side by side.

Runs both in this process on the same arrays, checks that the results are identical, and
prints the time of each and the ratio, per case:

- M51 from the reference's example (512x512, 36,326 masked pixels): default settings,
  ``operator="mean"``, ``size=5`` and ``size=11``;
- a seeded 2048x2048 float32 stress image: 2000 cosmic-ray-like streaks of 1-20 pixels,
  50 discs of radius 5-40 pixels and one 300x300 square masked.

Then, in a new Python process, ``import napari_imagemarker`` (NumPy included) and the first
call after it, each timed; and the peak extra memory of a call (tracemalloc, which sees
NumPy's allocations), relative to the image's size.

Usage: ``python benchmarks/bench_maskfill.py [--repeat N] [--skip-stress]``.  The reference
takes about 25 s on the stress image.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import warnings
from pathlib import Path

import maskfill as reference
import numpy as np
from astropy.io import fits

from napari_imagemarker.maskfill import maskfill

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "maskfill"


def m51() -> tuple[np.ndarray, np.ndarray]:
    """The reference's M51 example with its cosmic rays and mask, as stored (big-endian)."""
    return fits.getdata(DATA / "m51_with_cosmicrays.fits"), fits.getdata(DATA / "m51_mask.fits")


def stress_image(seed: int = 2024, n: int = 2048) -> tuple[np.ndarray, np.ndarray]:
    """A sky-like float32 image and a mask of streaks, discs and one 300x300 square."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:n, :n]
    image = rng.normal(100.0, 5.0, (n, n))
    for _ in range(300):  # stars and small galaxies
        y, x = rng.uniform(0, n, 2)
        sigma, flux = rng.uniform(1, 6), rng.uniform(50, 5000)
        y0, y1, x0, x1 = (max(0, int(y - 5 * sigma)), min(n, int(y + 5 * sigma) + 1),
                          max(0, int(x - 5 * sigma)), min(n, int(x + 5 * sigma) + 1))  # fmt: skip
        r2 = (yy[y0:y1, x0:x1] - y) ** 2 + (xx[y0:y1, x0:x1] - x) ** 2
        image[y0:y1, x0:x1] += flux / (2 * np.pi * sigma**2) * np.exp(-r2 / (2 * sigma**2))
    mask = np.zeros((n, n), bool)
    for _ in range(2000):  # cosmic rays: short straight streaks, 1-20 pixels long
        length, angle = rng.integers(1, 21), rng.uniform(0, np.pi)
        y, x = rng.uniform(0, n, 2)
        t = np.arange(length)
        rows = np.clip(np.round(y + t * np.sin(angle)).astype(int), 0, n - 1)
        cols = np.clip(np.round(x + t * np.cos(angle)).astype(int), 0, n - 1)
        mask[rows, cols] = True
    for _ in range(50):  # saturated stars, satellites' glints
        r = rng.uniform(5, 40)
        y, x = rng.uniform(0, n, 2)
        y0, y1, x0, x1 = (
            max(0, int(y - r)),
            min(n, int(y + r) + 1),
            max(0, int(x - r)),
            min(n, int(x + r) + 1),
        )
        mask[y0:y1, x0:x1] |= (yy[y0:y1, x0:x1] - y) ** 2 + (xx[y0:y1, x0:x1] - x) ** 2 <= r * r
    y, x = rng.integers(0, n - 300, 2)
    mask[y : y + 300, x : x + 300] = True  # a bad amplifier corner, say
    image[mask] += rng.normal(0, 500, np.count_nonzero(mask))  # what is masked is garbage
    return image.astype(np.float32), mask


def run_reference(image, mask, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return reference.maskfill(image, mask, **kwargs)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return time.perf_counter() - start, result


def same(ours, theirs) -> bool:
    return all(
        (a is None and b is None) or np.array_equal(a, b, equal_nan=True)
        for a, b in zip(ours, theirs, strict=True)
    )


def compare(name: str, image, mask, repeat: int, **kwargs) -> float:
    """Time the reference once and ours ``repeat`` times; print one line; return the ratio."""
    t_ref, expected = timed(run_reference, image, mask, **kwargs)
    times = []
    for _ in range(repeat):
        t, result = timed(maskfill, image, mask, **kwargs)
        times.append(t)
    ok = same(result, expected)
    ours = statistics.median(times)
    ratio = t_ref / ours
    print(f"{name:<24} {np.count_nonzero(mask):>8} {t_ref:>9.3f} s {ours * 1e3:>9.2f} ms"
          f" {min(times) * 1e3:>9.2f} ms {ratio:>8.0f}x  {'identical' if ok else 'DIFFERENT'}")  # fmt: skip
    if not ok:
        raise SystemExit(f"{name}: results differ from the reference")
    return ratio


FIRST_CALL = """
import time
start = time.perf_counter()
import napari_imagemarker
imported = time.perf_counter()
import numpy as np
data = np.load({image!r}), np.load({mask!r})
loaded = time.perf_counter()
napari_imagemarker.maskfill(*data)
done = time.perf_counter()
print(imported - start, done - loaded)
"""


def first_call(image: np.ndarray, mask: np.ndarray) -> tuple[float, float]:
    """Seconds of ``import napari_imagemarker`` in a new Python process (which imports
    NumPy), and of the first maskfill call after it; the arrays are loaded from ``.npy``
    files in between, without astropy, and that is not counted."""
    with tempfile.TemporaryDirectory() as folder:
        paths = [os.path.join(folder, name) for name in ("image.npy", "mask.npy")]
        np.save(paths[0], image)
        np.save(paths[1], mask)
        code = FIRST_CALL.format(image=paths[0], mask=paths[1])
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        )
    imported, call = (float(v) for v in out.stdout.split())
    return imported, call


def peak_memory(image, mask, **kwargs) -> float:
    """Peak memory allocated during one call (results included), in images."""
    tracemalloc.start()
    maskfill(image, mask, **kwargs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / image.nbytes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=7, help="runs of ours per case")
    parser.add_argument("--skip-stress", action="store_true", help="M51 only")
    args = parser.parse_args()

    print(f"maskfill benchmark, {time.strftime('%Y-%m-%d %H:%M')}")
    print(f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python "
          f"{platform.python_version()}, NumPy {np.__version__}, reference maskfill "
          f"{reference.__version__ if hasattr(reference, '__version__') else '1.1.1'}")  # fmt: skip
    print(f"ours: median (and best) of {args.repeat} runs; reference: one run\n")
    print(
        f"{'case':<24} {'masked':>8} {'reference':>11} {'ours':>12} {'ours best':>12} {'ratio':>9}"
    )
    image, mask = m51()
    cases = [("M51 default", {}), ("M51 mean", {"operator": "mean"}),
             ("M51 size 5", {"size": 5}), ("M51 size 11", {"size": 11})]  # fmt: skip
    ratios = {name: compare(name, image, mask, args.repeat, **kwargs) for name, kwargs in cases}
    memory = {"M51 default": peak_memory(image, mask)}
    if not args.skip_stress:
        big, big_mask = stress_image()
        ratios["stress 2048x2048"] = compare("stress 2048x2048", big, big_mask, args.repeat)
        memory["stress 2048x2048"] = peak_memory(big, big_mask)

    imported, call = first_call(image, mask)
    print(f"\nin a new Python process: 'import napari_imagemarker' (NumPy included) {imported:.3f} s,"
          f" then the first maskfill call (M51 default) {call:.3f} s; together {imported + call:.3f} s")  # fmt: skip
    for name, images in memory.items():
        print(f"peak memory of a call, {name}: {images:.2f} x the image (results included)")
    print(
        "\ntargets: >= 100x on M51 default, >= 300x on the stress image, import + first call"
        " < 1 s, peak memory <= 4 x the image"
    )
    met = (ratios["M51 default"] >= 100 and ratios.get("stress 2048x2048", 300) >= 300
           and imported + call < 1 and max(memory.values()) <= 4)  # fmt: skip
    print("all met" if met else "NOT MET")


if __name__ == "__main__":
    main()

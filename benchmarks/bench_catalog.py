"""Benchmark: a 1,000,000-row catalog loads and overlays on an SPT image (target: 2 s).

Run under a virtual display (a real napari window):

    xvfb-run -a -s "-screen 0 1600x1000x24" .venv/bin/python benchmarks/bench_catalog.py

Cases, each timed from the file on disk to the points drawn on the canvas
(``load_catalog`` + the first repaint):

* **survey**: 1,000,000 rows over 8° x 8° around SPT-CLJ0000-5141 (a survey or Gaia
  extract covering the three SPT fields); the ~20 that fall on the 2.2' image are drawn.
  FITS, CSV and ECSV.
* **next image**: the same catalog placed on the next image (what the marking session does
  on every Tab).
* **dense**: 1,000,000 rows all on the 512 x 512 image, split into our part (read, parse,
  place, build the layer) and napari's part (its vispy layer and the first draw, which
  under Xvfb is software OpenGL).
* **sexagesimal**: the survey as ``hh:mm:ss`` / ``dd:mm:ss`` text.

Image Marker's approach, measured in the same run on the first rows of the CSV and
scaled to the full size: reading the file line by line in Python and one
``wcs.all_world2pix`` call per row.

**readers**: why the catalog reader uses pandas: the CSV and ECSV read with pandas
(``pandas.read_csv``, astropy's ECSV ``engine="pandas"``) beside astropy's own parsers.
"""

from __future__ import annotations

import argparse
import csv
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from astropy.table import Table

HERE = Path(__file__).parent
IMAGES = HERE.parent / "tests" / "data" / "imgmarker" / "images"
T0000 = IMAGES / "SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif"
T2347 = IMAGES / "SPT-CLJ2347-5101_4.39_sigma_grz_cont.tif"


def survey(n: int, centre: tuple[float, float], half_width: float, seed: int = 1) -> Table:
    """``n`` sources uniform on the sky within ``half_width`` degrees of ``centre``."""
    rng = np.random.default_rng(seed)
    ra0, dec0 = centre
    sin_lo, sin_hi = np.sin(np.deg2rad([dec0 - half_width, dec0 + half_width]))
    dec = np.rad2deg(np.arcsin(rng.uniform(sin_lo, sin_hi, n)))
    ra = (ra0 + rng.uniform(-half_width, half_width, n) / np.cos(np.deg2rad(dec0))) % 360
    return Table(
        {
            "id": np.arange(n),
            "ra": ra,
            "dec": dec,
            "mag_r": rng.uniform(16, 25, n).round(3),
            "z_phot": rng.uniform(0, 1.5, n).round(4),
            "type": rng.choice(["PSF", "REX", "EXP", "DEV"], n),
        }
    )


def dense(n: int, frame, seed: int = 2) -> Table:
    """``n`` sources all on ``frame`` (uniform in its pixels)."""
    rng = np.random.default_rng(seed)
    col = rng.uniform(-0.5, frame.width - 0.5, n)
    row = rng.uniform(-0.5, frame.height - 0.5, n)
    ra, dec = frame.wcs.pixel_to_world_values(col, row)
    table = survey(n, (0.0, 0.0), 1.0, seed)
    table["ra"], table["dec"] = np.mod(ra, 360), dec
    return table


def sexagesimal(table: Table) -> pd.DataFrame:
    """RA as ``hh:mm:ss.sss`` and Dec as ``+dd:mm:ss.ss`` text, vectorised."""
    frame = table.to_pandas()

    def fields(values, decimals):
        # whole units of the last decimal of the seconds, so that 59.9996 s rounds to the
        # next minute rather than to "60.000"
        scale = 10**decimals
        ticks = np.round(np.abs(values) * 3600 * scale).astype(np.int64)
        d, rest = np.divmod(ticks, 3600 * scale)
        m, s = np.divmod(rest, 60 * scale)
        whole, frac = np.divmod(s, scale)
        text = pd.Series(d).astype(str).str.zfill(2) + ":" + pd.Series(m).astype(str).str.zfill(2)
        text += ":" + pd.Series(whole).astype(str).str.zfill(2)
        text += "." + pd.Series(frac).astype(str).str.zfill(decimals)
        return np.where(values < 0, "-", "+"), text

    _, ra = fields(frame["ra"].to_numpy() / 15, 3)
    sign, dec = fields(frame["dec"].to_numpy(), 2)
    frame["ra"] = ra.to_numpy()
    frame["dec"] = sign + dec.to_numpy().astype(object)
    return frame


def image_marker_way(path: Path, wcs, height: int, rows: int) -> float:
    """Seconds for ``rows`` rows Image Marker's way: a Python loop over the lines of the
    file and one ``all_world2pix`` per row."""
    start = time.perf_counter()
    with open(path) as f:
        reader = csv.reader(f)
        next(reader)
        for i, line in enumerate(reader):
            if i == rows:
                break
            ra, dec = float(line[1]), float(line[2])
            x, y = wcs.all_world2pix([[ra, dec]], 0)[0]
            _ = (round(x), round(height - y))
    return time.perf_counter() - start


class Stopwatch:
    def __init__(self):
        self.rows: list[tuple[str, float, str]] = []

    def add(self, what: str, seconds: float, note: str = "") -> None:
        self.rows.append((what, seconds, note))
        print(f"  {what:<58} {seconds:8.3f} s  {note}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--no-dense", action="store_true", help="skip the dense case")
    args = parser.parse_args()
    n = args.rows

    import napari
    from qtpy.QtWidgets import QApplication

    from napari_imagemarker import load_catalog, read_image
    from napari_imagemarker._napari.catalogs.load import overlay_of
    from napari_imagemarker.catalogs.build import make_catalog
    from napari_imagemarker.images.read import image_frames

    def settle():
        for _ in range(3):
            QApplication.processEvents()

    frame = image_frames(T0000)[0]
    centre = tuple(float(v) for v in frame.wcs.wcs.crval)
    print(f"catalog benchmark: {n:,} rows, image {T0000.name} ({frame.width} x {frame.height})")
    watch = Stopwatch()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        table = survey(n, centre, 4.0)
        table.write(tmp / "survey.fits")
        table.to_pandas().to_csv(tmp / "survey.csv", index=False)
        table.write(tmp / "survey.ecsv", format="ascii.ecsv")
        sexagesimal(table).to_csv(tmp / "survey_sexagesimal.csv", index=False)
        print(f"  (files written in {time.perf_counter() - t0:.1f} s)\n", flush=True)

        viewer = napari.Viewer(title="bench_catalog")
        viewer.window._qt_window.resize(1300, 820)
        data, kwargs, _ = read_image(T0000)[0]
        image = viewer.add_image(data, **kwargs)
        settle()

        print(f"survey: {n:,} rows over 8° x 8°, file to points on the canvas")
        for name in ("survey.fits", "survey.csv", "survey.ecsv", "survey_sexagesimal.csv"):
            start = time.perf_counter()
            layer = load_catalog(viewer, tmp / name)
            settle()
            seconds = time.perf_counter() - start
            watch.add(f"{name}: load_catalog + first draw", seconds, f"{len(layer.data)} on image")
            if name == "survey.csv":
                kept_layer = layer
            else:
                viewer.layers.remove(layer)

        print("\nnext image: the same catalog placed on another cluster")
        data2, kwargs2, _ = read_image(T2347)[0]
        overlay = overlay_of(kept_layer)
        image.data = data2
        settle()
        start = time.perf_counter()
        image.metadata = kwargs2["metadata"]  # what the marking dock does on Tab
        placed = time.perf_counter() - start
        settle()
        drawn = time.perf_counter() - start - placed
        on_image = f"{len(overlay.layer.data)} on image"
        watch.add("catalog placed on the next image (the overlay's update)", placed, on_image)
        watch.add("then the canvas redraw (napari)", drawn)
        viewer.layers.remove(kept_layer)
        image.data = data
        image.metadata = kwargs["metadata"]
        settle()

        print("\nImage Marker's way (Python loop, one all_world2pix per row), scaled to n")
        sample = min(n, 20_000)
        seconds = (
            image_marker_way(tmp / "survey.csv", frame.wcs, frame.height, sample) * n / sample
        )
        watch.add(f"{n:,} rows (measured on {sample:,})", seconds, "extrapolated")
        ours = next(s for w, s, _ in watch.rows if w.startswith("survey.csv"))
        print(f"  ratio Image Marker / ours (CSV): {seconds / ours:.0f}x")

        print("\nreaders: the same files read without pandas (astropy's own parsers)")
        for name, pandas_way, astropy_way in (
            (
                "survey.csv",
                lambda p: pd.read_csv(p, skipinitialspace=True, low_memory=False),
                lambda p: Table.read(p, format="ascii.csv", guess=False, fast_reader=True),
            ),
            (
                "survey.ecsv",
                lambda p: Table.read(p, format="ecsv", engine="pandas"),
                lambda p: Table.read(p, format="ecsv"),
            ),
        ):
            times = []
            for way in (pandas_way, astropy_way):
                start = time.perf_counter()
                way(tmp / name)
                times.append(time.perf_counter() - start)
            watch.add(f"{name}: read with pandas", times[0])
            watch.add(f"{name}: read with astropy's own parser", times[1])
            print(f"  ratio astropy / pandas ({name}): {times[1] / times[0]:.1f}x")

        if not args.no_dense:
            print(f"\ndense: {n:,} rows all on the image")
            dense(n, frame).write(tmp / "dense.fits")
            start = time.perf_counter()
            catalog = make_catalog(tmp / "dense.fits")
            read = time.perf_counter() - start
            placement = catalog.place_frame(frame)
            place = time.perf_counter() - start - read
            watch.add("read + parse (make_catalog)", read)
            watch.add("place on the image (WCS, footprint)", place, f"{len(placement):,} rows")
            start = time.perf_counter()
            layer = load_catalog(image, catalog)
            built = time.perf_counter() - start
            settle()
            drawn = time.perf_counter() - start - built
            watch.add("place + build the Points layer + add it (napari)", built)
            watch.add("first draw (napari/vispy, software OpenGL under Xvfb)", drawn)
            watch.add("dense total: file to drawn points", read + built + drawn)
        viewer.close()


if __name__ == "__main__":
    main()

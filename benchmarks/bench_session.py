"""MarkingSession against Image Marker's approach, measured in the same run.

1. Opening a session over 5,000 512x512 RGB TIFFs (JPEG-compressed, STIFF FITS cards in tag
   270, like the SPT cutouts) until the first image's pixels are in memory. Ours lists the
   folder and reads one header and one image. Image Marker 1.2 (``io.glob`` then
   ``image.Image(path)`` for every file) opens every file with Pillow, reads its size, mode,
   bands, frame count and parses its WCS from tag 270 before showing the first image; that is
   emulated here with the same library calls.
2. ``add_mark`` latency with 0, 10,000 and 100,000 marks already saved (20-25 per image), marking
   5 marks per image and moving on, as a person does. Image Marker rewrites its marks, images
   and favourites files on every action, recomputing every mark's RA/Dec with
   ``all_pix2world``; that rewrite is emulated with the same calls at 1,000, 10,000 and
   100,000 marks. Each row of ours shows beside it the disk's own cost, a bare
   ``write`` + ``fdatasync`` of one line in the same folder measured just before, and the
   difference (our overhead), and the loop runs again with ``fdatasync`` a no-op: durability
   is never weakened to meet a number, the disk is shown apart instead.

The TIFFs are generated once into ``$IMAGEMARKER_BENCH_CACHE`` (default
``/tmp/imagemarker-bench``), never into the repository. Run::

    .venv/bin/python benchmarks/bench_session.py [--images 5000] [--samples 2000]
"""

from __future__ import annotations

import argparse
import csv
import glob
import os
import platform
import shutil
import statistics
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SPT = ROOT / "tests" / "data" / "imgmarker" / "images" / "SPT-CLJ0000-5141_4.80_sigma_grz_cont.tif"
CACHE = Path(os.environ.get("IMAGEMARKER_BENCH_CACHE", "/tmp/imagemarker-bench"))


def make_tiffs(n: int) -> Path:
    """``n`` 512x512 RGB JPEG TIFFs with STIFF-style FITS cards, made once and cached."""
    import tifffile
    from astropy.io import fits

    folder = CACHE / f"tiffs-{n}"
    if (folder / ".complete").exists():
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    header = fits.Header.fromstring(tifffile.TiffFile(SPT).pages[0].description)
    rng = np.random.default_rng(0)
    yy, xx = np.mgrid[0:512, 0:512]
    base = np.stack([(xx + yy) % 256, (2 * xx) % 256, (3 * yy) % 256], axis=-1).astype(np.uint8)
    print(f"generating {n} TIFFs in {folder} (once) ...", flush=True)
    for i in range(n):
        header["CRVAL1"] = (0.2 + 0.07 * i) % 360
        header["CRVAL2"] = -60 + (i % 300) * 0.1
        noise = rng.integers(0, 40, base.shape, dtype=np.uint8)
        tifffile.imwrite(
            folder / f"SPT-CLJ{i:05d}_grz.tif",
            base + noise,
            photometric="rgb",
            compression="jpeg",
            compressionargs={"outcolorspace": "rgb"},  # photometric RGB, as STIFF writes
            description=header.tostring(sep="", endcard=False, padding=False),
            metadata=None,
        )
    (folder / ".complete").touch()
    return folder


def percentile(values, q):
    return float(np.percentile(np.asarray(values) * 1e3, q))


# -- Image Marker's approach (emulated with the calls imgmarker 1.2 makes) -------------------


def imgmarker_open(folder: Path) -> np.ndarray:
    from astropy.io import fits
    from astropy.wcs import WCS
    from PIL import Image
    from PIL.TiffTags import TAGS

    formats = {".tif", ".tiff", ".fits", ".fit", ".fts", ".png", ".jpg", ".jpeg"}
    paths = sorted(glob.glob(os.path.join(folder, "*.*")))
    paths = [p for p in paths if os.path.splitext(p)[1].lower() in formats]
    infos = []
    for path in paths:  # image.Image(path) -> read_metadata() for every file
        with Image.open(path) as f:
            f.seek(0)
            info = {"width": f.width, "height": f.height, "mode": f.mode, "bands": f.getbands()}
            try:
                info["n_frames"] = f.n_frames
            except AttributeError:
                info["n_frames"] = 1
            try:  # read_wcs: tag 270 split into 80-column lines
                desc = {TAGS[k]: f.tag[k] for k in f.tag_v2}["ImageDescription"][0]
                lines = "\n".join(desc[i : i + 80] for i in range(0, len(desc), 80))
                info["wcs"] = WCS(fits.Header.fromstring(lines, sep="\n"))
            except Exception:
                info["wcs"] = None
        infos.append(info)
    with Image.open(paths[0]) as f:  # then seek(0) + read() of the first image
        f.seek(0)
        return np.array(f)


def imgmarker_save(save_dir: Path, images, marks_by_image, wcs_by_image) -> None:
    """One Image Marker save: marks, images and favourites files rewritten from scratch."""
    date = time.strftime("%Y-%m-%d")
    rows = []
    for name in images:
        wcs = wcs_by_image[name]
        for x, y, group in marks_by_image.get(name, ()):
            ra, dec = wcs.all_pix2world([[x, 512 - y]], 0)[0]  # mark.wcs_center, per mark
            rows.append({"date": date, "image": name, "group": str(group), "label": "None",
                         "x": str(x), "y": str(y), "RA": str(ra), "DEC": str(dec)})  # fmt: skip
    with open(save_dir / "u_marks.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
    image_rows = []
    for name in images:
        ra, dec = wcs_by_image[name].all_pix2world([[256, 256]], 0)[0]
        image_rows.append({"date": date, "image": name, "RA": str(ra), "DEC": str(dec),
                           "categories": "None", "comment": "None"})  # fmt: skip
    for file_name, rows_ in (("u_images.csv", image_rows), ("u_favorites.csv", image_rows[:1])):
        with open(save_dir / file_name, "w") as f:
            writer = csv.DictWriter(f, fieldnames=list(rows_[0]))
            writer.writeheader()
            for row in rows_:
                writer.writerow(row)


# -- ours ---------------------------------------------------------------------------------------


def our_open(folder: Path, save_dir: Path) -> float:
    from napari_imagemarker import MarkingSession, read_frame

    start = time.perf_counter()
    session = MarkingSession(folder, save_dir, user="bench")
    data, _ = read_frame(session.current.path)
    np.asarray(data)
    elapsed = time.perf_counter() - start
    session.close()
    return elapsed


def saved_session(folder: Path, save_dir: Path, n_marks: int) -> None:
    """Write the snapshot of a session holding ``n_marks`` marks on its first images (20 per
    image, more if needed to leave 1,000 images unseen), as if it had been closed."""
    from napari_imagemarker.files import atomic_write
    from napari_imagemarker.marking.state import ImageState, Mark, SessionState
    from napari_imagemarker.marking.store import images_snapshot, marks_snapshot

    save_dir.mkdir(parents=True)
    paths = sorted(str(p) for p in folder.glob("*.tif"))
    per_image = max(20, -(-n_marks // (len(paths) - 1000)))
    state = SessionState()
    rng = np.random.default_rng(1)
    for i in range(n_marks):
        name = os.path.basename(paths[i // per_image])
        x, y = rng.uniform(0, 511, 2)
        state.marks[i + 1] = Mark(name, 0, 1 + i % 9, "", x, y, 0.2, -51.7, "bench",
                                  "2026-11-21T00:00:00.000Z")  # fmt: skip
        state.images[name] = ImageState(seen=True)
    state.next_id = n_marks + 1
    state.paths = paths
    atomic_write(save_dir / "bench_marks.ecsv", marks_snapshot(state, state.marks, 1))
    atomic_write(save_dir / "bench_images.ecsv", images_snapshot(state, state.images, paths, 1))


def our_add_mark(
    folder: Path, save_dir: Path, samples: int, durable: bool = True
) -> tuple[list[float], float]:
    """Time ``add_mark``; ``durable=False`` replaces the journal's fdatasync by a no-op to
    show the software's own cost apart from the disk's."""
    from napari_imagemarker import MarkingSession
    from napari_imagemarker.marking import journal as _journal

    real_sync = _journal._datasync
    if not durable:
        _journal._datasync = lambda fd: None
    try:
        return _time_add_mark(MarkingSession, folder, save_dir, samples)
    finally:
        _journal._datasync = real_sync


def _time_add_mark(MarkingSession, folder, save_dir, samples):
    start = time.perf_counter()
    session = MarkingSession(folder, save_dir, user="bench")
    opened = time.perf_counter() - start
    rng = np.random.default_rng(2)
    times = []
    while len(times) < samples:
        for _ in range(5):
            x, y = rng.uniform(0, 511, 2)
            t0 = time.perf_counter()
            session.add_mark(x, y, 1 + len(times) % 9)
            times.append(time.perf_counter() - t0)
        session.next()
    session.close()
    return times, opened


def fsync_floor(folder: Path, n: int = 300) -> list[float]:
    """The disk's cost of one durable journal line: write + fdatasync of 250 bytes."""
    fd = os.open(folder / "fsync-probe", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    times = []
    for _ in range(n):
        t0 = time.perf_counter()
        os.write(fd, b"x" * 249 + b"\n")
        os.fdatasync(fd)
        times.append(time.perf_counter() - t0)
    os.close(fd)
    os.unlink(folder / "fsync-probe")
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=2000)
    args = parser.parse_args()

    folder = make_tiffs(args.images)
    work = CACHE / "runs"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    t0 = time.perf_counter()
    import napari_imagemarker.images.read
    import napari_imagemarker.marking.session  # noqa: F401

    print(f"# bench_session  {time.strftime('%Y-%m-%d')}  {platform.system()} "
          f"{os.cpu_count()} cores  Python {platform.python_version()}  "
          f"(imports {time.perf_counter() - t0:.2f} s, not counted)")  # fmt: skip
    print(f"images: {args.images} x 512x512 RGB JPEG TIFF with WCS, files in page cache")

    print("\n## open until the first image's data is ready")
    ours = [our_open(folder, work / f"open{i}") for i in range(3)]
    theirs = []
    for _ in range(2):
        start = time.perf_counter()
        imgmarker_open(folder)
        theirs.append(time.perf_counter() - start)
    o, t = statistics.median(ours), statistics.median(theirs)
    print(f"MarkingSession (new session)      {o:8.3f} s   (median of 3)")
    print(f"Image Marker (opens every file)   {t:8.3f} s   (median of 2)")
    print(f"ratio                             {t / o:8.0f} x faster")

    print("\n## add_mark latency, 5 marks per image then next(), journal fsynced per call")
    print("disk = a bare write+fdatasync of one 250-byte line in the same folder, measured")
    print("just before each row: what any durable add_mark costs on this machine; 'ours' =")
    print("add_mark minus the disk (our own overhead). Times in ms.")
    print(
        "  marks saved | add_mark p50    p95    max | disk p50    p95 | ours p50    p95 | resume"
    )
    results, software = {}, {}
    for n in (0, 10_000, 100_000):
        save = work / f"marks{n}"
        saved_session(folder, save, n)
        floor = fsync_floor(save)
        times, opened = our_add_mark(folder, save, args.samples)
        results[n] = times
        a50, a95, d50, d95 = (percentile(times, 50), percentile(times, 95),
                              percentile(floor, 50), percentile(floor, 95))  # fmt: skip
        print(f"  {n:>11,} | {a50:12.3f} {a95:6.3f} {percentile(times, 100):6.1f} | "
              f"{d50:8.3f} {d95:6.3f} | {a50 - d50:+8.3f} {a95 - d95:+6.3f} | "
              f"{opened:.2f} s")  # fmt: skip
    print("without the disk (fdatasync replaced by a no-op): our own cost, to check flatness")
    for n in (0, 10_000, 100_000):
        save = work / f"soft{n}"
        saved_session(folder, save, n)
        software[n], _ = our_add_mark(folder, save, args.samples, durable=False)
        print(f"  {n:>11,} | {percentile(software[n], 50):12.3f} "
              f"{percentile(software[n], 95):6.3f}")  # fmt: skip
    for name, res in (("durable", results), ("software", software)):
        ratio = percentile(res[100_000], 95) / percentile(res[0], 95)
        print(f"p95 at 100,000 / p95 at 0 marks ({name}): {ratio:.2f}")

    print("\n## Image Marker's save on every action (all files rewritten, RA/Dec per mark)")
    import tifffile
    from astropy.io import fits
    from astropy.wcs import WCS

    wcs = WCS(fits.Header.fromstring(tifffile.TiffFile(SPT).pages[0].description))
    names = sorted(p.name for p in folder.glob("*.tif"))
    for n in (1_000, 10_000, 100_000):
        per_image = 20
        images = names[: max(1, n // per_image)]
        rng = np.random.default_rng(3)
        marks = {}
        for i in range(n):
            marks.setdefault(images[i // per_image], []).append(
                (int(rng.integers(0, 512)), int(rng.integers(0, 512)), 1 + i % 9)
            )
        wcs_by_image = dict.fromkeys(images, wcs)
        save = work / f"imgmarker{n}"
        save.mkdir()
        reps = 5 if n < 100_000 else 1
        times = []
        for _ in range(reps):
            start = time.perf_counter()
            imgmarker_save(save, images, marks, wcs_by_image)
            times.append(time.perf_counter() - start)
        ours_p95 = percentile(results[min(results, key=lambda k: abs(k - n))], 95)
        print(f"{n:>7,} marks: one save {statistics.median(times) * 1e3:9.1f} ms   "
              f"vs our add_mark p95 {ours_p95:.3f} ms: "
              f"{statistics.median(times) * 1e3 / ours_p95:,.0f} x")  # fmt: skip
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

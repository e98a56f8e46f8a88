"""maskfill-batch: a folder of images on 2 dask workers against a one-by-one loop.

Makes a folder of N files (default 200): cutouts of the reference's M51 example, each
shifted and with its own cosmic-ray mask (``<name>_mask.fits`` beside it), and one corrupt
file; then, in this run:

1. the single-file function on every file, one after the other in this process, and a
   shell loop of ``imagemarker maskfill`` (one process per file; timed on a sample);
2. ``imagemarker maskfill-batch FOLDER --mask-suffix _mask --out OUT -j 2`` in a new
   process, whose summary is printed as is;
3. the same command again, which skips every file already done.

It checks that every output of 2 is byte-identical to the one of 1 and prints the ratios
of the times.

Usage: ``python benchmarks/bench_batch.py [--files N] [--workers J] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import filecmp
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from astropy.io import fits

from napari_imagemarker.maskfill import maskfill

DATA = Path(__file__).resolve().parents[1] / "tests" / "data" / "maskfill"


def make_folder(folder: Path, n: int, seed: int = 0) -> None:
    """N files: N - 1 512x512 float32 images from M51, each with a mask of 300 random
    streaks, and a corrupt one."""
    base = fits.getdata(DATA / "m51_org.fits").astype(np.float32)
    header = fits.getheader(DATA / "m51_org.fits")
    rng = np.random.default_rng(seed)
    for i in range(n - 1):
        image = np.roll(base, tuple(rng.integers(-40, 40, 2)), axis=(0, 1))
        mask = np.zeros(image.shape, dtype=np.uint8)
        for _ in range(300):
            r, c, length = rng.integers(0, 512), rng.integers(0, 512), rng.integers(1, 12)
            if rng.random() < 0.5:
                mask[r, c : c + length] = 1
            else:
                mask[r : r + length, c] = 1
        image[mask == 1] += rng.uniform(200, 2000, int(mask.sum())).astype(np.float32)
        fits.PrimaryHDU(image, header=header).writeto(folder / f"cutout_{i:03d}.fits")
        fits.PrimaryHDU(mask).writeto(folder / f"cutout_{i:03d}_mask.fits")
    (folder / f"cutout_{n - 1:03d}.fits").write_bytes(b"not FITS at all\n" * 100)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", type=Path, help="work in this folder and keep it")
    parser.add_argument("--shell-sample", type=int, default=20,
                        help="files timed for the shell loop (scaled to all)")  # fmt: skip
    args = parser.parse_args()
    root = args.keep or Path(tempfile.mkdtemp(prefix="bench_batch_"))
    folder, serial, batch = root / "in", root / "serial", root / "out"
    for path in (folder, serial):
        path.mkdir(parents=True, exist_ok=True)
    print(f"{platform.node()}: {platform.processor() or platform.machine()}, "
          f"{os.cpu_count()} CPUs, {time.strftime('%Y-%m-%d')}")  # fmt: skip
    make_folder(folder, args.files)
    images = sorted(p for p in folder.glob("cutout_*.fits") if "_mask" not in p.name)
    print(f"{len(images)} files (one corrupt) of 512x512 float32 in {folder}")

    start = time.perf_counter()
    for image in images:
        try:
            mask = image.with_name(image.name.replace(".fits", "_mask.fits"))
            maskfill(str(image), str(mask), output_file=str(serial / image.name))
        except ValueError:
            pass
    one_by_one = time.perf_counter() - start
    print(f"one by one, in this process: {one_by_one:.1f} s")
    sample = images[: args.shell_sample]
    start = time.perf_counter()
    for image in sample:
        mask = image.with_name(image.name.replace(".fits", "_mask.fits"))
        subprocess.run(
            [sys.executable, "-m", "napari_imagemarker.cli", "maskfill", str(image), str(mask),
             str(root / "shell.fits")],
            capture_output=True,
        )  # fmt: skip
    shell = (time.perf_counter() - start) / len(sample) * len(images)
    print(f"a shell loop of 'imagemarker maskfill': {shell:.1f} s "
          f"(timed on {len(sample)} files, scaled to {len(images)})")  # fmt: skip

    command = [
        sys.executable, "-m", "napari_imagemarker.cli", "maskfill-batch", str(folder),
        "--mask-suffix", "_mask", "--out", str(batch), "-j", str(args.workers),
    ]  # fmt: skip
    print("$ imagemarker " + " ".join(command[3:]))
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    batched = time.perf_counter() - start
    print(run.stderr.rstrip())
    print(run.stdout.rstrip())
    print(f"(exit code {run.returncode}; {batched:.1f} s wall time, process start included)")
    same = sum(filecmp.cmp(serial / p.name, batch / p.name, shallow=False)
               for p in images if (serial / p.name).exists())  # fmt: skip
    print(f"identical to the one-by-one outputs: {same} of {len(list(serial.iterdir()))}")
    print(f"ratio shell loop / maskfill-batch -j {args.workers}: {shell / batched:.1f}")
    print(f"ratio one by one in one process / maskfill-batch -j {args.workers}: "
          f"{one_by_one / batched:.2f}")  # fmt: skip

    print("$ imagemarker " + " ".join(command[3:]) + "   # again")
    again = subprocess.run(command, capture_output=True, text=True)
    print(again.stderr.rstrip())
    print(again.stdout.rstrip())


if __name__ == "__main__":
    main()

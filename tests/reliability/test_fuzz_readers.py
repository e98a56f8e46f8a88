"""Seeded, time-bounded fuzzing of the image readers and the marks parsers.

Valid files (FITS plain, scaled, multi-extension, tile-compressed and gzipped; TIFF grey,
RGB and multi-page; PNG; marks as ECSV, CSV, DS9, VOTable and Image Marker CSV) are
mutated (bits flipped, bytes overwritten, cut, chunks repeated or inserted) and read.
Each read must succeed or raise one of the documented types, ValueError or OSError, with
a message naming the file; anything else, or a read that does not end, fails the test with
the seed that reproduces it.

``IMAGEMARKER_FUZZ_SECONDS`` sets the time spent (default 20, shared by the two tests);
``IMAGEMARKER_FUZZ_SEED`` the first seed (default 17). Cases run until the time is up, so
slower machines run fewer; the number run is printed.
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
import tifffile
from astropy.io import fits
from astropy.table import Table
from PIL import Image

from napari_imagemarker import read_marks, write_marks
from napari_imagemarker.images import fits as fits_reader
from napari_imagemarker.images.read import image_frames, read_image

SECONDS = float(os.environ.get("IMAGEMARKER_FUZZ_SECONDS", "20")) / 2
SEED = int(os.environ.get("IMAGEMARKER_FUZZ_SEED", "17"))
HANG = 60  # seconds: a read this long is taken for a hang (the files are a few kB)
DATA = Path(__file__).parents[1] / "data" / "imgmarker"


def _image_seeds(folder: Path) -> list[Path]:
    rng = np.random.default_rng(0)
    data = rng.normal(size=(24, 32)).astype(np.float32)
    header = fits.Header({"CTYPE1": "RA---TAN", "CTYPE2": "DEC--TAN", "CRPIX1": 12.0,
                          "CRPIX2": 10.0, "CRVAL1": 150.0, "CRVAL2": 2.0,
                          "CDELT1": -1e-4, "CDELT2": 1e-4})  # fmt: skip
    paths = {
        "plain.fits": lambda p: fits.PrimaryHDU(data, header).writeto(p),
        "scaled.fits": lambda p: _scaled(data).writeto(p),
        "mef.fits": lambda p: fits.HDUList(
            [
                fits.PrimaryHDU(),
                fits.ImageHDU(data, header, name="SCI"),
                fits.ImageHDU((data > 0).astype(np.int16), name="DQ"),
            ]
        ).writeto(p),
        "tiles.fits.fz": lambda p: fits.HDUList(
            [fits.PrimaryHDU(), fits.CompImageHDU((data * 100).astype(np.int32))]
        ).writeto(p),
        "plain.fits.gz": lambda p: fits.PrimaryHDU(data).writeto(p),
        "grey.tif": lambda p: tifffile.imwrite(p, (data * 50).astype(np.int16)),
        "rgb.tif": lambda p: tifffile.imwrite(
            p, rng.integers(0, 255, (16, 20, 3), dtype=np.uint8), photometric="rgb"
        ),
        "pages.tif": lambda p: tifffile.imwrite(p, rng.integers(0, 255, (3, 8, 8), np.uint8)),
        "image.png": lambda p: Image.fromarray((data > 0).astype(np.uint8) * 255).save(p),
    }
    out = []
    for name, write in paths.items():
        write(folder / name)
        out.append(folder / name)
    return out


def _scaled(data):
    hdu = fits.PrimaryHDU((data * 1000).astype(np.int16))
    hdu.header["BSCALE"], hdu.header["BZERO"], hdu.header["BLANK"] = 0.001, 5.0, -32768
    return hdu


def _marks_seeds(folder: Path) -> list[tuple[Path, str]]:
    table = Table(
        {
            "image": ["a.fits", "a.fits", "a.fits"],
            "frame": [0, 0, 0],
            "group": [1, 2, 9],
            "label": ["", 'knot, "x"', "café"],
            "x": [1.5, 20.0, 3.25],
            "y": [2.5, 10.0, 4.0],
        }
    )
    seeds = []
    for name, fmt in (("m.ecsv", "ecsv"), ("m.csv", "csv"), ("m.reg", "ds9"),
                      ("m.xml", "votable")):  # fmt: skip
        write_marks(table, folder / name, format=fmt)
        seeds.append((folder / name, fmt))
    for path in sorted((DATA / "mark_files").iterdir()):
        seeds.append((path, "imgmarker"))
    return seeds


def _mutate(data: bytes, rng: random.Random) -> bytes:
    data = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        kind = rng.random()
        at = rng.randrange(max(len(data), 1))
        if kind < 0.35 and data:  # flip bits
            data[at] ^= 1 << rng.randrange(8)
        elif kind < 0.55:  # overwrite a run with random bytes (or text-like bytes)
            run = bytes(rng.choice(b"0123456789-+.eE ,'\"{}#=\r\n\x00\xff") if rng.random() < 0.5
                        else rng.randrange(256) for _ in range(rng.randint(1, 16)))  # fmt: skip
            data[at : at + len(run)] = run
        elif kind < 0.7:  # cut
            del data[at:]
        elif kind < 0.85:  # repeat a chunk
            end = min(len(data), at + rng.randint(1, 4096))
            data[at:at] = data[at:end] * rng.randint(1, 8)
        else:  # insert random bytes
            data[at:at] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
    return bytes(data)


class _Hang(Exception):
    pass


@contextlib.contextmanager
def _no_hang():
    def alarm(*_):
        raise _Hang

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.alarm(HANG)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def _fuzz(seeds, read, tmp_path, label: str) -> None:
    rng = random.Random(SEED)
    deadline = time.monotonic() + SECONDS
    n, refused = 0, 0
    while time.monotonic() < deadline:
        case = rng.randrange(2**32)
        source, *extra = rng.choice(seeds)
        case_rng = random.Random(case)
        mutated = _mutate(source.read_bytes(), case_rng)
        path = tmp_path / f"case{n % 50}{''.join(source.suffixes)}"
        path.write_bytes(mutated)
        where = f"{label}: case seed {case} from {source.name} (IMAGEMARKER_FUZZ_SEED={SEED})"
        try:
            with _no_hang(), warnings.catch_warnings():
                warnings.simplefilter("ignore")
                read(path, *extra)
        except (ValueError, OSError) as err:
            refused += 1
            assert str(path) in str(err), f"{where}: the message does not name the file: {err}"
        except _Hang:
            pytest.fail(f"{where}: no answer after {HANG} s")
        except Exception as err:
            pytest.fail(f"{where}: {type(err).__name__}: {err}")
        n += 1
    print(f"\n{label}: {n} mutated files read, {refused} refused with a named error")
    assert n >= 10


def _read_image_fully(path: Path) -> None:
    image_frames(path)
    for data, _, _ in read_image(path):
        np.asarray(data).sum()  # dask arrays computed too


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="hang guard needs SIGALRM")
def test_fuzzed_images_raise_only_documented_errors(tmp_path, monkeypatch):
    monkeypatch.setattr(fits_reader, "MAX_DECOMPRESSED_BYTES", 64 * 2**20)
    seeds_dir = tmp_path / "seeds"
    seeds_dir.mkdir()
    seeds = [(p,) for p in _image_seeds(seeds_dir)]
    _fuzz(seeds, _read_image_fully, tmp_path, "images")


@pytest.mark.skipif(not hasattr(signal, "SIGALRM"), reason="hang guard needs SIGALRM")
def test_fuzzed_marks_files_raise_only_documented_errors(tmp_path):
    seeds_dir = tmp_path / "seeds"
    seeds_dir.mkdir()
    seeds = _marks_seeds(seeds_dir)
    _fuzz(seeds, lambda path, fmt: read_marks(path, format=fmt), tmp_path, "marks")

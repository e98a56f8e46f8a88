"""The reader hook on valid-but-unusual and damaged files (issue 17): scaled FITS become
layers with astropy's values; damaged files give None (napari then says it cannot read
them), never a hang, a traceback or a layer napari cannot add."""

from __future__ import annotations

import gzip
import struct

import numpy as np
import pytest
import tifffile
from astropy.io import fits
from napari.components import ViewerModel
from npe2 import PluginManager

from napari_imagemarker._napari.reader import get_reader

PLUGIN = "napari-imagemarker"


@pytest.fixture(scope="module", autouse=True)
def _discover():
    PluginManager.instance().discover()


def test_an_fpack_uint16_file_opens_with_astropys_values(tmp_path):
    path = tmp_path / "fpack.fits.fz"
    values = np.random.default_rng(0).integers(0, 65535, (30, 40), dtype=np.uint16)
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(values)]).writeto(path)
    viewer = ViewerModel()
    [layer] = viewer.open(str(path), plugin=PLUGIN)
    assert np.array_equal(np.asarray(layer.data), values)


def _looping_tiff(path):
    tifffile.imwrite(path, np.zeros((8, 8), np.uint8))
    tifffile.imwrite(path, np.ones((8, 8), np.uint8), append=True)
    with tifffile.TiffFile(path) as tif:
        first, last = tif.pages[0].offset, tif.pages[-1].offset
    data = bytearray(path.read_bytes())
    (n,) = struct.unpack_from("<H", data, last)
    struct.pack_into("<I", data, last + 2 + 12 * n, first)
    path.write_bytes(bytes(data))


def _corrupt_gzip(path):
    raw = bytearray(gzip.compress(_fits_bytes()))
    raw[-8] ^= 0xFF
    path.write_bytes(bytes(raw))


def _fits_bytes() -> bytes:
    import io

    out = io.BytesIO()
    fits.PrimaryHDU(np.arange(64, dtype=np.int16).reshape(8, 8)).writeto(out)
    return out.getvalue()


def _damaged_card(path):
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((4, 4)), name="SCI")]).writeto(path)
    data = path.read_bytes()
    at = data.index(b"EXTNAME = 'SCI")
    path.write_bytes(data[:at] + b"EXTNAME = 'SCI\x00\x01" + data[at + 16 :])


@pytest.mark.parametrize(
    ("name", "make"),
    [("loop.tif", _looping_tiff), ("bad.fits.gz", _corrupt_gzip), ("card.fits", _damaged_card)],
)
def test_damaged_files_give_none_not_a_hang_or_a_traceback(tmp_path, name, make):
    path = tmp_path / name
    make(path)
    assert get_reader(str(path)) is None

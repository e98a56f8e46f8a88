"""Image files that are valid but unusual, damaged, looping or hostile: read exactly, or
refused with ValueError/OSError naming the file, in time and memory bounded by what the
file holds (issue 17, items 8-12 and 14)."""

from __future__ import annotations

import gzip
import mmap
import struct
from pathlib import Path

import numpy as np
import pytest
import tifffile
from astropy.io import fits

from napari_imagemarker.images import fits as fits_reader
from napari_imagemarker.images.read import image_frames, read_frame, read_image
from napari_imagemarker.marking.session import ImageSkippedWarning, MarkingSession

ASTROPY_DATA = Path(fits.__file__).parent / "tests" / "data"


def _astropy_values(path, ext):
    """What astropy reads without memory mapping: the values a user expects."""
    with fits.open(path, memmap=False) as hdul:
        return hdul[ext].data


def _same(ours, theirs) -> bool:
    ours = np.asarray(ours)
    return ours.shape == theirs.shape and np.array_equal(ours, theirs, equal_nan=True)


# -- 8. scaled and compressed FITS, read exactly ------------------------------------------------


def _scaled_files(folder: Path) -> dict[str, tuple[Path, int]]:
    rng = np.random.default_rng(3)
    files = {}
    u16 = rng.integers(0, 65535, (40, 50), dtype=np.uint16)
    path = folder / "fpack_uint16.fits.fz"  # fpack's usual layout: int16 with BZERO=32768
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(u16)]).writeto(path)
    files["uint16 .fz, BZERO=32768"] = (path, 1)
    path = folder / "tile_scaled.fits.fz"
    hdu = fits.CompImageHDU(rng.integers(-500, 500, (30, 40)).astype(np.int16))
    fits.HDUList([fits.PrimaryHDU(), hdu]).writeto(path)
    with fits.open(path, mode="update", do_not_scale_image_data=True) as hdul:
        hdul[1].header["BSCALE"], hdul[1].header["BZERO"] = 0.25, 1000.0
    files["tile-compressed int16, BSCALE/BZERO"] = (path, 1)
    path = folder / "float_bscale.fits"
    hdu = fits.PrimaryHDU(rng.normal(size=(20, 30)).astype(np.float32))
    hdu.header["BSCALE"], hdu.header["BZERO"] = 2.5, -1.0
    hdu.writeto(path, output_verify="ignore")
    files["float32 with BSCALE"] = (path, 0)
    path = folder / "int_blank.fits"
    hdu = fits.PrimaryHDU(rng.integers(-9, 9, (20, 30)).astype(np.int16))
    hdu.header["BZERO"], hdu.header["BSCALE"], hdu.header["BLANK"] = 3.0, 0.5, 7
    hdu.writeto(path)
    files["int16 with BLANK"] = (path, 0)
    path = folder / "uint32.fits.gz"
    fits.PrimaryHDU(rng.integers(0, 2**32 - 1, (20, 30), dtype=np.uint32)).writeto(path)
    files["uint32, gzipped"] = (path, 0)
    path = folder / "quantized.fits.fz"
    data = rng.normal(size=(30, 40)).astype(np.float32)
    data[2, 3] = np.nan
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(data, quantize_level=8)]).writeto(path)
    files["quantized float .fz"] = (path, 1)
    files["astropy's double_ext.fits"] = (ASTROPY_DATA / "double_ext.fits", 1)
    return files


def test_scaled_and_compressed_fits_are_read_exactly(tmp_path):
    for what, (path, ext) in _scaled_files(tmp_path).items():
        frame = next(f for f in image_frames(path) if f.hdu == ext)
        data, _ = read_frame(path, frame.index)
        expected = _astropy_values(path, ext)
        assert _same(data, expected), what
        assert np.asarray(data).dtype.kind == expected.dtype.kind, what
        layer = next(lay for lay in read_image(path) if lay[1]["metadata"]["hdu"] == ext)
        assert _same(layer[0], expected), what


def test_uncompressed_unscaled_data_stay_memory_mapped(tmp_path):
    path = tmp_path / "plain.fits"
    fits.PrimaryHDU(np.arange(600, dtype=np.float32).reshape(20, 30)).writeto(path)
    data, _ = read_frame(path)
    base = data
    while base is not None and not isinstance(base, np.memmap | mmap.mmap):
        base = getattr(base, "base", None)
    assert base is not None


# -- 9. corrupt compressed data is an error, never shown ---------------------------------------


@pytest.mark.parametrize("damage", ["crc", "cut"])
def test_a_corrupt_fits_gz_is_refused(tmp_path, damage):
    path = tmp_path / "image.fits.gz"
    raw = gzip.compress(_plain_fits(tmp_path).read_bytes())
    if damage == "crc":
        raw = raw[:-8] + bytes([raw[-8] ^ 0xFF]) + raw[-7:]  # the CRC of the content
    else:
        raw = raw[: len(raw) * 2 // 3]
    path.write_bytes(raw)
    for read in (image_frames, read_image):
        with pytest.raises(OSError, match=r"image.fits.gz: the gzip data are damaged"):
            read(path)


def _plain_fits(folder: Path) -> Path:
    path = folder / "plain.fits"
    fits.PrimaryHDU(np.arange(2000, dtype=np.int16).reshape(40, 50)).writeto(path)
    return path


# -- 10. a TIFF whose directories loop ---------------------------------------------------------


def _tiff_with_loop(path: Path) -> Path:
    tifffile.imwrite(path, np.zeros((8, 8), np.uint8))
    tifffile.imwrite(path, np.ones((8, 8), np.uint8), append=True)
    with tifffile.TiffFile(path) as tif:
        offsets = [page.offset for page in tif.pages]
    data = bytearray(path.read_bytes())
    (n,) = struct.unpack_from("<H", data, offsets[-1])
    struct.pack_into("<I", data, offsets[-1] + 2 + 12 * n, offsets[0])  # next IFD: the first
    path.write_bytes(bytes(data))
    return path


def test_a_tiff_whose_directories_loop_is_refused_at_once(tmp_path):
    path = _tiff_with_loop(tmp_path / "loop.tif")
    for read in (image_frames, read_image):
        with pytest.raises(ValueError, match=r"loop.tif: damaged TIFF: .* loops back to page 0"):
            read(path)


def _patch_tag(path: Path, tag: int, value: int) -> None:
    """Set a SHORT/LONG tag of the first page of a little-endian classic TIFF."""
    with tifffile.TiffFile(path) as tif:
        offset = tif.pages[0].offset
    data = bytearray(path.read_bytes())
    (n,) = struct.unpack_from("<H", data, offset)
    for k in range(n):
        at = offset + 2 + 12 * k
        code, kind = struct.unpack_from("<HH", data, at)
        if code == tag:
            struct.pack_into("<H" if kind == 3 else "<I", data, at + 8, value)
            path.write_bytes(bytes(data))
            return
    raise AssertionError(f"no tag {tag}")


@pytest.mark.parametrize(
    ("tag", "value", "message"),
    [(257, 0, "page 0 is empty"), (284, 7, "invalid PlanarConfiguration")],
)
def test_tiff_pages_napari_cannot_show_are_refused_by_name(tmp_path, tag, value, message):
    path = tmp_path / "odd.tif"
    tifffile.imwrite(path, np.zeros((16, 16, 3), np.uint8), photometric="rgb")
    _patch_tag(path, tag, value)
    with pytest.raises((ValueError, OSError), match=rf"odd.tif: .*{message}"):
        read_image(path)


# -- 11. many extensions: headers scanned once -------------------------------------------------


def test_a_file_with_many_extensions_is_opened_once(tmp_path, monkeypatch):
    path = tmp_path / "many.fits"
    hdus = [fits.ImageHDU(np.full((4, 4), k, np.float32), name=f"E{k}") for k in range(60)]
    fits.HDUList([fits.PrimaryHDU(), *hdus]).writeto(path)
    opened = []
    original = fits_reader.fits.open

    def counting_open(*args, **kwargs):
        opened.append(args[0])
        return original(*args, **kwargs)

    monkeypatch.setattr(fits_reader.fits, "open", counting_open)
    layers = read_image(path)
    assert [float(layer[0][0, 0]) for layer in layers] == list(range(60))
    assert len(opened) == 2  # once for the headers, once for every extension's data


# -- 12. decompression bombs -------------------------------------------------------------------


def test_decompression_bombs_stop_at_the_cap_with_a_clear_message(tmp_path, monkeypatch):
    monkeypatch.setattr(fits_reader, "MAX_DECOMPRESSED_BYTES", 8 * 2**20)
    zeros = np.zeros((2048, 2048), np.float32)  # 16 MB of zeros, a few KB compressed
    bomb_gz = tmp_path / "bomb.fits.gz"
    fits.PrimaryHDU(zeros).writeto(bomb_gz)
    bomb_fz = tmp_path / "bomb.fits.fz"
    fits.HDUList([fits.PrimaryHDU(), fits.CompImageHDU(zeros)]).writeto(bomb_fz)
    bomb_tif = tmp_path / "bomb.tif"
    tifffile.imwrite(bomb_tif, zeros, compression="zlib")
    for path in (bomb_gz, bomb_fz, bomb_tif):
        assert path.stat().st_size < 2**20
        with pytest.raises(ValueError, match=r"MB, more than the limit of 8 MB") as err:
            read_image(path)
        assert str(path) in str(err.value) and "IMAGEMARKER_MAX_DECOMPRESSED_MB" in str(err.value)
    monkeypatch.setattr(fits_reader, "MAX_DECOMPRESSED_BYTES", 32 * 2**20)  # raised: it reads
    for path in (bomb_gz, bomb_fz, bomb_tif):
        assert not np.asarray(read_image(path)[0][0]).any()


# -- 14. errors that escaped, or named nothing ---------------------------------------------------


def _damaged_card(path: Path) -> Path:
    fits.HDUList([fits.PrimaryHDU(), fits.ImageHDU(np.ones((4, 4)), name="SCI")]).writeto(path)
    data = path.read_bytes()
    at = data.index(b"EXTNAME = 'SCI")
    path.write_bytes(data[:at] + b"EXTNAME = 'SCI\x00\x01" + data[at + 16 :])
    return path


def test_astropy_verify_errors_are_reported_with_the_file_name(tmp_path):
    path = _damaged_card(tmp_path / "card.fits")
    for read in (image_frames, read_image):
        with pytest.raises(OSError, match=r"card.fits: not a readable FITS file \(Unparsable"):
            read(path)
    # the marking session skips it, as documented, instead of failing
    first = _plain_fits(tmp_path)
    last = first.with_name("plain2.fits")
    last.write_bytes(first.read_bytes())
    with (
        pytest.warns(ImageSkippedWarning, match="card.fits"),
        MarkingSession([first, path, last], tmp_path / "s", user="a") as s,
    ):
        assert s.current.name == "plain.fits"
        s.next()
        assert s.current.name == "plain2.fits"


@pytest.mark.parametrize("card", ["BSCALE  = 'abc'", "BZERO   = 'x1'"])
def test_a_bad_scaling_card_names_the_file(tmp_path, card):
    path = tmp_path / "bad_scale.fits"
    fits.PrimaryHDU(np.ones((4, 4), np.int16)).writeto(path)
    data = path.read_bytes()
    at = data.index(b"END" + b" " * 77)
    path.write_bytes(data[:at] + card.ljust(80).encode() + data[at + 80 :])
    with pytest.raises((ValueError, OSError), match=r"bad_scale.fits: "):
        read_image(path)


def test_a_bad_naxis_card_in_a_tiff_description_names_the_file(tmp_path):
    path = tmp_path / "cards.tif"
    cards = "".join(
        c.ljust(80)
        for c in ("SIMPLE  = T", "NAXIS   = 2", "NAXIS1  = 'abc'", "NAXIS2  = 8",
                  "CTYPE1  = 'RA---TAN'", "CTYPE2  = 'DEC--TAN'")
    )  # fmt: skip
    tifffile.imwrite(path, np.zeros((8, 8), np.uint8), description=cards)
    with pytest.raises((ValueError, OSError), match=r"cards.tif: "):
        read_image(path)

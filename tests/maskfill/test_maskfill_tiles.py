"""maskfill tile by tile: the same result as on the whole image, or a clear refusal."""

from __future__ import annotations

import filecmp
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from astropy.io import fits

from conftest import tan_header
from napari_imagemarker.maskfill import maskfill
from napari_imagemarker.maskfill.tiles import (
    TilingError,
    fill_fits_tiled,
    fill_tiled,
    fill_window,
    required_overlap,
)


def _single_file_output(image: Path, mask: Path, out: Path, **options) -> Path:
    """What the single-file function writes (``imagemarker maskfill IN MASK OUT``)."""
    maskfill(str(image), str(mask), output_file=str(out), **options)
    return out


def _streaks(rng, shape, n=400, longest=20):
    """Cosmic-ray-like streaks and a few blobs, as masks in real images look."""
    mask = np.zeros(shape, dtype=np.uint8)
    for _ in range(n):
        r, c = rng.integers(0, shape[0]), rng.integers(0, shape[1])
        length = rng.integers(1, longest)
        if rng.random() < 0.5:
            mask[r, c : c + length] = 1
        else:
            mask[r : r + length, c] = 1
    yy, xx = np.ogrid[: shape[0], : shape[1]]
    for _ in range(5):
        r, c, radius = rng.integers(0, shape[0]), rng.integers(0, shape[1]), rng.integers(2, 10)
        mask[(yy - r) ** 2 + (xx - c) ** 2 <= radius**2] = 1
    return mask


def test_tiles_of_a_memory_mapped_fits_equal_the_whole_image(tmp_path):
    rng = np.random.default_rng(1)
    shape = (2200, 1900)
    image = rng.normal(1000, 30, shape).astype(np.float32)
    image[rng.integers(0, shape[0], 50), rng.integers(0, shape[1], 50)] = np.nan
    mask = _streaks(rng, shape)
    header = tan_header()
    header["OBJECT"] = "big"
    fits.PrimaryHDU(image, header=header).writeto(tmp_path / "big.fits")
    fits.PrimaryHDU(mask).writeto(tmp_path / "big_mask.fits")
    whole = _single_file_output(
        tmp_path / "big.fits", tmp_path / "big_mask.fits", tmp_path / "w.fits"
    )

    tracemalloc.start()
    try:
        fill_fits_tiled(
            tmp_path / "big.fits",
            tmp_path / "tiled.fits",
            mask_path=tmp_path / "big_mask.fits",
            tile=256,
            overlap=48,
        )
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert filecmp.cmp(whole, tmp_path / "tiled.fits", shallow=False)  # data and headers
    assert peak < image.nbytes / 4  # a few tiles' worth, never the whole image
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "big.fits", "big_mask.fits", "tiled.fits", "w.fits",
    ]  # fmt: skip


def test_tiles_refuse_a_masked_region_larger_than_the_overlap(tmp_path):
    rng = np.random.default_rng(2)
    image = rng.normal(size=(300, 300)).astype(np.float32)
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[100:160, 90:130] = 1  # 60 x 40 pixels: needs an overlap of 60 - 1 + 1 = 60
    fits.PrimaryHDU(image).writeto(tmp_path / "a.fits")
    fits.PrimaryHDU(mask).writeto(tmp_path / "a_mask.fits")

    with pytest.raises(TilingError, match=r"a\.fits: .*rows 100-.*overlap is 20") as info:
        fill_fits_tiled(
            tmp_path / "a.fits", tmp_path / "out.fits", mask_path=tmp_path / "a_mask.fits",
            tile=64, overlap=20,
        )  # fmt: skip
    assert "size // 2" in str(info.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.fits", "a_mask.fits"]

    filled, _ = fill_tiled(image, mask, tile=64, overlap=60)
    np.testing.assert_array_equal(filled, maskfill(image, mask)[0])


@pytest.mark.parametrize("seed", range(12))
def test_tiles_are_exact_whenever_they_are_accepted(seed):
    """Random images, masks, sizes and tiles: accepted tiles give the whole-image result,
    and an overlap meeting the stated condition is always accepted."""
    rng = np.random.default_rng(seed)
    shape = tuple(rng.integers(30, 90, 2))
    image = rng.normal(size=shape)
    image[rng.random(shape) < 0.01] = np.nan
    mask = _streaks(rng, shape, n=int(rng.integers(5, 40)), longest=8)
    size = int(rng.choice([3, 5, 7, 9]))
    operator = str(rng.choice(["median", "mean"]))
    whole = maskfill(image, mask, size=size, operator=operator)
    tile = int(rng.integers(6, 40))
    needed = required_overlap(mask, size, image)
    for overlap in (int(rng.integers(0, 12)), needed):
        try:
            tiled = fill_tiled(
                image, mask, size=size, operator=operator, tile=tile, overlap=overlap
            )
        except TilingError:
            assert overlap < needed  # the stated condition is always enough
            continue
        np.testing.assert_array_equal(tiled[0], whole[0])
        np.testing.assert_array_equal(tiled[1], whole[1])


def test_required_overlap_of_m51_is_enough_for_any_tiles():
    data = Path(__file__).parents[1] / "data" / "maskfill"
    image = fits.getdata(data / "m51_with_cosmicrays.fits")
    mask = fits.getdata(data / "m51_mask.fits")
    needed = required_overlap(mask, 3, image)
    assert needed == 70  # its largest cosmic-ray region spans 70 pixels
    whole = maskfill(image, mask)
    for tile in (64, 100, 200):
        tiled = fill_tiled(image, mask, tile=tile, overlap=needed)
        np.testing.assert_array_equal(tiled[0], whole[0])
        np.testing.assert_array_equal(tiled[1], whole[1])


def test_tiles_of_a_cube_with_one_mask(tmp_path):
    rng = np.random.default_rng(3)
    cube = rng.normal(size=(3, 120, 100))
    mask = _streaks(rng, (120, 100), n=40, longest=10)
    filled, unsmoothed = fill_tiled(cube, mask, tile=50, overlap=30)
    expected = maskfill(cube, mask)
    np.testing.assert_array_equal(filled, expected[0])
    np.testing.assert_array_equal(unsmoothed, expected[1])


def test_a_window_is_exact_unless_a_region_leaves_its_margin():
    rng = np.random.default_rng(4)
    image = rng.normal(size=(80, 80))
    mask = np.zeros(image.shape, dtype=np.uint8)
    mask[30:34, 30:36] = 1  # well inside the window
    rows, cols = slice(20, 50), slice(20, 50)

    window = fill_window(image, mask, rows, cols, margin=8)
    assert window.exact and window.region is None
    np.testing.assert_array_equal(window.filled, maskfill(image, mask)[0][rows, cols])

    mask[45:70, 40:42] = 1  # from inside the window to beyond its margin (rows 12-57)
    window = fill_window(image, mask, rows, cols, margin=8)
    assert not window.exact
    assert (window.region[0].start, window.region[1].start) == (45, 40)


def test_a_truncated_file_is_refused_before_any_tile(tmp_path):
    fits.PrimaryHDU(np.ones((100, 100), np.float32)).writeto(tmp_path / "a.fits")
    fits.PrimaryHDU(np.zeros((100, 100), np.uint8)).writeto(tmp_path / "m.fits")
    (tmp_path / "cut.fits").write_bytes((tmp_path / "a.fits").read_bytes()[:20000])
    with pytest.raises(ValueError, match=r"cut\.fits: cannot read extension 0 \(.*truncated"):
        fill_fits_tiled(
            tmp_path / "cut.fits", tmp_path / "out.fits", mask_path=tmp_path / "m.fits",
            tile=32, overlap=8,
        )  # fmt: skip
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.fits", "cut.fits", "m.fits"]

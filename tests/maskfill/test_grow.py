"""Growing the mask by N pixels: the function, tiles, the command line and the batch."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.io import fits
from skimage.morphology import disk

from napari_imagemarker import cli
from napari_imagemarker.maskfill import maskfill
from napari_imagemarker.maskfill.batch import plan_jobs, run_batch
from napari_imagemarker.maskfill.grow import GrownMask, grow_mask
from napari_imagemarker.maskfill.tiles import fill_tiled


def _case(seed=0, shape=(60, 70)):
    rng = np.random.default_rng(seed)
    image = rng.normal(100, 5, shape).astype(np.float32)
    mask = np.zeros(shape, np.uint8)
    mask[10, 10] = 1  # a single hot pixel
    mask[30:33, 20:45] = 1  # a streak
    mask[59, 0] = 1  # a corner
    return image, mask


def test_a_single_pixel_grows_into_a_disk_of_that_radius():
    mask = np.zeros((21, 21), bool)
    mask[10, 10] = True
    for radius in (1, 2, 5):
        grown = grow_mask(mask, radius)
        expected = np.zeros((21, 21), bool)
        expected[10 - radius : 11 + radius, 10 - radius : 11 + radius] = disk(radius)
        assert np.array_equal(grown, expected)
    assert grow_mask(mask, 1).sum() == 5  # the 4 direct neighbours: distance 1
    assert np.array_equal(grow_mask(mask, 0), mask)


def test_maskfill_with_grow_fills_the_grown_mask():
    image, mask = _case()
    ours = maskfill(image, mask, grow=2)
    assert all(np.array_equal(a, b) for a, b in zip(ours, maskfill(image, grow_mask(mask, 2))))
    grown_only = grow_mask(mask, 2) & (mask == 0)
    assert not np.array_equal(ours[1][grown_only], image[grown_only])  # they were filled
    far = ~grow_mask(mask, 3)
    assert np.array_equal(ours[1][far], image[far])  # the rest is untouched


def test_a_cube_mask_grows_plane_by_plane():
    image, mask = _case()
    cube, cube_mask = np.stack([image, image * 2]), np.stack([mask, np.zeros_like(mask)])
    grown = grow_mask(cube_mask, 3)
    assert np.array_equal(grown[0], grow_mask(mask, 3)) and not grown[1].any()
    smoothed, _ = maskfill(cube, cube_mask, grow=3)
    assert np.array_equal(smoothed[1], cube[1])


@pytest.mark.parametrize("grow", [-1, 1.5, True, "2"])
def test_grow_must_be_a_whole_number_of_pixels(grow):
    image, mask = _case()
    with pytest.raises(ValueError, match="grow must be a whole number of pixels >= 0"):
        maskfill(image, mask, grow=grow)


def test_grown_windows_of_tiles_are_the_whole_grown_mask():
    image, mask = _case(1, (90, 100))
    lazy = GrownMask(mask, 4)
    whole = grow_mask(mask, 4)
    for rows, cols in [(slice(0, 30), slice(0, 40)), (slice(25, 60), slice(35, 100))]:
        assert np.array_equal(lazy[rows, cols], whole[rows, cols])
    tiled = fill_tiled(image, mask, tile=32, overlap=40, grow=4)
    assert all(np.array_equal(a, b) for a, b in zip(tiled, maskfill(image, mask, grow=4)))


def test_command_line_and_batch_grow_the_mask(tmp_path, capsys):
    image, mask = _case()
    fits.writeto(tmp_path / "a.fits", image)
    fits.writeto(tmp_path / "a_mask.fits", mask)
    out = tmp_path / "out.fits"
    args = [str(tmp_path / "a.fits"), str(tmp_path / "a_mask.fits"), str(out)]
    assert cli.main(["maskfill", *args, "--grow", "2"]) == 0
    expected = maskfill(image, mask, grow=2)
    with fits.open(out) as hdul:
        assert np.array_equal(hdul[0].data, expected[0])
        assert "grow=2" in str(hdul[0].header["HISTORY"])
    jobs = plan_jobs([tmp_path / "a.fits"], tmp_path / "batch", mask_suffix="_mask", grow=2)
    summary = run_batch(jobs, workers=1, processes=False)
    assert summary.results[0].status == "filled"
    assert (tmp_path / "batch" / "a.fits").read_bytes() == out.read_bytes()
    assert cli.main(["maskfill", *args, "--grow", "-3"]) == 2
    assert "grow must be a whole number of pixels >= 0, not -3" in capsys.readouterr().err

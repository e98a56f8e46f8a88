"""maskfill against the reference maskfill 1.1.1 on a few hundred seeded random inputs.

Every case draws a shape (single rows and columns included), a memory layout (C, Fortran,
transposed views, steps, negative steps), a dtype (float32/float64, either byte order), an
odd window size up to 31, the operator and smoothing, and an image with ties, -0.0,
+inf and NaN pixels.  Both implementations run in this process on the same array; the
results must have the same dtype and the same values (NaN equal to NaN), and ours no NaN.
"""

from __future__ import annotations

import warnings

import maskfill as reference
import numpy as np
import pytest
from astropy.io import fits

from conftest import DATA
from napari_imagemarker.maskfill import fill as fill_module
from napari_imagemarker.maskfill import maskfill

N_CASES = 300
LAYOUTS = ("C", "F", "transposed view", "steps", "negative steps", "both", "F steps")
DTYPES = ("<f4", "<f8", ">f4", ">f8")


def laid_out(array: np.ndarray, layout: str, rng: np.random.Generator) -> np.ndarray:
    """The same values as ``array`` in another memory layout (a view where possible)."""
    if layout == "C":
        return np.ascontiguousarray(array)
    if layout == "F":
        return np.asfortranarray(array)
    if layout == "transposed view":
        return np.ascontiguousarray(array.T).T
    if layout == "negative steps":
        return np.ascontiguousarray(array[::-1, ::-1])[::-1, ::-1]
    # steps: the array sits every (sy, sx)-th element of a bigger one
    sy, sx = (int(s) for s in rng.integers(1, 4, 2))
    ny, nx = array.shape
    big = np.full((ny * sy, nx * sx), -7.0, dtype=array.dtype)
    if layout == "F steps":
        big = np.asfortranarray(big)
    view = big[::sy, ::sx]
    if layout == "both":
        view = big[::-1][::sy, ::sx][::-1]
        view = view[:ny]
    view[...] = array
    return view


def random_input(seed: int):
    """A seeded case: image (in its layout), mask, keyword arguments, and a description."""
    rng = np.random.default_rng(seed)
    shape = [int(rng.choice([1, 2, 3, int(rng.integers(4, 25))], p=[0.1, 0.05, 0.05, 0.8]))
             for _ in range(2)]  # fmt: skip
    if shape[0] * shape[1] < 2:
        shape[1] = 2
    if rng.random() < 0.2:  # a long single row or column (a slit, a cut-out column)
        shape[int(rng.integers(2))] = int(rng.integers(16, 40))
    ny, nx = shape
    if rng.random() < 0.5:
        image = rng.integers(0, 6, shape).astype(np.float64) - 3  # many ties and zeros
    else:
        image = rng.normal(0, 1, shape) * 10.0 ** rng.uniform(-3, 5, shape)
    special = rng.random(shape)
    image[special < 0.05] = -0.0
    if rng.random() < 0.2:
        image[special > 0.985] = np.inf  # +inf only: -inf and +inf can hang the reference
    if rng.random() < 0.3:
        image[rng.random(shape) < 0.05] = np.nan
    mask = rng.random(shape) < rng.uniform(0.05, 0.6)
    if rng.random() < 0.5:  # a blob, as masked stars are
        yy, xx = np.mgrid[:ny, :nx]
        cy, cx, r = rng.uniform(0, ny), rng.uniform(0, nx), rng.uniform(1, 8)
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    unfilled = mask | np.isnan(image)
    if unfilled.all():
        keep = (int(rng.integers(ny)), int(rng.integers(nx)))
        mask[keep] = False
        image[keep] = 1.5
    dtype = str(rng.choice(DTYPES))
    layout = str(rng.choice(LAYOUTS))
    image = laid_out(image.astype(dtype), layout, rng)
    sizes = [3, 5, 7, 9, 11, 13, 17, 19, 21, 25, 27, 31]
    weights = [0.25, 0.15, 0.1, 0.05, 0.1, 0.05, 0.1, 0.05, 0.05, 0.04, 0.03, 0.03]
    size = int(rng.choice(sizes, p=weights))
    kwargs = {"size": size, "operator": str(rng.choice(["median", "mean"])),
              "smooth": bool(rng.random() < 0.8)}  # fmt: skip
    mask_out = mask.astype(rng.choice([bool, np.uint8, np.float32]))
    return image, mask_out, kwargs, f"{ny}x{nx} {dtype} {layout} {kwargs}"


def run_reference(image, mask, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return reference.maskfill(image, mask, **kwargs)


def assert_identical(ours, theirs, what: str) -> None:
    for mine, ref in zip(ours, theirs, strict=True):
        if ref is None:
            assert mine is None, what
            continue
        assert mine.dtype == ref.dtype, f"{what}: dtype {mine.dtype} != {ref.dtype}"
        assert mine.shape == ref.shape, what
        differ = ~((mine == ref) | (np.isnan(mine) & np.isnan(ref)))
        assert not differ.any(), f"{what}: {np.count_nonzero(differ)} pixel(s) differ"


@pytest.mark.parametrize("block", range(10))
def test_random_inputs_match_the_reference(block, monkeypatch):
    if block % 2:  # masks of other types than bool read band by band, as for big images
        monkeypatch.setattr(fill_module, "MASK_COPY_LIMIT", 0)
    for seed in range(block * N_CASES // 10, (block + 1) * N_CASES // 10):
        image, mask, kwargs, what = random_input(seed)
        before = image.copy()
        ours = maskfill(image, mask, **kwargs)
        assert_identical(ours, run_reference(image, mask, **kwargs), f"seed {seed}: {what}")
        assert not np.isnan(ours[1 if kwargs["smooth"] else 0]).any(), what
        assert np.array_equal(image, before, equal_nan=True), f"{what}: input changed"


# The inputs that were wrong before, one by one.


def test_single_column_images_are_filled_like_the_reference():
    """N x 1 images (a slit profile, a cut-out column) came back with NaN left in them."""
    rng = np.random.default_rng(5)
    for n in (16, 17, 40, 300):
        column = rng.normal(100, 5, (n, 1)).astype(np.float32)
        mask = np.zeros((n, 1), bool)
        mask[3:9] = mask[-2:] = True
        for kwargs in ({}, {"operator": "mean"}, {"size": 5, "smooth": False}):
            ours = maskfill(column, mask, **kwargs)
            assert not np.isnan(ours[0]).any()
            assert_identical(ours, run_reference(column, mask, **kwargs), f"{n}x1 {kwargs}")
            # the same column as a single row
            row = maskfill(column.T, mask.T, **kwargs)
            assert_identical(row, run_reference(column.T, mask.T, **kwargs), f"1x{n} {kwargs}")


@pytest.mark.parametrize("size", [17, 19, 25, 31])
@pytest.mark.parametrize("operator", ["median", "mean"])
def test_windows_of_more_than_255_pixels(size, operator):
    """Window counts overflowed: size 17 mean gave 900 on a constant 100 image, the
    median raised OverflowError."""
    flat = np.full((40, 40), 100.0, np.float32)
    mask = np.zeros((40, 40), bool)
    mask[10:25, 5:30] = True
    smoothed, unsmoothed = maskfill(flat, mask, size=size, operator=operator)
    assert np.all(smoothed == 100) and np.all(unsmoothed == 100)
    rng = np.random.default_rng(size)
    image = (rng.normal(0, 1, (40, 40)) * 10.0 ** rng.uniform(-3, 4, (40, 40))).astype(np.float32)
    ours = maskfill(image, mask, size=size, operator=operator)
    assert_identical(ours, run_reference(image, mask, size=size, operator=operator), f"{size}")


@pytest.mark.parametrize("operator", ["median", "mean"])
def test_fortran_ordered_m51_matches_the_reference(operator):
    """The reference sums each window in the image's memory order: down the columns for a
    Fortran-ordered image or a transposed view, which changes the last bits."""
    # Scaled: M51's pixels are whole numbers, whose float32 sums are exact in any order.
    image = fits.getdata(DATA / "maskfill" / "m51_with_cosmicrays.fits")[100:300, 150:400] / 7
    mask = fits.getdata(DATA / "maskfill" / "m51_mask.fits")[100:300, 150:400]
    for layout in (np.asfortranarray(image), np.ascontiguousarray(image.T).T):
        ours = maskfill(layout, mask, operator=operator)
        assert_identical(ours, run_reference(layout, mask, operator=operator), "F order")
        assert ours[0].flags.f_contiguous  # the reference's layout too
    c_order = maskfill(np.ascontiguousarray(image), mask, operator=operator)
    assert not np.array_equal(c_order[0], ours[0])  # the order does matter here


@pytest.mark.parametrize("shape", [(0, 0), (0, 5), (5, 0), (3, 0, 4)])
@pytest.mark.parametrize("smooth", [True, False])
def test_empty_images_give_empty_results_like_the_reference(shape, smooth):
    image = np.zeros(shape, np.float32)
    ours = maskfill(image, np.zeros(shape, bool), smooth=smooth)
    assert ours[0].shape == shape and ours[0].dtype == np.float32
    assert (ours[1] is None) == (not smooth)
    if len(shape) == 2:
        assert_identical(ours, run_reference(image, np.zeros(shape, bool), smooth=smooth), "empty")


def test_bool_image_is_filled_as_float64_on_purpose():
    """The reference returns a bool image with every masked pixel True (bool(NaN)); a fill
    of 0/1 values as numbers (as float64) is what a user of a bool image can use."""
    image = np.zeros((6, 6), bool)
    image[:, 3:] = True
    mask = np.zeros((6, 6), bool)
    mask[2:4, 1:3] = True
    smoothed = maskfill(image, mask, smooth=False)[0]
    assert smoothed.dtype == np.float64
    assert np.array_equal(smoothed, maskfill(image.astype(np.float64), mask, smooth=False)[0])
    assert run_reference(image, mask, smooth=False)[0][2:4, 1:3].all()  # theirs: all True


def test_a_pixel_left_unfilled_is_an_error_not_a_result(monkeypatch, tmp_path, capsys):
    """The final guard: if the engine ever stops with NaN left (as it did on N x 1 images),
    the call raises and the command line writes nothing, instead of a NaN image."""
    from napari_imagemarker import cli
    from napari_imagemarker.maskfill.engine import PlaneFiller

    image = np.arange(30.0, dtype=np.float32).reshape(5, 6)
    mask = np.zeros((5, 6), np.uint8)
    mask[2, 2:4] = 1
    monkeypatch.setattr(PlaneFiller, "_first_frontier", lambda self: np.empty(0, np.intp))
    with pytest.raises(ValueError, match="left 2 pixel"):
        maskfill(image, mask)
    fits.writeto(tmp_path / "in.fits", image)
    fits.writeto(tmp_path / "mask.fits", mask)
    out = tmp_path / "out.fits"
    code = cli.main(["maskfill", str(tmp_path / "in.fits"), str(tmp_path / "mask.fits"), str(out)])
    assert code == 2
    assert "left 2 pixel(s) unfilled" in capsys.readouterr().err
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == [
        "in.fits",
        "mask.fits",
    ]


def test_command_line_fills_a_single_column_file(tmp_path):
    from napari_imagemarker import cli

    column = np.random.default_rng(3).normal(10, 1, (40, 1)).astype(np.float32)
    mask = np.zeros((40, 1), np.uint8)
    mask[10:20] = 1
    fits.writeto(tmp_path / "col.fits", column)
    fits.writeto(tmp_path / "col_mask.fits", mask)
    out = tmp_path / "out.fits"
    assert cli.main(["maskfill", str(tmp_path / "col.fits"), str(tmp_path / "col_mask.fits"),
                     str(out)]) == 0  # fmt: skip
    expected = run_reference(str(tmp_path / "col.fits"), str(tmp_path / "col_mask.fits"))
    with fits.open(out) as hdul:
        assert not np.isnan(hdul[0].data).any()
        assert np.array_equal(hdul[0].data, expected[0])
        assert np.array_equal(hdul[1].data, expected[1])


@pytest.mark.parametrize("mask_dtype", [bool, np.uint8, ">f4"])
def test_a_call_needs_little_more_memory_than_its_two_results(mask_dtype):
    """Peak memory (tracemalloc sees NumPy's allocations) of a default call on a 2048 x 2048
    float32 image with 2% of it masked: the two returned images, and under 5% more (work
    happens in chunks of about a megabyte, whatever the image's size).  A mask of integers
    or floats (as FITS masks are) is not copied as booleans, which would add 25%."""
    import tracemalloc

    rng = np.random.default_rng(4)
    image = rng.normal(100, 5, (2048, 2048)).astype(np.float32)
    mask = rng.random(image.shape) < 0.02
    mask[300:400, 500:620] = True
    mask = mask.astype(mask_dtype)
    tracemalloc.start()
    try:
        result = maskfill(image, mask)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result[1] is not None
    assert peak / image.nbytes < 2.05


@pytest.mark.parametrize("operator", ["median", "mean"])
def test_fortran_ordered_cube_planes_match_the_reference(operator, tmp_path, monkeypatch):
    """Each plane of a Fortran-ordered cube is what the reference gives for that plane (a
    view whose copy is Fortran-ordered); the intermediate files of writesteps too."""
    rng = np.random.default_rng(8)
    cube = np.asfortranarray(
        rng.normal(0, 1, (3, 14, 17)) * 10.0 ** rng.uniform(-2, 3, (3, 14, 17))
    )
    mask = rng.random((3, 14, 17)) < 0.3
    smoothed, unsmoothed = maskfill(cube, mask, operator=operator)
    for index in range(3):
        expected = run_reference(cube[index], mask[index], operator=operator)
        assert_identical((smoothed[index], unsmoothed[index]), expected, f"plane {index}")
    monkeypatch.chdir(tmp_path)
    plane = np.asfortranarray(cube[0])
    maskfill(plane, mask[0], operator=operator, writesteps=True)
    ours = {p.name: fits.getdata(p) for p in tmp_path.glob("_iter_*.fits")}
    for p in tmp_path.glob("_iter_*.fits"):
        p.unlink()
    run_reference(plane, mask[0], operator=operator, writesteps=True)
    theirs = {p.name: fits.getdata(p) for p in tmp_path.glob("_iter_*.fits")}
    assert ours.keys() == theirs.keys() and ours
    for name in ours:
        assert np.array_equal(ours[name], theirs[name]), name

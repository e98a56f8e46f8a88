"""maskfill: bit-identical to the reference package maskfill 1.1.1, and safe where it is not.

The reference is run in the same process (``import maskfill``) on the same input; results
are compared with ``np.array_equal(..., equal_nan=True)``, i.e. every value must be equal.
"""

from __future__ import annotations

import itertools
import warnings
from pathlib import Path

import maskfill as reference
import numpy as np
import pytest
from astropy.io import fits
from astropy.wcs import WCS
from scipy import ndimage

from napari_imagemarker.maskfill import compiled as _maskfill_compiled
from napari_imagemarker.maskfill import engine as _maskfill_engine
from napari_imagemarker.maskfill import maskfill

DATA = Path(__file__).parents[1] / "data" / "maskfill"
SIZES = (3, 5, 7, 9, 11, 13, 15)
DTYPES = ("<f4", "<f8", ">f4", ">f8")


def run_reference(image, mask, **kwargs):
    """The reference's result; it warns about empty windows, which is not our concern."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return reference.maskfill(image, mask, **kwargs)


def assert_same(ours, theirs):
    """Both result pairs hold exactly the same values (NaN equal to NaN)."""
    assert len(ours) == len(theirs) == 2
    for mine, ref in zip(ours, theirs, strict=True):
        if ref is None:
            assert mine is None
            continue
        assert mine.shape == ref.shape
        assert mine.dtype == ref.dtype  # byte order included
        assert np.array_equal(mine, ref, equal_nan=True), (
            f"{np.count_nonzero(~((mine == ref) | (np.isnan(mine) & np.isnan(ref))))} "
            "pixels differ from the reference"
        )


def random_case(seed: int, shape=(48, 56), dtype="<f4", nan_pixels: int = 0):
    """A seeded image and mask: blobs and streaks plus scattered pixels, about 25% masked.

    Even seeds use integer-valued pixels (many ties, like M51), odd seeds values spanning
    seven decades, where float32 shows any change in the order of summation.
    """
    rng = np.random.default_rng(seed)
    ny, nx = shape
    if seed % 2 == 0:
        image = rng.integers(0, 40, shape).astype(np.float64) + 1000
    else:
        image = rng.normal(0, 1, shape) * 10.0 ** rng.uniform(-3, 4, shape) + 50
    mask = rng.random(shape) < 0.08
    yy, xx = np.mgrid[:ny, :nx]
    for _ in range(3):
        cy, cx, r = rng.uniform(0, ny), rng.uniform(0, nx), rng.uniform(2, 7)
        mask |= (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    for _ in range(4):
        y, x, length = rng.integers(0, ny), rng.integers(0, nx), rng.integers(3, 15)
        mask[y, x : x + length] = True
    mask[rng.integers(0, ny), :2] = True  # reach the border
    image = image.astype(dtype)
    if nan_pixels:
        image[rng.integers(0, ny, nan_pixels), rng.integers(0, nx, nan_pixels)] = np.nan
    return image, mask.astype(np.float32)


def test_reference_expected_output_from_files():
    """The reference's own test: synthetic image, default settings, its stored output."""
    expected = fits.getdata(DATA / "synth_expected_default.fits")
    smoothed, unsmoothed = maskfill(str(DATA / "synth_im.fits"), str(DATA / "synth_mask.fits"))
    assert np.array_equal(smoothed, expected, equal_nan=True)
    assert not np.array_equal(unsmoothed, expected)  # smoothing changed something
    assert np.isfinite(smoothed).all()


@pytest.mark.parametrize(
    ("dtype", "size", "operator"), list(itertools.product(DTYPES, SIZES, ("median", "mean")))
)
def test_matches_reference_on_random_images(dtype, size, operator):
    seed = DTYPES.index(dtype) * 100 + size * 2 + (operator == "mean")
    image, mask = random_case(seed, dtype=dtype, nan_pixels=5 * (seed % 3))
    ours = maskfill(image, mask, size=size, operator=operator)
    assert_same(ours, run_reference(image, mask, size=size, operator=operator))
    assert np.isfinite(ours[0]).all()


@pytest.mark.parametrize("operator", ["median", "mean"])
@pytest.mark.parametrize(("shape", "size"), [((9, 7), 15), ((9, 7), 17), ((6, 11), 41)])
def test_windows_larger_than_the_image_match_the_reference(shape, size, operator):
    """A median window that reaches past the image on every side is taken as one that just
    covers it (the outside is NaN to a median): the same bits as the reference's."""
    rng = np.random.default_rng(size)
    image = (rng.normal(0, 1, shape) * 10.0 ** rng.uniform(-3, 4, shape)).astype(">f4")
    mask = rng.random(shape) < 0.4
    ours = maskfill(image, mask, size=size, operator=operator)
    assert_same(ours, run_reference(image, mask, size=size, operator=operator))


def test_big_windows_are_worked_in_small_chunks():
    """Size 201 (40,401 values a window) around 300 pixels: the call's peak memory is its
    two results plus a few MB, not 300 windows' worth (32 MB of keys before)."""
    import tracemalloc

    rng = np.random.default_rng(5)
    image = rng.normal(100, 5, (512, 512)).astype(np.float32)
    mask = np.zeros(image.shape, bool)
    mask[rng.integers(0, 512, 300), rng.integers(0, 512, 300)] = True
    maskfill(image[:64, :64], mask[:64, :64], size=201, threads=2)  # compile first
    tracemalloc.start()
    try:
        smoothed, unsmoothed = maskfill(image, mask, size=201, threads=2)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    beyond = peak - smoothed.nbytes - unsmoothed.nbytes
    # keys of at most MAX_CHUNK values per thread, the window's offsets and its scratch
    assert beyond < 2 * 4 * _maskfill_engine.MAX_CHUNK + 40401 * 16 + (1 << 20), beyond
    assert np.isfinite(smoothed).all()


@pytest.mark.parametrize(("size", "operator"), [(3, "median"), (3, "mean"), (7, "median")])
def test_matches_reference_without_smoothing(size, operator):
    image, mask = random_case(7 + size, shape=(40, 40))
    ours = maskfill(image, mask, size=size, operator=operator, smooth=False)
    assert ours[1] is None
    assert_same(ours, run_reference(image, mask, size=size, operator=operator, smooth=False))


@pytest.fixture(params=["few-calls paths", "bulk paths"])
def engine_paths(request, monkeypatch):
    """Force every threshold of the engine one way, so that each code path is compared."""
    few = request.param == "few-calls paths"
    monkeypatch.setattr(_maskfill_engine, "SCAN_PIXELS", 1 << 16 if few else 300)  # bands
    monkeypatch.setattr(_maskfill_engine, "FILL_CHUNK", 1 << 14 if few else 300)  # chunks
    monkeypatch.setattr(_maskfill_engine, "MIN_WINDOWS", 2048 if few else 1)
    # every iteration and the smoothing shared between threads, or none
    monkeypatch.setattr(_maskfill_engine, "THREADED_WORK", 10**9 if few else 0)
    return request.param


@pytest.mark.parametrize("mask_dtype", [bool, np.uint8, ">i2", "<f4", ">f4", ">f8"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("transposed", [False, True])
def test_masked_pixels_become_numpys_nan_whatever_the_mask(mask_dtype, dtype, transposed):
    """The work buffer holds the image with np.nan (its exact bits) at the masked pixels and
    at the image's own NaN pixels, for either dtype and masks of every type and byte order
    laid out either way: any non-zero value is masked (NaN too), -0.0 is not."""
    rng = np.random.default_rng(3)
    image = rng.normal(0, 10, (37, 23)).astype(">f4")  # negative values: the sign is cleared
    image[0, :3] = [np.inf, -np.inf, -0.0]
    image[5, 5] = -np.nan  # a NaN of the image with the sign bit set
    flags = rng.random((37, 23)) < 0.3
    flags[0, :3] = True
    flags[5, 5] = False
    mask = flags.astype(mask_dtype)
    if np.dtype(mask_dtype).kind == "f":
        mask[flags] = rng.choice([1.0, -2.5, np.nan, np.inf], np.count_nonzero(flags))
        mask[~flags] = rng.choice([0.0, -0.0], np.count_nonzero(~flags))
    if transposed:
        image, mask = np.ascontiguousarray(image.T).T, np.ascontiguousarray(mask.T).T
        flags = flags.T.T
    filler = _maskfill_engine.PlaneFiller(image, mask, 3, np.dtype(dtype))
    expected = image.astype(dtype)
    expected[flags | np.isnan(expected)] = np.nan
    bits = np.uint32 if dtype == np.float32 else np.uint64
    assert np.array_equal(filler.image.view(bits), expected.view(bits))
    assert filler.n_unfilled == np.count_nonzero(flags) + 1


@pytest.mark.parametrize(
    ("size", "operator"), [(3, "median"), (3, "mean"), (5, "median"), (5, "mean")]
)
def test_every_code_path_matches_reference(engine_paths, size, operator):
    # Up to 2500 pixels in a frontier: the bulk paths work in many chunks.
    image, mask = random_case(11, shape=(96, 96), nan_pixels=20)
    mask[20:60, 30:80] = 1
    ours = maskfill(image, mask, size=size, operator=operator)
    assert_same(ours, run_reference(image, mask, size=size, operator=operator))


@pytest.mark.parametrize("kwargs", [{}, {"operator": "mean"}], ids=["default", "mean"])
def test_matches_reference_on_m51(kwargs):
    image = fits.getdata(DATA / "m51_with_cosmicrays.fits")  # big-endian float32
    mask = fits.getdata(DATA / "m51_mask.fits")
    ours = maskfill(image, mask, **kwargs)
    assert_same(ours, run_reference(image, mask, **kwargs))
    assert not np.array_equal(ours[0], image)


def test_3x3_medians_of_every_window_of_nan_zero_and_one():
    """All 3^8 neighbourhoods of NaN, 0 and 1 (every count of values, every order: by the
    zero-one principle the sorting network then sorts anything), each in a 3 x 3 block of
    its own around a pixel to fill, give np.nanmedian's value."""
    patterns = np.array(list(itertools.product([np.nan, 0.0, 1.0], repeat=8)))
    blocks = np.insert(patterns, 4, np.nan, axis=1).reshape(-1, 3, 3)  # centre: to fill
    image = np.concatenate(list(blocks), axis=1).astype(np.float32)  # (3, 3 * 6561)
    nx = image.shape[1]
    positions = nx + 1 + 3 * np.arange(len(blocks))  # row 1, the middle of each block
    filler = _maskfill_engine.PlaneFiller(image, np.isnan(image), 3, np.dtype(np.float32))
    with np.errstate(all="ignore"):
        got = filler._statistics(positions, "median")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = np.array([np.nanmedian(p) for p in patterns], np.float32)
    assert np.array_equal(got, want, equal_nan=True)


def random_image(rng, shape, dtype):
    """Values with NaN, infinities, signed zeros, ties and a wide range of magnitudes."""
    values = rng.normal(0, 1, shape) * 10.0 ** rng.uniform(-4, 6, shape)
    ties = rng.random(shape) < 0.2
    values[ties] = rng.integers(-3, 4, np.count_nonzero(ties))
    values[rng.random(shape) < 0.02] = -0.0
    values[rng.random(shape) < 0.01] = np.inf
    values[rng.random(shape) < 0.01] = -np.inf
    values[rng.random(shape) < 0.3] = np.nan
    values[:4, :4] = np.nan  # windows without values
    return values.astype(dtype)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("size", [*SIZES, 17, 31])
def test_window_statistics_match_numpy(dtype, size):
    """The compiled statistics of every window of an image, edges included, equal
    np.nanmedian / np.nanmean of the window of the NaN-padded image (what the reference
    takes), bit for bit; and the smoothing equals np.nanmean of the filled image's."""
    rng = np.random.default_rng(size)
    image = random_image(rng, (23, 19), dtype)
    h = size // 2
    padded = np.pad(image, h, constant_values=np.nan)
    windows = [padded[r : r + size, c : c + size] for r in range(23) for c in range(19)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want_median = np.array([np.nanmedian(w) for w in windows], dtype)
        want_mean = np.array([np.nanmean(w) for w in windows], dtype)
    filler = _maskfill_engine.PlaneFiller(
        image, np.zeros(image.shape, bool), size, np.dtype(dtype)
    )
    everywhere = np.arange(image.size)
    # 3x3 medians are only ever taken around a pixel to fill: its own value is missing
    to_fill = np.flatnonzero(np.isnan(image)) if size == 3 else everywhere
    with np.errstate(all="ignore"):
        got_median = filler._statistics(to_fill, "median")
        got_mean = filler._statistics(everywhere, "mean")
    uint = np.uint32 if dtype == np.float32 else np.uint64
    for got, want in [(got_median, want_median[to_fill]), (got_mean, want_mean)]:
        assert got.dtype == dtype
        assert np.array_equal(np.isnan(got), np.isnan(want))
        finite = ~np.isnan(want)
        # equal bit patterns, signed zeros included
        assert np.array_equal(got[finite].view(uint), want[finite].view(uint))
    # smoothing: the mean of each masked pixel's window in a filled image (no NaN)
    filled = np.where(np.isfinite(image), image, dtype(1.5))
    masked = rng.random(image.shape) < 0.5
    smoother = _maskfill_engine.PlaneFiller(filled, masked, size, np.dtype(dtype))
    smoother.fill("median")
    filled = smoother.image.copy()
    with np.errstate(all="ignore"):
        _, smoothed = smoother.results(smooth=True)
    padded = np.pad(filled, h, constant_values=np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        want = filled.copy()
        for r, c in zip(*np.nonzero(masked), strict=True):
            want[r, c] = np.nanmean(padded[r : r + size, c : c + size])
    assert np.array_equal(smoothed.view(uint), want.view(uint))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_pairwise_sums_are_numpys_for_every_length(dtype):
    """NumPy's pairwise summation of 1 to 1100 values (one block up to 128, halves at
    multiples of 8 beyond), bit for bit, starting from 0 as np.sum does."""
    rng = np.random.default_rng(1)
    values = (rng.normal(0, 1, 1100) * 10.0 ** rng.uniform(-6, 6, 1100)).astype(dtype)
    zero = dtype(0)
    for n in range(1, 1101):
        plan = _maskfill_compiled.pairwise_plan(n)
        stack = np.empty(len(plan), dtype)
        # contiguous (no offsets), from the start and from further on
        got = _maskfill_compiled.pairwise_sum(values, np.uint64(0), None, n, plan, stack, zero)
        assert got + zero == np.sum(values[:n]), n
        rest = np.uint64(1100 - n)
        got = _maskfill_compiled.pairwise_sum(values, rest, None, n, plan, stack, zero)
        assert got + zero == np.sum(values[1100 - n :]), n
        # the same values gathered from elsewhere, in the order of the offsets
        offsets = rng.permutation(1100)[:n].astype(np.uint64)
        scattered = np.zeros(1200, dtype)
        scattered[100 + offsets.astype(np.intp)] = values[:n]
        start = np.uint64(100)
        got = _maskfill_compiled.pairwise_sum(scattered, start, offsets, n, plan, stack, zero)
        assert got + zero == np.sum(values[:n]), n


def test_window_offsets_are_the_row_major_window():
    """The offsets sum a window where it lies, in the order of the NaN-padded copy."""
    image = np.arange(7 * 9, dtype=np.float64).reshape(7, 9)
    offsets = _maskfill_compiled.window_offsets(5, 9)
    assert offsets.dtype == np.uint64
    start = 1 * 9 + 2  # window with its first pixel at (1, 2)
    assert np.array_equal(image.reshape(-1)[start + offsets.astype(np.intp)],
                          image[1:6, 2:7].reshape(-1))  # fmt: skip


def test_threads_do_not_change_the_result():
    """Windows are independent: one thread or all the machine's give the same bits."""
    image = fits.getdata(DATA / "m51_with_cosmicrays.fits")
    mask = fits.getdata(DATA / "m51_mask.fits")
    one = maskfill(image, mask, size=5, threads=1)
    every = maskfill(image, mask, size=5, threads=None)
    many = maskfill(image, mask, size=5, threads=64)  # more than the machine's: capped
    for result in (every, many):
        assert all(np.array_equal(a, b) for a, b in zip(one, result, strict=True))
    assert_same(one, run_reference(image, mask, size=5))


@pytest.mark.parametrize("threads", [0, -1, 1.5, "2", True])
def test_threads_must_be_a_whole_number(threads):
    image, mask = random_case(2, shape=(10, 10))
    with pytest.raises(ValueError, match="threads must be a whole number >= 1 or None"):
        maskfill(image, mask, threads=threads)


def test_nan_in_mask_counts_as_masked_like_the_reference():
    """The reference's docstring says NaN in the mask is ignored; in fact it is masked."""
    image, _ = random_case(3, shape=(30, 30))
    mask = np.zeros((30, 30), np.float32)
    mask[5, 5] = np.nan
    mask[20, 7] = 1
    smoothed, unsmoothed = maskfill(image, mask)
    assert smoothed[5, 5] != image[5, 5]
    assert_same((smoothed, unsmoothed), run_reference(image, mask))


def test_any_nonzero_label_counts_as_masked():
    image, _ = random_case(5, shape=(30, 30))
    labels = np.zeros((30, 30), np.int32)
    labels[3:6, 3:6] = 1
    labels[10, 10:14] = 7
    labels[20, 20] = -2
    smoothed, _ = maskfill(image, labels)
    bool_result = maskfill(image, labels != 0)
    assert np.array_equal(smoothed, bool_result[0])
    changed = smoothed != image
    assert changed[labels != 0].any() and not changed[labels == 0].any()


def test_integer_image_is_filled_as_float64():
    """The reference crashes on integers; we fill their float64 version."""
    image, mask = random_case(4, shape=(32, 32))
    integers = image.astype(np.int32)
    ours = maskfill(integers, mask)
    assert ours[0].dtype == np.float64
    assert_same(ours, run_reference(integers.astype(np.float64), mask))
    with pytest.raises(ValueError):
        run_reference(integers, mask)


def test_float16_image_is_filled_as_float32():
    image, mask = random_case(6, shape=(24, 24))
    ours = maskfill(image.astype(np.float16), mask)
    assert ours[0].dtype == np.float32
    assert_same(ours, run_reference(image.astype(np.float16).astype(np.float32), mask))


@pytest.mark.parametrize("mask_dims", [2, 3])
def test_cube_is_filled_plane_by_plane(mask_dims):
    planes = [random_case(seed, shape=(28, 30)) for seed in (20, 21, 22)]
    cube = np.stack([image for image, _ in planes])
    mask = np.stack([m for _, m in planes]) if mask_dims == 3 else planes[0][1]
    smoothed, unsmoothed = maskfill(cube, mask, size=5)
    assert smoothed.shape == unsmoothed.shape == cube.shape
    for index, plane in enumerate(cube):
        plane_mask = mask[index] if mask_dims == 3 else mask
        expected = run_reference(plane, plane_mask, size=5)
        assert_same((smoothed[index], unsmoothed[index]), expected)


def test_inputs_are_not_modified_and_outputs_keep_the_input_dtype():
    """As the reference, which fills a copy: big-endian (FITS) data stay big-endian."""
    image, mask = random_case(9, dtype=">f8", nan_pixels=4)
    image_before, mask_before = image.copy(), mask.copy()
    smoothed, unsmoothed = maskfill(image, mask)
    assert np.array_equal(image, image_before, equal_nan=True)
    assert np.array_equal(mask, mask_before)
    assert smoothed.dtype == unsmoothed.dtype == np.dtype(">f8")
    assert smoothed.flags.c_contiguous  # the unsmoothed one is a view of the work buffer
    assert not np.shares_memory(unsmoothed, image) and not np.shares_memory(unsmoothed, smoothed)
    assert np.array_equal(smoothed, run_reference(image, mask)[0])


def test_nothing_to_fill_returns_copies():
    image = np.arange(20.0).reshape(4, 5)
    smoothed, unsmoothed = maskfill(image, np.zeros((4, 5)))
    assert np.array_equal(smoothed, image) and np.array_equal(unsmoothed, image)
    assert not np.shares_memory(smoothed, image)


@pytest.mark.parametrize(
    ("image", "mask", "kwargs", "message"),
    [
        (np.ones((5, 5)), np.ones((5, 5)), {}, "no valid pixel"),
        (np.full((5, 5), np.nan), np.zeros((5, 5)), {}, "no valid pixel"),
        (np.ones((5, 5)), np.zeros((5, 4)), {}, r"mask's shape \(5, 4\).*image's shape \(5, 5\)"),
        (np.ones((2, 5, 5)), np.zeros((3, 5, 5)), {}, r"\(3, 5, 5\).*\(2, 5, 5\) or \(5, 5\)"),
        (np.ones(5), np.zeros(5), {}, "2-D or a 3-D cube"),
        (np.ones((5, 5)), np.zeros((5, 5)), {"size": 1}, "odd integer >= 3, not 1"),
        (np.ones((5, 5)), np.zeros((5, 5)), {"size": 4}, "odd integer >= 3, not 4"),
        (np.ones((5, 5)), np.zeros((5, 5)), {"size": 3.0}, "odd integer >= 3, not 3.0"),
        (np.ones((5, 5)), np.zeros((5, 5)), {"operator": "max"}, "'median' or 'mean'"),
        (np.ones((5, 5), complex), np.zeros((5, 5)), {}, "real numbers"),
    ],
)
def test_bad_input_raises_a_clear_error(image, mask, kwargs, message):
    with pytest.raises(ValueError, match=message):
        maskfill(image, mask, **kwargs)


def test_a_cube_plane_without_valid_pixel_is_named():
    cube = np.ones((3, 6, 6))
    mask = np.zeros((3, 6, 6))
    mask[1] = 1
    with pytest.raises(ValueError, match=r"plane 1 of the cube: .*no valid pixel"):
        maskfill(cube, mask)


@pytest.mark.parametrize("operator", ["median", "mean"])
def test_windows_of_only_infinities_raise_instead_of_looping(operator):
    """median(+inf, -inf) and +inf + -inf are NaN: the reference would loop forever."""
    image = np.array([[np.inf, 0.0, -np.inf]])
    with pytest.raises(ValueError, match=r"1 pixel.*can never be filled.*only \+inf and -inf"):
        maskfill(image, np.array([[0, 1, 0]]), operator=operator)


@pytest.mark.parametrize("operator", ["median", "mean"])
def test_infinite_pixels_match_reference(operator):
    """+inf pixels spread into the filled area exactly as in the reference."""
    image, mask = random_case(15, shape=(36, 36))
    masked = mask != 0
    edge = ndimage.binary_dilation(masked) & ~masked  # good pixels next to the mask
    image[np.nonzero(edge)[0][::6], np.nonzero(edge)[1][::6]] = np.inf
    result = maskfill(image, mask, operator=operator)
    assert np.isinf(result[1][masked]).any()
    assert_same(result, run_reference(image, mask, operator=operator))


def test_a_nan_result_is_retried_once_its_window_changes():
    """A NaN result stays unfilled and is recomputed next iteration, as in the reference."""
    image = np.array([[np.inf, 0.0, -np.inf, 5.0, 6.0, 7.0]])
    mask = np.array([[0, 1, 1, 1, 0, 0]])
    assert_same(maskfill(image, mask), run_reference(image, mask))


def wcs_header() -> fits.Header:
    header = fits.Header()
    header["CTYPE1"], header["CTYPE2"] = "RA---TAN", "DEC--TAN"
    header["CRPIX1"], header["CRPIX2"] = 10.0, 12.0
    header["CRVAL1"], header["CRVAL2"] = 202.47, 47.19
    header["CDELT1"], header["CDELT2"] = -0.0003, 0.0003
    header["OBJECT"] = "M51 test"
    return header


def write_case(tmp_path, dtype="<f4"):
    image, mask = random_case(12, shape=(30, 34), dtype=dtype)
    fits.writeto(tmp_path / "in.fits", image, wcs_header())
    fits.writeto(tmp_path / "mask.fits", mask)
    return image, mask


def test_output_file_has_the_reference_layout_and_keeps_the_header(tmp_path):
    write_case(tmp_path)
    out = tmp_path / "out.fits"
    smoothed, unsmoothed = maskfill(tmp_path / "in.fits", str(tmp_path / "mask"), output_file=out)
    with fits.open(out) as hdul:
        assert len(hdul) == 2
        assert np.array_equal(hdul[0].data, smoothed)
        assert np.array_equal(hdul[1].data, unsmoothed)
        assert hdul[0].header["EXT0"] == "Filled Smoothed Image"
        assert hdul[0].header["EXT1"] == "Filled Image (no smoothing)"
        assert hdul[0].header["OBJECT"] == "M51 test"
        for hdu in hdul:
            assert WCS(hdu.header).wcs.crval[0] == pytest.approx(202.47)
    # the reference reading the same files: big-endian results, as FITS data are
    assert_same(
        (smoothed, unsmoothed), run_reference(str(tmp_path / "in.fits"), str(tmp_path / "mask"))
    )
    assert not list(tmp_path.glob(".tmp-*"))  # no temporary file (files.atomic_output) left


def test_output_file_is_fsynced_before_it_is_renamed_into_place(tmp_path, durable_writes):
    """maskfill-batch takes an existing output as done: after a power cut the file under the
    final name must be whole, never an empty file whose data never reached the disk."""
    write_case(tmp_path)
    maskfill(tmp_path / "in.fits", tmp_path / "mask.fits", output_file=tmp_path / "out.fits")

    durable_writes.assert_durable(tmp_path / "out.fits")


def test_output_file_without_smoothing_has_one_hdu(tmp_path):
    write_case(tmp_path, dtype=">f8")
    filled, none = maskfill(str(tmp_path / "in.fits"), tmp_path / "mask.fits", smooth=False,
                            output_file=tmp_path / "out.fits")  # fmt: skip
    assert none is None
    with fits.open(tmp_path / "out.fits") as hdul:
        assert len(hdul) == 1
        assert np.array_equal(hdul[0].data, filled)
        assert "EXT0" not in hdul[0].header


def test_writesteps_writes_each_iteration(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    image = np.ones((9, 9), np.float32)
    mask = np.zeros((9, 9))
    mask[2:7, 2:7] = 1  # a 5x5 hole: filled in 3 iterations
    _, unsmoothed = maskfill(image, mask, writesteps=True)
    steps = sorted(tmp_path.glob("_iter_*.fits"))
    assert [p.name for p in steps] == ["_iter_1.fits", "_iter_2.fits", "_iter_3.fits"]
    assert np.isnan(fits.getdata(steps[0])).sum() == 9
    assert np.array_equal(fits.getdata(steps[-1]), unsmoothed)


def test_file_problems_name_the_file(tmp_path):
    write_case(tmp_path)
    (tmp_path / "text.fits").write_text("not a FITS file")
    cases = [
        (tmp_path / "missing.fits", "missing.fits: no such file"),
        (tmp_path / "text.fits", "text.fits: cannot read as FITS"),
    ]
    for path, message in cases:
        with pytest.raises(ValueError, match=message):
            maskfill(path, tmp_path / "mask.fits")
    fits.writeto(tmp_path / "line.fits", np.ones(34))
    with pytest.raises(ValueError, match=r"line\.fits: the image must be 2-D"):
        maskfill(tmp_path / "line.fits", tmp_path / "mask.fits")
    (tmp_path / "cut.fits").write_bytes((tmp_path / "in.fits").read_bytes()[:4000])
    for image, mask in [("cut.fits", "mask.fits"), ("in.fits", "cut.fits")]:
        with pytest.raises(ValueError, match=r"cut\.fits: cannot read extension 0 \(.*trunc"):
            maskfill(tmp_path / image, tmp_path / mask)
    with pytest.raises(ValueError, match=r"in\.fits: has no extension 3"):
        maskfill(tmp_path / "in.fits", tmp_path / "mask.fits", ext=3)
    with pytest.raises(ValueError, match=r"nodir.out\.fits: cannot write"):
        maskfill(
            tmp_path / "in.fits",
            tmp_path / "mask.fits",
            output_file=tmp_path / "nodir" / "out.fits",
        )


def test_progress_and_verbose(capsys):
    image, mask = random_case(13, shape=(40, 40))
    calls = []
    maskfill(image, mask, verbose=True, progress=lambda done, total: calls.append((done, total)))
    total = int(np.count_nonzero(mask))
    assert calls[-1] == (total, total)
    assert [done for done, _ in calls] == sorted(done for done, _ in calls)
    captured = capsys.readouterr()
    assert captured.out == ""  # messages go to stderr, not into piped output
    assert "iteration 1:" in captured.err


def test_public_name_is_the_function_even_after_the_module_is_imported():
    import importlib
    import types

    importlib.import_module("napari_imagemarker.maskfill")
    importlib.import_module("napari_imagemarker.maskfill.batch")
    import napari_imagemarker

    assert isinstance(napari_imagemarker.maskfill, types.FunctionType)
    from napari_imagemarker import maskfill as public

    assert (
        public.__name__ == "maskfill" and public.__module__ == "napari_imagemarker.maskfill.fill"
    )

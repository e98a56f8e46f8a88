"""Limits, stretch tables, blur and RGB display copies: numbers a user would see."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.visualization import (
    LinearStretch,
    LogStretch,
    ManualInterval,
    MinMaxInterval,
    PercentileInterval,
    SqrtStretch,
    ZScaleInterval,
)

from napari_imagemarker.display import (
    DisplaySettings,
    ImageHistEqStretch,
    RGBDisplay,
    default_settings_for,
    gaussian_blur,
    gaussian_kernel,
    grey_display,
    interval_limits,
    stretch_lut,
)
from napari_imagemarker.display.histogram import histogram


def test_limits_of_each_interval():
    data = np.arange(1000, dtype=np.float32).reshape(10, 100)
    data[0, 0] = np.nan
    assert interval_limits(data, MinMaxInterval()) == (1.0, 999.0)
    assert interval_limits(data, ManualInterval(5, 50)) == (5.0, 50.0)
    lo, hi = interval_limits(data, PercentileInterval(90))
    assert lo == pytest.approx(50.9, abs=1) and hi == pytest.approx(949.1, abs=1)
    lo, hi = interval_limits(data, ZScaleInterval())
    assert 0 < lo < hi < 1000
    assert interval_limits(np.full((4, 4), np.nan), ZScaleInterval()) == (0.0, 1.0)


def test_log_table_brightens_faint_values_and_keeps_the_order():
    lin, log = stretch_lut(LinearStretch()), stretch_lut(LogStretch())
    assert lin[0] == 0 and lin[-1] == 1 and log[0] == 0 and log[-1] == pytest.approx(1)
    assert np.all(np.diff(log) >= 0)
    assert log[10] > 5 * lin[10]


def test_histogram_equalisation_follows_the_image():
    scaled = np.concatenate([np.full(900, 0.1), np.linspace(0, 1, 100)])
    lut = stretch_lut(ImageHistEqStretch(), scaled_sample=scaled)
    # 90% of the pixels sit at 0.1: the table jumps there
    assert lut[int(0.09 * 1023)] < 0.1 and lut[int(0.11 * 1023)] > 0.85


def test_grey_display_keeps_values_and_gives_limits_table_and_kernel():
    data = np.random.default_rng(1).normal(100, 10, (200, 300)).astype(np.float32)
    before = data.copy()
    grey = grey_display(data, DisplaySettings(SqrtStretch(), ManualInterval(80, 120), 2.0))
    assert grey.limits == (80.0, 120.0)
    assert grey.lut[256] == pytest.approx(np.sqrt(256 / 1023))
    assert grey.kernel.shape == (13, 13) and grey.kernel.sum() == pytest.approx(1)
    assert np.array_equal(data, before)
    assert grey_display(data, DisplaySettings()).kernel is None


def test_kernel_is_a_normalised_gaussian():
    k = gaussian_kernel(1.5)
    assert k.shape == (11, 11)
    assert k.sum() == pytest.approx(1, abs=1e-6)
    assert k[5, 5] == k.max()
    # neighbours one sigma out: exp(-1/2) of the centre
    assert k[5, 5 + 3] / k[5, 5] == pytest.approx(np.exp(-((3 / 1.5) ** 2) / 2), rel=1e-5)
    assert gaussian_kernel(0).shape == (1, 1)


def test_blur_widens_a_star_and_keeps_its_flux():
    image = np.zeros((41, 41), np.float32)
    image[20, 20] = 100
    blurred = gaussian_blur(image, 2.0)
    assert blurred.sum() == pytest.approx(100, rel=1e-4)
    assert (blurred > 1).sum() > 9 and blurred[20, 20] < 10
    assert image[20, 20] == 100  # the input is untouched


def test_blur_is_nan_aware():
    image = np.full((60, 60), 5.0, np.float32)
    image[20:30, 20:30] = np.nan
    blurred = gaussian_blur(image, 3.0)
    # NaNs neither darken their neighbours nor spread
    assert np.isnan(blurred).sum() == 100
    assert np.nanmin(blurred) == pytest.approx(5.0) and np.nanmax(blurred) == pytest.approx(5.0)


def test_blur_of_rgb_keeps_channels_apart():
    image = np.zeros((2, 21, 21, 3), np.float32)
    image[0, 10, 10, 0] = 1
    out = gaussian_blur(image, 1.0, rgb=True)
    assert out[..., 1:].max() == 0 and out[1].max() == 0
    assert out[0, ..., 0].sum() == pytest.approx(1, rel=1e-4)


def test_rgb_display_copy_from_raw_pixels():
    raw = np.zeros((20, 30, 3), np.uint8)
    raw[..., 0] = 10
    raw[..., 1] = 100
    raw[..., 2] = 250
    raw[0, 0] = 0
    raw[-1, -1] = 255
    before = raw.copy()
    rgb = RGBDisplay(raw)
    linear = rgb.render(DisplaySettings(LinearStretch(), ManualInterval(0, 255)))
    assert np.array_equal(linear, raw)
    log = rgb.render(DisplaySettings(LogStretch(), ManualInterval(0, 255)))
    assert log.dtype == np.uint8 and log.shape == raw.shape
    assert log[5, 5, 0] > 3 * linear[5, 5, 0]  # faint red brightened
    assert log[5, 5, 0] < log[5, 5, 1] < log[5, 5, 2]  # order kept
    assert np.array_equal(raw, before)
    minmax = rgb.render(DisplaySettings(interval=MinMaxInterval()))
    assert rgb.limits == [(0.0, 255.0)] * 3
    assert np.array_equal(minmax, raw)


def test_defaults_are_what_the_readers_show():
    assert isinstance(default_settings_for(np.zeros((3, 3)), False).interval, ZScaleInterval)
    rgb = default_settings_for(np.zeros((3, 3, 3), np.uint8), True)
    assert (rgb.interval.vmin, rgb.interval.vmax) == (0, 255)
    assert isinstance(default_settings_for(np.zeros((3, 3, 3)), True).interval, MinMaxInterval)


def test_histogram_covers_the_limits():
    data = np.random.default_rng(2).normal(0, 1, (100, 100))
    hist = histogram(data, limits=[(-10, 3)])
    assert hist.edges[0] < -10 and hist.edges[-1] > 3
    # the 0.1-99.9 percentile range, widened to the limits
    assert hist.counts.shape == (1, 128) and 9980 <= hist.counts.sum() <= 10_000
    rgb = histogram(np.zeros((10, 10, 3), np.uint8), rgb=True)
    assert rgb.counts.shape == (3, 128)

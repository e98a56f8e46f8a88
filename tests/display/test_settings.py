"""Display settings: presets, equality, and the JSON form sessions save."""

from __future__ import annotations

import json

import pytest
from astropy.visualization import (
    AsinhStretch,
    AsymmetricPercentileInterval,
    ContrastBiasStretch,
    LogStretch,
    ManualInterval,
    PercentileInterval,
    PowerStretch,
    ZScaleInterval,
)

from napari_imagemarker.display import (
    INTERVALS,
    STRETCHES,
    DisplaySettings,
    ImageHistEqStretch,
    interval_name,
    make_interval,
    make_stretch,
    stretch_name,
)


@pytest.mark.parametrize("stretch", list(STRETCHES))
@pytest.mark.parametrize("interval", list(INTERVALS))
def test_every_preset_survives_the_session_file(stretch, interval):
    settings = DisplaySettings(make_stretch(stretch), make_interval(interval, 3.0, 40.0), 1.5)
    saved = json.loads(json.dumps(settings.to_dict()))
    back = DisplaySettings.from_dict(saved)
    assert back.key() == settings.key()
    assert stretch_name(back.stretch) == stretch
    assert interval_name(back.interval) == interval


def test_parameters_and_odd_intervals_are_kept():
    settings = DisplaySettings(
        PowerStretch(3.5), AsymmetricPercentileInterval(1, 95), 0.0, "magma"
    )
    back = DisplaySettings.from_dict(settings.to_dict())
    assert back.stretch.a == 3.5
    assert (back.interval.lower_percentile, back.interval.upper_percentile) == (1, 95)
    assert back.colormap == "magma"
    assert back.describe() == "power (a=3.5), AsymmetricPercentileInterval"


def test_equal_settings_have_equal_keys_and_different_ones_do_not():
    assert DisplaySettings(LogStretch(), ZScaleInterval()).key() == (
        DisplaySettings(LogStretch(1000), ZScaleInterval()).key()
    )
    assert DisplaySettings(LogStretch(10)).key() != DisplaySettings(LogStretch(1000)).key()
    assert DisplaySettings(blur=1).key() != DisplaySettings(blur=0).key()


def test_describe_says_what_is_shown():
    settings = DisplaySettings(AsinhStretch(0.1), ZScaleInterval(), 1.5)
    assert settings.describe() == "asinh (a=0.1), zscale, blur 1.5 px"
    manual = DisplaySettings(interval=ManualInterval(10, 100))
    assert manual.describe() == "linear, manual 10 to 100"


def test_names_of_presets():
    assert interval_name(PercentileInterval(99.5)) == "99.5%"
    assert interval_name(PercentileInterval(42)) is None
    assert stretch_name(ImageHistEqStretch()) == "histeq"
    assert stretch_name(ContrastBiasStretch(1, 0.5)) is None


def test_bad_values_say_what_is_wrong():
    with pytest.raises(TypeError, match="not valid"):
        DisplaySettings(stretch="log")
    with pytest.raises(TypeError, match="interval"):
        DisplaySettings(interval=(1, 2))
    with pytest.raises(ValueError, match="blur radius"):
        DisplaySettings(blur=-1)
    with pytest.raises(ValueError, match="unknown stretch 'lg'"):
        make_stretch("lg")
    with pytest.raises(ValueError, match="unknown interval"):
        make_interval("98%")
    with pytest.raises(ValueError, match="cannot save the stretch"):
        DisplaySettings(ContrastBiasStretch(1, 0.5)).to_dict()
    with pytest.raises(ValueError, match="not display settings"):
        DisplaySettings.from_dict({"stretch": "log"})

"""The sexagesimal parser agrees with astropy's Angle: on a large random sample of the forms
catalogs write (and their near misses), and on malformed strings, value by value."""

from __future__ import annotations

import contextlib
import warnings

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Angle
from astropy.table import Column

from napari_imagemarker.catalogs.columns import parse_angles
from napari_imagemarker.catalogs.sexagesimal import parse_sexagesimal

MALFORMED = [
    "--1:00:00", "1:2:3:4", "1::2", ":1:2", "1:-2:3", "1:2:3-", "1h2d3s", "abc", "1e3:00:00",
    "1 2 3 4", "1d2m3s4", "++1:0:0", "+-1:0:0", "1:2.5:3", "1:2:3:", "12h34m56s78",
    "1h2m3s d", "1:2:3 4", "1;2;3", "1_2_3", "0x1:2:3",
]  # fmt: skip
NEAR_MISSES = [
    "1:60:00", "1:2:60", "24:00:00", "25:00:00", "1:30.5", "10h", "10d", "-0:30:00", "1h2m3",
    "1d2'3\"", " 12 34 56.7 ", "12h30.5m", "1.5", "-1.5", "+2°12'00\"", "10h00m24.5s",
    "1d 2m 3s", "1h 2m 3s", "0:0:0", "-00 00 30.5",
    "١:٢:٣",  # Arabic-Indic digits: astropy reads them (Python's float does), so do we
]  # fmt: skip


def astropy_degrees(values, hours: bool) -> np.ndarray:
    unit = u.hourangle if hours else u.deg
    out = np.full(len(values), np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for i, value in enumerate(values):
            with contextlib.suppress(Exception):
                out[i] = Angle(value, unit=unit).deg
    return out


def random_strings(n: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        a, b, c = rng.integers(0, 100), rng.integers(0, 62), rng.uniform(0, 61)
        sign = str(rng.choice(["", "", "-", "+", "--", "+-", " -"]))
        cs = f"{c:0{rng.integers(2, 9)}.{rng.integers(0, 6)}f}"
        forms = [
            f"{a}:{b:02d}:{cs}", f"{a} {b:02d} {cs}", f"{a}h{b:02d}m{cs}s", f"{a}d{b}m{cs}s",
            f"{a}°{b}'{cs}\"", f"{a}:{b}", f"{a}:{b}:{cs}:{b}", f"{a}h{b}m", f"{a}::{b}",
            f"{a}:{b}:", f"{a} {b}", f"{a}h {b}m {cs}s", f"{a % 24:02d}:{b % 60:02d}:{cs}",
        ]  # fmt: skip
        out.append(sign + forms[rng.integers(0, len(forms))])
    return np.array(out, dtype=object)


@pytest.mark.parametrize("hours", [True, False])
def test_agrees_with_angle_on_a_large_random_sample(hours):
    values = random_strings(6000, seed=int(hours))
    ours, _, fast = parse_sexagesimal(values, np.zeros(len(values), bool), hours)
    truth = astropy_degrees(values, hours)
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(truth))
    np.testing.assert_allclose(ours, truth, atol=1e-9, rtol=0, equal_nan=True)
    assert 0.1 < fast.mean() < 0.9  # both paths were exercised
    assert np.isnan(truth).sum() > 1000  # and so were refusals


@pytest.mark.parametrize("hours", [True, False])
def test_agrees_with_angle_on_malformed_strings_and_near_misses(hours):
    values = np.array(MALFORMED + NEAR_MISSES, dtype=object)
    ours, _, _ = parse_sexagesimal(values, np.zeros(len(values), bool), hours)
    truth = astropy_degrees(values, hours)
    for value, got, want in zip(values, ours, truth, strict=True):
        assert (np.isnan(got) and np.isnan(want)) or abs(got - want) < 1e-9, value
    assert np.isnan(ours[: len(MALFORMED)]).all()  # astropy refuses every malformed one


def test_hours_or_degrees_per_value():
    values = Column(["10h00m24s", "10d00m24s", "10:00:24", "-02:12:00"])
    ra, how = parse_angles(values, hours=True)
    np.testing.assert_allclose(ra, [150.1, 10.0066666667, 150.1, -33.0], atol=1e-9)
    assert how == "sexagesimal hours and degrees (per value)"
    dec, how = parse_angles(values, hours=False)
    np.testing.assert_allclose(dec, [150.1, 10.0066666667, 10.0066666667, -2.2], atol=1e-9)
    # a column whose unit says degrees: values without letters are degrees
    column = Column(["10:00:24", "10h00m24s"], unit="deg")
    np.testing.assert_allclose(parse_angles(column, hours=True)[0], [10.0066666667, 150.1])


def test_the_old_parser_bugs_are_gone():
    values = Column(["--1:00:00", "1:2:3:4", "01:00:00"])
    degrees, _ = parse_angles(values, hours=False)
    assert np.isnan(degrees[:2]).all() and degrees[2] == 1.0

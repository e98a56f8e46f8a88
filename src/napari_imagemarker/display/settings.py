"""Display settings of one image: an astropy stretch, an astropy interval, a blur radius and a
colormap, with the named presets the display dock offers and a JSON form for sessions.

Nothing here touches pixels; :mod:`.render` applies the settings.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from astropy.visualization import (
    AsinhStretch,
    AsymmetricPercentileInterval,
    BaseInterval,
    BaseStretch,
    HistEqStretch,
    LinearStretch,
    LogStretch,
    ManualInterval,
    MinMaxInterval,
    PercentileInterval,
    PowerStretch,
    SinhStretch,
    SqrtStretch,
    ZScaleInterval,
)

__all__ = [
    "INTERVALS",
    "STRETCHES",
    "DisplaySettings",
    "ImageHistEqStretch",
    "default_settings_for",
    "interval_name",
    "make_interval",
    "make_stretch",
    "stretch_name",
]


class ImageHistEqStretch(HistEqStretch):
    """Histogram equalisation of whatever image it is applied to.

    astropy's :class:`~astropy.visualization.HistEqStretch` is built from one image's
    values; this one is rebuilt from the values of each image it is shown on (what the
    display dock's "HistEq" means, and what carries over from image to image in a marking
    session). Called directly on values, it equalises those values.
    """

    def __init__(self) -> None:  # no data: it comes with each image
        self.data = None
        self.values = None

    def __call__(self, values, clip=True, out=None):
        values = np.asarray(values, dtype=float)
        finite = values[np.isfinite(values)]
        if finite.size == 0:
            return values if out is None else out
        return HistEqStretch(finite)(values, clip=clip, out=out)

    @property
    def inverse(self):
        raise NotImplementedError("ImageHistEqStretch has an inverse only once given data")

    def __repr__(self) -> str:
        return "ImageHistEqStretch()"


#: The stretches the dock offers: name -> (class, default parameter ``a`` or None).
STRETCHES: dict[str, tuple[type, float | None]] = {
    "linear": (LinearStretch, None),
    "log": (LogStretch, 1000.0),
    "sqrt": (SqrtStretch, None),
    "asinh": (AsinhStretch, 0.1),
    "power": (PowerStretch, 2.0),
    "sinh": (SinhStretch, 1.0 / 3.0),
    "histeq": (ImageHistEqStretch, None),
}

#: The intervals the dock offers: name -> factory (``manual`` takes the limits).
INTERVALS: dict[str, Any] = {
    "minmax": MinMaxInterval,
    "zscale": ZScaleInterval,
    "99.5%": lambda: PercentileInterval(99.5),
    "99%": lambda: PercentileInterval(99.0),
    "95%": lambda: PercentileInterval(95.0),
    "90%": lambda: PercentileInterval(90.0),
    "manual": ManualInterval,
}


def make_stretch(name: str, a: float | None = None) -> BaseStretch:
    """A stretch by its dock name (``"linear"``, ``"log"``, ``"sqrt"``, ``"asinh"``,
    ``"power"``, ``"sinh"``, ``"histeq"``), with parameter ``a`` where it has one."""
    try:
        cls, default = STRETCHES[name]
    except KeyError:
        raise ValueError(f"unknown stretch {name!r}; one of {', '.join(STRETCHES)}") from None
    if default is None:
        return cls()
    return cls(default if a is None else float(a))


def stretch_name(stretch: BaseStretch) -> str | None:
    """The dock name of ``stretch``, or None for another kind of stretch."""
    if isinstance(stretch, ImageHistEqStretch):
        return "histeq"
    for name, (cls, _default) in STRETCHES.items():
        if type(stretch) is cls:
            if cls is LinearStretch and (stretch.slope, stretch.intercept) != (1, 0):
                return None
            return name
    return None


def stretch_parameter(stretch: BaseStretch) -> float | None:
    """The parameter ``a`` of a log/asinh/power/sinh stretch, else None."""
    return getattr(stretch, "a", None) if stretch_name(stretch) else None


def make_interval(name: str, lo: float | None = None, hi: float | None = None) -> BaseInterval:
    """An interval by its dock name (``"minmax"``, ``"zscale"``, ``"99.5%"``, ``"99%"``,
    ``"95%"``, ``"90%"``, ``"manual"``); ``manual`` takes the limits ``lo``, ``hi``."""
    if name == "manual":
        return ManualInterval(lo, hi)
    try:
        return INTERVALS[name]()
    except KeyError:
        raise ValueError(f"unknown interval {name!r}; one of {', '.join(INTERVALS)}") from None


def interval_name(interval: BaseInterval) -> str | None:
    """The dock name of ``interval``, or None for another kind (e.g. asymmetric
    percentiles)."""
    if type(interval) is MinMaxInterval:
        return "minmax"
    if type(interval) is ZScaleInterval:
        return "zscale"
    if type(interval) is ManualInterval:
        return "manual"
    if type(interval) is PercentileInterval:
        width = interval.upper_percentile - interval.lower_percentile
        for name in ("99.5%", "99%", "95%", "90%"):
            if math.isclose(width, float(name[:-1])):
                return name
    return None


@dataclass(frozen=True)
class DisplaySettings:
    """How one image is shown. Raw pixel values are never changed by these.

    Attributes
    ----------
    stretch : astropy.visualization.BaseStretch
        Applied to values already scaled to 0-1 by the interval.
    interval : astropy.visualization.BaseInterval
        The limits: values at or below the lower one are black, at or above the upper
        one white (each channel on its own for RGB images).
    blur : float
        Gaussian blur of the displayed image, standard deviation in image pixels
        (0 = off).
    colormap : str
        Colormap of single-channel images (napari or matplotlib name); RGB images keep
        their colours.
    """

    stretch: BaseStretch = field(default_factory=LinearStretch)
    interval: BaseInterval = field(default_factory=ZScaleInterval)
    blur: float = 0.0
    colormap: str = "gray"

    def __post_init__(self) -> None:
        if not isinstance(self.stretch, BaseStretch):
            raise TypeError(
                f"Stretch option {self.stretch!r} is not valid: must be an "
                "astropy.visualization stretch (a BaseStretch)"
            )
        if not isinstance(self.interval, BaseInterval):
            raise TypeError(
                f"Interval {self.interval!r} is not valid: must be an astropy.visualization "
                "interval (a BaseInterval) or a (low, high) pair"
            )
        blur = float(self.blur)
        if not (math.isfinite(blur) and blur >= 0):
            raise ValueError(f"blur radius must be a number of pixels >= 0, not {self.blur!r}")
        object.__setattr__(self, "blur", blur)

    def replace(self, **changes: Any) -> DisplaySettings:
        """A copy with ``changes`` (``stretch``, ``interval``, ``blur``, ``colormap``)."""
        return replace(self, **changes)

    def key(self) -> tuple:
        """A hashable description: equal for settings that show an image the same way
        (astropy's stretches and intervals compare by identity, not by value)."""

        def part(obj) -> tuple:
            items = sorted(
                (k, repr(float(v) if isinstance(v, numbers.Real) else v))
                for k, v in vars(obj).items()
                if k not in ("data", "values")
            )
            return (type(obj).__qualname__, tuple(items))

        return (part(self.stretch), part(self.interval), self.blur, self.colormap)

    def describe(self) -> str:
        """One line for people, e.g. ``"asinh (a=0.1), zscale, blur 1.5 px"``."""
        name = stretch_name(self.stretch) or type(self.stretch).__name__
        a = stretch_parameter(self.stretch)
        stretch = f"{name} (a={a:g})" if a is not None else name
        iname = interval_name(self.interval) or type(self.interval).__name__
        if iname == "manual":
            iname = f"manual {self.interval.vmin:g} to {self.interval.vmax:g}"
        blur = f", blur {self.blur:g} px" if self.blur else ""
        return f"{stretch}, {iname}{blur}"

    # -- sessions --------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (what sessions save). Only the dock's stretches and astropy's
        interval classes can be saved.

        Raises
        ------
        ValueError
            For a stretch or interval of another kind (say which).
        """
        name = stretch_name(self.stretch)
        if name is None:
            raise ValueError(
                f"cannot save the stretch {self.stretch!r}: only "
                f"{', '.join(STRETCHES)} are saved with a session"
            )
        stretch: dict[str, Any] = {"name": name}
        if stretch_parameter(self.stretch) is not None:
            stretch["a"] = float(self.stretch.a)
        interval = self.interval
        if isinstance(interval, ManualInterval):
            ival = {"name": "manual", "vmin": _num(interval.vmin), "vmax": _num(interval.vmax)}
        elif isinstance(interval, AsymmetricPercentileInterval):
            ival = {
                "name": "percentile",
                "lower": float(interval.lower_percentile),
                "upper": float(interval.upper_percentile),
            }
        elif isinstance(interval, ZScaleInterval):
            ival = {"name": "zscale", "contrast": float(interval.contrast)}
        elif isinstance(interval, MinMaxInterval):
            ival = {"name": "minmax"}
        else:
            raise ValueError(f"cannot save the interval {interval!r} with a session")
        return {"stretch": stretch, "interval": ival, "blur": self.blur,
                "colormap": self.colormap}  # fmt: skip

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DisplaySettings:
        """The settings :meth:`to_dict` wrote.

        Raises
        ------
        ValueError
            A dict that does not describe display settings (says what is wrong).
        """
        try:
            s = d["stretch"]
            stretch = make_stretch(s["name"], s.get("a"))
            i = d["interval"]
            kind = i["name"]
            if kind == "manual":
                interval: BaseInterval = ManualInterval(i.get("vmin"), i.get("vmax"))
            elif kind == "percentile":
                lo, hi = float(i["lower"]), float(i["upper"])
                if math.isclose(lo, 100 - hi):
                    interval = PercentileInterval(hi - lo)
                else:
                    interval = AsymmetricPercentileInterval(lo, hi)
            elif kind == "zscale":
                interval = ZScaleInterval(contrast=float(i.get("contrast", 0.25)))
            elif kind == "minmax":
                interval = MinMaxInterval()
            else:
                raise ValueError(f"unknown interval {kind!r}")
            return cls(
                stretch, interval, float(d.get("blur", 0.0)), str(d.get("colormap", "gray"))
            )
        except (KeyError, TypeError, AttributeError) as err:
            raise ValueError(f"not display settings: {d!r} ({err})") from None


def default_settings_for(data, rgb: bool) -> DisplaySettings:
    """The settings an image starts from, and *Reset* returns to: linear with ZScale
    limits for single-channel images (what the readers set); for RGB images linear over
    the full range of an integer type (the picture as stored), else min-max."""
    if rgb:
        kind = np.dtype(getattr(data, "dtype", np.float64))
        if kind.kind in "ui":
            return DisplaySettings(LinearStretch(), ManualInterval(0, int(np.iinfo(kind).max)))
        return DisplaySettings(LinearStretch(), MinMaxInterval())
    return DisplaySettings(LinearStretch(), ZScaleInterval())


def _num(value):
    return None if value is None else float(value)

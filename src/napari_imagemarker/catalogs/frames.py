"""Celestial frames of catalogs: what a table says about its coordinates' frame.

A catalog's positions are in some frame (ICRS, FK5 J2000, FK4 B1950, galactic,
ecliptic...). :func:`parse_frame` reads a frame as a user writes it (``"fk5"``,
``"fk4 B1950"``, ``"galactic"``); :func:`coosys_frame` maps a VOTable ``COOSYS`` and
:func:`meta_frame` FITS-style ``RADESYS``/``EQUINOX`` keywords to astropy frames;
:func:`describe` names a frame for messages. Positions in a stated frame are converted with
astropy to each image's own WCS frame, exactly (:func:`~napari_imagemarker.wcs.frame_to_pixel`).
"""

from __future__ import annotations

from collections.abc import Mapping

from astropy.coordinates import (
    FK4,
    FK5,
    ICRS,
    BarycentricMeanEcliptic,
    BaseCoordinateFrame,
    FK4NoETerms,
    Galactic,
    Supergalactic,
)
from astropy.time import Time

__all__ = ["FRAME_NAMES", "coosys_frame", "describe", "meta_frame", "parse_frame"]

#: What ``frame=`` takes (besides an astropy frame): name and the default equinox.
FRAME_NAMES = ("icrs", "fk5", "fk4", "fk4noeterms", "galactic", "supergalactic", "ecliptic")


def _equinox(value, default: str, besselian: bool) -> Time:
    if value is None or str(value).strip() == "":
        return Time(default)
    text = str(value).strip()
    if text[0] in "JBjb":
        return Time(text.upper())
    number = float(text)
    return Time(number, format="byear" if besselian else "jyear")


def parse_frame(spec, equinox=None) -> BaseCoordinateFrame:
    """An astropy frame from a name (``"icrs"``, ``"fk5"``, ``"fk5 J2000"``, ``"fk4 B1950"``,
    ``"galactic"``, ``"ecliptic"``: barycentric mean ecliptic), a frame class or instance.

    Raises
    ------
    ValueError
        An unknown name; the message lists those known.
    """
    if isinstance(spec, BaseCoordinateFrame):
        return spec
    if isinstance(spec, type) and issubclass(spec, BaseCoordinateFrame):
        return spec()
    words = str(spec).replace("(", " ").replace(")", " ").replace("=", " ").split()
    if not words:
        raise ValueError(f"empty frame name; use one of {', '.join(FRAME_NAMES)}")
    name = words[0].lower().replace("-", "").replace("_", "")
    rest = [w for w in words[1:] if w.lower() != "equinox"]
    if rest:
        equinox = rest[0]
    if name == "icrs":
        return ICRS()
    if name in ("fk5", "eqfk5", "j2000"):
        return FK5(equinox=_equinox(equinox, "J2000", False))
    if name in ("fk4", "eqfk4", "b1950"):
        return FK4(equinox=_equinox(equinox, "B1950", True))
    if name in ("fk4noe", "fk4noeterms"):
        return FK4NoETerms(equinox=_equinox(equinox, "B1950", True))
    if name in ("galactic", "gal"):
        return Galactic()
    if name in ("supergalactic", "supergal"):
        return Supergalactic()
    if name in ("ecliptic", "eclfk5", "barycentricmeanecliptic"):
        return BarycentricMeanEcliptic(equinox=_equinox(equinox, "J2000", False))
    if name == "eclfk4":
        return BarycentricMeanEcliptic(equinox=_equinox(equinox, "B1950", True))
    raise ValueError(f"unknown frame {spec!r}; use one of {', '.join(FRAME_NAMES)}")


def describe(frame: BaseCoordinateFrame | None) -> str:
    """``"FK5 J2000.000"``, ``"ICRS"``, ``"Galactic"``...; None: ``"unstated"``."""
    if frame is None:
        return "unstated"
    name = {"barycentricmeanecliptic": "ecliptic"}.get(frame.name, frame.name)
    label = name.upper() if len(name) <= 4 or name.startswith("fk") else name.capitalize()
    equinox = getattr(frame, "equinox", None)
    return f"{label} {equinox.jyear_str if name == 'fk5' else equinox}" if equinox else label


def coosys_frame(system: str, equinox=None) -> BaseCoordinateFrame:
    """The frame of a VOTable ``COOSYS`` (``system``: ``ICRS``, ``eq_FK5``, ``eq_FK4``,
    ``galactic``, ``supergalactic``, ``ecl_FK5``, ``ecl_FK4``, ``ecliptic``)."""
    return parse_frame(str(system), equinox)


def _keyword(meta: Mapping, key: str):
    """A keyword from a table's meta, any case; also IPAC/DAOPHOT ``meta["keywords"]``."""
    for k, v in meta.items():
        if isinstance(k, str) and k.upper() == key:
            return v.get("value") if isinstance(v, Mapping) else v
    keywords = meta.get("keywords")
    if isinstance(keywords, Mapping):
        return _keyword({k: v for k, v in keywords.items() if k != "keywords"}, key)
    return None


def meta_frame(meta: Mapping) -> tuple[BaseCoordinateFrame, str] | None:
    """(frame, which keywords said so) from FITS-style ``RADESYS``/``RADECSYS`` and
    ``EQUINOX``/``EPOCH`` in a table's meta, with the FITS standard's defaults (an equinox
    before 1984 alone means FK4, from 1984 FK5); None when the meta says nothing."""
    system = _keyword(meta, "RADESYS") or _keyword(meta, "RADECSYS")
    equinox = _keyword(meta, "EQUINOX")
    if equinox is None:
        equinox = _keyword(meta, "EPOCH")
    if system is None and equinox is None:
        return None
    system = str(system).strip().upper() if system is not None else ""
    if not system:
        year = float(str(equinox).strip().lstrip("JBjb"))
        system = "FK4" if year < 1984 else "FK5"
    said = ", ".join(
        f"{k}={v}" for k, v in (("RADESYS", system), ("EQUINOX", equinox)) if v not in (None, "")
    )
    if system == "ICRS":
        return ICRS(), said
    if system in ("FK5", "FK4", "FK4-NO-E"):
        name = {"FK4-NO-E": "fk4noeterms"}.get(system, system.lower())
        return parse_frame(name, equinox), said
    raise ValueError(f"RADESYS={system!r} is not a frame this reader knows (ICRS, FK5, FK4)")

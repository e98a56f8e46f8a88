"""DS9 region files, read and written through astropy ``regions``.

Each mark is a ``point`` region with ``text={label}`` (omitted when empty), ``tag={group
name}`` and ``color=`` the group's colour. Coordinates are ``image`` (1-based, as DS9
counts; ``regions`` adds and removes the 1) for the marks of one image frame, or ``icrs`` /
``fk5`` from the marks' RA/Dec. A file we write is parsed by ``regions`` into the regions we
wrote and serialises back to the same text (with ``precision=PRECISION[0]`` for image
coordinates, ``PRECISION[1]`` for sky coordinates).

A region file does not record which image it belongs to, nor user or time. When reading,
pass ``images=`` (one image) to name it and to compute the missing half of pixel/sky
coordinates from its WCS. The group of a region is its first tag that is a group name (or a
number 1-9), else the group whose colour it has, else group 1.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import FK5, SkyCoord
from astropy.table import Table

from ..wcs import pixel_to_sky, sky_to_pixel
from ._files import atomic_write, read_text
from .image_index import ImageIndex, ImagesLike, frame_wcs
from .marks_schema import DEFAULT_GROUP_COLORS, DEFAULT_GROUPS, N_GROUPS, normalise_marks

__all__ = ["read", "write"]

COORDSYS = ("image", "icrs", "fk5")
#: Decimals written: pixels (1e-8 px), degrees (1e-10 deg, 0.4 micro-arcsec)
PRECISION = (8, 10)
# DS9's named colours, so that a region coloured "red" in DS9 matches group 1's "#ff0000"
_DS9_COLORS = {
    "white": "#ffffff",
    "black": "#000000",
    "red": "#ff0000",
    "green": "#00ff00",
    "blue": "#0000ff",
    "cyan": "#00ffff",
    "magenta": "#ff00ff",
    "yellow": "#ffff00",
}
_SHAPE_LINE = re.compile(r"^\s*[^#\s][^#]*\(")
# what str.splitlines() breaks at (regions reads the file line by line)
_LINE_BREAKS = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")


def write(table: Table, path: str | Path, *, coordsys: str = "image") -> None:
    """Write marks as a DS9 region file (atomically).

    Parameters
    ----------
    table : astropy.table.Table
        Our marks. For ``coordsys="image"`` all marks must be on one image frame.
    path : str or Path
    coordsys : {"image", "icrs", "fk5"}
        ``image``: pixel positions, 1-based in the file. ``icrs``/``fk5`` (J2000): RA/Dec,
        which every mark must have.

    Notes
    -----
    A region is one line of the file, so line breaks in a label are written as spaces
    (``"a\\nb"`` reads back ``"a b"``). A label or group name holding ``}`` cannot be
    written at all (DS9's ``text={...}`` ends there): that raises a ValueError.
    """
    from regions import (
        PixCoord,
        PointPixelRegion,
        PointSkyRegion,
        RegionMeta,
        Regions,
        RegionVisual,
    )

    if coordsys not in COORDSYS:
        raise ValueError(f"coordsys must be one of {', '.join(COORDSYS)}, got {coordsys!r}")
    table = normalise_marks(table)
    groups, colors = table.meta["groups"], table.meta["group_colors"]
    if coordsys == "image":
        frames = sorted({(str(r["image"]), int(r["frame"])) for r in table})
        if len(frames) > 1:
            raise ValueError(
                f"{path}: image coordinates need marks of one image frame, got {len(frames)} "
                f"({', '.join(f'{n}[{f}]' for n, f in frames[:5])}); use coordsys='icrs'"
            )
    else:
        bad = np.flatnonzero(~(np.isfinite(table["ra"]) & np.isfinite(table["dec"])))
        if len(bad):
            row = table[int(bad[0])]
            raise ValueError(
                f"{path}: {len(bad)} mark(s) have no RA/Dec (first: row {int(bad[0])}, "
                f"image {row['image']!r}); use coordsys='image'"
            )
        sky = SkyCoord(table["ra"], table["dec"], unit=u.deg, frame="icrs")
        if coordsys == "fk5":
            sky = sky.transform_to(FK5(equinox="J2000"))
    _check_braces(table, groups, path)
    regions = []
    for i, row in enumerate(table):
        g = int(row["group"]) - 1
        meta = {"include": 1, "text": _LINE_BREAKS.sub(" ", str(row["label"])), "tag": [groups[g]]}
        if not meta["text"]:
            del meta["text"]
        visual = RegionVisual({"color": colors[g]})
        if coordsys == "image":
            center = PixCoord(float(row["x"]), float(row["y"]))
            regions.append(PointPixelRegion(center, meta=RegionMeta(meta), visual=visual))
        else:
            regions.append(PointSkyRegion(sky[i], meta=RegionMeta(meta), visual=visual))
    text = Regions(regions).serialize(format="ds9", precision=PRECISION[coordsys != "image"])
    atomic_write(path, text.encode("utf-8"))


def _check_braces(table: Table, groups: Sequence[str], path) -> None:
    """Refuse what ``text={...}`` and ``tag={...}`` cannot hold: a ``}`` ends them."""
    for i, label in enumerate(table["label"]):
        if "}" in str(label):
            raise ValueError(
                f"{path}: mark {i} (image {table['image'][i]!r}): its label {str(label)!r} "
                "holds '}', which a DS9 region file cannot store; change the label or write "
                "another format"
            )
    for name in groups:
        if "}" in name or _LINE_BREAKS.search(name):
            raise ValueError(
                f"{path}: group name {name!r} holds '}}' or a line break, which a DS9 tag "
                "cannot store; rename the group or write another format"
            )


def _hex(color: str) -> str:
    color = str(color).strip().lower()
    return _DS9_COLORS.get(color, color)


def _group(region, groups: Sequence[str], colors: Sequence[str], path, line) -> int:
    tags = region.meta.get("tag", [])
    tags = [tags] if isinstance(tags, str) else list(tags)
    for tag in tags:
        if tag in groups:
            return list(groups).index(tag) + 1
        if str(tag).isdigit() and 1 <= int(tag) <= N_GROUPS:
            return int(tag)
    if tags:
        raise ValueError(
            f"{path}: line {line}, column 'tag': {tags[0]!r} is not a group name "
            f"({', '.join(groups)}); pass groups="
        )
    color = _hex(region.visual.get("color") or region.visual.get("edgecolor") or "")
    matches = [i for i, c in enumerate(colors) if _hex(c) == color]
    return matches[0] + 1 if len(matches) == 1 else 1


def read(
    path: str | Path,
    *,
    images: ImagesLike | None = None,
    groups: Sequence[str] | None = None,
    group_colors: Sequence[str] | None = None,
    frame: int = 0,
) -> Table:
    """Read the point-like regions of a DS9 region file as marks.

    Parameters
    ----------
    path : str or Path
    images : one image path (or ImageIndex naming one image), optional
        The image the regions belong to: gives the ``image`` column, and x/y for sky
        regions or RA/Dec for pixel regions through its WCS. Without it those are NaN.
    groups, group_colors : sequence of 9 str, optional
        Group names (matched to tags) and colours (matched when a region has no tag).
    frame : int
        The frame of ``images`` the regions belong to.

    Raises
    ------
    ValueError
        Unparsable file, a region without a centre (polygon, line...), an unknown tag.
    """
    from regions import Regions, TextPixelRegion, TextSkyRegion

    path = Path(path)
    groups = list(groups) if groups is not None else list(DEFAULT_GROUPS)
    colors = list(group_colors) if group_colors is not None else list(DEFAULT_GROUP_COLORS)
    text = read_text(path)
    try:
        regions = Regions.parse(text, format="ds9")
    except Exception as err:  # regions raises its own error types with the line's text
        raise ValueError(f"{path}: not a readable DS9 region file ({err})") from None
    lines = [n for n, line in enumerate(text.splitlines(), 1) if _SHAPE_LINE.match(line)]

    name, info, wcs = "", None, None
    if images is not None:
        index = images if isinstance(images, ImageIndex) else ImageIndex(images)
        names = index.names()
        if len(names) != 1:
            raise ValueError(f"{path}: a region file describes one image; got {len(names)}")
        name = names[0]
        frames = index.frames(name)
        info, wcs = index.frame(name, frame), frame_wcs(frames, frame)

    rows = {k: [] for k in ("group", "label", "x", "y", "ra", "dec")}
    for k, region in enumerate(regions):
        line = lines[k] if k < len(lines) else k + 1
        if isinstance(region, (TextPixelRegion, TextSkyRegion)) or not hasattr(region, "center"):
            raise ValueError(
                f"{path}: line {line}: a {type(region).__name__} has no single position; "
                "only point-like regions (point, circle, box, ellipse) are marks"
            )
        rows["group"].append(_group(region, groups, colors, path, line))
        rows["label"].append(str(region.meta.get("text", "")))
        if isinstance(region.center, SkyCoord):
            icrs = region.center.icrs
            ra, dec = float(icrs.ra.deg), float(icrs.dec.deg)
            x, y = (float(v) for v in sky_to_pixel(wcs, ra, dec))
        else:
            x, y = float(region.center.x), float(region.center.y)
            ra, dec = (float(v) for v in pixel_to_sky(wcs, x, y))
        for key, value in zip(("x", "y", "ra", "dec"), (x, y, ra, dec), strict=True):
            rows[key].append(value)
    table = Table(
        {
            "image": np.array([name] * len(regions), dtype="U"),
            "frame": np.full(len(regions), frame if info is not None else 0, dtype=np.int64),
            **{k: np.array(v, dtype=np.int64 if k == "group" else None) for k, v in rows.items()},
        }
    )
    if len(regions) == 0:
        table = Table({"group": np.zeros(0, np.int64), "x": [], "y": []})
    table.meta.update({"groups": groups, "group_colors": colors})
    return normalise_marks(table, source=str(path))

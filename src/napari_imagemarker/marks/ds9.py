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

:func:`read_regions` is the one DS9 parser: every region of a file as a table row (centre,
size, text, colour, tags, line). :func:`read` makes marks of its point-like rows; the
catalog overlay (:mod:`.catalog_files`) shows every row, with its size.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import FK5, SkyCoord
from astropy.table import Table

from napari_imagemarker.files import atomic_write, read_text
from napari_imagemarker.images.index import ImageIndex, ImagesLike, frame_wcs
from napari_imagemarker.marks.schema import (
    DEFAULT_GROUP_COLORS,
    DEFAULT_GROUPS,
    N_GROUPS,
    normalise_marks,
)
from napari_imagemarker.wcs import pixel_to_sky, sky_to_pixel

__all__ = ["read", "read_regions", "write"]

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


def _group(tags, color: str, groups: Sequence[str], colors: Sequence[str], path, line) -> int:
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
    matches = [i for i, c in enumerate(colors) if _hex(c) == _hex(color)]
    return matches[0] + 1 if len(matches) == 1 else 1


def read_regions(path: str | Path, *, encoding: str = "utf-8") -> Table:
    """Every region of a DS9 file, one row each, in file order.

    Parameters
    ----------
    path : str or Path
    encoding : str

    Returns
    -------
    astropy.table.Table
        ``shape`` (``point``, ``circle``, ``ellipse``, ``rectangle``, ``polygon``,
        ``text``, ...); ``x``, ``y``: the centre in 0-based pixels (``regions`` has taken
        off DS9's 1; NaN for sky regions); ``ra``, ``dec``: the centre in ICRS degrees
        (any frame converted; NaN for pixel regions); ``sky``: whether the region is in sky
        coordinates; ``size``: the diameter (radius x 2, outer radius of an annulus x 2) or
        the longest side, in pixels for pixel regions and arcsec for sky regions (NaN for
        points and text); ``text``, ``color``; ``tag`` (the tags joined by ``,``) and
        ``tags`` (tuples of them); ``point_like``: whether the region has one position of
        its own (not a polygon or line, whose centre is the mean vertex or NaN, nor a text);
        ``line``: its line in the file.

    Raises
    ------
    ValueError
        A file ``regions`` cannot parse, or bad encoding; the message names the file.
    """
    from regions import PixCoord, Regions, TextPixelRegion, TextSkyRegion

    path = Path(path)
    text = read_text(path, encoding)
    try:
        regions = list(Regions.parse(text, format="ds9"))
    except Exception as err:  # regions raises its own error types with the line's text
        raise ValueError(f"{path}: not a readable DS9 region file ({err})") from None
    lines = [n for n, line in enumerate(text.splitlines(), 1) if _SHAPE_LINE.match(line)]
    n = len(regions)
    centres = [_centre(r) for r in regions]
    sky = np.array([isinstance(c, SkyCoord) for c in centres], dtype=bool)
    pix = np.array([isinstance(c, PixCoord) for c in centres], dtype=bool)
    x, y, ra, dec = (np.full(n, np.nan) for _ in range(4))
    for i in np.flatnonzero(pix):
        x[i], y[i] = float(centres[i].x), float(centres[i].y)
    sky_rows = np.flatnonzero(sky)
    frames = np.array([centres[i].frame.name for i in sky_rows], dtype=str)
    for frame in np.unique(frames):  # one vectorised transform per frame in the file
        rows = sky_rows[frames == frame]
        coord = SkyCoord([centres[i] for i in rows]).icrs
        ra[rows], dec[rows] = coord.ra.deg, coord.dec.deg
    tags = np.empty(n, dtype=object)
    tags[:] = [tuple(map(str, _as_list(r.meta.get("tag", [])))) for r in regions]
    text_shapes = (TextPixelRegion, TextSkyRegion)
    return Table(
        {
            "shape": np.array([_shape(r) for r in regions], dtype="U"),
            "x": x,
            "y": y,
            "ra": ra,
            "dec": dec,
            "sky": sky,
            "size": np.array([_size(r) for r in regions], dtype=float),
            "text": np.array([str(r.meta.get("text", "")) for r in regions], dtype="U"),
            "color": np.array([_color(r) for r in regions], dtype="U"),
            "tag": np.array([",".join(t) for t in tags], dtype="U"),
            "tags": tags,
            "point_like": np.array(
                [hasattr(r, "center") and not isinstance(r, text_shapes) for r in regions],
                dtype=bool,
            ),
            "line": np.array([lines[k] if k < len(lines) else k + 1 for k in range(n)], int),
        }
    )


def _as_list(value) -> list:
    return [value] if isinstance(value, str) else list(value)


def _shape(region) -> str:
    name = type(region).__name__
    return name.replace("PixelRegion", "").replace("SkyRegion", "").lower()


def _centre(region):
    """A region's centre; the mean vertex of a polygon (which has no centre); None for a
    line."""
    centre = getattr(region, "center", None)
    vertices = getattr(region, "vertices", None)
    if centre is None and vertices is not None and len(vertices):
        from regions import PixCoord

        if isinstance(vertices, PixCoord):
            return PixCoord(float(np.mean(vertices.x)), float(np.mean(vertices.y)))
        sph = vertices.spherical
        return SkyCoord(sph.lon.mean(), sph.lat.mean(), frame=vertices.frame)
    return centre


def _color(region) -> str:
    visual = region.visual
    return str(visual.get("color") or visual.get("edgecolor") or visual.get("facecolor") or "")


def _size(region) -> float:
    """Diameter (or longest side) of a region: pixels, or arcsec for sky regions."""
    for attr in ("radius", "outer_radius"):
        value = getattr(region, attr, None)
        if value is not None:
            return 2 * _arcsec_or_pix(value)
    sides = [getattr(region, a, None) for a in ("outer_width", "outer_height", "width", "height")]
    sides = [_arcsec_or_pix(side) for side in sides if side is not None]
    return max(sides) if sides else np.nan


def _arcsec_or_pix(value) -> float:
    if isinstance(value, u.Quantity):
        return float(
            value.to_value(u.arcsec) if value.unit.physical_type == "angle" else value.value
        )
    return float(value)


def read(
    path: str | Path,
    *,
    images: ImagesLike | None = None,
    groups: Sequence[str] | None = None,
    group_colors: Sequence[str] | None = None,
    frame: int = 0,
    encoding: str = "utf-8",
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
    encoding : str
        Of the file.

    Raises
    ------
    ValueError
        Unparsable file, a region without a centre (polygon, line...), an unknown tag.
    """
    path = Path(path)
    groups = list(groups) if groups is not None else list(DEFAULT_GROUPS)
    colors = list(group_colors) if group_colors is not None else list(DEFAULT_GROUP_COLORS)
    regions = read_regions(path, encoding=encoding)
    not_point = np.flatnonzero(~regions["point_like"])
    if len(not_point):
        row = regions[int(not_point[0])]
        raise ValueError(
            f"{path}: line {row['line']}: a {row['shape']} region has no single position; "
            "only point-like regions (point, circle, box, ellipse) are marks"
        )

    name, info, wcs = "", None, None
    if images is not None:
        index = images if isinstance(images, ImageIndex) else ImageIndex(images)
        names = index.names()
        if len(names) != 1:
            raise ValueError(f"{path}: a region file describes one image; got {len(names)}")
        name = names[0]
        frames = index.frames(name)
        info, wcs = index.frame(name, frame), frame_wcs(frames, frame)

    x, y = np.array(regions["x"]), np.array(regions["y"])
    ra, dec = np.array(regions["ra"]), np.array(regions["dec"])
    sky = np.asarray(regions["sky"])
    x[sky], y[sky] = sky_to_pixel(wcs, ra[sky], dec[sky])
    ra[~sky], dec[~sky] = pixel_to_sky(wcs, x[~sky], y[~sky])
    group = [
        _group(row["tags"], row["color"], groups, colors, path, row["line"]) for row in regions
    ]
    n = len(regions)
    table = Table(
        {
            "image": np.array([name] * n, dtype="U"),
            "frame": np.full(n, frame if info is not None else 0, dtype=np.int64),
            "group": np.array(group, dtype=np.int64),
            "label": np.array(regions["text"], dtype="U"),
            "x": x,
            "y": y,
            "ra": ra,
            "dec": dec,
        }
    )
    if n == 0:
        table = Table({"group": np.zeros(0, np.int64), "x": [], "y": []})
    table.meta.update({"groups": groups, "group_colors": colors})
    return normalise_marks(table, source=str(path))

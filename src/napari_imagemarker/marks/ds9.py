"""DS9 region files, read and written through astropy ``regions``.

Each mark is a ``point`` region with ``text={label}`` (omitted when empty), ``tag={group
name}`` and ``color=`` the group's colour. Coordinates are ``image`` (1-based, as DS9
counts; ``regions`` adds and removes the 1) for the marks of one image frame, or ``icrs`` /
``fk5`` from the marks' RA/Dec. A file we write is parsed by ``regions`` into the regions we
wrote and serialises back to the same text (with ``precision=PRECISION[0]`` for image
coordinates, ``PRECISION[1]`` for sky coordinates).

A region file has no place for group names and colours, nor for the image and frame:
:func:`write` keeps them in one comment line after the header (``# napari-imagemarker:
{json}``; DS9 and ``regions`` ignore comments), so :func:`read` gives back a file we wrote
with its group names, colours, image and frame and no extra argument. It has no user or
time. When reading, pass ``images=`` (one image) to compute the missing half of pixel/sky
coordinates from its WCS. The group of a region is its first tag that is a group name (or a
number 1-9), else the group whose colour it has, else group 1.

Regions that are not marks (polygons, lines, text, and shapes ``regions`` does not read:
ruler, compass, projection, ...) are skipped by :func:`read` with one warning that counts
and names them with their lines; ``strict=True`` refuses the file instead. Line numbers
count every region where it is (several on a line after ``;``, DS9's ``# text(...)``).

:func:`read_regions` is the one DS9 parser: every region of a file as a table row (centre,
size, text, colour, tags, line). :func:`read` makes marks of its point-like rows; the
catalog overlay (:mod:`napari_imagemarker.catalogs.read`) draws the same rows, with their
size, and skips the others with the same count (:func:`not_point_like`).
"""

from __future__ import annotations

import json
import re
import warnings
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

__all__ = ["not_point_like", "read", "read_regions", "write"]

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
# DS9 coordinate systems, alone on a line or before a ";" (they hold for the lines after)
_COORDSYS_LINE = re.compile(
    r"^\s*(image|physical|fk4|b1950|fk5|j2000|icrs|galactic|ecliptic|linear|amplifier"
    r"|detector|wcs[a-z]?)\s*(;|$)",
    re.IGNORECASE,
)
# a region where a line or one of its ";"-separated parts starts, and DS9's "# text(...)"
_SHAPE_START = re.compile(
    r"^\s*[-+]?\s*(circle|ellipse|box|annulus|polygon|line|point|text|segment)\s*\(",
    re.IGNORECASE,
)
_COMMENT_SHAPE = re.compile(r"^\s*#\s*text\s*\(", re.IGNORECASE)
#: Our comment line holding what a region file has no place for: group names and colours,
#: the image and frame (DS9 and ``regions`` ignore comment lines)
_META_PREFIX = "# napari-imagemarker: "
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
    ours = {"groups": list(groups), "group_colors": list(colors)}
    if coordsys == "image" and len(table):
        ours.update(image=str(table["image"][0]), frame=int(table["frame"][0]))
    header, _, rest = text.partition("\n")
    text = f"{header}\n{_META_PREFIX}{json.dumps(ours, ensure_ascii=False)}\n{rest}"
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


#: Bare words in a region's metadata longer than this are dropped before parsing.
LONG_WORD = 256
_LONG_RUN = re.compile(r"[^\s={}\"']{" + str(LONG_WORD + 1) + ",}")


def _drop_long_words(text: str) -> str:
    """``text`` without the long bare words of its regions' metadata (after ``#``).

    ``regions`` ignores a bare word there (not ``key=value``), but its parser takes time
    in the square of the word's length: 50,000 characters took 18 s. Such words carry
    nothing it would read, so dropping them changes no region and bounds the time.
    """
    if not _LONG_RUN.search(text):
        return text  # the usual file: nothing to do
    return "\n".join(_drop_in_line(line) for line in text.split("\n"))


def _drop_in_line(line: str) -> str:
    start = line.find("#", 1 if line.lstrip().startswith("#") else 0)
    if start < 0 or not _LONG_RUN.search(line, start):
        return line
    inside = _in_braces_or_quotes(line)
    out, last = [], start
    for match in _LONG_RUN.finditer(line, start):
        a, b = match.span()
        bare = (
            not inside[a]
            and (a == 0 or line[a - 1].isspace())
            and (b == len(line) or line[b].isspace())
        )
        if bare:
            out.append(line[last:a])
            last = b
    return line[:start] + "".join(out) + line[last:]


def _in_braces_or_quotes(line: str) -> list[bool]:
    """For each character: whether it is inside ``{}``, ``""`` or ``''``."""
    inside, depth, quote = [], 0, None
    for c in line:
        if quote:
            inside.append(True)
            quote = None if c == quote else quote
        elif c == "{":
            depth += 1
            inside.append(True)
        elif c == "}" and depth:
            depth -= 1
            inside.append(True)
        elif depth:
            inside.append(True)
        elif c in "\"'":
            quote = c
            inside.append(True)
        else:
            inside.append(False)
    return inside


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
    text = _drop_long_words(read_text(path, encoding))
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            regions = list(Regions.parse(text, format="ds9"))
    except Exception as err:  # regions raises its own error types with the line's text
        raise ValueError(f"{path}: not a readable DS9 region file ({err})") from None
    # shapes regions does not support (ruler, compass, projection, ...): named, not lost
    unsupported = [
        m.group(1)
        for w in caught
        if (m := re.search(r'"(\w+)" frame or shape is not supported', str(w.message)))
    ]
    for w in caught:
        if not re.search(r"is not supported", str(w.message)):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    lines = region_lines(text, len(regions))
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
            "line": np.array(lines, dtype=int),
        },
        meta={"unsupported": unsupported, **_our_meta(text)},
    )


def not_point_like(regions: Table) -> list[str]:
    """The regions of :func:`read_regions` with no single position of their own (polygons,
    lines, text), counted by shape with their lines: ``["1 polygon (line 7)", "2 text
    (lines 13, 14)"]`` (five lines at most per shape); empty if there are none. What
    :func:`read` and the catalog overlay say when they skip them."""
    shapes: dict[str, list[str]] = {}
    for k in np.flatnonzero(~np.asarray(regions["point_like"], dtype=bool)):
        shapes.setdefault(str(regions["shape"][k]), []).append(str(regions["line"][k]))
    return [
        f"{len(at)} {shape} (line{'s' if len(at) > 1 else ''} {', '.join(at[:5])}"
        f"{', ...' if len(at) > 5 else ''})"
        for shape, at in shapes.items()
    ]


def region_lines(text: str, n: int) -> list[int]:
    """The line (1-based) of each of the ``n`` regions ``regions`` parsed from ``text``.

    Counted from the shapes each line starts (several per line with ``;``, DS9's
    ``# text(...)``); when that count is not ``n`` (a shape regions skips, an odd line),
    each line is parsed on its own, with the coordinate system in force there.
    """
    lines = text.splitlines()
    counts = [_shapes_on(line) for line in lines]
    if sum(counts) != n:
        counts = _parsed_counts(lines)
    found = [number for number, count in enumerate(counts, 1) for _ in range(count)]
    return found if len(found) == n else [*found, *range(len(found) + 1, n + 1)][:n]


def _shapes_on(line: str) -> int:
    stripped = line.strip()
    if stripped.startswith("#"):
        return 1 if _COMMENT_SHAPE.match(stripped) else 0
    code = stripped.split("#", 1)[0]
    return sum(1 for part in code.split(";") if _SHAPE_START.match(part))


def _parsed_counts(lines: list[str]) -> list[int]:
    from regions import Regions

    system, counts = "image", []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for line in lines:
            stripped = line.strip()
            match = _COORDSYS_LINE.match(stripped)
            if match:
                system = match.group(1)
            if not stripped or (stripped.startswith("#") and not _COMMENT_SHAPE.match(stripped)):
                counts.append(0)
                continue
            try:
                counts.append(len(Regions.parse(f"{system}\n{line}", format="ds9")))
            except Exception:  # a line regions refuses holds no region
                counts.append(0)
    return counts


def _our_meta(text: str) -> dict:
    """Group names and colours, image and frame from a file we wrote (our comment line)."""
    for line in text.splitlines()[:5]:
        if line.startswith(_META_PREFIX):
            try:
                meta = json.loads(line[len(_META_PREFIX) :])
            except ValueError:
                return {}
            return meta if isinstance(meta, dict) else {}
    return {}


def _valid_names(names) -> bool:
    return (
        isinstance(names, list)
        and len(names) == N_GROUPS
        and all(isinstance(n, str) for n in names)
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
    frame: int | None = None,
    encoding: str = "utf-8",
    strict: bool = False,
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
        Default: those a file we wrote records (its ``# napari-imagemarker:`` comment
        line), else the default groups.
    frame : int, optional
        The frame of ``images`` the regions belong to; default the one a file we wrote
        records, else 0.
    encoding : str
        Of the file.
    strict : bool
        Refuse a file with regions that are not marks (polygon, line, text, shapes
        ``regions`` does not read) instead of skipping them with a warning.

    Warns
    -----
    UserWarning
        Regions skipped because they have no single position, counted and named by shape
        with their lines.

    Raises
    ------
    ValueError
        Unparsable file, an unknown tag; in strict mode a region that is not a mark.
    """
    path = Path(path)
    regions = read_regions(path, encoding=encoding)
    ours = regions.meta
    if groups is None and _valid_names(ours.get("groups")):
        groups = ours["groups"]
    if group_colors is None and _valid_names(ours.get("group_colors")):
        group_colors = ours["group_colors"]
    groups = list(groups) if groups is not None else list(DEFAULT_GROUPS)
    colors = list(group_colors) if group_colors is not None else list(DEFAULT_GROUP_COLORS)
    not_point = np.flatnonzero(~regions["point_like"])
    unsupported = list(ours.get("unsupported", []))
    if len(not_point) or unsupported:
        parts = not_point_like(regions)
        parts += [
            f"{unsupported.count(shape)} {shape} (a shape regions does not read)"
            for shape in dict.fromkeys(unsupported)
        ]
        total = len(not_point) + len(unsupported)
        what = (
            f"{total} region{'s' if total > 1 else ''} with no single position: "
            f"{'; '.join(parts)}; only point-like regions (point, circle, box, ellipse, "
            "annulus) are marks"
        )
        if strict:
            first = f"line {regions['line'][not_point[0]]}: " if len(not_point) else ""
            raise ValueError(f"{path}: {first}{what} (strict mode)")
        warnings.warn(f"{path}: skipped {what}", UserWarning, stacklevel=2)
        regions = regions[regions["point_like"]]
    if frame is None:
        frame = int(ours["frame"]) if isinstance(ours.get("frame"), int) else 0

    name, info, wcs = str(ours.get("image", "")) if images is None else "", None, None
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
            "frame": np.full(n, frame if info is not None or name else 0, dtype=np.int64),
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

"""VOTable marks (for TOPCAT, Aladin, astroquery users), and Image Marker's VOTable export.

We write the schema's columns with units and UCDs (RA/Dec ``pos.eq.*;meta.main`` in deg,
x/y in pix) and the meta as PARAMs, so that :func:`read` restores the table exactly.
Image Marker's File ▸ Export Marks as VOTable file (columns ``date image group label x y ra
dec``, group names, display pixels) is recognised and converted like its marks CSV.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from astropy.io import votable
from astropy.table import Table

from napari_imagemarker.files import atomic_write
from napari_imagemarker.images.index import ImageIndex, ImagesLike
from napari_imagemarker.marks.schema import REQUIRED_COLUMNS, normalise_marks

__all__ = ["read", "write"]

_UNITS = {"x": "pix", "y": "pix", "ra": "deg", "dec": "deg"}
_UCDS = {
    "image": "meta.id;obs.image",
    "x": "pos.cartesian.x;instr.pixel",
    "y": "pos.cartesian.y;instr.pixel",
    "ra": "pos.eq.ra;meta.main",
    "dec": "pos.eq.dec;meta.main",
    "label": "meta.note",
    "time": "time.creation",
}


def write(table: Table, path: str | Path) -> None:
    """Write marks as a VOTable 1.4 (TABLEDATA, UTF-8), atomically."""
    table = normalise_marks(table, keep_extra=True)
    vot = votable.from_table(table)
    resource_table = vot.get_first_table()
    for f in resource_table.fields:
        if f.name in _UNITS:
            f.unit = _UNITS[f.name]
        if f.name in _UCDS:
            f.ucd = _UCDS[f.name]
    resource_table.params.append(
        votable.tree.Param(vot, name="pixel_origin", datatype="int", value=0)
    )
    for key in ("groups", "group_colors"):
        text = json.dumps(list(table.meta[key]), ensure_ascii=False)
        resource_table.params.append(
            votable.tree.Param(
                vot, name=key, datatype="unicodeChar", arraysize=str(len(text)), value=text
            )
        )
    buffer = io.BytesIO()
    vot.to_xml(buffer)
    atomic_write(path, buffer.getvalue())


def read(
    path: str | Path,
    *,
    images: ImagesLike | None = None,
    groups: Sequence[str] | None = None,
) -> Table:
    """Read marks from a VOTable written by :func:`write` or by Image Marker's export.

    For Image Marker's export, ``images`` and ``groups`` are used as for its marks CSV.
    """
    path = Path(path)
    try:
        table = votable.parse_single_table(str(path)).to_table()
        params = {p.name: p.value for p in votable.parse(str(path)).get_first_table().params}
    except Exception as err:  # astropy raises many types for malformed XML
        raise ValueError(f"{path}: not a readable VOTable ({err})") from None
    if "date" in table.colnames and table["group"].dtype.kind in "USO":
        return _read_imgmarker_export(table, path, images, groups)
    for name in REQUIRED_COLUMNS:
        if name not in table.colnames:
            raise ValueError(f"{path}: column {name!r}: missing")
    origin = int(params.get("pixel_origin", 0))
    if origin not in (0, 1):
        raise ValueError(f"{path}: pixel_origin must be 0 or 1, got {origin!r}")
    for key in ("groups", "group_colors"):
        if key in params:
            table.meta[key] = json.loads(str(params[key]))
    if origin:
        table["x"] = table["x"] - 1.0
        table["y"] = table["y"] - 1.0
    table.meta["pixel_origin"] = 0
    return normalise_marks(table, source=str(path), keep_extra=True)


def _read_imgmarker_export(table, path, images, groups) -> Table:
    from napari_imagemarker.imgmarker.config import image_search_dirs, read_config
    from napari_imagemarker.imgmarker.marks_file import parse_marks_csv, user_from_name

    user = user_from_name(path)
    config = read_config(path.parent / f"{user}_config.txt") if user else None
    if groups is None and config is not None:
        groups = config["groups"]
    index = ImageIndex(images, image_search_dirs(path.parent, config))
    names = table.colnames
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer)
    writer.writerow(names)
    for row in table:
        writer.writerow(_text(row[n]) for n in names)
    parsed = parse_marks_csv(
        buffer.getvalue(), source=str(path), groups=groups, images=index, user=user
    )
    return parsed.marks


def _text(value) -> str:
    if np.ma.is_masked(value):
        return "nan"
    return str(value)

"""Read and write marks tables in every supported format through one entry point.

``read_marks(path)`` and ``write_marks(table, path)`` pick the format from ``format=`` or the
path, like ``astropy.table.Table.read`` and ``regions.Regions.read``. Each format is a small
module; :func:`register_format` adds one.

=================  ======================  ==============================================
format             file                    what
=================  ======================  ==============================================
ecsv               ``.ecsv``               native: every column and the meta, exactly
csv                ``.csv`` (see below)    plain CSV, ``# pixel_origin: N`` comment line
votable            ``.xml .vot .votable``  VOTable with units and UCDs; reads Image
                                           Marker's VOTable export too
ds9                ``.reg``                DS9 regions (points, colour per group)
imgmarker          ``.csv .txt``           Image Marker's marks CSV and the mark files it
                                           imports (display pixels, group names)
imgmarker-savedir  a folder                an Image Marker save folder (its user's marks)
=================  ======================  ==============================================

A ``.csv`` or ``.txt`` file is read as ``csv`` when it states its ``pixel_origin`` in a
comment line before the header (as we write it), otherwise as ``imgmarker``. Writing a
``.csv`` writes ``csv``; pass ``format="imgmarker"`` for Image Marker's layout.
"""

from __future__ import annotations

import csv
import warnings
from pathlib import Path
from typing import Any

from astropy.table import Table

from napari_imagemarker.files import allow_long_csv_fields, error_reason
from napari_imagemarker.formats import FOLDER, FileFormat, FormatRegistry
from napari_imagemarker.images.index import ImagesLike
from napari_imagemarker.imgmarker import marks_file as marks_imgmarker
from napari_imagemarker.marks import csv as marks_csv
from napari_imagemarker.marks import ds9 as marks_ds9
from napari_imagemarker.marks import ecsv as marks_ecsv
from napari_imagemarker.marks import votable as marks_votable

__all__ = [
    "FORMATS",
    "MarksFormat",
    "read_marks",
    "register_format",
    "write_marks",
    "writing_format",
]


#: A marks file format: ``reader(path, *, images=None, **kwargs) -> Table`` in our schema,
#: ``writer(table, path, *, images=None, **kwargs) -> None``.
MarksFormat = FileFormat

#: Registered formats by name, in the order they are tried.
FORMATS = FormatRegistry("marks")


def register_format(fmt: MarksFormat, first: bool = False) -> None:
    """Add (or replace) a format; a new one is tried after those already there, or before
    them with ``first=True``."""
    FORMATS.register(fmt, first)


def _no_images(function):
    """Adapt a reader or writer that needs no images to the common signature."""

    def adapted(*args, images=None, **kwargs):
        return function(*args, **kwargs)

    adapted.__doc__ = function.__doc__
    return adapted


def _read_savedir(path, *, images=None, user=None) -> Table:
    from napari_imagemarker.imgmarker.savedir import read_savedir

    saved = read_savedir(path, user=user, images=images)
    for problem in saved.problems:
        warnings.warn(problem, stacklevel=3)
    return saved.marks


def _write_savedir(table, path, *, images=None, user=None, **kwargs) -> None:
    from napari_imagemarker.imgmarker.savedir import empty_images, write_savedir

    users = sorted({str(u) for u in table["user"] if str(u)}) if "user" in table.colnames else []
    if user is None:
        if len(users) != 1:
            raise ValueError(f"{path}: pass user= (the table has users {users or 'none'})")
        user = users[0]
    Path(path).mkdir(parents=True, exist_ok=True)
    write_savedir(path, user, table, empty_images(), image_paths=images, **kwargs)


register_format(
    MarksFormat("ecsv", (".ecsv",), _no_images(marks_ecsv.read), _no_images(marks_ecsv.write))
)
register_format(
    MarksFormat(
        "csv",
        (".csv", ".txt"),
        _no_images(marks_csv.read),
        _no_images(marks_csv.write),
        identify=marks_csv.identify,
    )
)
register_format(
    MarksFormat("imgmarker", (".csv", ".txt"), marks_imgmarker.read, marks_imgmarker.write)
)
register_format(
    MarksFormat(
        "votable",
        (".xml", ".vot", ".votable"),
        marks_votable.read,
        _no_images(marks_votable.write),
    )
)
register_format(MarksFormat("ds9", (".reg",), marks_ds9.read, _no_images(marks_ds9.write)))
register_format(MarksFormat("imgmarker-savedir", (FOLDER,), _read_savedir, _write_savedir))


def _choose(path: Path, format: str | None, reading: bool) -> MarksFormat:
    if format is not None:
        return FORMATS.named(format, path)
    fmt = FORMATS.choose(path, reading)
    if fmt is None:
        raise ValueError(
            f"{path}: cannot tell the marks format from the name; pass format= "
            f"(one of {', '.join(FORMATS)})"
        )
    return fmt


def writing_format(path: str | Path, format: str | None = None) -> str:
    """The name of the format :func:`write_marks` uses for ``path`` (and ``format``).

    Raises ValueError for an unknown format or a name that says none."""
    return _choose(Path(path), format, reading=False).name


def read_marks(
    path: str | Path, format: str | None = None, images: ImagesLike | None = None, **kwargs: Any
) -> Table:
    """Read a marks file into our marks table.

    Parameters
    ----------
    path : str or Path
        A marks file, or an Image Marker save folder.
    format : str, optional
        One of :data:`FORMATS` (``"ecsv"``, ``"csv"``, ``"votable"``, ``"ds9"``,
        ``"imgmarker"``, ``"imgmarker-savedir"``); default from the path (see module doc).
    images : folder, image path, list of paths, or ImageIndex, optional
        The images the marks are on, to convert Image Marker's display pixels and compute
        RA/Dec or x/y from the WCS (headers only are read). Image Marker files fall back to
        their config's ``image_dir`` and to ``images/`` beside the file's folder.
    **kwargs
        Passed to the format's reader: ``encoding`` (text formats), ``groups`` (imgmarker,
        votable, ds9), ``user`` (imgmarker, imgmarker-savedir), ``group_colors`` and
        ``frame`` (ds9).

    Returns
    -------
    astropy.table.Table
        Columns image, frame, group, label, x, y, ra, dec, user, time (x = column, y = row,
        0-based, of the array as our reader returns it); meta ``pixel_origin`` 0, ``groups``,
        ``group_colors``. Columns a file has beyond these (e.g. ``size``) follow them.

    Raises
    ------
    ValueError
        Unknown format, or bad content; the message names the file (and, where it can,
        the line and the column).
    OSError
        The file cannot be read (``FileNotFoundError`` when it does not exist).
    """
    path = Path(path)
    fmt = _choose(path, format, reading=True)
    if fmt.reader is None:
        raise ValueError(f"{path}: format {fmt.name!r} cannot be read")
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    allow_long_csv_fields()  # a long label written by write_marks must read back
    try:
        return fmt.reader(path, images=images, **kwargs)
    except TypeError as err:
        if kwargs:  # may be a keyword this format does not take: the caller's mistake
            raise
        raise ValueError(_named(path, err)) from err
    except OSError as err:
        if str(path) in str(err) or err.filename is not None:
            raise
        raise OSError(err.errno, _named(path, err)) from err
    except ValueError as err:
        if str(path) in str(err):
            raise
        raise ValueError(_named(path, err)) from err
    except (csv.Error, LookupError, ArithmeticError, AttributeError, RecursionError) as err:
        # malformed content reaching a parser's corners: still the file's fault, named
        raise ValueError(_named(path, err)) from err


def _named(path: Path, err: BaseException) -> str:
    """A one-line message naming ``path`` for an error raised without its name."""
    return f"{path}: cannot be read as marks ({error_reason(err)})"


def write_marks(
    table: Table,
    path: str | Path,
    format: str | None = None,
    images: ImagesLike | None = None,
    **kwargs: Any,
) -> None:
    """Write a marks table; every file is replaced atomically.

    Parameters
    ----------
    table : astropy.table.Table
        Our marks schema (see :func:`read_marks`).
    path : str or Path
    format : str, optional
        Default from the suffix: ``.ecsv`` ecsv, ``.csv`` csv, ``.xml``/``.vot`` votable,
        ``.reg`` ds9, a folder imgmarker-savedir.
    images : folder, list of paths, or ImageIndex, optional
        Needed for Image Marker's layouts (their x/y are display pixels, which depend on the
        image's height and orientation).
    **kwargs
        Passed to the format's writer: ``pixel_origin`` (csv), ``coordsys`` (ds9: "image",
        "icrs", "fk5"), ``date`` and ``groups`` (imgmarker), ``user`` (imgmarker-savedir).
    """
    path = Path(path)
    fmt = _choose(path, format, reading=False)
    if fmt.writer is None:
        raise ValueError(f"{path}: format {fmt.name!r} cannot be written")
    fmt.writer(table, path, images=images, **kwargs)

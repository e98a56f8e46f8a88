"""Reading a catalog in steps, for a worker thread with a progress bar that can stop it.

:func:`load_steps` is a generator: it yields the fraction of the work done (0 to 1) between
steps and returns ``(table, catalog)``; a worker that stops asking for the next step cancels
the load there (napari's ``GeneratorWorker.quit`` does exactly that). CSV files, the big
ones in practice, are read in chunks of rows (pandas' C parser), each chunk a step; other
formats are one step of :func:`~napari_imagemarker.catalogs.read.read_table`. Parsing the
positions (:func:`~napari_imagemarker.catalogs.build.make_catalog`) is the last step.
Nothing here imports napari or Qt.
"""

from __future__ import annotations

from collections.abc import Generator
from pathlib import Path

import pandas as pd
from astropy.table import Table

from napari_imagemarker.catalogs.build import make_catalog
from napari_imagemarker.catalogs.catalog import Catalog
from napari_imagemarker.catalogs.read import FORMATS, CatalogError, read_table

__all__ = ["CHUNK_ROWS", "load_steps"]

#: Rows per CSV chunk (about 1-2 % of a million-row file per step)
CHUNK_ROWS = 20_000
#: Share of the progress bar the reading takes; the parsing takes the rest.
READ_SHARE = 0.8


def load_steps(
    path: str | Path, chunk_rows: int = CHUNK_ROWS, **make_options
) -> Generator[float, None, tuple[Table, Catalog]]:
    """Read and parse a catalog file in steps.

    Parameters
    ----------
    path : str or Path
    chunk_rows : int
        Rows per step for CSV files.
    **make_options
        Passed to :func:`~napari_imagemarker.catalogs.build.make_catalog` (``ra=``,
        ``frame=``, ``pixel_origin=``...).

    Yields
    ------
    float
        The fraction done, after each step.

    Returns
    -------
    (astropy.table.Table, Catalog)
        As :func:`read_table` and :func:`make_catalog` give them.

    Raises
    ------
    CatalogError
        As they raise it.
    """
    path = Path(path)
    fmt = FORMATS.choose(path) if path.is_file() and path.stat().st_size else None
    table = None
    if fmt is not None and fmt.name == "csv":
        table = yield from _csv_steps(path, chunk_rows)
    if table is None:
        yield 0.0
        table = read_table(path, format=make_options.pop("format", None),
                           readme=make_options.pop("readme", None))  # fmt: skip
    else:
        make_options.pop("format", None)
        make_options.pop("readme", None)
    yield READ_SHARE
    make_options.setdefault("name", path.name.split(".")[0])
    catalog = make_catalog(table, **make_options)
    catalog.source = str(path)
    yield 1.0
    return table, catalog


def _csv_steps(path: Path, chunk_rows: int) -> Generator[float, None, Table | None]:
    """The CSV reader's table, chunk by chunk (None: let read_table and its fallbacks try)."""
    size = path.stat().st_size
    frames = []
    try:
        with open(path, "rb") as f:
            reader = pd.read_csv(f, skipinitialspace=True, low_memory=False, chunksize=chunk_rows)
            for frame in reader:
                frames.append(frame)
                yield READ_SHARE * min(f.tell() / size, 1.0)
    except (ValueError, pd.errors.ParserError, UnicodeDecodeError):
        return None  # read_table says what is wrong, or reads it another way
    if not frames:
        raise CatalogError(f"{path}: no rows")
    frame = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    # text stays as Python objects, as read_table keeps it (see read._read_csv)
    table = Table({str(c).strip(): frame[c].to_numpy() for c in frame.columns})
    table.meta["catalog_format"] = "csv"
    return table

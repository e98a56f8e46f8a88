"""Our marks formats in astropy's Table I/O registry: ``Table.read(path, format=...)``.

Importing this module (``import napari_imagemarker.marks.astropy_io``; getting
``napari_imagemarker.read_marks`` or ``write_marks`` does it) registers, for
``astropy.table.Table.read`` and ``Table.write``:

=======================  ===================================================================
format                   what
=======================  ===================================================================
``imgmarker``            Image Marker's marks CSV and the mark files it imports (read and
                         write; ``images=`` for its display pixels, as in ``read_marks``)
``imgmarker.ds9``        DS9 region files as marks (point regions; ``coordsys=`` to write)
``imgmarker.csv``        our marks CSV with its ``# pixel_origin`` line
``imgmarker.savedir``    an Image Marker save folder (read; write with ``user=``)
=======================  ===================================================================

Each is exactly :func:`~napari_imagemarker.marks.io.read_marks` /
:func:`~napari_imagemarker.marks.io.write_marks` with that format: the same table, the same
keyword arguments, the same errors. Nothing is auto-identified: astropy's own formats keep
every file they claim.
"""

from __future__ import annotations

from pathlib import Path

from astropy.io import registry
from astropy.table import Table

from napari_imagemarker.marks.io import read_marks, write_marks

__all__ = ["ASTROPY_FORMATS", "read_marks", "register", "write_marks"]

#: astropy format name -> our marks format name
ASTROPY_FORMATS = {
    "imgmarker": "imgmarker",
    "imgmarker.ds9": "ds9",
    "imgmarker.csv": "csv",
    "imgmarker.savedir": "imgmarker-savedir",
}


def _reader(ours: str):
    def read(path, **kwargs) -> Table:
        return read_marks(path, format=ours, **kwargs)

    read.__doc__ = f"Read marks through ``read_marks(path, format={ours!r})``."
    return read


def _writer(ours: str):
    def write(table, path, overwrite: bool = False, **kwargs) -> None:
        if Path(path).exists() and not overwrite and ours != "imgmarker-savedir":
            raise OSError(f"{path} already exists; pass overwrite=True to replace it")
        write_marks(table, path, format=ours, **kwargs)

    write.__doc__ = f"Write marks through ``write_marks(table, path, format={ours!r})``."
    return write


def register() -> None:
    """Register our formats with astropy (again: replaces them, no harm)."""
    for name, ours in ASTROPY_FORMATS.items():
        registry.register_reader(name, Table, _reader(ours), force=True)
        registry.register_writer(name, Table, _writer(ours), force=True)


register()

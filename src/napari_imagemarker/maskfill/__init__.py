"""maskfill (van Dokkum & Pasha 2024): the algorithm, its kernels, FITS I/O, tiles and batches.

``napari_imagemarker.maskfill.maskfill`` (also ``napari_imagemarker.maskfill``) is the
drop-in for the reference ``maskfill.maskfill``.
"""

from napari_imagemarker.maskfill.fill import maskfill

__all__ = ["maskfill"]

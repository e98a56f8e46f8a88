"""The Astronomical Image Display API (AIDA) on napari: ``NapariImageViewer``.

``astro-image-display-api`` 0.3.0 is the astropy community's scripting protocol for image
viewers (Ginga, Imviz and bqplot-based viewers implement it). This is its napari
implementation; it needs Python >= 3.12 (as that package does) and a napari viewer::

    from napari_imagemarker.aida import NapariImageViewer
    aida = NapariImageViewer()              # a new napari window; or NapariImageViewer(viewer)
    aida.load_image("cluster.fits")
    aida.set_stretch(LogStretch()); aida.set_cuts(ZScaleInterval())

See docs/display.md.
"""

from napari_imagemarker._napari.aida import NapariImageViewer

__all__ = ["NapariImageViewer"]

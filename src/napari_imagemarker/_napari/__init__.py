"""The napari binding: the only package that imports napari, Qt or vispy.

Importing it (every reader, writer, widget and menu command of the plugin does) makes the
blur of image layers NaN-aware on the GPU (see :mod:`.display.nan_kernel`) before the plugin
adds any layer.
"""

from napari_imagemarker._napari.display.nan_kernel import install as _install_nan_kernel

_install_nan_kernel()

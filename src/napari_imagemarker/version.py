"""The version of napari-imagemarker, as written by setuptools-scm at install time."""

try:
    from napari_imagemarker._version import version
except ImportError:  # pragma: no cover - only when running from a source tree without install
    version = "0.0.0"

__all__ = ["version"]

"""astro-image-display-api's own conformance suite, run against NapariImageViewer in a real
napari window (every test of the package's ``ImageAPITest``, unchanged)."""

from __future__ import annotations

import sys

import pytest

if sys.version_info < (3, 12):  # pragma: no cover - the Makefile builds .venv with >= 3.12
    pytest.skip("astro-image-display-api needs Python >= 3.12", allow_module_level=True)

from astro_image_display_api import ImageViewerInterface
from astro_image_display_api.api_test import ImageAPITest

from napari_imagemarker.aida import NapariImageViewer


class TestNapariImageViewer(ImageAPITest):
    """The package's suite; each test gets a fresh shown napari viewer."""

    @pytest.fixture(autouse=True)
    def setup(self, make_napari_viewer):
        self.image_widget_class = lambda: NapariImageViewer(make_napari_viewer(show=True))
        self.image = self.image_widget_class()


def test_it_is_an_aida_image_viewer(make_napari_viewer):
    assert isinstance(NapariImageViewer(make_napari_viewer()), ImageViewerInterface)

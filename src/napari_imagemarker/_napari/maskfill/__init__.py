"""napari dock and layers for maskfill."""

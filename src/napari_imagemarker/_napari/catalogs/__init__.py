"""napari layers and dock for catalog overlays."""

"""napari dock of the agreement report and the review of disputed images."""

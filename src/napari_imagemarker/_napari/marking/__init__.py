"""napari binding and dock of the marking session."""

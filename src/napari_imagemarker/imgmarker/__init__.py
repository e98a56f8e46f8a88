"""Image Marker (imgmarker 1.2) compatibility: its save folder, config, CSV files, pixels."""

"""Images: FITS, TIFF, PNG/JPEG readers, frames, image lists, cursor readout, sample data."""

"""PNG and JPEG images through Pillow, returned as stored (row 0 at the top, no WCS)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from napari_imagemarker.images.frames import FrameInfo

# Pillow modes mapped to what we hand to napari: grey stays grey, palettes become RGB(A).
_CONVERT = {"1": "L", "P": "RGBA", "PA": "RGBA", "LA": "RGBA", "CMYK": "RGB", "YCbCr": "RGB"}


def _open(path: str) -> Image.Image:
    try:
        return Image.open(path)
    except Exception as err:
        raise OSError(f"{path}: not a readable PNG/JPEG image ({err})") from err


def raster_frames(path: str | Path) -> list[FrameInfo]:
    """Describe a PNG or JPEG image from its header (Pillow opens files lazily)."""
    path = str(path)
    with _open(path) as img:
        mode = _CONVERT.get(img.mode, img.mode)
        channels = Image.getmodebands(mode) if mode in Image.MODES else 1
        shape = (img.height, img.width) if channels == 1 else (img.height, img.width, channels)
    return [FrameInfo(path=path, index=0, name="0", shape=shape, rgb=channels > 1)]


def read_raster_frame(frame: FrameInfo) -> np.ndarray:
    """Decode the image; palette and CMYK images become RGB(A), 1-bit becomes 8-bit grey."""
    with _open(frame.path) as img:
        try:
            mode = _CONVERT.get(img.mode)
            return np.asarray(img.convert(mode) if mode else img)
        except Exception as err:
            raise OSError(f"{frame.path}: image data cannot be decoded ({err})") from err

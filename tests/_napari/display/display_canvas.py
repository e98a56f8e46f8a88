"""Reading what the canvas shows, for the display tests (imported by them)."""

from __future__ import annotations

import numpy as np


class Canvas:
    """What a user sees in ``viewer``'s canvas."""

    def __init__(self, viewer) -> None:
        self.viewer = viewer
        self.shot: np.ndarray | None = None

    def grab(self) -> np.ndarray:
        """Screenshot the canvas as drawn now (RGBA uint8)."""
        self.shot = self.viewer.screenshot(canvas_only=True, flash=False)
        return self.shot

    def xy(self, layer, row: float, col: float) -> tuple[int, int]:
        """Screen pixel (x, y) of the centre of data pixel ``(row, col)`` of ``layer``."""
        h, w = self.shot.shape[:2]
        camera = self.viewer.scene.camera
        world = layer.data_to_world((row, col))
        cy, cx = camera.center[-2:]
        sign = -1 if camera.orientation2d[0] == "up" else 1
        x = w / 2 + (world[-1] - cx) * camera.zoom
        y = h / 2 + sign * (world[-2] - cy) * camera.zoom
        return round(x), round(y)

    def brightness(self, layer, row: float, col: float) -> float:
        """Mean of R, G and B on screen at data pixel ``(row, col)`` (last screenshot)."""
        x, y = self.xy(layer, row, col)
        return float(self.shot[y, x, :3].mean())

    def width(self, layer, row: float, col: float, threshold: float) -> int:
        """Screen pixels brighter than ``threshold`` on the screen row through data pixel
        ``(row, col)``: how wide a star looks."""
        _, y = self.xy(layer, row, col)
        return int((self.shot[y, :, :3].mean(axis=1) > threshold).sum())

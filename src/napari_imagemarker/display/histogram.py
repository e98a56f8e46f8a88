"""Histogram of an image's raw values, for the display dock (drawn with the limits on it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from napari_imagemarker.display.limits import sample_pixels

__all__ = ["Histogram", "histogram"]


@dataclass(frozen=True)
class Histogram:
    """Counts of raw values in evenly spaced bins.

    Attributes
    ----------
    edges : ndarray, (bins + 1,)
        Bin edges in raw values.
    counts : ndarray, (channels, bins)
        One row per channel (1 for single-channel images, 3 for RGB).
    """

    edges: np.ndarray
    counts: np.ndarray


def histogram(data, rgb: bool = False, limits=(), bins: int = 128) -> Histogram:
    """Histogram of a sample of ``data`` over its 0.1-99.9 percentile range, widened to
    show every limit in ``limits`` (pairs of raw values)."""
    channels = [data[..., c] for c in range(3)] if rgb else [data]
    samples = [sample_pixels(c, 100_000) for c in channels]
    values = np.concatenate(samples) if samples else np.empty(0)
    if values.size:
        lo, hi = (float(v) for v in np.percentile(values, [0.1, 99.9]))
    else:
        lo, hi = 0.0, 1.0
    for pair in limits:
        lo, hi = min(lo, *pair), max(hi, *pair)
    if not hi > lo:
        hi = lo + 1.0
    pad = 0.02 * (hi - lo)
    edges = np.linspace(lo - pad, hi + pad, bins + 1)
    counts = np.array([np.histogram(s, edges)[0] for s in samples])
    return Histogram(edges, counts)

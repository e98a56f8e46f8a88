"""From napari layers to the arrays maskfill fills: the maskfill widget's input side.

:func:`fill_request` takes the widget's values (an Image layer, a mask choice and the
parameters) and returns a :class:`FillRequest` with plain arrays, or raises
:class:`MaskfillInputError` with a message for a person.  It runs on the main thread; the
arrays are then filled in a worker thread.  Pixel positions are the image layer's data
coordinates, 0-based ``(row, col)``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from napari.layers import Image, Labels, Shapes

from napari_imagemarker.maskfill.grow import grow_mask

__all__ = [
    "ALL_PLANES",
    "CURRENT_PLANE",
    "NAN_PIXELS",
    "FillRequest",
    "FillResult",
    "MaskfillInputError",
    "choice_name",
    "fill_request",
    "mask_array",
    "parse_labels",
    "rasterise",
]

#: The ``mask`` choice that fills the image's NaN pixels only.
NAN_PIXELS = "NaN pixels of the image"
#: ``planes`` choices for cubes.
CURRENT_PLANE, ALL_PLANES = "current plane", "all planes"


class MaskfillInputError(ValueError):
    """The layers and parameters cannot be filled; the message says why, for a person."""


@dataclass
class FillRequest:
    """Arrays and parameters of one run, taken from the layers on the main thread.

    ``data`` is 2-D ``(ny, nx)``, or 3-D ``(n, ny, nx)`` with channels or planes first;
    ``mask`` is boolean, ``(ny, nx)`` or the shape of ``data``.
    """

    source: Image
    data: np.ndarray
    mask: np.ndarray
    size: int
    operator: str
    smooth: bool
    keep_unsmoothed: bool
    grow: int = 0  # pixels the mask was grown by (``mask`` is the grown mask)
    description: dict[str, Any] = field(default_factory=dict)
    plane: int | None = None  # the cube plane filled, when only one
    region: tuple[slice, slice] | None = None  # (rows, cols) of a preview

    @property
    def rgb(self) -> bool:
        """Whether the source is an RGB(A) image (``data`` then has channels first)."""
        return bool(self.source.rgb)


@dataclass
class FillResult:
    """What a worker returns: the request and maskfill's arrays (layouts as the request's)."""

    request: FillRequest
    filled: np.ndarray
    unsmoothed: np.ndarray | None
    exact: bool = True


def fill_request(
    image: Any,
    mask: Any,
    *,
    label_values: str = "",
    size: int = 3,
    operator: str = "median",
    smooth: bool = True,
    keep_unsmoothed: bool = False,
    all_planes: bool = False,
    point: tuple[float, ...] = (),
    preview: bool = False,
    grow: int = 0,
) -> FillRequest:
    """The arrays and parameters of a fill, checked.

    Parameters
    ----------
    image : Image layer
        The layer to fill: 2-D, RGB(A) (filled per channel) or a 3-D cube.
    mask : Labels layer, Shapes layer, boolean Image layer or NAN_PIXELS
        What to fill, besides the image's NaN pixels: a Labels layer's non-zero (or
        chosen) labels, the inside of a Shapes layer's shapes, the True pixels of a
        boolean Image layer.
    label_values : str
        For a Labels mask, the values to fill (``"1, 3-5"``); blank for all non-zero.
    size, operator, smooth
        As for :func:`napari_imagemarker.maskfill`.
    keep_unsmoothed : bool
        Keep the unsmoothed result too (when smoothing).
    all_planes : bool
        For a cube, fill every plane rather than the one at ``point``.
    point : tuple of float
        The viewer's current world position (``viewer.dims.point``).
    preview : bool
        Fill only the region of the image visible in the canvas (one plane of a cube).
    grow : int
        Grow the mask by this many pixels first (see
        :func:`napari_imagemarker.maskfill.grow.grow_mask`); NaN pixels are not grown.

    Raises
    ------
    MaskfillInputError
        With a message for a person: no image, a bad size, shapes that do not match,
        nothing masked, nothing valid to fill from, unreadable label values.
    """
    if not isinstance(image, Image):
        raise MaskfillInputError("maskfill: choose an image layer to fill")
    size, operator, smooth = int(size), str(operator), bool(smooth)
    if size < 3 or size % 2 == 0:
        raise MaskfillInputError(f"maskfill: size must be an odd number >= 3, not {size}")
    if image.multiscale:
        raise MaskfillInputError(f"maskfill: {image.name} is multiscale; open one level")
    data = np.asarray(image.data)
    if data.dtype.kind not in "fiub":
        raise MaskfillInputError(f"maskfill: {image.name} holds {data.dtype}, not numbers")
    grid = data.shape[:-1] if image.rgb else data.shape  # (.., ny, nx) of the pixels
    if len(grid) not in (2, 3):
        raise MaskfillInputError(
            f"maskfill: {image.name} is {len(grid)}-D; it must be a 2-D image, an RGB "
            "image or a 3-D cube"
        )
    masked = mask_array(image, mask, grid, label_values)
    grow = int(grow)
    if grow < 0:
        raise MaskfillInputError(f"maskfill: grow must be 0 or more pixels, not {grow}")
    if grow:
        masked = grow_mask(masked, grow)
    plane = None
    if image.rgb:
        data = np.moveaxis(data, -1, 0)  # one plane per channel, one mask for all
    elif len(grid) == 3 and (not all_planes or preview):
        plane = _current_plane(image, point)
        data = data[plane]
        masked = masked[plane] if masked.ndim == 3 else masked
    holes = masked | np.isnan(data) if data.dtype.kind == "f" else masked
    where = f"{image.name}" + (f" (plane {plane})" if plane is not None else "")
    if not holes.any():
        raise MaskfillInputError(
            f"maskfill: nothing to fill: {where} has no NaN pixels"
            if mask == NAN_PIXELS
            else f"maskfill: nothing to fill: '{choice_name(mask)}' marks no pixel of "
            f"{where}, and it has no NaN pixels"
        )
    if holes.all() if holes.ndim == 2 else holes.all(axis=(-2, -1)).any():
        raise MaskfillInputError(
            f"maskfill: nothing valid to fill from: every pixel of {where} is masked or NaN"
        )
    labels = (label_values.strip() or "all non-zero") if isinstance(mask, Labels) else ""
    return FillRequest(
        source=image,
        data=data,
        mask=masked,
        size=size,
        operator=operator,
        smooth=smooth,
        keep_unsmoothed=smooth and bool(keep_unsmoothed),
        grow=grow,
        plane=plane,
        region=_visible_region(image, grid[-2:]) if preview else None,
        description={
            "image": image.name,
            "mask": choice_name(mask),
            "labels": labels,
            "size": size,
            "operator": operator,
            "smooth": smooth,
            "grow": grow,
            "plane": plane,
        },
    )


def mask_array(image: Image, choice: Any, grid: tuple[int, ...], label_values: str = ""):
    """The boolean mask of ``choice`` on the image's pixel grid ``grid`` (``(ny, nx)`` or a
    cube's ``(nz, ny, nx)``): ``(ny, nx)``, or ``grid`` for a mask with planes.

    Raises
    ------
    MaskfillInputError
        A Labels layer of another shape, unreadable ``label_values``, or no mask chosen.
    """
    if choice == NAN_PIXELS:
        return np.zeros(grid[-2:], dtype=bool)
    if isinstance(choice, Labels):
        labels = np.asarray(choice.data)
        if labels.shape not in (grid, grid[-2:]):
            raise MaskfillInputError(
                f"maskfill: the shapes do not match: mask '{choice.name}' is "
                f"{labels.shape}, image '{image.name}' is {grid}"
                + (" (or one plane of it)" if len(grid) == 3 else "")
            )
        values = parse_labels(label_values)
        return labels != 0 if values is None else np.isin(labels, values)
    if isinstance(choice, Shapes):
        return rasterise(choice, image, grid)
    if isinstance(choice, Image):
        if choice is image:
            raise MaskfillInputError(f"maskfill: '{image.name}' cannot be its own mask")
        flags = np.asarray(choice.data)
        if flags.dtype != bool:
            raise MaskfillInputError(
                f"maskfill: image layer '{choice.name}' holds {flags.dtype}; a mask image "
                "must be boolean (for 0/1 numbers use a Labels layer)"
            )
        if flags.shape not in (grid, grid[-2:]):
            raise MaskfillInputError(
                f"maskfill: the shapes do not match: mask '{choice.name}' is "
                f"{flags.shape}, image '{image.name}' is {grid}"
                + (" (or one plane of it)" if len(grid) == 3 else "")
            )
        return flags
    raise MaskfillInputError(
        "maskfill: choose a Labels layer, a Shapes layer or a boolean Image layer as mask"
    )


def parse_labels(text: str) -> list[int] | None:
    """``"1, 3-5"`` -> ``[1, 3, 4, 5]``; blank or "all" -> None (all non-zero).

    Raises
    ------
    MaskfillInputError
        Text that is not integers and ranges.
    """
    text = text.strip()
    if not text or text.lower() in ("all", "all non-zero"):
        return None
    values: list[int] = []
    for part in re.split(r"[,\s]+", text):
        match = re.fullmatch(r"(-?\d+)(?:-(-?\d+))?", part)
        if not match:
            raise MaskfillInputError(
                f"maskfill: cannot read the label values {text!r}: write e.g. 1, 3-5"
            )
        lo = int(match.group(1))
        hi = int(match.group(2)) if match.group(2) else lo
        values.extend(range(lo, hi + 1))
    return values


def rasterise(shapes: Shapes, image: Image, grid: tuple[int, ...]) -> np.ndarray:
    """The shapes' interiors on the image's pixel grid: ``(ny, nx)`` for 2-D shapes,
    the cube's shape for shapes drawn on planes of a cube.  Shapes and image may have
    different scales and translations: vertices go through world coordinates."""
    if len(shapes.data) == 0:
        return np.zeros(grid[-2:], dtype=bool)
    three_d = len(grid) == 3 and shapes.ndim == 3
    world_ndim = max(shapes.ndim, image.ndim)
    vertices = []
    for shape in shapes.data:
        on_image = []
        for vertex in shape:
            world = np.asarray(shapes.data_to_world(vertex), dtype=float)
            if len(world) < world_ndim:  # 2-D shapes over a cube: any plane
                world = np.concatenate([np.zeros(world_ndim - len(world)), world])
            data = np.asarray(image.world_to_data(world))
            on_image.append(data[-3:] if three_d else data[-2:])
        vertices.append(np.array(on_image))
    target = grid if three_d else grid[-2:]
    on_grid = Shapes(vertices, shape_type=list(shapes.shape_type), ndim=len(target))
    masks = on_grid.to_masks(mask_shape=target)
    return np.asarray(masks).any(axis=0)


def choice_name(choice: Any) -> str:
    """The name of a mask choice: a layer's name, or the choice's text."""
    return choice if isinstance(choice, str) else getattr(choice, "name", str(choice))


def _current_plane(image: Image, point: tuple[float, ...]) -> int:
    position = image.world_to_data(point)
    return int(np.clip(np.round(position[0]), 0, image.data.shape[0] - 1))


def _visible_region(image: Image, shape: tuple[int, int]) -> tuple[slice, slice]:
    corners = np.asarray(image.corner_pixels)[:, -2:]
    (r0, c0), (r1, c1) = corners.min(axis=0), corners.max(axis=0)
    r0, c0 = max(int(r0), 0), max(int(c0), 0)
    r1, c1 = min(int(r1) + 1, shape[0]), min(int(c1) + 1, shape[1])
    if r1 <= r0 or c1 <= c0:
        raise MaskfillInputError(f"maskfill: {image.name} is not in view; nothing to preview")
    return slice(r0, r1), slice(c0, c1)

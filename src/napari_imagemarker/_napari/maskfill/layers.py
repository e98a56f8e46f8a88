"""From maskfill's arrays back to napari layers: the maskfill widget's output side.

:func:`add_result` and :func:`add_preview` turn a :class:`FillResult` into Image layers that
look like the source (scale, translate, colormap, contrast limits, metadata with header and
WCS), replacing the layers an earlier run made instead of piling up copies.  Layers made
here are recognised by their metadata (:func:`is_maskfill_layer`); others of the same name
are never touched.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from napari.layers import Image

from napari_imagemarker._napari.maskfill.request import FillRequest, FillResult
from napari_imagemarker.maskfill.files import history_text

__all__ = [
    "FILLED_SUFFIX",
    "PREVIEW_SUFFIX",
    "UNSMOOTHED_SUFFIX",
    "add_preview",
    "add_result",
    "history_header",
    "is_maskfill_layer",
    "layer_like",
    "remove_layer",
    "replace_layer",
    "to_layer_layout",
]

#: Suffixes of the output layers' names.
FILLED_SUFFIX, UNSMOOTHED_SUFFIX, PREVIEW_SUFFIX = (
    " maskfilled",
    " maskfilled (unsmoothed)",
    " maskfill preview",
)


def add_result(viewer, result: FillResult) -> Image:
    """Add ``"<image> maskfilled"`` (and the unsmoothed layer when kept), replacing the
    layers of an earlier run and the preview; returns the filled layer.

    Its metadata are the source's (header with a HISTORY card, WCS, path, ...) plus
    ``"mask"`` (the boolean mask used), ``"maskfill"`` (the parameters) and, when kept,
    ``"unsmoothed"``.
    """
    request = result.request
    name = request.source.name
    remove_layer(viewer, name + PREVIEW_SUFFIX)
    metadata = dict(request.source.metadata)
    metadata["mask"] = request.mask
    metadata["maskfill"] = dict(request.description)
    metadata["header"] = history_header(metadata.get("header"), request.description)
    if request.keep_unsmoothed:
        metadata["unsmoothed"] = result.unsmoothed
    layer = replace_layer(viewer, name + FILLED_SUFFIX, result.filled, request, metadata)
    if request.keep_unsmoothed:
        extra = {k: v for k, v in metadata.items() if k != "unsmoothed"}
        extra["maskfill"] = {**request.description, "smooth": False, "result": "unsmoothed"}
        replace_layer(viewer, name + UNSMOOTHED_SUFFIX, result.unsmoothed, request, extra)
    else:
        remove_layer(viewer, name + UNSMOOTHED_SUFFIX)
    return layer


def add_preview(viewer, result: FillResult) -> Image:
    """Add ``"<image> maskfill preview"`` over the previewed region, replacing an earlier
    preview.  Its metadata hold ``"region"`` (rows, cols) and ``"exact"`` (whether the
    values are those of the whole-image fill)."""
    request = result.request
    rows, cols = request.region
    metadata = {"maskfill_preview": True, "region": (rows, cols), "exact": result.exact}
    name = request.source.name + PREVIEW_SUFFIX
    return replace_layer(viewer, name, result.filled, request, metadata, offset=(rows, cols))


def replace_layer(
    viewer,
    name: str,
    data: np.ndarray,
    request: FillRequest,
    metadata: dict[str, Any],
    offset: tuple[slice, slice] | None = None,
) -> Image:
    """Add an image layer ``name`` like the request's source, in place of ours of that name
    (new layers go on top, where they are seen); ``offset`` places a region's data."""
    data = to_layer_layout(data, request)
    kwargs = layer_like(request.source, request, offset)
    index = None
    for i, layer in enumerate(viewer.layers):
        if layer.name == name and is_maskfill_layer(layer):
            index = i
            viewer.layers.remove(layer)
            break
    layer = Image(data, name=name, metadata=metadata, **kwargs)
    if index is None:
        viewer.add_layer(layer)
    else:
        viewer.layers.insert(index, layer)
    return layer


def remove_layer(viewer, name: str) -> None:
    """Remove our layer ``name``, if there is one."""
    for layer in list(viewer.layers):
        if layer.name == name and is_maskfill_layer(layer):
            viewer.layers.remove(layer)


def is_maskfill_layer(layer) -> bool:
    """Whether the layer was made by the maskfill widget (a result or a preview)."""
    return "maskfill" in layer.metadata or "maskfill_preview" in layer.metadata


def to_layer_layout(data: np.ndarray, request: FillRequest) -> np.ndarray:
    """maskfill's planes back into the layer's layout (channels last, the plane axis)."""
    if request.rgb:
        data = np.moveaxis(data, 0, -1)
        source_dtype = np.asarray(request.source.data[:1]).dtype
        if source_dtype.kind in "iu":  # keep 8/16-bit colour images in their type
            info = np.iinfo(source_dtype)
            data = np.clip(np.round(data), info.min, info.max).astype(source_dtype)
        return data
    if request.plane is not None:
        return data[None]  # one plane of the cube, placed at its position
    return data


def layer_like(
    source: Image, request: FillRequest, offset: tuple[slice, slice] | None = None
) -> dict[str, Any]:
    """Scale, translate, colormap and contrast limits of the source, shifted to the plane
    or to the preview region, as keywords of :class:`napari.layers.Image`."""
    translate = np.array(source.translate, dtype=float)
    scale = np.asarray(source.scale, dtype=float)
    if request.plane is not None:
        translate[0] += request.plane * scale[0]
    if offset is not None:
        rows, cols = offset
        translate[-2] += rows.start * scale[-2]
        translate[-1] += cols.start * scale[-1]
    kwargs = {
        "scale": scale,
        "translate": translate,
        "rotate": source.rotate,
        "shear": source.shear,
        "contrast_limits": list(source.contrast_limits),
        "gamma": source.gamma,
        "rgb": source.rgb,
        "axis_labels": source.axis_labels,
    }
    if not source.rgb:
        kwargs["colormap"] = source.colormap
    return kwargs


def history_header(header, description: dict[str, Any]):
    """A copy of the FITS header with a HISTORY card saying how the image was filled (the
    command line's card, plus smoothing and the mask's name); None without a header."""
    if header is None:
        return None
    header = header.copy()
    header.add_history(
        f"{history_text(description['size'], description['operator'], description['grow'])}: "
        f"smooth={description['smooth']} mask={description['mask']}"
    )
    return header

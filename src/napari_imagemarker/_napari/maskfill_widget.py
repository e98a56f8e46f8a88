"""maskfill in napari: an image layer and a mask in, a filled image layer out.

The work runs in a napari thread worker with a progress bar and can be cancelled; problems
are napari notifications.  The model is :func:`napari_imagemarker.maskfill`; this module
only turns layers into arrays and results into layers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, Label, LineEdit, PushButton, SpinBox
from napari.layers import Image, Labels, Shapes
from napari.qt.threading import create_worker
from napari.utils import progress
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QObject, Signal

from ..batch import fill_window
from ..maskfill import maskfill

#: The ``mask`` choice that fills the image's NaN pixels only.
NAN_PIXELS = "NaN pixels of the image"
#: ``planes`` choices for cubes.
CURRENT_PLANE, ALL_PLANES = "current plane", "all planes"
#: Suffixes of the output layers' names.
FILLED_SUFFIX, UNSMOOTHED_SUFFIX, PREVIEW_SUFFIX = (
    " maskfilled",
    " maskfilled (unsmoothed)",
    " maskfill preview",
)
#: Pixels read around the visible region for the preview.
PREVIEW_MARGIN = 64

_PROGRESS_STEPS = 1000


class MaskfillInputError(ValueError):
    """The layers and parameters cannot be filled; the message says why, for a person."""


class _Cancelled(Exception):
    pass


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
    description: dict[str, Any] = field(default_factory=dict)
    plane: int | None = None  # the cube plane filled, when only one
    region: tuple[slice, slice] | None = None  # (rows, cols) of a preview

    @property
    def rgb(self) -> bool:
        return bool(self.source.rgb)


@dataclass
class FillResult:
    """What a worker returns: the request and maskfill's arrays (layouts as the layer's)."""

    request: FillRequest
    filled: np.ndarray
    unsmoothed: np.ndarray | None
    exact: bool = True


class _Relay(QObject):
    """Carries progress from the worker thread to the main thread (a queued signal)."""

    fraction = Signal(float)


class MaskfillWidget(Container):
    """Fill masked pixels of an image layer with maskfill (van Dokkum & Pasha 2024).

    Parameters (widget names, also keywords of a call): ``image`` (Image layer), ``mask``
    (Labels layer, Shapes layer rasterised on the image's grid, or ``NAN_PIXELS``),
    ``label_values`` (label values counted as masked: blank for all non-zero, or e.g. ``1, 3-5``),
    ``size``, ``operator``, ``smooth``, ``keep_unsmoothed`` (also add the unsmoothed result)
    and ``planes`` (for cubes: the current plane or all planes).

    The result is an Image layer ``"<image> maskfilled"`` with the image's scale,
    translate, colormap and contrast limits and its metadata (header, WCS), plus
    ``metadata["mask"]`` (the boolean mask used), ``metadata["maskfill"]`` (the
    parameters) and, when kept, ``metadata["unsmoothed"]``.  Running again replaces it.
    ``widget(image=..., mask=...)`` runs with those values and returns the thread worker.
    """

    def __init__(self, napari_viewer) -> None:
        self.viewer = napari_viewer
        label_values = LineEdit(name="label_values", label="masked labels", value="")
        label_values.tooltip = "Label values to fill: blank for all non-zero, or e.g. 1, 3-5"
        label_values.native.setPlaceholderText("all non-zero")
        size = SpinBox(name="size", value=3, min=3, max=99, step=2)
        size.tooltip = "Odd window size of the median (or mean), at least 3"
        super().__init__(
            widgets=[
                ComboBox(name="image", choices=self._image_choices),
                ComboBox(name="mask", choices=self._mask_choices),
                label_values,
                size,
                ComboBox(name="operator", choices=["median", "mean"], value="median"),
                CheckBox(name="smooth", value=True, text="smooth the filled pixels"),
                CheckBox(name="keep_unsmoothed", text="also add the unsmoothed result"),
                ComboBox(name="planes", choices=[CURRENT_PLANE, ALL_PLANES]),
                PushButton(name="preview_button", text="Preview visible region"),
                PushButton(name="run_button", text="Fill"),
                PushButton(name="cancel_button", text="Cancel", enabled=False),
                Label(name="status", value=""),
            ],
        )
        self.worker = None
        self._pbar: progress | None = None
        self._relay = _Relay()
        self._relay.fraction.connect(self._on_fraction)
        self.run_button.changed.connect(lambda: self.run())
        self.preview_button.changed.connect(lambda: self.preview())
        self.cancel_button.changed.connect(self.cancel)
        self.image.changed.connect(self._update_visibility)
        self.mask.changed.connect(self._update_visibility)
        self.smooth.changed.connect(self._update_visibility)
        for event in ("inserted", "removed", "moved", "reordered"):
            getattr(self.viewer.layers.events, event).connect(self._on_layers_changed)
        self._update_visibility()

    # -- choices ------------------------------------------------------------------------------

    def _image_choices(self, _widget=None) -> list[tuple[str, Image]]:
        return [
            (layer.name, layer)
            for layer in self.viewer.layers
            if isinstance(layer, Image) and not layer.metadata.get("maskfill_preview")
        ]

    def _mask_choices(self, _widget=None) -> list[tuple[str, Any]]:
        masks = [
            (layer.name, layer)
            for layer in self.viewer.layers
            if isinstance(layer, (Labels, Shapes))
        ]
        return [*masks, (NAN_PIXELS, NAN_PIXELS)]

    def _on_layers_changed(self, event=None) -> None:
        self.reset_choices()
        self._update_visibility()

    def _update_visibility(self, _value=None) -> None:
        image, mask = self.image.value, self.mask.value
        self.label_values.visible = isinstance(mask, Labels)
        self.planes.visible = isinstance(image, Image) and image.ndim - image.rgb == 3
        self.keep_unsmoothed.enabled = bool(self.smooth.value)

    # -- actions ------------------------------------------------------------------------------

    def __call__(self, **values: Any):
        """Set the named widgets (``image=``, ``mask=``, ``size=``, ...) and run."""
        return self.run(**values)

    _WIDGET_NAMES = (
        "image", "mask", "label_values", "size", "operator", "smooth", "keep_unsmoothed",
        "planes",
    )  # fmt: skip

    def _set(self, values: dict[str, Any]) -> None:
        for name, value in values.items():
            if name not in self._WIDGET_NAMES:
                raise TypeError(f"the maskfill widget has no parameter {name!r}")
            self[name].value = value

    def run(self, **values: Any):
        """Fill the whole image (or plane) in a thread.

        Keywords set the widgets of those names first.  Returns the worker, or None when
        the input is refused (with a notification saying why).
        """
        self._set(values)
        return self._start(preview=False)

    def preview(self, **values: Any):
        """Fill only the region visible in the canvas, into a temporary preview layer."""
        self._set(values)
        return self._start(preview=True)

    def cancel(self, _value=None) -> None:
        """Stop the running fill; nothing is added."""
        if self.worker is not None:
            self.worker.quit()

    def _start(self, preview: bool):
        if self.worker is not None:
            show_info("maskfill is already running; cancel it first")
            return None
        try:
            request = self._request(preview)
        except MaskfillInputError as exc:
            show_error(str(exc))
            return None
        what = "preview of " if preview else ""
        self._pbar = progress(total=_PROGRESS_STEPS, desc=f"maskfill {what}{request.source.name}")
        holder: list = []
        worker = create_worker(
            _compute, request, lambda: holder[0].abort_requested, self._relay.fraction.emit,
            _ignore_errors=True,
        )  # fmt: skip
        holder.append(worker)
        worker.returned.connect(self._on_returned)
        worker.errored.connect(self._on_errored)
        worker.finished.connect(self._on_finished)
        self.worker = worker
        self.run_button.enabled = self.preview_button.enabled = False
        self.cancel_button.enabled = True
        self.status.value = f"filling {what}{request.source.name}..."
        worker.start()
        return worker

    # -- layers to arrays ---------------------------------------------------------------------

    def _request(self, preview: bool) -> FillRequest:
        image, mask_choice = self.image.value, self.mask.value
        if not isinstance(image, Image):
            raise MaskfillInputError("maskfill: choose an image layer to fill")
        size, operator, smooth = (
            int(self.size.value),
            str(self.operator.value),
            bool(self.smooth.value),
        )
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
        mask = self._mask_array(image, mask_choice, grid)
        plane = None
        if image.rgb:
            data = np.moveaxis(data, -1, 0)  # one plane per channel, one mask for all
        elif len(grid) == 3 and (self.planes.value == CURRENT_PLANE or preview):
            plane = self._current_plane(image)
            data = data[plane]
            mask = mask[plane] if mask.ndim == 3 else mask
        holes = mask | np.isnan(data) if data.dtype.kind == "f" else mask
        where = f"{image.name}" + (f" (plane {plane})" if plane is not None else "")
        if not holes.any():
            raise MaskfillInputError(
                f"maskfill: nothing to fill: {where} has no NaN pixels"
                if mask_choice == NAN_PIXELS
                else f"maskfill: nothing to fill: '{_name(mask_choice)}' marks no pixel of "
                f"{where}, and it has no NaN pixels"
            )
        if holes.all() if holes.ndim == 2 else holes.all(axis=(-2, -1)).any():
            raise MaskfillInputError(
                f"maskfill: nothing valid to fill from: every pixel of {where} is masked or NaN"
            )
        request = FillRequest(
            source=image,
            data=data,
            mask=mask,
            size=size,
            operator=operator,
            smooth=smooth,
            keep_unsmoothed=smooth and bool(self.keep_unsmoothed.value),
            plane=plane,
            description={
                "image": image.name,
                "mask": _name(mask_choice),
                "labels": self._label_text(mask_choice),
                "size": size,
                "operator": operator,
                "smooth": smooth,
                "plane": plane,
            },
        )
        if preview:
            request.region = self._visible_region(image, grid[-2:])
        return request

    def _mask_array(self, image: Image, choice: Any, grid: tuple[int, ...]) -> np.ndarray:
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
            values = _parse_labels(self.label_values.value)
            return labels != 0 if values is None else np.isin(labels, values)
        if isinstance(choice, Shapes):
            return _rasterise(choice, image, grid)
        raise MaskfillInputError("maskfill: choose a Labels or Shapes layer as mask")

    def _label_text(self, choice: Any) -> str:
        if not isinstance(choice, Labels):
            return ""
        return self.label_values.value.strip() or "all non-zero"

    def _current_plane(self, image: Image) -> int:
        position = image.world_to_data(self.viewer.dims.point)
        return int(np.clip(np.round(position[0]), 0, image.data.shape[0] - 1))

    def _visible_region(self, image: Image, shape: tuple[int, int]) -> tuple[slice, slice]:
        corners = np.asarray(image.corner_pixels)[:, -2:]
        (r0, c0), (r1, c1) = corners.min(axis=0), corners.max(axis=0)
        r0, c0 = max(int(r0), 0), max(int(c0), 0)
        r1, c1 = min(int(r1) + 1, shape[0]), min(int(c1) + 1, shape[1])
        if r1 <= r0 or c1 <= c0:
            raise MaskfillInputError(f"maskfill: {image.name} is not in view; nothing to preview")
        return slice(r0, r1), slice(c0, c1)

    # -- results to layers --------------------------------------------------------------------

    def _on_fraction(self, fraction: float) -> None:
        if self._pbar is not None:
            self._pbar.n = int(fraction * _PROGRESS_STEPS)
            self._pbar.update(0)

    def _on_returned(self, result: FillResult) -> None:
        request = result.request
        if request.region is not None:
            self._show_preview(result)
            return
        self._remove(request.source.name + PREVIEW_SUFFIX)
        metadata = dict(request.source.metadata)
        metadata["mask"] = request.mask
        metadata["maskfill"] = dict(request.description)
        metadata["header"] = _history_header(metadata.get("header"), request.description)
        if request.keep_unsmoothed:
            metadata["unsmoothed"] = result.unsmoothed
        layer = self._replace(
            request.source.name + FILLED_SUFFIX, result.filled, request, metadata
        )
        if request.keep_unsmoothed:
            extra = {k: v for k, v in metadata.items() if k != "unsmoothed"}
            extra["maskfill"] = {**request.description, "smooth": False, "result": "unsmoothed"}
            self._replace(
                request.source.name + UNSMOOTHED_SUFFIX, result.unsmoothed, request, extra
            )
        else:
            self._remove(request.source.name + UNSMOOTHED_SUFFIX)
        self.viewer.layers.selection.active = layer
        self.status.value = f"added '{layer.name}'"

    def _show_preview(self, result: FillResult) -> None:
        request = result.request
        rows, cols = request.region
        metadata = {"maskfill_preview": True, "region": (rows, cols), "exact": result.exact}
        name = request.source.name + PREVIEW_SUFFIX
        layer = self._replace(name, result.filled, request, metadata, offset=(rows, cols))
        note = "" if result.exact else " (approximate near masks that leave the view)"
        self.status.value = (
            f"preview of rows {rows.start}-{rows.stop - 1}, "
            f"columns {cols.start}-{cols.stop - 1}{note}"
        )
        layer.metadata["status"] = self.status.value

    def _replace(self, name, data, request, metadata, offset=None) -> Image:
        """Add an image layer ``name`` like the source, in place of our previous one."""
        source = request.source
        data = _to_layer_layout(data, request)
        kwargs = _layer_like(source, request, offset)
        index = None
        for i, layer in enumerate(self.viewer.layers):
            if layer.name == name and _ours(layer):
                index = i
                self.viewer.layers.remove(layer)
                break
        layer = Image(data, name=name, metadata=metadata, **kwargs)
        if index is None:  # new layers go on top, where they are seen
            self.viewer.add_layer(layer)
        else:
            self.viewer.layers.insert(index, layer)
        return layer

    def _remove(self, name: str) -> None:
        for layer in list(self.viewer.layers):
            if layer.name == name and _ours(layer):
                self.viewer.layers.remove(layer)

    def _on_errored(self, exc: BaseException) -> None:
        if isinstance(exc, _Cancelled):
            return  # said once the worker has finished
        self.status.value = "failed"
        show_error(f"maskfill: {exc}")

    def _on_finished(self) -> None:
        if self.worker is not None and self.worker.abort_requested:
            self.status.value = "cancelled"
            show_info("maskfill cancelled; nothing was added")
        self.worker = None
        if self._pbar is not None:
            self._pbar.close()
            self._pbar = None
        self.run_button.enabled = self.preview_button.enabled = True
        self.cancel_button.enabled = False


# -- work in the thread ------------------------------------------------------------------------


def _compute(request: FillRequest, aborted, report) -> FillResult:
    """Run maskfill on the request's arrays; raises _Cancelled when ``aborted()``."""

    def on_progress(done: int, total: int) -> None:
        if aborted():
            raise _Cancelled
        report(done / max(total, 1))

    params = {"size": request.size, "operator": request.operator, "smooth": request.smooth}
    if request.region is not None:
        return _compute_preview(request, aborted, params)
    filled, unsmoothed = maskfill(request.data, request.mask, progress=on_progress, **params)
    return FillResult(request, filled, unsmoothed)


def _compute_preview(request: FillRequest, aborted, params: dict) -> FillResult:
    rows, cols = request.region
    planes = request.data if request.data.ndim == 3 else request.data[None]
    filled, exact = [], True
    for plane in planes:
        if aborted():
            raise _Cancelled
        window = fill_window(plane, request.mask, rows, cols, margin=PREVIEW_MARGIN, **params)
        filled.append(window.filled)
        exact = exact and window.exact
    result = np.stack(filled) if request.data.ndim == 3 else filled[0]
    return FillResult(request, result, None, exact)


# -- helpers -------------------------------------------------------------------------------------


def _name(choice: Any) -> str:
    return choice if isinstance(choice, str) else getattr(choice, "name", str(choice))


def _ours(layer) -> bool:
    return "maskfill" in layer.metadata or "maskfill_preview" in layer.metadata


def _parse_labels(text: str) -> list[int] | None:
    """``"1, 3-5"`` -> ``[1, 3, 4, 5]``; blank or "all" -> None (all non-zero)."""
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


def _rasterise(shapes: Shapes, image: Image, grid: tuple[int, ...]) -> np.ndarray:
    """The shapes' interiors on the image's pixel grid: ``(ny, nx)`` for 2-D shapes,
    the cube's shape for shapes drawn on planes of a cube."""
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


def _to_layer_layout(data: np.ndarray, request: FillRequest) -> np.ndarray:
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


def _layer_like(source: Image, request: FillRequest, offset=None) -> dict[str, Any]:
    """Scale, translate, colormap and contrast limits of the source, shifted to the plane
    or to the preview region."""
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


def _history_header(header, description: dict[str, Any]):
    """A copy of the FITS header with a HISTORY card saying how the image was filled."""
    if header is None:
        return None
    from .. import __version__

    header = header.copy()
    header.add_history(
        f"maskfill (napari-imagemarker {__version__}): size={description['size']} "
        f"operator={description['operator']} smooth={description['smooth']} "
        f"mask={description['mask']}"
    )
    return header

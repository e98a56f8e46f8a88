"""maskfill in napari: the dock widget that fills an image layer in a thread.

The model is :func:`napari_imagemarker.maskfill`; :mod:`.maskfill_request` turns the layers
into arrays and :mod:`.maskfill_layers` the results into layers.  This module holds the
widget and the work in the thread: a napari thread worker with a progress bar that can be
cancelled; problems are napari notifications.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from magicgui.widgets import CheckBox, ComboBox, Container, Label, LineEdit, PushButton, SpinBox
from napari.layers import Image, Labels, Shapes
from napari.qt.threading import create_worker
from napari.utils import progress
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QObject, Signal

from napari_imagemarker._napari.maskfill.layers import add_preview, add_result
from napari_imagemarker._napari.maskfill.request import (
    ALL_PLANES,
    CURRENT_PLANE,
    NAN_PIXELS,
    FillRequest,
    FillResult,
    MaskfillInputError,
    fill_request,
)
from napari_imagemarker.maskfill import maskfill
from napari_imagemarker.maskfill.tiles import fill_window

__all__ = ["ALL_PLANES", "CURRENT_PLANE", "NAN_PIXELS", "PREVIEW_MARGIN", "MaskfillWidget"]

#: Pixels read around the visible region for the preview.
PREVIEW_MARGIN = 64

_PROGRESS_STEPS = 1000


class _Cancelled(Exception):
    pass


class _Relay(QObject):
    """Carries progress from the worker thread to the main thread (a queued signal)."""

    fraction = Signal(float)


class MaskfillWidget(Container):
    """Fill masked pixels of an image layer with maskfill (van Dokkum & Pasha 2024).

    Parameters (widget names, also keywords of a call): ``image`` (Image layer), ``mask``
    (Labels layer, Shapes layer rasterised on the image's grid, boolean Image layer, or
    ``NAN_PIXELS``), ``label_values`` (label values counted as masked: blank for all
    non-zero, or e.g. ``1, 3-5``), ``grow`` (pixels to grow the mask by),
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
        grow = SpinBox(name="grow", label="grow mask by", value=0, min=0, max=500)
        grow.tooltip = (
            "Grow the mask by this many pixels before filling (every pixel within this "
            "distance of a masked pixel), to cover the faint wings of cosmic rays and stars"
        )
        super().__init__(
            widgets=[
                ComboBox(name="image", choices=self._image_choices),
                ComboBox(name="mask", choices=self._mask_choices),
                label_values,
                grow,
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
            or (isinstance(layer, Image) and np.dtype(layer.dtype) == np.bool_)
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
        "image", "mask", "label_values", "grow", "size", "operator", "smooth",
        "keep_unsmoothed", "planes",
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
            self.status.value = "not filled: see the message"  # not the last run's result
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

    def _request(self, preview: bool) -> FillRequest:
        return fill_request(
            self.image.value,
            self.mask.value,
            label_values=self.label_values.value,
            size=self.size.value,
            operator=self.operator.value,
            smooth=self.smooth.value,
            keep_unsmoothed=self.keep_unsmoothed.value,
            all_planes=self.planes.value == ALL_PLANES,
            point=self.viewer.dims.point,
            preview=preview,
            grow=self.grow.value,
        )

    # -- results to layers --------------------------------------------------------------------

    def _on_fraction(self, fraction: float) -> None:
        if self._pbar is not None:
            self._pbar.n = int(fraction * _PROGRESS_STEPS)
            self._pbar.update(0)

    def _on_returned(self, result: FillResult) -> None:
        source = result.request.source
        if source not in self.viewer.layers:  # closed while it was being filled
            self.status.value = f"not added: '{source.name}' was closed while being filled"
            show_info(f"maskfill: {self.status.value}")
            return
        if result.request.region is None:
            layer = add_result(self.viewer, result)
            self.viewer.layers.selection.active = layer
            self.status.value = f"added '{layer.name}'"
            return
        layer = add_preview(self.viewer, result)
        rows, cols = result.request.region
        note = "" if result.exact else " (approximate near masks that leave the view)"
        self.status.value = (
            f"preview of rows {rows.start}-{rows.stop - 1}, "
            f"columns {cols.start}-{cols.stop - 1}{note}"
        )
        layer.metadata["status"] = self.status.value

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

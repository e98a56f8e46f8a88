"""The "Display" dock: stretch, limits and blur of the selected image layer.

It acts on the active Image layer, else on the marking session's image, else on the top
visible image. Opening it binds the display keys (:mod:`.keys`) in its window. Every
control goes through the display model (:mod:`..display`) and
:func:`.session.set_display`; the controls follow what is shown, whoever changed it
(napari's own contrast slider, a script, the Layers menu). In a marking session the
settings carry over from image to image and are saved with the session.
"""

from __future__ import annotations

import contextlib

import numpy as np
from napari.layers import Image
from napari.utils.notifications import show_warning
from qtpy.QtCore import QPointF, QRectF, Qt, QTimer
from qtpy.QtGui import QColor, QPainter, QPen
from qtpy.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from napari_imagemarker._napari.display.keys import BLUR_MAX, bind_display_keys
from napari_imagemarker._napari.display.layer import display_of, raw_data, settings_of
from napari_imagemarker._napari.display.target import reset, set_display, target_layer
from napari_imagemarker._napari.viewers import unwrap
from napari_imagemarker.display import (
    STRETCHES,
    DisplaySettings,
    interval_name,
    make_interval,
    make_stretch,
    stretch_name,
)
from napari_imagemarker.display.histogram import Histogram, histogram
from napari_imagemarker.display.settings import stretch_parameter

__all__ = ["DisplayDock", "HistogramView"]

STRETCH_LABELS = {"linear": "Linear", "log": "Log", "sqrt": "Sqrt", "asinh": "Asinh",
                  "power": "Power", "sinh": "Sinh", "histeq": "HistEq"}  # fmt: skip
INTERVAL_LABELS = {"minmax": "Min-max", "zscale": "ZScale", "99.5%": "99.5%", "99%": "99%",
                   "95%": "95%", "90%": "90%", "manual": "Manual"}  # fmt: skip
#: Blur slider steps per pixel (its largest radius is the keys' ``BLUR_MAX``).
BLUR_STEPS = 10


class HistogramView(QWidget):
    """Bars of the raw values (log counts) with the limits drawn as vertical lines."""

    COLORS = ("#d0d0d0",)
    RGB_COLORS = ("#ff5050", "#50e050", "#5080ff")

    def __init__(self) -> None:
        super().__init__()
        self.setMinimumHeight(90)
        self.histogram: Histogram | None = None
        self.limits: list[tuple[float, float]] = []

    def show_histogram(self, hist: Histogram | None, limits) -> None:
        self.histogram = hist
        self.limits = list(limits)
        self.update()

    def x_of(self, value: float) -> float:
        """Horizontal position (widget pixels) of a raw value."""
        edges = self.histogram.edges
        return (value - edges[0]) / (edges[-1] - edges[0]) * self.width()

    def paintEvent(self, event) -> None:
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor("#262930"))
        hist = self.histogram
        if hist is None:
            painter.end()
            return
        h, w = self.height(), self.width()
        counts = np.log1p(hist.counts)
        top = counts.max() or 1.0
        colors = self.RGB_COLORS if len(counts) == 3 else self.COLORS
        bins = counts.shape[1]
        for row, color in zip(counts, colors):
            c = QColor(color)
            c.setAlpha(140 if len(counts) > 1 else 255)
            for i, value in enumerate(row):
                bar = value / top * (h - 4)
                painter.fillRect(QRectF(i * w / bins, h - bar, w / bins + 0.5, bar), c)
        for (lo, hi), color in zip(self.limits, colors if len(self.limits) > 1 else ("#ffd700",)):
            painter.setPen(QPen(QColor(color), 1.5, Qt.PenStyle.DashLine))
            for value in (lo, hi):
                x = self.x_of(value)
                painter.drawLine(QPointF(x, 0), QPointF(x, h))
        painter.end()


class DisplayDock(QWidget):
    """Stretch, limits (interval) and blur of the selected image layer, with a histogram.

    Parameters
    ----------
    napari_viewer : napari.Viewer
    """

    def __init__(self, napari_viewer) -> None:
        super().__init__()
        self.viewer = unwrap(napari_viewer)  # napari hands plugins a proxy
        self.layer: Image | None = None
        self._updating = False
        self._pending: DisplaySettings | None = None
        self._apply_timer = QTimer(self)
        self._apply_timer.setSingleShot(True)
        self._apply_timer.setInterval(0)
        self._apply_timer.timeout.connect(self._apply_pending)

        self.target_label = QLabel("no image layer")
        self.target_label.setWordWrap(True)
        self.stretch_box = QComboBox()
        for key, label in STRETCH_LABELS.items():
            self.stretch_box.addItem(label, key)
        self.stretch_box.setToolTip("astropy.visualization stretch applied between the limits")
        self.a_box = QDoubleSpinBox()
        self.a_box.setDecimals(4)
        self.a_box.setRange(1e-4, 1e6)
        self.a_box.setToolTip("The stretch's parameter a (log: 1000, asinh: 0.1, power: 2)")
        self.interval_box = QComboBox()
        for key, label in INTERVAL_LABELS.items():
            self.interval_box.addItem(label, key)
        self.interval_box.setToolTip("How the black and white limits are found")
        self.low_box, self.high_box = QDoubleSpinBox(), QDoubleSpinBox()
        for box, tip in ((self.low_box, "black"), (self.high_box, "white")):
            box.setRange(-1e30, 1e30)
            box.setDecimals(4)
            box.setKeyboardTracking(False)
            box.setToolTip(f"Raw value shown {tip}; editing it makes the limits manual")
        self.blur_slider = QSlider(Qt.Orientation.Horizontal)
        self.blur_slider.setRange(0, int(BLUR_MAX * BLUR_STEPS))
        self.blur_slider.setToolTip("Gaussian blur of the displayed image (data unchanged)")
        self.blur_box = QDoubleSpinBox()
        self.blur_box.setRange(0, BLUR_MAX)
        self.blur_box.setSingleStep(0.5)
        self.blur_box.setDecimals(1)
        self.blur_box.setSuffix(" px")
        self.hist_view = HistogramView()
        self.reset_button = QPushButton("Reset")
        self.reset_button.setToolTip("Linear stretch, ZScale limits (RGB: as stored), no blur")
        self.summary = QLabel("")
        self.summary.setWordWrap(True)

        form = QFormLayout()
        form.addRow("Image", self.target_label)
        stretch_row = QHBoxLayout()
        stretch_row.addWidget(self.stretch_box, 2)
        stretch_row.addWidget(QLabel("a"))
        stretch_row.addWidget(self.a_box, 1)
        form.addRow("Stretch", stretch_row)
        form.addRow("Limits", self.interval_box)
        limits_row = QHBoxLayout()
        limits_row.addWidget(self.low_box)
        limits_row.addWidget(QLabel("to"))
        limits_row.addWidget(self.high_box)
        form.addRow("", limits_row)
        blur_row = QHBoxLayout()
        blur_row.addWidget(self.blur_slider, 2)
        blur_row.addWidget(self.blur_box, 1)
        form.addRow("Blur", blur_row)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.hist_view)
        layout.addWidget(self.summary)
        layout.addWidget(self.reset_button)
        layout.addStretch(1)

        self.stretch_box.currentIndexChanged.connect(self._on_stretch_kind)
        self.a_box.valueChanged.connect(self._on_control)
        self.interval_box.currentIndexChanged.connect(self._on_control)
        self.low_box.valueChanged.connect(self._on_manual)
        self.high_box.valueChanged.connect(self._on_manual)
        self.blur_slider.valueChanged.connect(self._on_blur_slider)
        self.blur_box.valueChanged.connect(self._on_blur_box)
        self.reset_button.clicked.connect(self.reset)
        layers = self.viewer.layers
        layers.selection.events.active.connect(self._retarget)
        layers.events.inserted.connect(self._retarget)
        layers.events.removed.connect(self._retarget)
        self._retarget()
        bind_display_keys(self.viewer)  # G, I, [ ], Shift+R (see .keys)

    # -- following the viewer ----------------------------------------------------------------

    def _retarget(self, event=None) -> None:
        layer = target_layer(self.viewer)
        if layer is not self.layer:
            if self.layer is not None:
                state = display_of(self.layer)
                if state is not None:
                    with contextlib.suppress(ValueError):
                        state.changed.remove(self._on_layer_changed)
                with contextlib.suppress(TypeError, ValueError):
                    self.layer.events.data.disconnect(self._on_layer_data)
                for emitter in (self.layer.events.colormap, self.layer.events.contrast_limits):
                    with contextlib.suppress(TypeError, ValueError):
                        emitter.disconnect(self._on_first_display)
            self.layer = layer
            if layer is not None:
                layer.events.data.connect(self._on_layer_data)
                # settings set on a layer that had none (a key, a script, the menu) make its
                # display state: listen to it from then on
                layer.events.colormap.connect(self._on_first_display)
                layer.events.contrast_limits.connect(self._on_first_display)
        self._listen()
        self.refresh()

    def _listen(self) -> None:
        state = display_of(self.layer) if self.layer is not None else None
        if state is not None and self._on_layer_changed not in state.changed:
            state.changed.append(self._on_layer_changed)

    def _on_first_display(self, event=None) -> None:
        state = display_of(self.layer) if self.layer is not None else None
        if state is None or self._on_layer_changed in state.changed:
            return
        self._listen()
        if not state.applying:  # else the end of the change calls back
            self.refresh()

    def _on_layer_changed(self, layer) -> None:
        if layer is self.layer:
            self.refresh()

    def _on_layer_data(self, event=None) -> None:
        self._listen()
        self.refresh()

    def refresh(self) -> None:
        """Show the target layer's settings, limits and histogram in the controls."""
        layer = self.layer
        enabled = layer is not None
        for widget in self._controls():
            widget.setEnabled(enabled)
        if layer is None:
            self.target_label.setText("no image layer: open an image")
            self.hist_view.show_histogram(None, [])
            self.summary.setText("")
            return
        state = display_of(layer)
        if state is not None and state.applying:
            return  # halfway through a change: its end calls back
        settings = settings_of(layer)
        limits = state.limits if state is not None and state.limits else []
        limits = limits or [tuple(float(v) for v in layer.contrast_limits)]
        self._updating = True
        try:
            self.target_label.setText(layer.name + ("  (RGB)" if layer.rgb else ""))
            name = stretch_name(settings.stretch)
            self._set_combo(self.stretch_box, name)
            a = stretch_parameter(settings.stretch)
            self.a_box.setEnabled(a is not None)
            if a is not None:
                self.a_box.setValue(float(a))
            self._set_combo(self.interval_box, interval_name(settings.interval))
            lo = min(pair[0] for pair in limits)
            hi = max(pair[1] for pair in limits)
            self.low_box.setValue(lo)
            self.high_box.setValue(hi)
            self.blur_box.setValue(settings.blur)
            self.blur_slider.setValue(round(settings.blur * BLUR_STEPS))
        finally:
            self._updating = False
        raw = raw_data(layer)
        if layer.multiscale:
            raw = raw[-1]
        self.hist_view.show_histogram(histogram(raw, layer.rgb, limits), limits)
        self.summary.setText(settings.describe())

    def _controls(self) -> tuple[QWidget, ...]:
        return (self.stretch_box, self.a_box, self.interval_box, self.low_box, self.high_box,
                self.blur_slider, self.blur_box, self.reset_button)  # fmt: skip

    @staticmethod
    def _set_combo(box: QComboBox, key) -> None:
        index = box.findData(key)
        if index < 0:  # a stretch or interval the dock has no name for (from a script)
            box.setCurrentIndex(-1)
        else:
            box.setCurrentIndex(index)

    # -- controls ---------------------------------------------------------------------------

    def settings(self) -> DisplaySettings:
        """The settings the controls describe."""
        current = settings_of(self.layer)
        kind = self.stretch_box.currentData()
        unchanged = (
            kind == stretch_name(current.stretch) and stretch_parameter(current.stretch) is None
        )
        if kind is None or unchanged:  # a stretch from a script, or one without parameter
            stretch = current.stretch
        else:
            stretch = make_stretch(kind, self.a_box.value() if self.a_box.isEnabled() else None)
        interval_key = self.interval_box.currentData()
        if interval_key is None:
            interval = current.interval
        else:
            interval = make_interval(interval_key, self.low_box.value(), self.high_box.value())
        return current.replace(stretch=stretch, interval=interval, blur=self.blur_box.value())

    def _on_stretch_kind(self) -> None:
        if self._updating:
            return
        kind = self.stretch_box.currentData()
        _, default = STRETCHES.get(kind, (None, None))
        self._updating = True
        self.a_box.setEnabled(default is not None)
        if default is not None:
            self.a_box.setValue(default)
        self._updating = False
        self._on_control()

    def _on_manual(self) -> None:
        if self._updating:
            return
        self._updating = True
        self._set_combo(self.interval_box, "manual")
        self._updating = False
        self._on_control()

    def _on_blur_slider(self, value: int) -> None:
        if self._updating:
            return
        self._updating = True
        self.blur_box.setValue(value / BLUR_STEPS)
        self._updating = False
        self._on_control()

    def _on_blur_box(self, value: float) -> None:
        if self._updating:
            return
        self._updating = True
        self.blur_slider.setValue(round(value * BLUR_STEPS))
        self._updating = False
        self._on_control()

    def _on_control(self) -> None:
        if self._updating or self.layer is None:
            return
        # coalesced: a slider dragged over many steps draws the last one
        self._pending = self.settings()
        self._apply_timer.start()

    def _apply_pending(self) -> None:
        settings, self._pending = self._pending, None
        if settings is None or self.layer is None:
            return
        try:
            set_display(self.viewer, self.layer, settings)
        except (ValueError, TypeError) as err:
            show_warning(f"{self.layer.name}: {err}")
        self._listen()
        self.refresh()

    def reset(self) -> None:
        """Back to linear, ZScale (RGB: as stored), no blur, on the target layer."""
        if self.layer is not None:
            reset(self.viewer, self.layer)
            self._listen()
            self.refresh()

"""The "Catalog overlay" dock: pick a file, check the columns, overlay, browse the rows.

The dock reads the file once (:func:`~napari_imagemarker.catalogs.catalog.read_table`), shows
which columns were detected and how their values read (a preview of the first rows in
degrees or pixels), lets the user change every choice, and overlays with
:func:`~napari_imagemarker._napari.catalogs.load.load_catalog`. Below, a table lists the rows on
the current image: clicking a row centres the view on it, and points selected on the canvas
select their rows.
"""

from __future__ import annotations

import contextlib
from pathlib import Path

import numpy as np
from astropy.table import Table
from napari.layers import Points
from napari.qt.threading import create_worker
from napari.utils.notifications import show_warning
from qtpy.QtCore import QAbstractTableModel, QItemSelection, QItemSelectionModel, QModelIndex, Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableView,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from napari_imagemarker._napari.catalogs.load import (
    CATALOG_COLORS,
    CatalogOverlay,
    catalog_overlays,
    load_catalog,
    overlay_of,
)
from napari_imagemarker.catalogs.build import make_catalog
from napari_imagemarker.catalogs.catalog import (
    Catalog,
    CatalogError,
    detect_columns,
    read_table,
)
from napari_imagemarker.catalogs.read import CATALOG_PATTERNS
from napari_imagemarker.catalogs.steps import load_steps

__all__ = ["CatalogTableModel", "CatalogTableView", "CatalogWidget"]

NONE = "—"
ORIGINS = {
    "from the file": None,
    "0 (numpy, our files)": 0,
    "1 (FITS, DS9, SExtractor)": 1,
    "Image Marker (top-left, y down)": "imgmarker",
}
SIZE_UNITS = ("from the column", "pix", "arcsec", "arcmin", "deg")
FRAMES = ("from the file", "icrs", "fk5", "fk4", "galactic", "ecliptic", "supergalactic")
COLORMAPS = ("viridis", "plasma", "turbo", "magma", "coolwarm", "gray")
PREVIEW_ROWS = 5
#: Catalog files this big or bigger (bytes) are read in a napari worker with a progress bar.
WORKER_BYTES = 2_000_000


def _percent_steps(path):
    """:func:`load_steps` as one yield per percent done (what napari's progress bar counts),
    returning ``(table, catalog)``."""
    steps = load_steps(path)
    done = 0
    while True:
        try:
            fraction = next(steps)
        except StopIteration as stop:
            return stop.value
        for _ in range(int(fraction * 100) - done):
            yield
        done = max(done, int(fraction * 100))


def _format(value) -> str:
    if isinstance(value, (float, np.floating)):
        return "" if np.isnan(value) else f"{value + 0.0:.10g}"  # + 0.0: no "-0"
    return str(value)


class CatalogTableModel(QAbstractTableModel):
    """The rows of a catalog overlay on the current image (its layer's features), read on
    demand, so a million rows cost nothing until they are scrolled to."""

    def __init__(self, overlay: CatalogOverlay | None = None, parent=None):
        super().__init__(parent)
        self.overlay: CatalogOverlay | None = None
        self.set_overlay(overlay)

    def set_overlay(self, overlay: CatalogOverlay | None) -> None:
        """Show ``overlay``'s rows (and follow its updates)."""
        self.beginResetModel()
        if self.overlay is not None:
            with contextlib.suppress(ValueError):
                self.overlay.updated.remove(self._on_update)
        self.overlay = overlay
        if overlay is not None:
            overlay.updated.append(self._on_update)
        self.endResetModel()

    def _on_update(self, overlay) -> None:
        self.beginResetModel()
        self.endResetModel()

    @property
    def _features(self):
        return self.overlay.layer.features if self.overlay is not None else None

    def rowCount(self, parent=QModelIndex()) -> int:  # noqa: B008 (Qt API)
        features = self._features
        return 0 if features is None or parent.isValid() else len(features)

    def columnCount(self, parent=QModelIndex()) -> int:  # noqa: B008
        features = self._features
        return 0 if features is None or parent.isValid() else len(features.columns)

    def data(self, index, role=Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole or not index.isValid():
            return None
        return _format(self._features.iat[index.row(), index.column()])

    def headerData(self, section, orientation, role=Qt.ItemDataRole.DisplayRole):
        if role != Qt.ItemDataRole.DisplayRole or self.overlay is None:
            return None
        if orientation == Qt.Orientation.Horizontal:
            return str(self._features.columns[section])
        rows = self.overlay.layer.metadata.get("catalog_rows")
        # the row of the catalog file (0-based, as in the astropy Table)
        return str(rows[section]) if rows is not None and section < len(rows) else None


class CatalogTableView(QTableView):
    """Rows of a catalog overlay, in step with the points of its layer.

    Clicking a row centres the view on its point (and selects it); selecting points on the
    canvas selects their rows.
    """

    def __init__(self, viewer, parent=None):
        super().__init__(parent)
        self.viewer = viewer
        self.model_ = CatalogTableModel(parent=self)
        self.setModel(self.model_)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.verticalHeader().setDefaultSectionSize(20)
        self._syncing = False
        self._layer: Points | None = None
        self.clicked.connect(self._on_clicked)
        self.selectionModel().selectionChanged.connect(self._on_rows_selected)

    @property
    def overlay(self) -> CatalogOverlay | None:
        return self.model_.overlay

    def set_overlay(self, overlay: CatalogOverlay | None) -> None:
        """Show the rows of ``overlay`` (None: nothing)."""
        if self._layer is not None:
            with contextlib.suppress(TypeError, ValueError):
                self._layer.selected_data.events.items_changed.disconnect(self._on_points_selected)
        self.model_.set_overlay(overlay)
        self._layer = overlay.layer if overlay is not None else None
        if self._layer is not None:
            self._layer.selected_data.events.items_changed.connect(self._on_points_selected)
            self.resizeColumnsToContents()

    def _on_clicked(self, index) -> None:
        layer = self._layer
        if layer is None or not 0 <= index.row() < len(layer.data):
            return
        world = layer.data_to_world(layer.data[index.row()])
        cam = self.viewer.scene.camera
        center = list(cam.center)
        center[-2:] = world[-2:]
        cam.center = tuple(center)

    def _on_rows_selected(self, *args) -> None:
        if self._syncing or self._layer is None:
            return
        rows = {i.row() for i in self.selectionModel().selectedRows()}
        self._syncing = True
        try:
            self._layer.selected_data = rows
        finally:
            self._syncing = False

    def _on_points_selected(self, *args) -> None:
        if self._syncing or self._layer is None:
            return
        rows = np.sort(np.fromiter(self._layer.selected_data, dtype=int))
        selection = QItemSelection()
        last = self.model_.columnCount() - 1
        if len(rows):  # one range per run of consecutive rows
            breaks = np.flatnonzero(np.diff(rows) != 1)
            starts = np.r_[rows[0], rows[breaks + 1]]
            ends = np.r_[rows[breaks], rows[-1]]
            for start, end in zip(starts, ends, strict=True):
                selection.select(
                    self.model_.index(int(start), 0), self.model_.index(int(end), last)
                )
        self._syncing = True
        try:
            self.selectionModel().select(
                selection, QItemSelectionModel.SelectionFlag.ClearAndSelect
            )
            if len(rows):
                self.scrollTo(self.model_.index(int(rows[0]), 0))
        finally:
            self._syncing = False


class CatalogWidget(QWidget):
    """Dock widget: overlay a catalog file on the images of the viewer.

    Parameters
    ----------
    napari_viewer : napari.Viewer
    """

    def __init__(self, napari_viewer):
        super().__init__()
        self.viewer = napari_viewer
        self.table: Table | None = None
        self.catalog: Catalog | None = None
        self.path: Path | None = None
        self.layer: Points | None = None
        #: files at least this big are read in a worker thread, with a progress bar
        self.worker_bytes = WORKER_BYTES
        self.worker = None
        running = self._running = []  # for the dock's end, which may come before the worker's
        self.destroyed.connect(lambda *_: [w.quit() for w in running])

        layout = QVBoxLayout(self)
        file_row = QHBoxLayout()
        self.path_edit = QLineEdit()
        self.path_edit.setPlaceholderText("catalog file: CSV, ECSV, FITS, VOTable, IPAC, .reg")
        self.path_edit.editingFinished.connect(self._on_path_edited)
        self.browse_button = QPushButton("Browse…")
        self.browse_button.clicked.connect(self._browse)
        file_row.addWidget(self.path_edit)
        file_row.addWidget(self.browse_button)
        layout.addLayout(file_row)

        columns = QGroupBox("Columns")
        form = QFormLayout(columns)
        self.ra_box, self.dec_box = QComboBox(), QComboBox()
        self.x_box, self.y_box = QComboBox(), QComboBox()
        self.origin_box = QComboBox()
        self.origin_box.addItems(list(ORIGINS))
        self.frame_box = QComboBox()
        self.frame_box.addItems(FRAMES)
        self.frame_box.setToolTip(
            "Frame of the RA/Dec columns: 'from the file' uses what the table states "
            "(SkyCoord, VOTable COOSYS, RADESYS/EQUINOX, UCDs, names); fk5 is J2000, fk4 "
            "B1950. Positions are converted with astropy to each image's frame."
        )
        self.size_box, self.unit_box = QComboBox(), QComboBox()
        self.unit_box.addItems(SIZE_UNITS)
        self.color_box = QComboBox()
        self.color_box.setEditable(True)
        self.color_box.addItems(["automatic", *CATALOG_COLORS, "red", "lime", "white"])
        self.color_by_box = QComboBox()
        self.colormap_box = QComboBox()
        self.colormap_box.addItems(COLORMAPS)
        self.colormap_box.setToolTip("Colormap for a numeric 'colour by' column")
        for label, widgets in (
            ("RA, Dec", (self.ra_box, self.dec_box)),
            ("Frame", (self.frame_box,)),
            ("x, y", (self.x_box, self.y_box)),
            ("Pixel origin", (self.origin_box,)),
            ("Size", (self.size_box, self.unit_box)),
            ("Colour", (self.color_box,)),
            ("Colour by", (self.color_by_box, self.colormap_box)),
        ):
            row = QHBoxLayout()
            for widget in widgets:
                row.addWidget(widget)
            form.addRow(label, row)
        for box in (self.ra_box, self.dec_box, self.x_box, self.y_box, self.origin_box,
                    self.frame_box, self.size_box, self.unit_box):  # fmt: skip
            box.currentIndexChanged.connect(self._update_preview)
        layout.addWidget(columns)

        self.status = QLabel("Choose a catalog file.")
        self.status.setWordWrap(True)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        layout.addWidget(self.status)
        self.preview = QTableWidget(0, 0)
        self.preview.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.preview.setMaximumHeight(150)
        layout.addWidget(self.preview)

        self.cancel_button = QPushButton("Cancel reading")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel)
        layout.addWidget(self.cancel_button)

        self.overlay_button = QPushButton("Overlay on the image")
        self.overlay_button.setEnabled(False)
        self.overlay_button.clicked.connect(self.overlay)
        layout.addWidget(self.overlay_button)

        self.table_label = QLabel("Rows on this image")
        layout.addWidget(self.table_label)
        self.table_view = CatalogTableView(napari_viewer, self)
        layout.addWidget(self.table_view, stretch=1)

        self.viewer.layers.selection.events.active.connect(self._on_active_layer)
        self.viewer.layers.events.removed.connect(self._on_layer_removed)
        self._on_active_layer()

    # -- reading --------------------------------------------------------------------------

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Catalog file", str(self.path.parent if self.path else ""),
            f"Catalogs ({CATALOG_PATTERNS});;All files (*)",
        )  # fmt: skip
        if path:
            self.path_edit.setText(path)
            self.read(path)

    def _on_path_edited(self) -> None:
        text = self.path_edit.text().strip()
        if text and (self.path is None or Path(text) != self.path):
            self.read(text)

    def read(self, path) -> bool:
        """Read ``path``, detect its columns and fill the pickers and the preview.

        Returns whether the file could be read; if not, the status line says why. A file of
        :attr:`worker_bytes` or more is read in a napari worker thread with a progress bar
        (napari's activity panel) and a *Cancel reading* button, the window repainting
        meanwhile: this returns True at once and the pickers fill when it is done.
        """
        self.cancel()
        self.path = Path(path)
        self.path_edit.setText(str(path))
        self.table = None
        self.catalog = None
        self.overlay_button.setEnabled(False)
        if self.path.is_file() and self.path.stat().st_size >= self.worker_bytes:
            self._read_in_worker(self.path)
            return True
        try:
            table = read_table(path)
        except CatalogError as err:
            self._fail(str(err))
            return False
        except Exception as err:  # never a traceback in the user's face
            self._fail(f"{path}: cannot be read ({type(err).__name__}: {err})")
            return False
        self._show_table(table)
        return True

    def _read_in_worker(self, path: Path) -> None:
        """Read and parse in a napari worker, with a progress bar and the Cancel button;
        the window keeps repainting meanwhile."""
        self.status.setStyleSheet("")
        self.status.setText(f"Reading {path.name}…")
        self.cancel_button.setVisible(True)
        self.worker = create_worker(
            _percent_steps,
            path,
            _progress={"total": 100, "desc": f"Reading {path.name}"},
            _ignore_errors=True,  # errors go to the status line, not a traceback dialog
            _start_thread=False,
        )
        worker = self.worker  # an older, cancelled worker's signals are not for us
        self._running.append(worker)
        worker.finished.connect(lambda: worker in self._running and self._running.remove(worker))

        def mine(handler):
            def handle(*args):
                try:
                    if worker is self.worker:
                        handler(*args)
                except RuntimeError as err:  # the dock was closed while the worker ran
                    if "deleted" not in str(err):
                        raise

            return handle

        worker.returned.connect(mine(self._on_worker_returned))
        worker.errored.connect(mine(self._on_worker_errored))
        worker.aborted.connect(mine(self._on_worker_aborted))
        worker.finished.connect(mine(self._on_worker_finished))
        worker.start()

    def cancel(self) -> None:
        """Stop a load under way (nothing is read; the dock says so)."""
        if self.worker is not None:
            self.worker.quit()

    def _on_worker_returned(self, result) -> None:
        table, catalog = result
        self._show_table(table, catalog)

    def _on_worker_errored(self, err) -> None:
        if isinstance(err, CatalogError):
            self._fail(str(err))
        else:
            self._fail(f"{self.path}: cannot be read ({type(err).__name__}: {err})")

    def _on_worker_aborted(self) -> None:
        self.status.setStyleSheet("")
        self.status.setText(f"Reading {self.path.name} was cancelled; nothing was loaded.")

    def _on_worker_finished(self) -> None:
        self.worker = None
        self.cancel_button.setVisible(False)

    def _show_table(self, table: Table, catalog: Catalog | None = None) -> None:
        """Fill the pickers for ``table`` (and the preview: from ``catalog`` when it was
        made with the detected columns already, else parsed now)."""
        self.table = table
        guess = detect_columns(table)
        names = [n for n in table.colnames if table[n].ndim == 1]
        self._updating = True
        for box, chosen in (
            (self.ra_box, guess.ra),
            (self.dec_box, guess.dec),
            (self.x_box, guess.x),
            (self.y_box, guess.y),
            (self.size_box, guess.size),
            (self.color_by_box, None),
        ):
            box.blockSignals(True)
            box.clear()
            box.addItems([NONE, *names])
            box.setCurrentText(chosen or NONE)
            box.blockSignals(False)
        for box in (self.origin_box, self.frame_box, self.unit_box):
            box.blockSignals(True)
            box.setCurrentIndex(0)
            box.blockSignals(False)
        if table.meta.get("catalog_format") == "ds9" and "color" in names:
            self.color_by_box.setCurrentText("color")
        self._updating = False
        if catalog is not None:
            self.catalog = catalog
            self.status.setStyleSheet("")
            self.status.setText(catalog.summary())
            self.overlay_button.setEnabled(True)
            self._fill_preview(self._choices())
        else:
            self._update_preview()
        if guess.ambiguous and guess.ra is None and guess.x is None:
            self._fail(
                f"{self.path.name}: several columns could be the coordinates "
                f"({'; '.join(guess.ambiguous)}). Pick RA and Dec (or x and y) above.",
                notify=False,
            )

    def _fail(self, message: str, notify: bool = True) -> None:
        self.status.setText(message)
        self.status.setStyleSheet("color: #ff6060;")
        if notify:
            show_warning(message)

    def _choices(self) -> dict:
        def pick(box):
            text = box.currentText()
            return None if text in ("", NONE) else text

        unit = self.unit_box.currentText()
        color = self.color_box.currentText().strip()
        return {
            "ra": pick(self.ra_box),
            "dec": pick(self.dec_box),
            "x": pick(self.x_box),
            "y": pick(self.y_box),
            "pixel_origin": ORIGINS[self.origin_box.currentText()],
            "frame": None if self.frame_box.currentIndex() == 0 else self.frame_box.currentText(),
            "size": pick(self.size_box),
            "size_unit": None if unit == SIZE_UNITS[0] else unit,
            "color": None if color in ("", "automatic") else color,
            "color_by": pick(self.color_by_box),
        }

    def _update_preview(self, *args) -> None:
        """Parse the chosen columns; show how they read and the first rows."""
        if self.table is None or getattr(self, "_updating", False):
            return
        choice = self._choices()
        keys = ("ra", "dec", "x", "y", "pixel_origin", "frame", "size", "size_unit")
        try:
            catalog = make_catalog(self.table, name=self.path.stem, **{k: choice[k] for k in keys})
        except CatalogError as err:
            self.catalog = None
            self.overlay_button.setEnabled(False)
            self._fail(str(err).replace(f"{self.path.stem}: ", f"{self.path.name}: "), False)
            self._fill_preview(choice)
            return
        self.catalog = catalog
        self.status.setStyleSheet("")
        self.status.setText(catalog.summary())
        self.overlay_button.setEnabled(True)
        self._fill_preview(choice)

    def _fill_preview(self, choice: dict) -> None:
        table = self.table[:PREVIEW_ROWS]
        columns: list[tuple[str, list[str]]] = []
        catalog = self.catalog
        for key, label in (("ra", "RA"), ("dec", "Dec")):
            name = choice[key]
            if name is not None:
                columns.append((f"{name}", [_format(v) for v in table[name]]))
            if catalog is not None and catalog.has_sky and (name is not None or key == "ra"):
                degrees = getattr(catalog, key)[:PREVIEW_ROWS]  # what will be placed: ICRS
                icrs = " ICRS" if catalog.frame is not None else ""
                columns.append((f"{label}{icrs} (deg)", [f"{v:.6f}" for v in degrees]))
        for key in ("x", "y", "size"):
            name = choice[key]
            if name is not None:
                columns.append((name, [_format(v) for v in table[name]]))
        self.preview.clear()
        self.preview.setRowCount(len(table))
        self.preview.setColumnCount(len(columns))
        self.preview.setHorizontalHeaderLabels([c for c, _ in columns])
        for j, (_, values) in enumerate(columns):
            for i, value in enumerate(values):
                self.preview.setItem(i, j, QTableWidgetItem(value))
        self.preview.resizeColumnsToContents()

    # -- overlaying -----------------------------------------------------------------------

    def overlay(self) -> Points | None:
        """Overlay the catalog with the chosen columns; returns the Points layer, or None
        (the status line says why)."""
        if self.catalog is None:
            self._fail("Choose a catalog file and its columns first.")
            return None
        choice = self._choices()
        try:  # the catalog parsed for the preview, with the colours chosen
            layer = load_catalog(
                self.viewer,
                self.catalog,
                color=choice["color"],
                color_by=choice["color_by"],
                colormap=self.colormap_box.currentText(),
            )
        except CatalogError as err:
            self._fail(str(err))
            return None
        except Exception as err:
            self._fail(f"{self.path.name}: cannot be overlaid ({type(err).__name__}: {err})")
            return None
        self.layer = layer
        self.viewer.layers.selection.active = layer
        self._show_overlay(overlay_of(layer))
        return layer

    def _show_overlay(self, overlay: CatalogOverlay | None) -> None:
        if overlay is self.table_view.overlay:
            return
        if self.table_view.overlay is not None:
            with contextlib.suppress(ValueError):
                self.table_view.overlay.updated.remove(self._on_overlay_updated)
        self.table_view.set_overlay(overlay)
        if overlay is not None:
            overlay.updated.append(self._on_overlay_updated)
        self._on_overlay_updated(overlay)

    def _on_overlay_updated(self, overlay) -> None:
        self.table_label.setText(overlay.summary() if overlay is not None else "")

    def _on_active_layer(self, event=None) -> None:
        overlay = overlay_of(self.viewer.layers.selection.active)
        if overlay is None and self.table_view.overlay is None:
            overlays = catalog_overlays(self.viewer)
            overlay = overlays[-1] if overlays else None
        if overlay is not None:
            self._show_overlay(overlay)

    def _on_layer_removed(self, event) -> None:
        overlay = self.table_view.overlay
        if overlay is not None and event.value is overlay.layer:
            overlays = catalog_overlays(self.viewer)
            self._show_overlay(overlays[-1] if overlays else None)

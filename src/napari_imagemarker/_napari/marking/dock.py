"""The "Image Marker" dock: open a session, see where you are, set groups, categories,
comments and favourites, and list this image's marks.

The dock holds no state of its own: it shows what the session and the
:class:`~napari_imagemarker._napari.marking.binding.MarkingBinding` hold and calls them.
Its buttons
take no keyboard focus, so the keys keep working on the canvas; text boxes hand the focus
back to the canvas when Enter is pressed.
"""

from __future__ import annotations

import contextlib
import getpass
import sys
import warnings
from pathlib import Path

from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import QEvent, Qt
from qtpy.QtGui import QColor
from qtpy.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QColorDialog,
    QComboBox,
    QFileDialog,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSizePolicy,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from napari_imagemarker._napari.after_paint import after_paint
from napari_imagemarker._napari.marking.binding import (
    FAILED,
    MarkingBinding,
    binding_for,
    canvas_widget,
)
from napari_imagemarker._napari.marking.cursor import CursorReadout
from napari_imagemarker._napari.marking.elided import ElidedLabel
from napari_imagemarker._napari.marking.frames import FrameRow
from napari_imagemarker._napari.marking.help import KeyHelp
from napari_imagemarker._napari.marking.imports import ImportedFiles
from napari_imagemarker._napari.marking.keys import alt_toggle
from napari_imagemarker._napari.marking.marks_layer import SYMBOLS
from napari_imagemarker._napari.marking.sections import Section
from napari_imagemarker._napari.viewers import unwrap
from napari_imagemarker.imgmarker.config import MAX_CATEGORIES
from napari_imagemarker.imgmarker.savedir import savedir_files
from napari_imagemarker.marking.session import (
    MarkingSession,
    NoImageListError,
    OthersFilesWarning,
)
from napari_imagemarker.marks.schema import N_GROUPS

__all__ = ["EXPORT_FILTERS", "MarkingDock"]

#: File-dialog filters of "Export marks…" -> format (see napari_imagemarker.write_marks).
EXPORT_FILTERS = {
    "ECSV, every column (*.ecsv)": "ecsv",
    "CSV (*.csv)": "csv",
    "VOTable (*.xml *.vot)": "votable",
    "DS9 regions, the frame shown (*.reg)": "ds9",
}
EXPORT_SUFFIXES = {"ecsv": ".ecsv", "csv": ".csv", "votable": ".xml", "ds9": ".reg"}
EXPORT_ENDINGS = {
    "ecsv": (".ecsv",),
    "csv": (".csv",),
    "votable": (".xml", ".vot", ".votable"),
    "ds9": (".reg",),
}


def _no_focus(widget):
    widget.setFocusPolicy(Qt.FocusPolicy.NoFocus)
    return widget


class _LineEdit(QLineEdit):
    """A line edit that stores on Enter, reverts on Esc, and then gives the focus back to the
    canvas."""

    def __init__(
        self, dock: MarkingDock, store, placeholder: str = "", tab_moves_on: bool = False
    ) -> None:
        super().__init__()
        self._dock, self._store = dock, store
        self._tab_moves_on = tab_moves_on
        self.setPlaceholderText(placeholder)
        self.returnPressed.connect(self._enter)
        self.editingFinished.connect(self._finish)
        self.shown_text = ""

    def show_text(self, text: str) -> None:
        self.shown_text = text
        if not self.hasFocus() or not self.isModified():
            self.setText(text)
            self.setModified(False)

    def _enter(self) -> None:
        self._finish()
        self._dock.focus_canvas()

    def _finish(self) -> None:
        if self.text() != self.shown_text:
            self.shown_text = self.text()
            self._store(self.text())
        self.setModified(False)

    def event(self, event) -> bool:
        if event.type() == QEvent.Type.ShortcutOverride and alt_toggle(event):
            event.accept()  # Alt+L here too: ours, not the mnemonic of napari's Layers menu
            return True
        # Tab and Shift+Tab never reach keyPressEvent: Qt moves the focus with them first
        if (
            self._tab_moves_on
            and event.type() == QEvent.Type.KeyPress
            and event.key() in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab)
        ):
            back = event.key() == Qt.Key.Key_Backtab or bool(
                event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            )
            self._finish()  # the comment belongs to the image it was typed on
            self._dock._navigate("previous_image" if back else "next_image")
            self._dock.focus_canvas()
            return True
        return super().event(event)

    def keyPressEvent(self, event) -> None:
        action = alt_toggle(event)
        if action is not None:  # as on the canvas; never an "m" typed into the text
            self._dock._call(action)
            return
        if event.key() == Qt.Key.Key_Escape:
            self.setText(self.shown_text)
            self.setModified(False)
            self._dock.focus_canvas()
            return
        super().keyPressEvent(event)


class MarkingDock(QWidget):
    """Dock widget for marking sessions (npe2 widget "Image Marker").

    Parameters
    ----------
    napari_viewer : napari.Viewer
    """

    def __init__(self, napari_viewer) -> None:
        super().__init__()
        self.viewer = unwrap(napari_viewer)
        self.binding: MarkingBinding | None = None
        self._updating = False
        self._pending: set[str] = set()
        self._visit: tuple[str, bool] | None = None  # (image, seen before this visit)
        self.help_window: KeyHelp | None = None
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        scroll = self._scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        outer.addWidget(scroll)
        body = QWidget()
        scroll.setWidget(body)
        self._layout = QVBoxLayout(body)
        self._build_open()
        self._build_status()
        self._build_groups()
        self._build_image()
        self._build_imports()
        self._build_marks()
        self._layout.addStretch(1)
        self._set_enabled(False)
        self.session_toggle.hide()
        self._fit_width()
        # the session is closed (and saved) when the window goes
        self.destroyed.connect(_closer(self))

    # -- building -----------------------------------------------------------------------------

    def _build_open(self) -> None:
        # folded away while a session is open, to leave the room to marking
        self.session_toggle = _no_focus(QToolButton())
        self.session_toggle.setCheckable(True)
        self.session_toggle.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        self.session_toggle.setStyleSheet("text-align: left;")
        self.session_toggle.toggled.connect(lambda shown: self.session_box.setVisible(shown))
        self._layout.addWidget(self.session_toggle)
        box = self.session_box = QGroupBox("Session")
        form = QFormLayout(box)
        self.images_edit = QLineEdit()
        self.images_edit.setPlaceholderText("folder, glob or list file (empty: resume)")
        self.save_edit = QLineEdit()
        self.save_edit.setPlaceholderText("save folder (or an Image Marker save folder)")
        self.save_edit.textChanged.connect(self._list_users)
        # the users whose files are in the save folder, offered; any other name may be typed
        self.user_box = QComboBox()
        self.user_box.setEditable(True)
        self.user_box.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
        self.user_edit = self.user_box.lineEdit()
        self.user_edit.setText(_login())
        self.users_label = QLabel("")
        self.users_label.setWordWrap(True)
        form.addRow("Images", _with_button(self.images_edit, self._browse_images))
        form.addRow("Save to", _with_button(self.save_edit, self._browse_save))
        form.addRow("User", self.user_box)
        form.addRow(self.users_label)
        self.shuffle_check = QCheckBox("shuffle, seed")
        self.seed_spin = QSpinBox()
        self.seed_spin.setRange(0, 2**31 - 1)
        row = QHBoxLayout()
        row.addWidget(self.shuffle_check)
        row.addWidget(self.seed_spin)
        row.addStretch(1)
        form.addRow("Order", row)
        # -1: the session's saved setting (none for a new session); 0: off
        self.repeat_spin = QSpinBox()
        self.repeat_spin.setRange(-1, 100)
        self.repeat_spin.setSpecialValueText("as saved")
        self.repeat_spin.setSuffix(" % of the images")
        self.repeat_spin.setValue(-1)
        self.repeat_spin.setToolTip(
            "Show this share of the images a second time, later in the scan and looking "
            "new, to measure how consistent you are (Image Marker's duplicates; see "
            "docs/agreement.md). The repeats' marks are kept apart.\n"
            "'as saved' keeps the session's setting; 0 % turns repeats off for the images "
            "to come (the repeats done are kept)."
        )
        form.addRow("Repeat %", self.repeat_spin)
        buttons = QHBoxLayout()
        self.open_button = QPushButton("Open")
        self.open_button.clicked.connect(self._open_clicked)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.close_session)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.close_button)
        form.addRow(buttons)
        # what went wrong, whole (napari's notifications show one elided line)
        self.error_label = QLabel("")
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet("color: #ff6b6b;")
        self.error_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.error_label.hide()
        form.addRow(self.error_label)
        self._layout.addWidget(box)

    def _build_status(self) -> None:
        self.progress_label = QLabel("No session open")
        self.progress_label.setStyleSheet("font-weight: bold;")
        # a long file name is shortened in the middle, never widening the dock off screen
        self.name_label = ElidedLabel("")
        self.name_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.frames = FrameRow(self._choose_frame)
        self.frame_label = self.frames.label
        # what is under the cursor, always in sight (and in napari's status bar)
        self.cursor_readout = CursorReadout()
        row = QHBoxLayout()
        self.previous_button = _no_focus(QPushButton("◀ Previous"))
        self.previous_button.clicked.connect(lambda: self._navigate("previous_image"))
        self.next_button = _no_focus(QPushButton("Next ▶"))
        self.next_button.clicked.connect(lambda: self._navigate("next_image"))
        self.undo_button = _no_focus(QPushButton("Undo"))
        self.undo_button.clicked.connect(lambda: self._call("undo"))
        self.redo_button = _no_focus(QPushButton("Redo"))
        self.redo_button.clicked.connect(lambda: self._call("redo"))
        self.help_button = _no_focus(QToolButton())
        self.help_button.setText("Keys (F1)")
        self.help_button.setToolTip(
            "Every key, with this session's group and category names (F1 or ? on the image)"
        )
        self.help_button.clicked.connect(self.show_help)
        for button in (self.previous_button, self.next_button, self.undo_button, self.redo_button):
            row.addWidget(button)
        top = QHBoxLayout()
        top.addWidget(self.progress_label, 1)
        top.addWidget(self.help_button)
        self._layout.addLayout(top)
        for widget in (self.name_label, self.frames, self.cursor_readout):
            self._layout.addWidget(widget)
        self._layout.addLayout(row)

    def _build_groups(self) -> None:
        box = QGroupBox("Groups (keys 1-9; a click: active group)")
        layout = QVBoxLayout(box)
        self.active_label = QLabel("")
        self.active_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.active_label.setMinimumHeight(30)
        layout.addWidget(self.active_label)
        # the nine buttons always in sight; names, colours, symbols and maxima fold away
        choice = QHBoxLayout()
        choice.setSpacing(2)
        layout.addLayout(choice)
        settings = QWidget()
        grid = QGridLayout(settings)
        grid.setContentsMargins(0, 0, 0, 0)
        for col, title in enumerate(("", "name", "", "symbol", "max")):
            grid.addWidget(QLabel(title), 1, col)
        self.group_buttons: list[QPushButton] = []
        self.group_names: list[_LineEdit] = []
        self.group_symbols: list[QComboBox] = []
        self.group_max: list[QSpinBox] = []
        self.group_colors: list[QToolButton] = []
        self._group_choice = QButtonGroup(self)
        for g in range(1, N_GROUPS + 1):
            button = _no_focus(QPushButton(str(g)))
            button.setCheckable(True)
            button.setMinimumWidth(24)  # nine in a row, as wide as the dock allows
            button.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Fixed)
            button.setToolTip(f"Make group {g} the active group (key {g} places it at the cursor)")
            self._group_choice.addButton(button, g)
            name = _LineEdit(self, lambda text, g=g: self._rename_group(g, text))
            color = _no_focus(QToolButton())
            color.setText("■")
            color.setFixedWidth(22)
            color.setToolTip(f"Choose the colour of group {g}")
            color.clicked.connect(lambda _=False, g=g: self._choose_color(g))
            symbol = QComboBox()
            symbol.addItems(SYMBOLS)
            symbol.setMaximumWidth(96)
            symbol.currentTextChanged.connect(lambda s, g=g: self._set_symbol(g, s))
            maximum = QSpinBox()
            maximum.setRange(0, 999)
            maximum.setSpecialValueText("∞")
            maximum.setMaximumWidth(76)
            maximum.setToolTip(
                "Most marks of this group per image (∞: no limit); 1 means a new mark replaces"
            )
            maximum.valueChanged.connect(lambda v, g=g: self._set_max(g, v))
            choice.addWidget(button)
            for col, widget in enumerate((QLabel(str(g)), name, color, symbol, maximum)):
                grid.addWidget(widget, g + 1, col)
            self.group_buttons.append(button)
            self.group_colors.append(color)
            self.group_names.append(name)
            self.group_symbols.append(symbol)
            self.group_max.append(maximum)
        self._group_choice.idClicked.connect(self._choose_group)
        self.group_section = Section("Names, colours, symbols, maxima", settings, False)
        layout.addWidget(self.group_section)
        self._layout.addWidget(box)

    def _build_image(self) -> None:
        box = QGroupBox("This image")
        grid = QGridLayout(box)
        # one row per category of the session (1-9): rebuilt when their number changes
        self._category_grid = QGridLayout()
        self.category_checks: list[QCheckBox] = []
        self.category_names: list[_LineEdit] = []
        self._category_keys: list[QLabel] = []
        self._set_category_rows(5)
        grid.addLayout(self._category_grid, 0, 0, 1, 3)
        more = QHBoxLayout()
        self.add_category_button = _no_focus(QPushButton("+ category"))
        self.add_category_button.setToolTip(
            f"Add a category (up to {MAX_CATEGORIES}; Image Marker shows the first 5)"
        )
        self.add_category_button.clicked.connect(lambda: self._change_categories(+1))
        self.remove_category_button = _no_focus(QPushButton("− last category"))
        self.remove_category_button.setToolTip(
            "Remove the last category (refused while an image has it ticked)"
        )
        self.remove_category_button.clicked.connect(lambda: self._change_categories(-1))
        more.addWidget(self.add_category_button)
        more.addWidget(self.remove_category_button)
        more.addStretch(1)
        grid.addLayout(more, 1, 0, 1, 3)
        self.comment_edit = _LineEdit(
            self,
            self._store_comment,
            "comment (Enter: store; Tab: store and next image)",
            tab_moves_on=True,
        )
        grid.addWidget(self.comment_edit, 2, 0, 1, 3)
        row = QHBoxLayout()
        self.favorite_button = _no_focus(QPushButton("☆ Favourite (F)"))
        self.favorite_button.setCheckable(True)
        self.favorite_button.clicked.connect(lambda: self._call("toggle_favorite"))
        self.nothing_button = _no_focus(QPushButton("Nothing here (N)"))
        self.nothing_button.setToolTip("Record 'seen, nothing here' and go to the next image")
        self.nothing_button.clicked.connect(lambda: self._navigate("nothing_here"))
        self.delete_all_button = _no_focus(QPushButton("Delete all"))
        self.delete_all_button.setToolTip(
            "Delete all marks of this image (all its frames); Ctrl+Z restores them"
        )
        self.delete_all_button.clicked.connect(self._delete_all)
        row.addWidget(self.favorite_button)
        row.addWidget(self.nothing_button)
        row.addWidget(self.delete_all_button)
        grid.addLayout(row, 3, 0, 1, 3)
        self._layout.addWidget(box)

    def _set_category_rows(self, n: int) -> None:
        """Show ``n`` category rows (check box, name, key)."""
        grid = self._category_grid
        while len(self.category_checks) > n:
            for widget in (
                self.category_checks.pop(),
                self.category_names.pop(),
                self._category_keys.pop(),
            ):
                grid.removeWidget(widget)
                widget.deleteLater()
        for c in range(len(self.category_checks) + 1, n + 1):
            check = _no_focus(QCheckBox())
            check.setToolTip(f"Category {c} on/off (Ctrl+{c})")
            check.clicked.connect(lambda _=False, c=c: self._toggle_category(c))
            name = _LineEdit(self, lambda text, c=c: self._rename_category(c, text))
            key = QLabel(f"Ctrl+{c}")
            grid.addWidget(check, c - 1, 0)
            grid.addWidget(name, c - 1, 1)
            grid.addWidget(key, c - 1, 2)
            check.setEnabled(self.binding is not None)
            name.setEnabled(self.binding is not None)
            self.category_checks.append(check)
            self.category_names.append(name)
            self._category_keys.append(key)

    def _build_imports(self) -> None:
        self.imports_box = QGroupBox("Imported mark files (imports/)")
        self.imports_box.setToolTip(
            "The mark files Image Marker imported into this save folder, drawn on every image "
            "they fall on. Alt+1 ... Alt+9 show or hide them, in Image Marker's order."
        )
        self._imports_grid = QGridLayout(self.imports_box)
        self.import_checks: list[QCheckBox] = []
        self.import_colors: list[QToolButton] = []
        self._layout.addWidget(self.imports_box)
        self.imports_box.hide()

    def _show_imports(self) -> None:
        """One row per imported file: shown (Alt+n), colour, name."""
        grid = self._imports_grid
        while grid.count():
            widget = grid.takeAt(0).widget()
            if widget is not None:
                widget.deleteLater()
        self.import_checks, self.import_colors = [], []
        imports = self.binding.imports if self.binding is not None else None
        if imports is None or not len(imports):
            self.imports_box.hide()
            return
        for n, path in enumerate(imports.paths, start=1):
            key = f"Alt+{n}" if n <= 9 else ""
            check = _no_focus(QCheckBox(f"{key}  {path.name}".strip()))
            check.setToolTip(f"Show or hide {path} ({key or 'no key'})")
            check.clicked.connect(lambda on, n=n: self._set_import_visible(n, on))
            color = _no_focus(QToolButton())
            color.setText("■")
            color.setFixedWidth(22)
            color.setToolTip(f"Choose the colour of {path.name}")
            color.clicked.connect(lambda _=False, n=n: self._choose_import_color(n))
            if n in imports.errors:
                check.setEnabled(False)
                color.setEnabled(False)
                check.setToolTip(f"{path.name} cannot be shown: {imports.errors[n]}")
            grid.addWidget(color, n - 1, 0)
            grid.addWidget(check, n - 1, 1)
            self.import_checks.append(check)
            self.import_colors.append(color)
        self._update_imports()
        self.imports_box.show()

    def _update_imports(self) -> None:
        imports = self.binding.imports if self.binding is not None else None
        if imports is None:
            return
        for n, (check, color) in enumerate(zip(self.import_checks, self.import_colors), 1):
            check.setChecked(imports.visible(n))
            color.setStyleSheet(f"color: {imports.colors[n - 1]};")

    def _build_marks(self) -> None:
        box = QWidget()
        layout = QVBoxLayout(box)
        layout.setContentsMargins(0, 0, 0, 0)
        self.marks_table = QTableWidget(0, 4)
        self.marks_table.setHorizontalHeaderLabels(["group", "label", "x", "y"])
        self.marks_table.verticalHeader().setVisible(False)
        self.marks_table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        header = self.marks_table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        self.marks_table.setMinimumHeight(120)
        self.marks_table.itemChanged.connect(self._label_edited)
        self.marks_table.itemSelectionChanged.connect(self._row_selected)
        remove = _no_focus(QPushButton("Remove selected (Delete)"))
        remove.clicked.connect(self._remove_listed)
        self.export_button = _no_focus(QPushButton("Export marks…"))
        self.export_button.setToolTip(
            "Write every mark of this session to a file: ECSV, CSV, VOTable, or DS9 regions "
            "(DS9: the marks of the frame shown)"
        )
        self.export_button.clicked.connect(self._export)
        layout.addWidget(self.marks_table)
        row = QHBoxLayout()
        row.addWidget(remove)
        row.addWidget(self.export_button)
        layout.addLayout(row)
        self.marks_section = Section("Marks on this image", box)
        self._layout.addWidget(self.marks_section)

    def show_help(self) -> KeyHelp:
        """Show the window of keys, with the session's names (F1 on the image)."""
        if self.help_window is None:
            self.help_window = KeyHelp(self)
            self.help_window.finished.connect(lambda _: self.focus_canvas())
        binding = self.binding
        self.help_window.show_keys(
            binding.session if binding is not None else None,
            binding.imports if binding is not None else None,
        )
        self.help_window.show()
        self.help_window.raise_()
        return self.help_window

    # -- opening and closing ------------------------------------------------------------------

    def open_session(self, images, save_dir, **kwargs) -> MarkingSession:
        """Close the open session (if any), open a new one and show it.

        Raises what :class:`MarkingSession` raises, after a notification saying what to do.
        """
        self.close_session()
        try:
            session = MarkingSession(images, save_dir, **kwargs)
        except Exception as exc:
            self._error(_advice(exc, images, save_dir))
            raise
        try:
            self.binding = MarkingBinding(self.viewer, session, canvas_widget(self))
        except Exception as exc:
            session.close()
            self._error(f"Cannot show the session of {session.save_dir}: {exc}.")
            raise
        self._error("")
        self._note_visit()
        self.binding.listeners.append(self._on_change)
        self.cursor_readout.follow(self.binding)
        try:  # Image Marker's imported mark files, as overlays (Alt+1 ... Alt+9)
            self.binding.imports = ImportedFiles(self.binding)
            self.binding.imports.changed.append(lambda: self._on_change("imports"))
        except Exception as exc:  # marking goes on without them
            self.binding.report(f"The imported mark files cannot be shown: {exc}.")
        self._show_imports()
        self._updating = True
        try:
            self.images_edit.setText("" if images is None else _shown_path(images))
            self.save_edit.setText(str(session.save_dir))
            self.user_edit.setText(session.user)
            self.shuffle_check.setChecked(session.shuffle_seed is not None)
            if session.shuffle_seed is not None:
                self.seed_spin.setValue(int(session.shuffle_seed))
            # none saved: "as saved", so that opening another session keeps its own
            self.repeat_spin.setValue(round(session.repeats * 100) if session.repeats else -1)
        finally:
            self._updating = False
        for g, box in enumerate(self.group_symbols, start=1):
            self.binding.marks.symbols[g - 1] = box.currentText()
        self.binding.marks.refresh()
        self._set_enabled(True)
        self.session_toggle.setText(f"▸ session: {session.user} in {session.save_dir.name}/")
        self.session_toggle.setToolTip(
            f"{session.save_dir}\nClick to show the session form (open another, close)"
        )
        self.session_toggle.setChecked(False)
        self.session_box.hide()
        self.session_toggle.show()
        self._pending.update({"names", "group", "image"})
        self._update()
        self._fit_width()
        self.focus_canvas()
        return session

    def _fit_width(self) -> None:
        """As wide as the widest row, with room for the scroll bar: nothing is cut off at the
        right, and the canvas keeps the rest of the window."""
        scroll = self._scroll
        width = (
            scroll.widget().minimumSizeHint().width()
            + scroll.verticalScrollBar().sizeHint().width()
            + 2 * scroll.frameWidth()
        )
        scroll.setMinimumWidth(width)

    def close_session(self) -> None:
        """Close the session shown here; everything is saved."""
        binding, self.binding = self.binding, None
        if binding is not None:
            # saving a long session takes a moment: say so before the window waits
            self.progress_label.setText("Saving and closing the session…")
            self.progress_label.repaint()
            self.viewer.status = f"Saving and closing the session of {binding.session.user}…"
            with contextlib.suppress(Exception):  # no status bar (a viewer without window)
                self.viewer.window._qt_window.statusBar().repaint()
            binding.close()
            self.viewer.status = (
                f"Closed the session of {binding.session.user}; everything is saved in "
                f"{binding.session.save_dir}."
            )
        self.cursor_readout.stop()
        self._visit = None
        self._set_enabled(False)
        self.session_toggle.hide()
        self.session_box.show()
        self.progress_label.setText("No session open")
        self.name_label.setText("")
        self.frames.clear()
        self._show_imports()
        self._list_users()

    def _error(self, text: str) -> None:
        """Show ``text`` whole in the dock (and as a notification); ``""`` clears it."""
        self.error_label.setText(text)
        self.error_label.setVisible(bool(text))
        if text:
            self.session_toggle.setChecked(True)  # the form, and the error in it, in sight
            show_error(text)

    def _open_clicked(self) -> None:
        images = self.images_edit.text().strip() or None
        save_dir = self.save_edit.text().strip()
        if not save_dir:
            self._error(
                "Choose a save folder first, with the … button beside Save to: the folder "
                "where the marks are saved (a new folder, or one Image Marker saved into)."
            )
            return
        user = self.user_edit.text().strip() or _login()
        if not user:
            self._error("Type your name in the User box: it names your files in the folder.")
            return
        kwargs: dict = {"user": user}
        files = savedir_files(Path(save_dir).expanduser())
        if user not in files and files:
            choice = self._ask_whose(user, files)
            if choice is None:
                return  # cancelled: nothing opened, nothing written
            kwargs.update(choice)
        if self.shuffle_check.isChecked():
            kwargs["shuffle_seed"] = self.seed_spin.value()
        if self.repeat_spin.value() >= 0:  # -1: the saved setting, if any; 0: off
            kwargs["repeats"] = self.repeat_spin.value() / 100
        with contextlib.suppress(Exception), warnings.catch_warnings():
            # already shown, with advice; a new session beside others' files was asked for
            warnings.simplefilter("ignore", OthersFilesWarning)
            self.open_session(images, save_dir, **kwargs)

    def _ask_whose(self, user: str, files: dict[str, list[str]]) -> dict | None:
        """The save folder holds others' files and none of ``user``: ask whose session to
        open. Returns the arguments to open with, or None (cancel)."""
        others = list(files)
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Question)
        box.setWindowTitle("Whose session?")
        box.setText(f"This save folder holds the files of {_describe(files)}, and none of {user}.")
        box.setInformativeText(
            f"Open their session, or start a new one as {user} (your own files, beside theirs)."
        )
        choices = {}
        for other in others[:3]:
            button = box.addButton(f"Open {other}'s session", QMessageBox.ButtonRole.AcceptRole)
            choices[button] = {"user": other}
        with_config = [u for u in others if "_config.txt" in files[u]]
        if len(with_config) == 1:
            source = with_config[0]
            button = box.addButton(
                f"New session as {user} with {source}'s settings",
                QMessageBox.ButtonRole.AcceptRole,
            )
            choices[button] = {"settings_from": source}
        button = box.addButton(f"New empty session as {user}", QMessageBox.ButtonRole.AcceptRole)
        choices[button] = {}
        box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(next(iter(choices)))
        box.exec()
        choice = choices.get(box.clickedButton())
        if choice is not None and "user" in choice:
            self.user_edit.setText(choice["user"])
        return choice

    def _list_users(self, *_) -> None:
        """Offer the users whose files are in the save folder typed (and the login name)."""
        folder = self.save_edit.text().strip()
        files = savedir_files(Path(folder).expanduser()) if folder else {}
        typed = self.user_edit.text()
        names = list(files)
        login = _login()
        if login and login not in names:
            names.append(login)
        self.user_box.blockSignals(True)
        try:
            self.user_box.clear()
            self.user_box.addItems(names)
            self.user_edit.setText(typed)
        finally:
            self.user_box.blockSignals(False)
        self.users_label.setText(
            f"Files in this folder: {_describe(files)}. Choose a user above." if files else ""
        )
        self.users_label.setVisible(bool(files))

    def _browse_images(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder of images")
        if folder:
            self.images_edit.setText(folder)

    def _browse_save(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save folder")
        if folder:
            self.save_edit.setText(folder)

    # -- showing ------------------------------------------------------------------------------

    def _set_enabled(self, enabled: bool) -> None:
        for widget in (
            *self.group_buttons, *self.group_names, *self.group_symbols, *self.group_max,
            *self.group_colors,
            *self.category_checks, *self.category_names, self.comment_edit,
            self.favorite_button, self.nothing_button, self.delete_all_button, self.marks_table,
            self.previous_button,
            self.next_button, self.undo_button, self.redo_button, self.close_button,
            self.add_category_button, self.remove_category_button, self.export_button,
        ):  # fmt: skip
            widget.setEnabled(enabled)

    def _on_change(self, what: str) -> None:
        """The binding says ``what`` changed. The dock is brought up to date after the canvas
        has drawn, so that redrawing the dock never delays the image."""
        if what == "closed":
            self.binding = None
            self.close_session()
            return
        if what == "help":
            self.show_help()
            return
        if what == "image":
            self._note_visit()
        if not self._pending:
            after_paint(self._update)
        self._pending.add(what)

    def _update(self) -> None:
        pending, self._pending = self._pending, set()
        if self.binding is None:
            return
        self._updating = True
        try:
            self._show_changes(pending)
        except RuntimeError:  # the window was closed before this deferred update ran
            pass
        finally:
            self._updating = False

    def _show_changes(self, pending: set[str]) -> None:
        if pending & {"names"}:
            self._show_names()
        if pending & {"group", "names"}:
            self._show_group()
        if pending & {"image", "frame"}:
            self._show_image()
        if pending & {"image", "frame", "state"}:
            self._show_state()
        if pending & {"image", "frame", "marks", "names"}:
            self._show_marks()
        if pending & {"imports"}:
            self._update_imports()
        window = self.help_window
        if pending & {"names", "imports"} and window is not None and window.isVisible():
            window.show_keys(self.binding.session, self.binding.imports)

    def _note_visit(self) -> None:
        """Remember whether the image just shown had been seen before this visit (it
        becomes seen when it is left, or with N, during the visit)."""
        shown = self.binding.shown
        if shown is not None and (self._visit is None or self._visit[0] != shown.name):
            self._visit = (shown.name, self.binding.state().seen)

    def _show_image(self) -> None:
        session, shown = self.binding.session, self.binding.shown
        seen = self._visit is not None and self._visit == (shown.name, True)
        self.progress_label.setText(
            f"Image {shown.index + 1} of {len(session)} ({self.binding.n_seen} seen)"
            + (" · seen before" if seen else "")
        )
        self.name_label.setText(shown.name)
        # named from the file's headers: the layer is renamed only after the canvas drew
        names = [frame.name for frame in session.image_frames(shown.path)]
        if len(names) != shown.n_frames:
            names = [str(i) for i in range(shown.n_frames)]
        self.frames.show_frames(names, shown.frame)

    def _show_state(self) -> None:
        state = self.binding.state()
        for c, check in enumerate(self.category_checks, start=1):
            check.setChecked(c in state.categories)
        self.comment_edit.show_text(state.comment)
        self.favorite_button.setChecked(state.favorite)
        self.favorite_button.setText(("★" if state.favorite else "☆") + " Favourite (F)")

    def _show_names(self) -> None:
        session = self.binding.session
        self._set_category_rows(len(session.categories))
        for g, (name, maximum) in enumerate(zip(self.group_names, self.group_max), start=1):
            name.show_text(session.groups[g - 1])
            maximum.setValue(session.group_max[g - 1] or 0)
            color = session.group_colors[g - 1]
            self.group_buttons[g - 1].setStyleSheet(_swatch(color))
            self.group_buttons[g - 1].setToolTip(
                f"Group {g}: {session.groups[g - 1]}. Click to make it the active group "
                f"(key {g} places it at the cursor)"
            )
            self.group_colors[g - 1].setStyleSheet(f"color: {color};")
        for c, name in enumerate(self.category_names, start=1):
            name.show_text(session.categories[c - 1])

    def _show_group(self) -> None:
        g = self.binding.active_group
        session = self.binding.session
        self.group_buttons[g - 1].setChecked(True)
        color = session.group_colors[g - 1]
        self.active_label.setText(f"Active group {g}: {session.groups[g - 1]}")
        self.active_label.setStyleSheet(
            _swatch(color) + "font-size: 15px; font-weight: bold; border-radius: 4px;"
        )

    def _show_marks(self) -> None:
        layer = self.binding.marks.layer
        features = layer.features
        names = self.binding.session.groups
        table = self.marks_table
        table.setRowCount(len(layer.data))
        for i, (row, col) in enumerate(layer.data[:, -2:]):
            g = int(features["group"].iloc[i])
            cells = (
                f"{g} {names[g - 1]}",
                str(features["label"].iloc[i]),
                f"{col:.1f}",
                f"{row:.1f}",
            )
            for j, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if j != 1:
                    item.setFlags(item.flags() & ~Qt.ItemFlag.ItemIsEditable)
                item.setData(Qt.ItemDataRole.UserRole, int(features["id"].iloc[i]))
                table.setItem(i, j, item)
            table.item(i, 0).setBackground(QColor(self.binding.session.group_colors[g - 1]))

    # -- a person's edits ---------------------------------------------------------------------

    def focus_canvas(self) -> None:
        """Give the keyboard focus back to the image."""
        canvas = canvas_widget(self)
        if canvas is not None:
            canvas.setFocus()

    def _remove_listed(self) -> None:
        """The table's remove button: the rows chosen are seen, even with the marks hidden."""
        if self.binding is not None:
            self.binding.delete_selected(listed=True)

    def _call(self, action: str) -> None:
        if self.binding is not None:
            getattr(self.binding, action)()

    def _navigate(self, action: str) -> None:
        if self.binding is None:
            return
        if self.comment_edit.text() != self.comment_edit.shown_text:
            self.comment_edit._finish()  # a comment being typed belongs to this image
        getattr(self.binding, action)()

    def _delete_all(self) -> None:
        self._call("delete_all_marks")
        self.focus_canvas()  # Ctrl+Z, right after, restores them

    def _choose_frame(self, frame: int) -> None:
        if self.binding is not None and frame != self.binding.frame:
            self.binding.show_frame(frame)
        self.focus_canvas()

    def _choose_group(self, g: int) -> None:
        if self.binding is not None:
            self.binding.set_active_group(g)

    def _rename_group(self, g: int, name: str) -> None:
        if self.binding is not None and not self._updating:
            renamed = self.binding.guard(self.binding.session.rename_group, g, name.strip())
            if renamed is FAILED:
                self._on_change("names")  # refused: show the name it still has

    def _rename_category(self, c: int, name: str) -> None:
        if self.binding is not None and not self._updating:
            renamed = self.binding.guard(self.binding.session.rename_category, c, name.strip())
            if renamed is FAILED:
                self._on_change("names")

    def _choose_color(self, g: int) -> None:
        if self.binding is None:
            return
        old = QColor(self.binding.session.group_colors[g - 1])
        color = QColorDialog.getColor(old, self, f"Colour of group {g}")
        if color.isValid():
            self.binding.guard(self.binding.session.set_group_color, g, color.name())

    def _set_max(self, g: int, value: int) -> None:
        if self.binding is None or self._updating:
            return
        session = self.binding.session
        maximum = value or None
        over = session.over_limit(g, maximum)
        if over and not self._confirm_max(g, maximum, over):
            self._on_change("names")  # shows the maximum it still has
            return
        self.binding.guard(session.set_group_max, g, maximum)

    def _confirm_max(self, g: int, maximum: int, over: dict[str, int]) -> bool:
        """Ask before a maximum goes below the marks some images have (as Image Marker
        does); nothing is removed either way."""
        session = self.binding.session
        old = session.group_max[g - 1]
        first, n = next(iter(over.items()))
        more = f", and {len(over) - 1} more" if len(over) > 1 else ""
        box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setWindowTitle("Group maximum")
        box.setText(
            f"Group {g} ({session.groups[g - 1]}) would allow {maximum} mark(s) per image, "
            f"but {len(over)} image(s) already have more: {first} has {n}{more}."
        )
        box.setInformativeText(
            "Nothing is removed either way. With the new maximum, marks of this group are "
            "refused on those images until you remove some (select them and press Delete)."
        )
        keep = box.addButton(f"Set the maximum to {maximum}", QMessageBox.ButtonRole.AcceptRole)
        back = box.addButton(
            f"Keep {old if old else 'no limit'}", QMessageBox.ButtonRole.RejectRole
        )
        box.setDefaultButton(back)
        box.exec()
        return box.clickedButton() is keep

    def _change_categories(self, delta: int) -> None:
        """Add a category at the end, or remove the last one."""
        if self.binding is None:
            return
        names = list(self.binding.session.categories)
        if delta > 0:
            if len(names) >= MAX_CATEGORIES:
                self.binding.report(
                    f"A session has at most {MAX_CATEGORIES} categories (Ctrl+1 ... "
                    f"Ctrl+{MAX_CATEGORIES})."
                )
                return
            names.append(next(str(k) for k in range(len(names) + 1, 99) if str(k) not in names))
        else:
            if len(names) <= 1:
                self.binding.report("A session keeps at least one category.")
                return
            names.pop()
        self.binding.guard(self.binding.session.set_category_names, names)

    def _set_import_visible(self, n: int, visible: bool) -> None:
        if self.binding is not None and self.binding.imports is not None:
            self.binding.imports.set_visible(n, visible)
        self.focus_canvas()

    def _choose_import_color(self, n: int) -> None:
        imports = self.binding.imports if self.binding is not None else None
        if imports is None:
            return
        old = QColor(imports.colors[n - 1])
        color = QColorDialog.getColor(old, self, f"Colour of {imports.paths[n - 1].name}")
        if color.isValid():
            imports.set_color(n, color.name())
        self.focus_canvas()

    def _export(self) -> None:
        """Ask for a file and write the session's marks there."""
        if self.binding is None:
            return
        session = self.binding.session
        start = str(session.save_dir / f"{session.user}_marks_export.ecsv")
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export marks", start, ";;".join(EXPORT_FILTERS)
        )
        self.focus_canvas()
        if not path:
            return
        fmt = EXPORT_FILTERS.get(chosen) or None
        suffix = EXPORT_SUFFIXES.get(fmt)
        if suffix and not path.lower().endswith(EXPORT_ENDINGS[fmt]):
            path += suffix
        ds9 = fmt == "ds9" or (fmt is None and path.lower().endswith(".reg"))
        try:
            n = session.export_marks(
                path,
                fmt,
                image=self.binding.shown.name if ds9 else None,
                frame=self.binding.frame if ds9 else None,
            )
        except OSError as exc:
            self._report_export(
                f"Could not write {path}: {exc.strerror or exc}. Choose "
                "another folder or name, then export again."
            )
            return
        except ValueError as exc:
            self._report_export(f"Could not export the marks: {exc}.")
            return
        what = "of this frame" if ds9 else "of the session"
        show_info(f"Exported {n} mark(s) {what} to {path}.")

    def _report_export(self, text: str) -> None:
        self.binding.report(text)

    def _set_symbol(self, g: int, symbol: str) -> None:
        if self.binding is not None and not self._updating:
            self.binding.marks.set_symbol(g, symbol)

    def _toggle_category(self, c: int) -> None:
        if self.binding is not None and not self._updating:
            self.binding.toggle_category(c)

    def _store_comment(self, text: str) -> None:
        if self.binding is not None and not self._updating:
            self.binding.set_comment(text)

    def _label_edited(self, item: QTableWidgetItem) -> None:
        if self.binding is None or self._updating or item.column() != 1:
            return
        mark_id = item.data(Qt.ItemDataRole.UserRole)
        self.binding.guard(self.binding.history.relabel, mark_id, item.text().strip())
        self.focus_canvas()

    def _row_selected(self) -> None:
        if self.binding is None or self._updating:
            return
        rows = {index.row() for index in self.marks_table.selectedIndexes()}
        ids = [self.marks_table.item(r, 0).data(Qt.ItemDataRole.UserRole) for r in rows]
        self.binding.marks.select(ids)


def _closer(dock: MarkingDock):
    """A callback that closes the dock's session without touching the (deleted) dock."""
    viewer, listener = dock.viewer, dock._on_change

    def close(*_):
        binding = binding_for(viewer)
        if binding is not None:
            with contextlib.suppress(ValueError):
                binding.listeners.remove(listener)  # its widgets are gone
            try:
                binding.close()
            except Exception as exc:  # never raise into Qt's teardown
                print(f"napari-imagemarker: closing the marking session: {exc}", file=sys.stderr)

    return close


def _with_button(edit: QLineEdit, browse) -> QWidget:
    widget = QWidget()
    row = QHBoxLayout(widget)
    row.setContentsMargins(0, 0, 0, 0)
    row.addWidget(edit)
    button = QToolButton()
    button.setText("…")
    button.clicked.connect(browse)
    row.addWidget(button)
    return widget


def _swatch(color: str) -> str:
    text = "black" if QColor(color).lightness() > 110 else "white"
    return f"background-color: {color}; color: {text};"


def _login() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no login name (some containers)
        return ""


def _shown_path(images) -> str:
    if isinstance(images, (str, Path)):
        return str(images)
    return f"{len(images)} files"


_KINDS = {
    "_config.txt": "Image Marker settings",
    "_marks.csv": "Image Marker marks",
    "_images.csv": "Image Marker marks",
    "_marks.ecsv": "a session",
    "_images.ecsv": "a session",
}


def _describe(files: dict[str, list[str]]) -> str:
    """``tester (Image Marker settings); ana (a session, Image Marker marks)``"""
    parts = []
    for user, suffixes in files.items():
        kinds = list(dict.fromkeys(_KINDS[s] for s in suffixes))
        kinds.sort(key=lambda k: k != "a session")
        parts.append(f"{user} ({', '.join(kinds)})")
    return "; ".join(parts)


def _names(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _sentence(text: str) -> str:
    text = text.strip()
    return text if text.endswith((".", "!", "?")) else text + "."


def _advice(exc: Exception, images, save_dir) -> str:
    """What went wrong opening a session, and what to do about it in the dock: whole
    sentences, never the Python arguments the model's messages name."""
    from napari_imagemarker.imgmarker.config import read_config
    from napari_imagemarker.marking.session import SessionLockedError

    if isinstance(exc, SessionLockedError):
        return (
            f"{_sentence(str(exc))} Close the session in the other viewer (or process) first, "
            "or type another name in the User box. Nothing was changed."
        )
    if isinstance(exc, PermissionError):
        return (
            f"Cannot write in the save folder {save_dir}: {exc.strerror or exc}. Choose a "
            "folder you can write to with the … button beside Save to. Nothing was changed."
        )
    if isinstance(exc, OSError):
        return _sentence(f"Cannot open the session in {save_dir}: {exc}") + (
            " Nothing was changed."
        )
    if isinstance(exc, NoImageListError):
        user, folder = exc.user, Path(exc.save_dir)
        text = (
            f"The Images box is empty, and nothing in the save folder {folder} says which images "
            f"{user} scans."
        )
        try:
            config = read_config(folder / f"{user}_config.txt")
        except (OSError, ValueError):
            config = None
        if config and config.get("image_dir"):
            text += (
                f" {user}_config.txt names the image folder {config['image_dir']}, which is "
                "not on this computer."
            )
        text += " Choose the folder of images with the … button beside Images, then Open."
        others = [u for u in savedir_files(folder) if u != user]
        if others:
            text += (
                f" To resume the session of {_names(others)} instead, choose that name in the "
                "User list."
            )
        return text
    text = str(exc)
    if "no images to scan" in text or "none of the" in text:
        return _sentence(text) + (
            " Choose a folder (or list file) of FITS, TIFF, PNG or JPEG images with the … "
            "button beside Images, then Open."
        )
    return _sentence(f"Cannot open the session: {text}")

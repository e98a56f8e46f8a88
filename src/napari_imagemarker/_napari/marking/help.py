"""The keys of a marking session, with its own group, category and imported-file names: the
window F1 opens (and the dock's "Keys" button).

The rows come from the two key tables, :data:`~.keys.KEYS` (marking) and
:data:`~napari_imagemarker._napari.display.keys.DISPLAY_KEYS` (display), so that a key added
there is listed here; the session only fills in the names.
"""

from __future__ import annotations

from html import escape

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QDialog, QDialogButtonBox, QLabel, QScrollArea, QVBoxLayout

from napari_imagemarker._napari.display.keys import help_rows as display_rows
from napari_imagemarker._napari.marking.keys import KEYS

__all__ = ["KeyHelp", "marking_rows"]


def marking_rows(session, imports=None) -> list[tuple[str, str]]:
    """``(keys, what they do)`` for the marking keys of ``session``.

    Keys 1-9 name their group, Ctrl+1 ... name the session's categories (only as many as it
    has), Alt+1 ... the imported mark files of ``imports`` (an
    :class:`~.imports.ImportedFiles`, only as many as there are).
    """
    groups, categories = session.groups, session.categories
    files = list(imports.paths) if imports is not None else []
    rows = []
    for key in KEYS:
        if key.action == "add_mark_at_cursor":
            g = key.args[0]
            rows.append((key.shown, f"add a mark of group {g}, {groups[g - 1]}, at the cursor"))
        elif key.action == "toggle_category":
            c = key.args[0]
            if c <= len(categories):
                rows.append((key.shown, f"category {c}, {categories[c - 1]}, on/off"))
        elif key.action == "toggle_import":
            n = key.args[0]
            if n <= len(files):
                rows.append((key.shown, f"show/hide the imported marks {files[n - 1].name}"))
        else:
            rows.append((key.shown, key.description))
    return rows


def _table(title: str, rows: list[tuple[str, str]]) -> str:
    cells = "".join(
        f"<tr><td><b>{escape(keys)}</b>&nbsp;&nbsp;</td><td>{escape(what)}</td></tr>"
        for keys, what in rows
    )
    return f"<h3>{escape(title)}</h3><table>{cells}</table>"


class KeyHelp(QDialog):
    """A window listing every key of the session: marking keys with the session's names,
    then the display keys. Not modal: it may stay open beside the image; Esc or F1 closes
    it."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Image Marker keys")
        layout = QVBoxLayout(self)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        self.label = QLabel("")
        self.label.setWordWrap(True)
        self.label.setTextFormat(Qt.TextFormat.RichText)
        self.label.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        scroll.setWidget(self.label)
        layout.addWidget(scroll)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(560, 640)

    def show_keys(self, session, imports=None) -> None:
        """Fill in the keys of ``session`` (None: the keys without names)."""
        if session is None:
            rows = [(key.shown, key.description) for key in KEYS]
        else:
            rows = marking_rows(session, imports)
        self.label.setText(
            _table("Marking (on the image)", rows)
            + _table("Display (the session's image)", display_rows())
        )

    def keyPressEvent(self, event) -> None:
        if event.key() == Qt.Key.Key_F1:
            self.reject()
            return
        super().keyPressEvent(event)

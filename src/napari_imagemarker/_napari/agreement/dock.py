"""The "Agreement" dock: the agreement report of a save folder, and a review of its most
disputed images with every user's marks in their own colour.

The numbers are :func:`napari_imagemarker.agreement`; the review is a marking session of
the reviewer (a new user, ``consensus`` by default) over
:class:`~napari_imagemarker.agreement.review.Review` images, opened in the Image Marker dock,
with a Points layer ``users' marks`` that follows the image shown.
"""

from __future__ import annotations

import html

import numpy as np
from napari.layers import Points
from napari.utils.notifications import show_error, show_info
from qtpy.QtCore import Qt
from qtpy.QtWidgets import (
    QAbstractItemView,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from napari_imagemarker._napari.marking.binding import binding_for, open_session
from napari_imagemarker._napari.viewers import unwrap
from napari_imagemarker.agreement import agreement
from napari_imagemarker.agreement.review import Review

__all__ = ["OVERLAY", "AgreementDock"]

#: Name of the layer that shows every user's marks during a review.
OVERLAY = "users' marks"

# section title (start) -> tab name
_TABS = (
    ("Between users", "Kappa"),
    ("Cohen's", "Pairs"),
    ("Self-consistency", "Repeats"),
    ("Consensus", "Consensus"),
    ("Each user", "Users"),
    ("Against the gold", "Gold"),
    ("Most disputed", "Disputed"),
)


class AgreementDock(QWidget):
    """How far the users of a save folder agree, and a review of the disputed images.

    Parameters
    ----------
    napari_viewer : napari.Viewer
    """

    def __init__(self, napari_viewer) -> None:
        super().__init__()
        self.viewer = unwrap(napari_viewer)
        self.report = None
        self.review: Review | None = None
        self.overlay: Points | None = None
        self._binding = None
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.folder_edit = QLineEdit()
        self.folder_edit.setPlaceholderText("save folder with several users' sessions")
        browse = QPushButton("…")
        browse.setFixedWidth(28)
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.folder_edit)
        row.addWidget(browse)
        form.addRow("Folder", row)
        self.radius_edit = QLineEdit("3")
        self.radius_edit.setToolTip(
            "How far a mark may lie from the feature it marks: pixels (3) or an angle "
            "(1arcsec, then marks are compared by RA/Dec)"
        )
        form.addRow("Radius", self.radius_edit)
        self.reviewer_edit = QLineEdit("consensus")
        self.reviewer_edit.setToolTip("The review is saved as this user, like any session")
        form.addRow("Reviewer", self.reviewer_edit)
        self.n_spin = QSpinBox()
        self.n_spin.setRange(1, 10_000)
        self.n_spin.setValue(20)
        self.n_spin.setSuffix(" most disputed images")
        form.addRow("Review", self.n_spin)
        layout.addLayout(form)
        buttons = QHBoxLayout()
        self.compute_button = QPushButton("Compute")
        self.compute_button.clicked.connect(self.compute)
        self.review_button = QPushButton("Review disputed images")
        self.review_button.clicked.connect(self.start_review)
        buttons.addWidget(self.compute_button)
        buttons.addWidget(self.review_button)
        layout.addLayout(buttons)
        self.summary = QLabel("Choose a save folder and press Compute.")
        self.summary.setWordWrap(True)
        layout.addWidget(self.summary)
        self.tabs = QTabWidget()
        layout.addWidget(self.tabs, stretch=1)
        self.legend = QLabel("")
        self.legend.setWordWrap(True)
        layout.addWidget(self.legend)

    # -- report -------------------------------------------------------------------------------

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save folder of the team")
        if folder:
            self.folder_edit.setText(folder)

    def compute(self) -> bool:
        """Compute the report of the folder and show its tables; False (with a
        notification) if it cannot."""
        folder = self.folder_edit.text().strip()
        if not folder:
            show_error("Choose the save folder that holds the users' sessions.")
            return False
        try:
            report = agreement(folder, radius=self.radius_edit.text().strip() or "3")
        except (ValueError, OSError) as exc:
            show_error(f"Cannot compute the agreement: {exc}")
            return False
        self.report = report
        sections = report.sections(top=self.n_spin.value())
        self.summary.setText(sections[0][0])
        self.tabs.clear()
        for title, header, rows in sections[1:]:
            tab = next((t for start, t in _TABS if title.startswith(start)), title[:12])
            table = QTableWidget(len(rows), len(header))
            table.setHorizontalHeaderLabels([str(h) for h in header])
            table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
            table.setToolTip(title)
            for r, row in enumerate(rows):
                for c, value in enumerate(row):
                    item = QTableWidgetItem(str(value))
                    if c:
                        item.setTextAlignment(Qt.AlignmentFlag.AlignRight)
                    table.setItem(r, c, item)
            table.resizeColumnsToContents()
            if tab == "Disputed":
                table.cellDoubleClicked.connect(self._open_row)
            self.tabs.addTab(table, tab)
        return True

    # -- review -------------------------------------------------------------------------------

    def start_review(self) -> None:
        """Open the most disputed images as a marking session of the reviewer, with every
        user's marks shown in their colour."""
        if self.report is None and not self.compute():
            return
        try:
            review = Review(self.report, self.n_spin.value())
        except ValueError as exc:
            show_error(str(exc))
            return
        reviewer = self.reviewer_edit.text().strip() or "consensus"
        if reviewer in self.report["settings"]["users"]:
            show_info(f"{reviewer} already has a session here: the review goes on with it.")
        try:
            open_session(self.viewer, review.paths, self.report.save_dir, user=reviewer)
        except Exception:
            return
        self.review = review
        if review.missing:
            show_info(f"{len(review.missing)} disputed image(s) not found: {review.missing[0]} …")
        self._binding = binding_for(self.viewer)
        self._binding.image_shown.append(self._show_marks)
        self._show_marks(self._binding.shown)
        self.legend.setText(
            "Marks: "
            + "  ".join(
                f"<span style='color:{c}'>■ {html.escape(u)}</span>"
                for u, c in review.colors.items()
            )
        )

    def _open_row(self, row: int, _column: int) -> None:
        """Double-click on a disputed image: review from there."""
        if self.review is None:
            self.start_review()
        if self.review is None or self._binding is None:
            return
        name = self.tabs.currentWidget().item(row, 0).text()
        if name in self.review.names:
            self._binding.goto(name)

    def _show_marks(self, shown) -> None:
        """Draw every user's marks on the image shown (data coordinates: row, column)."""
        if shown is None or self.review is None:
            return
        marks = self.review.marks_on(shown.name)
        data = [np.c_[m.y, m.x] for m in marks]
        data = np.concatenate(data) if data else np.zeros((0, 2))
        users = [m.user for m in marks for _ in range(len(m.x))]
        colors = [m.color for m in marks for _ in range(len(m.x))]
        layer = self.overlay
        if layer is None or layer not in self.viewer.layers:
            layer = self.overlay = Points(
                np.zeros((0, 2)), name=OVERLAY, size=14, symbol="disc",
                face_color="transparent", border_width=0.18, border_width_is_relative=True,
                features={"user": np.zeros(0, dtype=str)},
                text={"string": "{user}", "anchor": "upper_left", "size": 8, "color": "white"},
            )  # fmt: skip
            self.viewer.add_layer(layer)
        layer.data = data
        layer.features = {"user": np.array(users, dtype=str)}
        if len(data):
            layer.border_color = colors
        layer.text.refresh(layer.features)
        marks_layer = self._binding.marks.layer if self._binding is not None else None
        if marks_layer is not None and marks_layer in self.viewer.layers:
            # under the reviewer's own marks, which stay the active layer
            self.viewer.layers.move(
                self.viewer.layers.index(layer), self.viewer.layers.index(marks_layer)
            )
            self.viewer.layers.selection.active = marks_layer

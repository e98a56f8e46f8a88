"""A one-line label that shortens its text with "…" in the middle to the width it is given,
so a long file name never widens the marking dock past the screen."""

from __future__ import annotations

from qtpy.QtCore import QSize, Qt
from qtpy.QtWidgets import QLabel, QSizePolicy

__all__ = ["ElidedLabel"]


class ElidedLabel(QLabel):
    """A QLabel whose :meth:`text` is the whole text, shown shortened in the middle when it
    does not fit (the whole text is then its tooltip)."""

    def __init__(self, text: str = "", parent=None) -> None:
        super().__init__(parent)
        self._full = ""
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setText(text)

    def text(self) -> str:  # the whole text, not the shortened one shown
        return self._full

    def shown_text(self) -> str:
        """What is drawn: the text, or its shortened form."""
        return super().text()

    def setText(self, text: str) -> None:
        self._full = str(text)
        self._elide()

    def minimumSizeHint(self) -> QSize:
        hint = super().minimumSizeHint()
        return QSize(self.fontMetrics().horizontalAdvance("…") * 4, hint.height())

    def resizeEvent(self, event) -> None:
        super().resizeEvent(event)
        self._elide()

    def _elide(self) -> None:
        width = max(self.contentsRect().width(), 1)
        shown = self.fontMetrics().elidedText(self._full, Qt.TextElideMode.ElideMiddle, width)
        super().setText(shown)
        self.setToolTip(self._full if shown != self._full else "")

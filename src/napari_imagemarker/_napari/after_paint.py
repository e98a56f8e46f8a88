"""Run work after the window has repainted.

Qt posts its repaint requests (``QEvent.UpdateRequest``) at low priority, after ordinary
posted events, so ``QTimer.singleShot(0, ...)`` work still runs *before* the new image is
drawn. :func:`after_paint` posts below that priority: the canvas shows the image first, then
the dock, the layer list and the reader thread catch up.
"""

from __future__ import annotations

import sys
from collections.abc import Callable

from qtpy.QtCore import QCoreApplication, QEvent, QObject, Qt

__all__ = ["after_paint"]

#: Below Qt.LowEventPriority (-1), the priority of repaint requests.
_PRIORITY = int(Qt.EventPriority.LowEventPriority.value) - 1


class _Runner(QObject):
    def __init__(self) -> None:
        super().__init__()
        self._calls: list[Callable[[], object]] = []

    def add(self, call: Callable[[], object]) -> None:
        if not self._calls:
            QCoreApplication.postEvent(self, QEvent(QEvent.Type.User), _PRIORITY)
        self._calls.append(call)

    def customEvent(self, event) -> None:
        calls, self._calls = self._calls, []
        for call in calls:
            try:
                call()
            except Exception:  # reported like any error in a Qt callback; the rest still run
                sys.excepthook(*sys.exc_info())


_runner: _Runner | None = None


def after_paint(call: Callable[[], object]) -> None:
    """Call ``call()`` once the repaints Qt has pending are done (in the GUI thread)."""
    global _runner
    if _runner is None:
        _runner = _Runner()
    _runner.add(call)

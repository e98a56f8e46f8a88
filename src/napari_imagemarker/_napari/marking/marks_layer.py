"""The marks of the current image as a napari Points layer, in step with the session.

The session is the truth. :class:`MarksLayer` draws the marks of the image (and frame) on
show from :meth:`MarkingSession.image_marks`, and turns what a person does to the layer in
napari (adding in add mode, deleting, dragging in select mode) into session calls through
:class:`~napari_imagemarker.marking.history.MarkHistory`, so that every change is saved and
can be undone. After each change the layer is redrawn from the session: a change the session
refuses (outside the image, group full) simply disappears, with a message.

Coordinates: the layer's data are napari data coordinates ``(row, col)`` of the image layer,
i.e. a mark's ``(y, x)`` (DESIGN.md).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import contextmanager

import numpy as np
import pandas as pd
from napari.layers import Points
from napari.layers.base import ActionType
from napari.utils.colormaps.standardize_color import transform_color

from napari_imagemarker.marks.schema import N_GROUPS

__all__ = ["DEFAULT_SYMBOL", "SYMBOLS", "MarksLayer"]

#: Marker shapes a group can have (napari symbol names).
SYMBOLS: tuple[str, ...] = (
    "ring",
    "disc",
    "square",
    "diamond",
    "cross",
    "x",
    "star",
    "triangle_up",
    "hbar",
    "vbar",
)
#: A ring shows the group colour and leaves the feature itself visible.
DEFAULT_SYMBOL = "ring"
#: Opacity of marks placed on another frame of the image (they are drawn on every frame).
OTHER_FRAME_ALPHA = 0.45

#: Status-bar hint of the marks layer in each mode.
MODE_HELP = {
    mode: "click: add a mark of the active group, Shift+click: delete, Ctrl+click: select, "
    "drag a selected mark: move it, middle or Alt+click: centre, 1-9: add at the cursor"
    for mode in ("add", "select", "pan_zoom")
}

_FEATURES = {"id": np.int64, "group": np.int64, "label": object, "text": object}


class MarksLayer:
    """A Points layer showing the marks of one image of a session, and editing them.

    Parameters
    ----------
    viewer : napari.Viewer
    session : MarkingSession
    history : MarkHistory
        Through which every change is made (so it can be undone).
    report : callable
        ``report(message)`` for changes the session refused.
    name : str
        Layer name.

    Attributes
    ----------
    layer : napari.layers.Points
        Features ``id`` (the session's mark id), ``group`` (1-9), ``label`` (the mark's own
        label, ``""`` if none) and ``text`` (what is written beside the mark: the label when
        it differs from the group name).
    symbols : list of str
        Marker symbol of each group (index 0 is group 1).
    """

    def __init__(
        self,
        viewer,
        session,
        history,
        report: Callable[[str], object],
        name: str = "marks",
    ) -> None:
        self.viewer = viewer
        self.session = session
        self.history = history
        self.report = report
        self.name = name
        self.image: str | None = None
        self.frame = 0
        self.group = 1  # the active group: what napari's add mode places
        self.symbols = [DEFAULT_SYMBOL] * N_GROUPS
        self.size = 12.0
        self._rendering = False
        self._removing: list[int] = []
        self._shown: dict[int, tuple[float, float]] = {}  # id -> (x, y) as drawn
        self._drawn: tuple | None = None  # everything drawn, to skip redrawing the same
        self.layer = self._make_layer()

    # -- the layer ----------------------------------------------------------------------------

    def _make_layer(self) -> Points:
        layer = Points(
            np.empty((0, 2)),
            ndim=2,
            name=self.name,
            features=_empty_features(),
            feature_defaults={"id": -1, "group": self.group, "label": "", "text": ""},
            symbol=DEFAULT_SYMBOL,
            size=self.size,
            border_width=0,
            text={
                "string": "{text}",
                "color": "white",
                "anchor": "upper_left",
                "size": 9,
                "translation": [-0.5 * self.size, 0.5 * self.size],
            },
            metadata={"imagemarker": "marks"},
        )
        layer.events.data.connect(self._on_data)
        layer.events.help.connect(self._on_help)
        return layer

    def _on_help(self, event=None) -> None:
        """napari's status-bar hint names its own digit keys for the modes; ours win here."""
        text = MODE_HELP.get(str(self.layer.mode), "")
        if text and self.layer.help != text:
            self.layer.help = text

    def ensure_in(self, viewer) -> Points:
        """Add the layer to the viewer (again, if a person removed it); return it."""
        if self.layer not in viewer.layers:
            viewer.add_layer(self.layer)
        return self.layer

    def show(self, image: str, frame: int, height: int, width: int) -> None:
        """Draw the marks of ``image``; new marks go on ``frame``. Marks of other frames are
        drawn fainter. The marker size follows the image size."""
        self.image, self.frame = image, int(frame)
        self.size = float(np.clip(0.05 * max(height, width), 8, 60))
        self.refresh(keep_selection=False)

    def set_group(self, group: int) -> None:
        """Make ``group`` the one napari's add mode places."""
        self.group = int(group)
        with self._quiet():
            self.layer.feature_defaults = {
                "id": -1,
                "group": self.group,
                "label": "",
                "text": "",
            }

    def set_symbol(self, group: int, symbol: str) -> None:
        """Draw marks of ``group`` (1-9) with ``symbol`` (one of :data:`SYMBOLS`)."""
        if symbol not in SYMBOLS:
            raise ValueError(f"symbol must be one of {', '.join(SYMBOLS)}, got {symbol!r}")
        self.symbols[int(group) - 1] = symbol
        self.refresh()

    @property
    def selected_ids(self) -> list[int]:
        """Session ids of the selected marks."""
        ids = self.layer.features["id"].to_numpy()
        return [int(ids[i]) for i in sorted(self.layer.selected_data) if i < len(ids)]

    def select(self, ids: Sequence[int]) -> None:
        """Select the marks ``ids`` (those not drawn are ignored)."""
        position = {int(v): i for i, v in enumerate(self.layer.features["id"].to_numpy())}
        self.layer.selected_data = {position[i] for i in ids if i in position}

    def mark_near(self, row: float, col: float) -> int | None:
        """Index in the layer of the mark nearest data position (``row``, ``col``) within
        its drawn radius, or None."""
        data = self.layer.data
        if not len(data):
            return None
        sizes = np.broadcast_to(np.asarray(self.layer.size, dtype=float), (len(data),))
        distance = np.hypot(data[:, -2] - row, data[:, -1] - col)
        nearest = int(np.argmin(distance))
        return nearest if distance[nearest] <= max(sizes[nearest] / 2, 1.0) else None

    def drag(self, indices: Sequence[int], d_row: float, d_col: float) -> None:
        """Draw the marks ``indices`` moved by (``d_row``, ``d_col``) from where the session
        has them; nothing is saved until :meth:`drop`."""
        ids = self.layer.features["id"].to_numpy()
        data = np.array(self.layer.data, copy=True)
        for i in indices:
            x, y = self._shown[int(ids[i])]
            data[i, -2:] = (y + d_row, x + d_col)
        with self._quiet():
            self.layer.data = data

    def drop(self, indices: Sequence[int]) -> None:
        """Save where :meth:`drag` drew the marks ``indices`` (one undoable move)."""
        ids = self.layer.features["id"].to_numpy()
        positions = {}
        for i in indices:
            row, col = (float(v) for v in self.layer.data[i][-2:])
            if (col, row) != self._shown[int(ids[i])]:
                positions[int(ids[i])] = (col, row)
        self._drawn = None  # the layer shows the drag, not the session
        if positions:
            self._apply(self.history.move_many, positions, self.image)
        self.refresh()

    def refresh(self, keep_selection: bool = True) -> None:
        """Redraw the marks of the shown image from the session (nothing is done when what
        would be drawn is what is drawn, e.g. moving between images without marks)."""
        if self.image is None:
            return
        table = self.session.image_marks(self.image)
        groups = [int(g) for g in table["group"]]
        labels = [str(v) for v in table["label"]]
        frames = [int(f) for f in table["frame"]]
        ids = [int(i) for i in table["id"]]
        xs, ys = [float(v) for v in table["x"]], [float(v) for v in table["y"]]
        names, colors = self.session.groups, self.session.group_colors
        texts = [lab if lab and lab != names[g - 1] else "" for lab, g in zip(labels, groups)]
        faded = [f != self.frame for f in frames]
        symbols = [self.symbols[g - 1] for g in groups]
        drawn = (ids, xs, ys, groups, labels, texts, faded, symbols, tuple(colors), self.size)
        if drawn == self._drawn:
            return
        selected = self.selected_ids if keep_selection else []
        n = len(ids)
        face = transform_color(list(colors))[np.asarray(groups, dtype=int) - 1] if n else None
        if n:
            face[np.asarray(faded), 3] = OTHER_FRAME_ALPHA
        features = pd.DataFrame(
            {
                "id": np.asarray(ids, dtype=np.int64),
                "group": np.asarray(groups, dtype=np.int64),
                "label": pd.Series(labels, dtype=object),
                "text": pd.Series(texts, dtype=object),
            }
        )
        layer = self.layer
        # one redraw instead of one per property: napari's events are held back and the
        # layer is refreshed once at the end (about 2.5x faster). The labels' events too.
        with self._quiet(), layer.events.blocker_all(), layer.text.events.blocker_all():
            layer.selected_data = set()
            layer.data = np.column_stack([ys, xs]) if n else np.empty((0, 2))
            if not layer.visible:
                # napari does not slice a hidden layer, and the colours and labels set next
                # would be drawn for the points of its old view (IndexError after an undo,
                # Delete all or Tab with the marks hidden): slice it for the new points
                layer.set_view_slice()
            layer.features = features
            if n:
                layer.face_color = face
                layer.symbol = np.array(symbols, dtype=object)
                layer.size = self.size
            if selected:
                self.select(selected)
        layer.refresh()
        if int(layer.feature_defaults["group"].iloc[0]) != self.group:
            self.set_group(self.group)  # napari took the defaults from the last mark drawn
        if layer.current_size != self.size:
            with self._quiet():
                layer.current_size = self.size
        self._shown = {i: (x, y) for i, x, y in zip(ids, xs, ys)}
        self._drawn = drawn

    # -- napari -> session --------------------------------------------------------------------

    @contextmanager
    def _quiet(self):
        """Changes made here are drawings of the session's state, not a person's edits."""
        before, self._rendering = self._rendering, True
        try:
            yield
        finally:
            self._rendering = before

    def _on_data(self, event) -> None:
        if self._rendering or self.image is None:
            return
        self._drawn = None  # the layer no longer shows what was drawn
        action = event.action
        if action == ActionType.REMOVING:
            ids = self.layer.features["id"].to_numpy()
            self._removing = [int(ids[i]) for i in event.data_indices if 0 <= i < len(ids)]
        elif action == ActionType.REMOVED:
            ids, self._removing = [i for i in self._removing if i >= 0], []
            self._apply(self.history.remove, ids, self.image)
        elif action == ActionType.ADDED:
            n = len(self.layer.data)
            new = sorted({i % n for i in event.data_indices}) if n else []
            self._added(new)
        elif action == ActionType.CHANGED:
            self._moved(event.data_indices)

    def _added(self, indices: list[int]) -> None:
        features = self.layer.features
        for i in indices:
            row, col = (float(v) for v in self.layer.data[i][-2:])
            group = int(features["group"].iloc[i]) if "group" in features else self.group
            if not 1 <= group <= N_GROUPS:
                group = self.group
            label = str(features["label"].iloc[i]) if "label" in features else ""
            if not self._apply(
                self.history.add, col, row, group, label or None, self.frame, self.image
            ):
                break
        self.refresh(keep_selection=False)

    def _moved(self, indices) -> None:
        ids = self.layer.features["id"].to_numpy()
        positions = {}
        for i in indices:
            if not 0 <= i < len(ids) or int(ids[i]) not in self._shown:
                continue
            row, col = (float(v) for v in self.layer.data[i][-2:])
            if (col, row) != self._shown[int(ids[i])]:
                positions[int(ids[i])] = (col, row)
        if positions:
            self._apply(self.history.move_many, positions, self.image)
        self.refresh()

    def _apply(self, change, *args) -> bool:
        """Make a change; on refusal report it and redraw what the session holds."""
        try:
            change(*args)
        except (ValueError, KeyError, OSError, RuntimeError) as exc:
            self.report(str(exc).strip("'\""))
            self.refresh()
            return False
        return True


def _empty_features() -> pd.DataFrame:
    return pd.DataFrame({k: pd.Series([], dtype=t) for k, t in _FEATURES.items()})

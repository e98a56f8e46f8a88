"""The marking keys: one table that binds them, lists them in the dock's help and in
docs/marking.md.

Keys are bound on the *instances* of our layers (the image and the marks), whose keymaps
napari consults before the layer classes' and the viewer's. That is how 1-9 win over what
napari gives them on a Points layer (1 deletes the selection, 2-5 switch modes) and on an
Image layer (1-2 switch modes), and Space over "hold to pan". Keys that make sense whichever
layer is active (navigation, favourite, undo) are bound on the viewer instance as well.

Tab and Shift+Tab never reach napari's keymaps: Qt uses them to move the keyboard focus, and
vispy has no name for Shift+Tab. :class:`NavigationFilter` catches them on the canvas (with
the arrows and Space, for speed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from qtpy.QtCore import QEvent, QObject, Qt

__all__ = [
    "ALT_TOGGLES",
    "KEYS",
    "Key",
    "NavigationFilter",
    "alt_toggle",
    "bind_keys",
    "help_rows",
    "unbind_keys",
]


@dataclass(frozen=True)
class Key:
    """One binding: napari key names, how people read them, what they do.

    ``action`` names a method of
    :class:`~napari_imagemarker._napari.marking.binding.MarkingBinding` called with
    ``args``; ``everywhere`` also binds it on the viewer (any active layer).
    """

    keys: tuple[str, ...]
    shown: str
    description: str
    action: str
    args: tuple = ()
    everywhere: bool = False


_NAV = {"everywhere": True}

KEYS: tuple[Key, ...] = (
    *(
        Key(
            (str(g),), str(g), f"add a mark of group {g} at the cursor", "add_mark_at_cursor", (g,)
        )
        for g in range(1, 10)
    ),
    Key((), "left click", "add a mark of the active group (the dock's), whatever keys before", ""),
    Key((), "left drag", "pan; on a selected mark: move the selected marks (saved, undoable)", ""),
    Key((), "Shift+click", "delete the mark under the cursor (undoable)", ""),
    Key((), "Ctrl+click", "select / unselect the mark under the cursor", ""),
    Key((), "middle click / Alt+click", "centre the view on the cursor", ""),
    Key((), "right click", "nothing (never marks); right drag and the wheel zoom", ""),
    Key(
        ("Delete", "Backspace"),
        "Delete / Backspace",
        "remove the selected marks",
        "delete_selected",
    ),
    Key(("Control-Z",), "Ctrl+Z", "undo the last mark change", "undo", **_NAV),
    Key(("Control-Shift-Z", "Control-Y"), "Ctrl+Shift+Z / Ctrl+Y", "redo", "redo", **_NAV),
    Key(("Right", "Down"), "Tab / → / ↓", "next image", "next_image", **_NAV),
    Key(("Left", "Up"), "Shift+Tab / ← / ↑", "previous image", "previous_image", **_NAV),
    Key(("Space",), "Space", "next frame (TIFF page, FITS image extension)", "next_frame", **_NAV),
    Key(("Shift-Space",), "Shift+Space", "previous frame", "previous_frame", **_NAV),
    Key(("Alt-M",), "Alt+M", "hide/show the marks (a new one shows them)", "toggle_marks", **_NAV),
    Key(("Alt-L",), "Alt+L", "hide/show the marks' labels", "toggle_labels", **_NAV),
    Key(("F",), "F", "favourite on/off", "toggle_favorite", **_NAV),
    Key(("N",), "N", "seen, nothing here (and go to the next image)", "nothing_here", **_NAV),
    *(
        Key(
            (f"Control-{c}",), f"Ctrl+{c}", f"category {c} on/off", "toggle_category", (c,), **_NAV
        )
        for c in range(1, 10)
    ),
    *(
        Key(
            (f"Alt-{n}",),
            f"Alt+{n}",
            f"show/hide imported mark file {n} (imports/, in Image Marker's order)",
            "toggle_import",
            (n,),
            **_NAV,
        )
        for n in range(1, 10)
    ),
    Key(
        ("Control-C",),
        "Ctrl+C",
        "copy the RA/Dec of the selected marks (x/y without WCS) to the clipboard",
        "copy_selected",
    ),
    Key(("Control-V",), "Ctrl+V", "paste copied marks on this image", "paste"),
    Key(
        ("F1",),
        "F1 / ?",
        "show the keys, with this session's group and category names",
        "show_help",
        **_NAV,
    ),
    Key((), "Enter (comment box)", "store the comment and go back to the image", ""),
    Key((), "Esc (comment box)", "drop the edit and go back to the image", ""),
)


def help_rows() -> list[tuple[str, str]]:
    """``(keys, what they do)`` for every binding, in the order of :data:`KEYS`."""
    return [(key.shown, key.description) for key in KEYS]


def _caller(target, key: Key) -> Callable:
    def call(_provider) -> None:
        getattr(target, key.action)(*key.args)

    call.__doc__ = key.description
    return call


def bind_keys(provider, target, everywhere_only: bool = False) -> None:
    """Bind the marking keys on ``provider`` (a layer or a viewer instance) to ``target``
    (a :class:`MarkingBinding`), replacing whatever the instance had bound there."""
    for key in KEYS:
        if everywhere_only and not key.everywhere:
            continue
        for name in key.keys:
            provider.bind_key(name, _caller(target, key), overwrite=True)


def unbind_keys(provider, everywhere_only: bool = False) -> None:
    """Remove what :func:`bind_keys` bound on ``provider``."""
    for key in KEYS:
        if everywhere_only and not key.everywhere:
            continue
        for name in key.keys:
            provider.bind_key(name, None)


#: Alt+M and Alt+L: the binding's actions that hide the marks and their labels, claimed
#: before Qt opens a menu by its mnemonic (Alt+L is napari's "Layers"), wherever they come.
ALT_TOGGLES = {Qt.Key.Key_M: "toggle_marks", Qt.Key.Key_L: "toggle_labels"}


def alt_toggle(event) -> str | None:
    """The binding's action of a key event that is Alt+M or Alt+L, else None."""
    if event.modifiers() != Qt.KeyboardModifier.AltModifier:
        return None
    return ALT_TOGGLES.get(event.key())


class NavigationFilter(QObject):
    """Tab, Shift+Tab, the arrow keys, Space, Shift+Space, Alt+M, Alt+L and ? on the canvas,
    handled before Qt and napari (napari's keymaps have no name for ?).

    Tab and Shift+Tab must be caught here (see the module's docstring). The arrows and Space
    are caught too, for speed: napari rebuilds its whole chain of keymaps on every key press
    (about 2 ms here), a fifth of the time budget of a key-to-image switch. They stay bound in
    the keymaps as well, for key presses napari forwards from its other widgets. Alt+L is
    the mnemonic of napari's "Layers" menu: the canvas claims it (and Alt+M) before Qt opens
    the menu. The canvas's resizes are passed on too (the view is fitted again while the
    person has not zoomed or panned).
    """

    _NEXT = (Qt.Key.Key_Tab, Qt.Key.Key_Right, Qt.Key.Key_Down)
    _PREVIOUS = (Qt.Key.Key_Backtab, Qt.Key.Key_Left, Qt.Key.Key_Up)

    def __init__(self, target, parent=None) -> None:
        super().__init__(parent)
        self.target = target

    def eventFilter(self, obj, event) -> bool:
        kind = event.type()
        if kind == QEvent.Type.Resize:
            self.target.canvas_resized()
            return False
        if kind == QEvent.Type.ShortcutOverride:
            if alt_toggle(event):
                event.accept()  # a key press for the canvas, not a menu's mnemonic
            return False
        if kind != QEvent.Type.KeyPress:
            return False
        key, modifiers = event.key(), event.modifiers()
        if key == Qt.Key.Key_Question:  # typed with Shift on most layouts
            self.target.show_help()
            return True
        if action := alt_toggle(event):
            getattr(self.target, action)()
            return True
        if key == Qt.Key.Key_Space and modifiers == Qt.KeyboardModifier.ShiftModifier:
            if not event.isAutoRepeat():
                self.target.previous_frame()
            return True
        if key in (Qt.Key.Key_Tab, Qt.Key.Key_Backtab):
            modifiers &= ~Qt.KeyboardModifier.ShiftModifier  # Shift+Tab: previous image
            if event.modifiers() & Qt.KeyboardModifier.ShiftModifier:
                key = Qt.Key.Key_Backtab
        if modifiers != Qt.KeyboardModifier.NoModifier:
            return False
        if key in self._NEXT:
            self.target.next_image()
        elif key in self._PREVIOUS:
            self.target.previous_image()
        elif key == Qt.Key.Key_Space:
            if not event.isAutoRepeat():
                self.target.next_frame()
        else:
            return False
        return True

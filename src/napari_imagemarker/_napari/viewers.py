"""Which viewer is which, and which marking session is bound to it.

The one place where the marking binding and the catalog overlays meet: the marking binding
registers itself here, catalog overlays look it up here, and neither imports the other.
"""

from __future__ import annotations

from typing import Any

__all__ = ["bind_session", "known_viewers", "session_binding", "unbind_session", "unwrap"]

_SESSIONS: dict[int, Any] = {}  # id(viewer) -> MarkingBinding
_VIEWERS: dict[int, Any] = {}  # id(viewer) -> viewer, for the bound ones


def unwrap(viewer):
    """The viewer itself, not the proxy napari hands to plugin widgets (only its public API
    is used here; unwrapping keeps one identity for the viewer)."""
    return getattr(viewer, "__wrapped__", viewer)


def bind_session(viewer, binding) -> None:
    """Record ``binding`` (a ``MarkingBinding``) as the marking session shown in ``viewer``."""
    viewer = unwrap(viewer)
    _SESSIONS[id(viewer)] = binding
    _VIEWERS[id(viewer)] = viewer


def unbind_session(viewer, binding) -> None:
    """Forget ``binding`` for ``viewer`` (only if it is still the one recorded)."""
    viewer = unwrap(viewer)
    if _SESSIONS.get(id(viewer)) is binding:
        del _SESSIONS[id(viewer)]
        _VIEWERS.pop(id(viewer), None)


def session_binding(viewer):
    """The marking session bound to ``viewer`` (a ``MarkingBinding``), or None."""
    return None if viewer is None else _SESSIONS.get(id(unwrap(viewer)))


def known_viewers() -> list:
    """The viewers with a marking session, then napari's current viewer if it is another."""
    from napari import current_viewer

    viewers = list(_VIEWERS.values())
    current = current_viewer()
    if current is not None and all(unwrap(current) is not v for v in viewers):
        viewers.append(unwrap(current))
    return viewers

"""``make run``: napari with this plugin, its sample image and its docks.

Usage: ``python -m napari_imagemarker._napari.launch [IMAGE ...]``.
"""

from __future__ import annotations

import sys

PLUGIN = "napari-imagemarker"
FRONT = "Image Marker"


def build_viewer(paths: list[str] | None = None):
    """A napari window with every dock of this plugin and the given images (or the sample)."""
    import napari
    from npe2 import PluginManager

    viewer = napari.Viewer(title="napari-imagemarker")
    manifest = PluginManager.instance().get_manifest(PLUGIN)
    names = [widget.display_name for widget in manifest.contributions.widgets or []]
    # every dock at full height, as tabs; the marking dock added last, so it is in front
    names.sort(key=lambda name: name == FRONT)
    for name in names:
        viewer.window.add_plugin_dock_widget(PLUGIN, name, tabify=True)
    if paths:
        for path in paths:
            viewer.open(path, plugin=PLUGIN)
    else:
        viewer.open_sample(PLUGIN, "tan_field")
    return viewer


def main(argv: list[str] | None = None) -> None:
    import napari

    build_viewer(sys.argv[1:] if argv is None else argv)
    napari.run()


if __name__ == "__main__":
    main()

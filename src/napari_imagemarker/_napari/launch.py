"""``make run``: napari with this plugin, its sample image and its docks.

Usage: ``python -m napari_imagemarker._napari.launch [IMAGE ...]``.
"""

from __future__ import annotations

import sys

PLUGIN = "napari-imagemarker"


def build_viewer(paths: list[str] | None = None):
    """A napari window with every dock of this plugin and the given images (or the sample)."""
    import napari
    from npe2 import PluginManager

    viewer = napari.Viewer(title="napari-imagemarker")
    manifest = PluginManager.instance().get_manifest(PLUGIN)
    for widget in manifest.contributions.widgets or []:
        viewer.window.add_plugin_dock_widget(PLUGIN, widget.display_name)
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

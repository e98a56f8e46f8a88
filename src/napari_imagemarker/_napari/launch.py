"""``make run``: napari with this plugin, its sample image and its docks.

Usage: ``python -m napari_imagemarker._napari.launch [IMAGE ...]``.
"""

from __future__ import annotations

import sys

PLUGIN = "napari-imagemarker"


def main(argv: list[str] | None = None) -> None:
    import napari
    from npe2 import PluginManager

    argv = sys.argv[1:] if argv is None else argv
    viewer = napari.Viewer(title="napari-imagemarker")
    if argv:
        for path in argv:
            viewer.open(path, plugin=PLUGIN)
    else:
        viewer.open_sample(PLUGIN, "tan_field")
    manifest = PluginManager.instance().get_manifest(PLUGIN)
    for widget in manifest.contributions.widgets or []:
        viewer.window.add_plugin_dock_widget(PLUGIN, widget.display_name)
    napari.run()


if __name__ == "__main__":
    main()

"""load_catalog, make_catalog and the marks I/O import and run in a process where every Qt
binding is blocked (a script, a cluster job): napari's model, no window."""

from __future__ import annotations

import subprocess
import sys
import textwrap

SCRIPT = textwrap.dedent(
    """
    import sys

    class NoQt:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6"):
                raise ImportError(f"no Qt here: {name}")

    sys.meta_path.insert(0, NoQt())

    import numpy as np
    from astropy.table import Table
    from napari.components import ViewerModel

    from napari_imagemarker import load_catalog, read_marks, write_marks
    from napari_imagemarker.catalogs.build import make_catalog

    path = sys.argv[1]
    Table({"x": [1.0, 20.0], "y": [2.0, 30.0]}).write(path + ".ecsv")
    catalog = make_catalog(path + ".ecsv")
    viewer = ViewerModel()
    viewer.add_image(np.zeros((50, 60)))
    layer = load_catalog(viewer, catalog)
    print(layer.data.tolist())
    marks = Table({"group": [1], "x": [3.0], "y": [4.0]})
    write_marks(marks, path + ".reg")
    print(read_marks(path + ".reg")["x"].tolist())
    print(Table.read(path + ".reg", format="imgmarker.ds9")["y"].tolist())  # registered
    print(any(name.split(".")[0] in ("qtpy", "PyQt5", "PyQt6") for name in sys.modules))
    """
)


def test_catalogs_and_marks_run_without_any_qt_binding(tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path / "t")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "[[2.0, 1.0], [30.0, 20.0]]",
        "[3.0]",
        "[4.0]",
        "False",
    ]

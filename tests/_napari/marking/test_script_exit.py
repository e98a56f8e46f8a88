"""A script that opens a session in napari and ends without closing it loses nothing and
prints no error: the session is closed while the interpreter exits."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from test_marking_dock import IMAGES


def test_a_script_ending_with_the_session_open_saves_it_quietly(tmp_path):
    save = tmp_path / "save"
    script = textwrap.dedent(
        f"""
        import napari
        from napari_imagemarker import open_session

        viewer = napari.Viewer(show=True)
        session = open_session(viewer, {str(IMAGES)!r}, {str(save)!r}, user="tester")
        session.add_mark(10.0, 20.0, 2)
        session.set_comment("left open")
        """
    )
    env = {**os.environ, "QT_QPA_PLATFORM": "xcb"}
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=180, env=env
    )
    assert result.returncode == 0, result.stderr
    assert "closing the marking session" not in result.stderr
    assert "Traceback" not in result.stderr
    csv = (save / "tester_marks.csv").read_text()
    assert csv.count("\n") == 2 and ",2,None,10,491," in csv  # header and the mark
    assert "left open" in (save / "tester_images.csv").read_text()

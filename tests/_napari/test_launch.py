"""`make run` / `imagemarker mark`: a marking session open in napari, the demo by default."""

from __future__ import annotations

import subprocess
import sys

from napari_imagemarker._napari.launch import build_viewer, fill_screen
from napari_imagemarker._napari.marking.binding import binding_for
from napari_imagemarker.images.sample import demo_images


def test_the_demo_opens_the_shipped_images_in_a_session_that_survives_a_restart(
    tmp_path, monkeypatch, qtbot, make_napari_viewer
):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    names = sorted(p.name for p in demo_images().iterdir() if p.suffix in (".tif", ".fits"))
    assert len(names) == 4 and (demo_images() / "LICENSE-imgmarker.txt").is_file()
    viewer, session = build_viewer(viewer=make_napari_viewer(show=True))
    try:
        assert session.save_dir == tmp_path / "napari-imagemarker" / "demo"
        assert sorted(p.name for p in session.paths) == names
        binding = binding_for(viewer)
        assert binding.image_layer.data.shape[:2] == (512, 512)  # an SPT cutout on the canvas
        dock = viewer.window.dock_widgets["Image Marker (napari-imagemarker)"]
        assert dock.isVisible()
        session.add_mark(100.0, 200.0, 2)
        session.next()
    finally:
        binding_for(viewer).close()  # what closing the window does: the session is closed
    # the next `make run`: resumes at the first unseen image, with the mark
    viewer, session = build_viewer(viewer=make_napari_viewer(show=True))
    try:
        assert session.current.index == 1 and len(session.marks) == 1
    finally:
        binding_for(viewer).close()


def test_the_first_window_fills_the_screen_and_a_remembered_size_is_kept(
    tmp_path, monkeypatch, qtbot, make_napari_viewer
):
    from napari.settings import get_settings
    from qtpy.QtWidgets import QApplication

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))
    viewer, _session = build_viewer(viewer=make_napari_viewer(show=True))
    try:
        window = viewer.window._qt_window
        area = QApplication.primaryScreen().availableGeometry()
        before = window.width()
        settings = get_settings().application
        monkeypatch.setattr(settings, "window_size", None)
        monkeypatch.setattr(settings, "window_maximized", False)
        assert fill_screen(viewer)
        qtbot.waitUntil(lambda: window.width() == area.width())
        assert (window.width(), window.height()) == (area.width(), area.height())
        assert window.width() > before  # napari's own first window is smaller
        # the canvas is the widest thing in the window, not a strip beside the docks
        canvas = viewer.window._qt_viewer.canvas.native
        qtbot.waitUntil(lambda: canvas.width() > area.width() // 3)
        # someone who sized the window before keeps their size
        monkeypatch.setattr(settings, "window_size", (900, 700))
        assert not fill_screen(viewer)
    finally:
        binding_for(viewer).close()


def test_imagemarker_mark_needs_a_save_folder_after_the_images(tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "napari_imagemarker.cli", "mark", str(demo_images())],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2
    assert "give the save folder after the images" in result.stderr

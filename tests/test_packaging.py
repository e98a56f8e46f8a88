"""The sdist and wheel are what a napari plugin ships: built from this checkout, the wheel
installs in a clean virtual environment and passes ``npe2 validate --imports``.

Slow (it builds, then installs napari into a new venv, from pip's cache after `make test`'s
own install); deselect with ``-m "not packaging"``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.packaging


@pytest.fixture(scope="module")
def dist(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--sdist", "--wheel", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=900,
    )
    return out


def test_the_wheel_carries_the_manifest_the_demo_images_and_both_licences(dist):
    [wheel] = dist.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        metadata = archive.read(next(n for n in names if n.endswith(".dist-info/METADATA")))
    assert "napari_imagemarker/napari.yaml" in names
    demo = [n for n in names if n.startswith("napari_imagemarker/images/demo/")]
    assert sum(n.endswith(".tif") for n in demo) == 3 and any(n.endswith(".fits") for n in demo)
    licences = {Path(n).name for n in names if ".dist-info/licenses/" in n}
    assert {"LICENSE", "LICENSE-imgmarker.txt"} <= licences
    metadata = metadata.decode()
    assert "Classifier: Framework :: napari" in metadata
    assert "Provides-Extra: all" in metadata and "Project-URL:" in metadata


def test_the_sdist_has_no_screenshots_and_no_test_data(dist):
    [sdist] = dist.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()
    assert any(n.endswith("/LICENSE") for n in names)
    assert any(n.endswith("/src/napari_imagemarker/napari.yaml") for n in names)
    assert not [n for n in names if "/docs/images/" in n or "/tests/" in n]


def test_the_wheel_installs_in_a_clean_venv_and_validates_with_npe2(dist, tmp_path):
    [wheel] = dist.glob("*.whl")
    venv = tmp_path / "venv"
    # nothing of this checkout on the path: the venv sees only what the wheel installs
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True, timeout=300, env=env)
    python = venv / "bin" / "python"
    subprocess.run(
        # npe2 --imports imports the docks, which need a Qt binding: the qt extra
        [str(python), "-m", "pip", "install", "--quiet", f"{wheel}[qt]"],
        check=True,
        capture_output=True,
        timeout=1200,
        env=env,
    )
    result = subprocess.run(
        [str(venv / "bin" / "npe2"), "validate", "--imports", "napari-imagemarker"],
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "valid" in result.stdout
    # the package in the venv is the wheel's, not this checkout's
    where = subprocess.run(
        [str(python), "-c", "import napari_imagemarker; print(napari_imagemarker.__file__)"],
        capture_output=True,
        text=True,
        check=True,
        cwd=tmp_path,
        env=env,
    ).stdout
    assert str(venv) in where

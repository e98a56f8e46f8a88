"""The runtime dependencies in pyproject.toml are exactly what src/ imports.

The imports are read from the source with ``ast``; a distribution's import names come from
the metadata of what is installed (``importlib.metadata.packages_distributions``: scikit-image
gives ``skimage``, pillow ``PIL``, astro-image-display-api ``astro_image_display_api``), and a
requirement's extras (``dask[distributed]``) from that distribution's own metadata. Imports of
packages that are not runtime dependencies must come from an extra. That the package and its
napari manifest import without those extras is what tests/test_packaging.py proves (the wheel
with only the ``qt`` extra passes ``npe2 validate --imports``).
"""

from __future__ import annotations

import ast
import re
import sys
from functools import cache
from importlib import metadata
from pathlib import Path

import pytest
from packaging.requirements import Requirement

tomllib = pytest.importorskip("tomllib")  # Python >= 3.11; the suite runs on 3.12

ROOT = Path(__file__).resolve().parents[1]
SRC = ROOT / "src" / "napari_imagemarker"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
# declared but never imported, on purpose: the reason is the test's answer to "why is it here"
USED_WITHOUT_IMPORT = {
    "imagecodecs": "tifffile decodes the JPEG-compressed STIFF cutouts with it",
}


def _name(dist: str) -> str:
    return re.sub(r"[-_.]+", "-", dist).lower()


def _imports() -> dict[str, set[str]]:
    """Third-party top-level modules imported anywhere in src/ -> the files importing them."""
    found: dict[str, set[str]] = {}
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top not in sys.stdlib_module_names and top != "napari_imagemarker":
                    found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


@cache
def _packages_distributions() -> dict[str, list[str]]:
    return metadata.packages_distributions()


def _modules_of(requirement: str) -> set[str]:
    """The import names a requirement such as ``dask[distributed]>=2024.1`` provides."""
    req = Requirement(requirement)
    provided = {
        module
        for module, dists in _packages_distributions().items()
        if _name(req.name) in {_name(d) for d in dists}
    }
    for extra in req.extras:  # what the distribution's own extra pulls in
        for dep in metadata.requires(req.name) or []:
            dep_req = Requirement(dep)
            if dep_req.marker and dep_req.marker.evaluate({"extra": extra}):
                provided |= _modules_of(dep)
    return provided


def _runtime() -> dict[str, set[str]]:
    return {Requirement(r).name: _modules_of(r) for r in PYPROJECT["dependencies"]}


def _extras() -> dict[str, set[str]]:
    return {
        extra: {
            module
            for r in requirements
            if not Requirement(r).name.startswith("napari-imagemarker")
            for module in _modules_of(r)
        }
        for extra, requirements in PYPROJECT["optional-dependencies"].items()
    }


def test_the_installed_metadata_knows_the_import_names():
    runtime = _runtime()
    assert "skimage" in runtime["scikit-image"]
    assert "PIL" in runtime["pillow"]
    assert "distributed" in runtime["dask"]  # through dask's own extra
    assert "astro_image_display_api" in _extras()["all"]


def test_every_runtime_dependency_is_imported():
    imported = set(_imports())
    unused = {
        name: modules
        for name, modules in _runtime().items()
        if not modules & imported and name not in USED_WITHOUT_IMPORT
    }
    assert not unused, f"declared in dependencies but never imported by src/: {unused}"


def test_every_import_is_declared_at_runtime_or_in_an_extra():
    runtime = set().union(*_runtime().values())
    extras = _extras()
    missing = {
        module: sorted(files)
        for module, files in _imports().items()
        if module not in runtime and not any(module in e for e in extras.values())
    }
    assert not missing, f"imported by src/ but declared nowhere: {missing}"


def test_optional_imports_are_in_the_all_extra_and_qt_bindings_only_in_extras():
    runtime = set().union(*_runtime().values())
    optional = {module for module in _imports() if module not in runtime}
    assert optional <= _extras()["all"], "an optional import missing from the all extra"
    bindings = {"PyQt5", "PyQt6", "PySide2", "PySide6"}
    declared = {_name(Requirement(r).name) for r in PYPROJECT["dependencies"]}
    assert not declared & {_name(b) for b in bindings}, "a Qt binding is a runtime dependency"
    assert "PyQt6" in PYPROJECT["optional-dependencies"]["qt"]
    assert not bindings & set(_imports()), "src/ imports a Qt binding directly, not qtpy"

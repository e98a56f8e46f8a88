"""The package's layering rules, read from the source with ``ast`` (nothing is imported).

1. Only ``napari_imagemarker/_napari/`` imports napari, Qt, vispy or magicgui; model code
   (readers, marks, sessions, catalogs, maskfill) runs in a script without a GUI toolkit.
   ``napari_imagemarker._napari`` itself is imported only from inside it and from the
   public faces listed in ``GUI_FACES``.
2. No import cycle among the package's modules, counting every import: at module level,
   inside functions and under ``TYPE_CHECKING``.
3. No module imports another module's private (``_underscore``) names or modules, nor reads
   a private attribute of a module it imported.
"""

from __future__ import annotations

import ast
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PACKAGE = "napari_imagemarker"
SRC = Path(__file__).resolve().parents[1] / "src" / PACKAGE
GUI_ROOTS = {"napari", "qtpy", "PyQt5", "PyQt6", "PySide2", "PySide6", "vispy", "magicgui"}
GUI_ROOTS |= {"superqt", "app_model", "npe2._inspection"}
GUI_PACKAGE = f"{PACKAGE}._napari"
# Public modules outside _napari that are the documented face of a napari feature: the AIDA
# viewer, and the command line whose `mark` subcommand opens a window (imported lazily).
GUI_FACES = {f"{PACKAGE}.aida", f"{PACKAGE}.cli"}
# Private modules that may be imported, and by whom: the file setuptools-scm writes.
ALLOWED_PRIVATE_MODULES = {f"{PACKAGE}._version": {f"{PACKAGE}.version"}}


@dataclass
class Module:
    name: str
    is_package: bool
    tree: ast.Module
    imports: list[tuple[str, int]] = field(default_factory=list)  # (module, line)
    private_uses: list[tuple[str, int]] = field(default_factory=list)  # (dotted name, line)


def _resolve_relative(module: Module, level: int, target: str | None) -> str:
    parts = module.name.split(".")
    if not module.is_package:
        parts = parts[:-1]
    base = parts[: len(parts) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def analyse(name: str, source: str, is_package: bool, known: set[str]) -> Module:
    """Every import of one module, resolved to package modules where they are ours."""
    module = Module(name, is_package, ast.parse(source))
    module_aliases: dict[str, str] = {}  # local name -> our module it is bound to
    for node in ast.walk(module.tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                module.imports.append((alias.name, node.lineno))
                bound = alias.name if alias.asname else alias.name.split(".")[0]
                if bound in known:
                    module_aliases[alias.asname or bound] = bound
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = _resolve_relative(module, node.level, node.module)
            for alias in node.names:
                candidate = f"{base}.{alias.name}"
                if candidate in known:  # a submodule imported by name
                    module.imports.append((candidate, node.lineno))
                    module_aliases[alias.asname or alias.name] = candidate
                else:
                    module.imports.append((base, node.lineno))
                    if base.startswith(PACKAGE) and _is_private(alias.name):
                        module.private_uses.append((candidate, node.lineno))
    for node in ast.walk(module.tree):
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.value.id in module_aliases
            and _is_private(node.attr)
            and module_aliases[node.value.id] != name
        ):
            module.private_uses.append(
                (f"{module_aliases[node.value.id]}.{node.attr}", node.lineno)
            )
    return module


def load_package(root: Path = SRC, package: str = PACKAGE) -> dict[str, Module]:
    files = {}
    for path in sorted(root.rglob("*.py")):
        rel = path.relative_to(root.parent).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        files[".".join(parts)] = (path, is_package)
    known = set(files)
    return {
        name: analyse(name, path.read_text(encoding="utf-8"), is_pkg, known)
        for name, (path, is_pkg) in files.items()
    }


def _ours(target: str, known: set[str]) -> str | None:
    """The package module an import refers to, or None (another package, or a module that
    is generated at install time such as ``_version``)."""
    return target if target in known else None


def gui_violations(modules: dict[str, Module]) -> list[str]:
    found = []
    for mod in modules.values():
        if mod.name == GUI_PACKAGE or mod.name.startswith(GUI_PACKAGE + "."):
            continue
        for target, line in mod.imports:
            gui_module = target == GUI_PACKAGE or target.startswith(GUI_PACKAGE + ".")
            toolkit = target.split(".")[0] in GUI_ROOTS or target in GUI_ROOTS
            if toolkit or (gui_module and mod.name not in GUI_FACES and mod.name != PACKAGE):
                found.append(f"{mod.name}:{line} imports {target}")
    return found


def import_cycles(modules: dict[str, Module]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan), and self-imports."""
    known = set(modules)
    graph = {
        name: sorted(
            {t for t in (_ours(target, known) for target, _ in mod.imports) if t and t != name}
        )
        for name, mod in modules.items()
    }
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return cycles


def private_violations(modules: dict[str, Module]) -> list[str]:
    known = set(modules)
    found = [
        f"{mod.name}:{line} uses {dotted}"
        for mod in modules.values()
        for dotted, line in mod.private_uses
    ]
    for mod in modules.values():
        for target, line in mod.imports:
            ours = _ours(target, known)
            if ours is None or ours == mod.name:
                continue
            private_parts = [p for p in ours.split(".")[1:] if _is_private(p) and p != "_napari"]
            if not private_parts:
                continue
            if mod.name in ALLOWED_PRIVATE_MODULES.get(ours, set()):
                continue
            found.append(f"{mod.name}:{line} imports private module {ours}")
    return found


# --- the rules on the real package ---------------------------------------------------------


@pytest.fixture(scope="module")
def package():
    return load_package()


def test_the_package_is_read(package):
    # the rules below would pass vacuously on an empty or mis-located tree
    assert f"{PACKAGE}.marking.session" in package
    assert f"{PACKAGE}._napari.marking.dock" in package
    assert len(package) > 50


def test_only_napari_folder_imports_gui_toolkits(package):
    assert gui_violations(package) == []


def test_no_import_cycles(package):
    assert import_cycles(package) == []


def test_no_module_uses_another_modules_private_names(package):
    assert private_violations(package) == []


# --- the rules catch what they are meant to catch ------------------------------------------


def _fake_package(tmp_path: Path, files: dict[str, str]) -> dict[str, Module]:
    root = tmp_path / PACKAGE
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return load_package(root)


def test_a_qt_import_in_a_model_module_is_caught(tmp_path):
    modules = _fake_package(
        tmp_path,
        {
            "__init__.py": "",
            "marking/__init__.py": "",
            "marking/session.py": "def f():\n    from qtpy.QtWidgets import QWidget\n",
            "_napari/__init__.py": "",
            "_napari/dock.py": "import napari\nfrom magicgui import magicgui\n",
        },
    )
    assert gui_violations(modules) == [f"{PACKAGE}.marking.session:2 imports qtpy.QtWidgets"]


def test_a_model_module_importing_the_napari_package_is_caught(tmp_path):
    modules = _fake_package(
        tmp_path,
        {
            "__init__.py": "",
            "marks.py": f"from {PACKAGE}._napari.dock import Dock\n",
            "_napari/__init__.py": "",
            "_napari/dock.py": "",
        },
    )
    assert gui_violations(modules) == [f"{PACKAGE}.marks:1 imports {PACKAGE}._napari.dock"]


def test_a_cycle_hidden_in_a_function_or_type_checking_is_caught(tmp_path):
    modules = _fake_package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": f"from {PACKAGE}.b import g\n",
            "b.py": (
                "from typing import TYPE_CHECKING\n"
                f"if TYPE_CHECKING:\n    from {PACKAGE}.c import h\n"
            ),
            "c.py": f"def h():\n    from {PACKAGE} import a\n",
            "d.py": f"from {PACKAGE}.a import x\n",
        },
    )
    assert import_cycles(modules) == [[f"{PACKAGE}.a", f"{PACKAGE}.b", f"{PACKAGE}.c"]]


def test_relative_imports_are_resolved(tmp_path):
    modules = _fake_package(
        tmp_path,
        {
            "__init__.py": "",
            "pkg/__init__.py": "from .one import x\n",
            "pkg/one.py": "from ..two import y\n",
            "two.py": "from .pkg import one\n",
        },
    )
    assert import_cycles(modules) == [[f"{PACKAGE}.pkg.one", f"{PACKAGE}.two"]]


def test_private_names_modules_and_attributes_are_caught(tmp_path):
    modules = _fake_package(
        tmp_path,
        {
            "__init__.py": "",
            "a.py": "_SECRET = 1\nPUBLIC = 2\n",
            "_hidden.py": "",
            "b.py": (
                f"from {PACKAGE}.a import _SECRET, PUBLIC\n"
                f"from {PACKAGE} import a\n"
                f"import {PACKAGE}._hidden\n"
                "print(a._SECRET, a.PUBLIC, a.__name__)\n"
            ),
        },
    )
    assert sorted(private_violations(modules)) == [
        f"{PACKAGE}.b:1 uses {PACKAGE}.a._SECRET",
        f"{PACKAGE}.b:3 imports private module {PACKAGE}._hidden",
        f"{PACKAGE}.b:4 uses {PACKAGE}.a._SECRET",
    ]

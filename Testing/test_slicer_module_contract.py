"""Static checks of the Slicer modules that running them cannot make.

The modules' real code runs in ``test_slicer_harness.py`` (the .ui loaded strictly, the
parameter-node binding through Slicer's own ``connectGui``, the flows, the self-tests).
Here: every module file compiles with the Python 3.10 grammar (the headless floor); every
``self.ui.<name>`` in the source exists in the .ui, including those on code paths no flow
reaches; every OsteoImaging module they import is in the CMake install list; the logic
layer imports Slicer only in ``osteoimaging.mrml``; the ExtensionsIndex entry matches CMake;
lazy imports resolve.
"""

from __future__ import annotations

import ast
import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from test_cmake_install import package_install_list

ROOT = Path(__file__).resolve().parents[1]
MODULES = ("FocalOsteoDefect", "RadiomicsMRI")


def _source(module: str) -> str:
    return (ROOT / module / f"{module}.py").read_text(encoding="utf-8")


def _ui(module: str) -> ET.Element:
    return ET.parse(ROOT / module / "Resources" / "UI" / f"{module}.ui").getroot()


def _widgets(root: ET.Element) -> dict[str, ET.Element]:
    return {w.get("name"): w for w in root.iter("widget")}


@pytest.mark.parametrize("module", MODULES)
def test_module_compiles_for_python_310(module):
    source = _source(module)
    compile(source, f"{module}.py", "exec")
    ast.parse(source, feature_version=(3, 10))
    classes = {n.name for n in ast.parse(source).body if isinstance(n, ast.ClassDef)}
    assert {module, f"{module}Widget", f"{module}Logic", f"{module}Test"} <= classes


@pytest.mark.parametrize("module", MODULES)
def test_every_ui_name_used_exists(module):
    used = set(re.findall(r"self\.ui\.(\w+)", _source(module)))
    assert used, "the widget uses its .ui"
    missing = used - set(_widgets(_ui(module)))
    assert not missing, f"self.ui names not in the .ui: {missing}"


def _imported_modules(source: str) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {n for n in names if n.split(".")[0] in ("osteoimaging", "OsteoImagingGui")}


def _module_file(name: str) -> str | None:
    base = ROOT / Path(*name.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate.relative_to(ROOT).as_posix()
    return None


@pytest.mark.parametrize("module", MODULES)
def test_cmake_installs_every_module_the_modules_import(module, tmp_path):
    installed = package_install_list(ROOT, tmp_path)
    imported = _imported_modules(_source(module))
    assert imported, "the module imports the OsteoImaging package"
    absent = sorted(name for name in imported if _module_file(name) is None)
    for name in imported:
        path = _module_file(name)
        if path is not None:
            assert path in installed, f"{module} imports {name} but {path} is not installed"
    assert not absent, f"{module} imports modules that do not exist: {absent}"


def test_logic_layer_imports_slicer_only_in_the_bridge():
    forbidden_everywhere = re.compile(r"^(qt|ctk|slicer\.util|slicer\.app)\b")
    slicer_like = re.compile(r"^(slicer|vtk|vtkmodules)\b")
    for path in (ROOT / "osteoimaging").rglob("*.py"):
        relative = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
            elif isinstance(node, ast.Attribute) and ast.unparse(node) in (
                "slicer.util",
                "slicer.app",
            ):
                names = [ast.unparse(node)]
            for name in names:
                assert not forbidden_everywhere.match(name), f"{relative} uses {name}"
                if not relative.startswith("osteoimaging/mrml/"):
                    assert not slicer_like.match(name), f"{relative} imports {name}"


def test_extensions_index_entry_matches_cmake():
    """Resources/SlicerOsteoImaging.json: an ExtensionsIndex catalog entry that matches CMake."""
    import json

    entry = json.loads((ROOT / "Resources" / "SlicerOsteoImaging.json").read_text(encoding="utf-8"))
    assert entry["$schema"].endswith("slicer-extension-catalog-entry-schema-v1.0.1.json#")
    assert set(entry) == {
        "$schema",
        "build_dependencies",
        "build_subdirectory",
        "category",
        "scm_revision",
        "scm_url",
        "tier",
    }
    cmake = (ROOT / "CMakeLists.txt").read_text(encoding="utf-8")
    assert re.search(r"^project\(SlicerOsteoImaging\)$", cmake, re.M)
    category = re.search(r'set\(EXTENSION_CATEGORY "([^"]+)"\)', cmake).group(1)
    assert entry["category"] == category == "Quantification"
    assert entry["scm_url"].endswith(".git")
    for variable in ("HOMEPAGE", "CONTRIBUTORS", "DESCRIPTION", "ICONURL", "SCREENSHOTURLS"):
        assert re.search(rf'set\(EXTENSION_{variable} "[^"]+"\)', cmake), variable
    depends = re.search(r"set\(EXTENSION_DEPENDS ([^)#]+)\)", cmake).group(1).split()
    assert depends == ["SlicerRadiomics"] == entry["build_dependencies"]
    icon = ROOT / "Resources" / "Icons" / "OsteoImaging.png"
    assert icon.read_bytes()[16:24] == (128).to_bytes(4, "big") * 2  # PNG IHDR 128×128
    assert "Resources/Icons/OsteoImaging.png" in cmake
    assert "Resources/Screenshots/focal_module.png" in cmake
    assert (ROOT / "Resources" / "Screenshots" / "focal_module.png").is_file()
    assert entry["scm_url"].rsplit("/", 1)[1] == "SlicerOsteoImaging.git", "repository name"


def _defined_names(path: Path) -> set[str]:
    """Top-level names a module defines or re-exports (incl. a lazy ``_EXPORTS`` table)."""
    names = set()
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Assign | ast.AnnAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names |= {t.id for t in targets if isinstance(t, ast.Name)}
            names |= {
                e.id
                for t in targets
                if isinstance(t, ast.Tuple)
                for e in t.elts
                if isinstance(e, ast.Name)
            }
            if any(isinstance(t, ast.Name) and t.id == "_EXPORTS" for t in targets):
                names |= {k.value for k in node.value.keys if isinstance(k, ast.Constant)}
        elif isinstance(node, ast.ImportFrom | ast.Import):
            names |= {(a.asname or a.name).split(".")[0] for a in node.names}
    return names


def test_lazy_imports_of_the_bridge_and_modules_resolve():
    """Every ``from osteoimaging.X import name`` in the bridge and module files names a
    module and a name that exist (they are imported lazily, so nothing else would notice)."""
    files = [*(ROOT / "osteoimaging" / "mrml").glob("*.py")]
    files += [ROOT / m / f"{m}.py" for m in MODULES]
    bad = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (isinstance(node, ast.ImportFrom) and (node.module or "").startswith("osteo")):
                continue
            target = _module_file(node.module)
            if target is None:
                bad.append(f"{path.name}: no module {node.module}")
                continue
            module_dir = (ROOT / target).parent if target.endswith("__init__.py") else None
            defined = _defined_names(ROOT / target)
            for alias in node.names:
                submodule = module_dir is not None and _module_file(f"{node.module}.{alias.name}")
                if alias.name not in defined and not submodule:
                    bad.append(f"{path.name}: {node.module} has no {alias.name}")
    assert not bad, "\n".join(bad)

"""The Slicer modules' first-use packages: one set of pins, and nothing installed the wrong way.

Each module's ``Resources/requirements.txt`` (read by the module, as Slicer's
``slicer.packaging.load_requirements`` reads it) must pin every package exactly as
``pyproject.toml`` does wherever it lists the package, for Slicer's Python (3.12); the
CMake install must ship the file; no code may use the non-existent ``slicer.pydeps``, and no
file a Slicer process imports may switch matplotlib's backend.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

sys.path.insert(0, str(Path(__file__).parent))
from test_cmake_install import module_cmake_lists

ROOT = Path(__file__).resolve().parents[1]
MODULES = ("FocalOsteoDefect", "RadiomicsMRI")
SLICER_PYTHON = {"python_version": "3.12", "python_full_version": "3.12.10"}


def module_requirements(module: str) -> list[Requirement]:
    lines = (ROOT / module / "Resources" / "requirements.txt").read_text().splitlines()
    return [Requirement(s.strip()) for s in lines if s.strip() and not s.startswith(("#", "-"))]


def pyproject_requirements() -> dict[str, list[Requirement]]:
    """Every requirement of pyproject.toml by canonical name (dependencies and extras),
    keeping those whose marker holds for Slicer's Python."""
    tomllib = pytest.importorskip("tomllib", reason="Python 3.11+ reads pyproject.toml")
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    found: dict[str, list[Requirement]] = {}
    texts = list(project["dependencies"])
    for extra in project["optional-dependencies"].values():
        texts += extra
    for text in texts:
        req = Requirement(text)
        if req.name == "osteoimaging":
            continue
        if req.marker is None or req.marker.evaluate(SLICER_PYTHON):
            found.setdefault(canonicalize_name(req.name), []).append(req)
    return found


@pytest.mark.parametrize("module", MODULES)
def test_module_pins_agree_with_pyproject(module):
    declared = pyproject_requirements()
    requirements = module_requirements(module)
    assert requirements, f"{module} lists its first-use packages"
    for req in requirements:
        name = canonicalize_name(req.name)
        assert name in declared, f"{req} is not in pyproject.toml (one set of pins)"
        for other in declared[name]:
            assert other.specifier == req.specifier, f"{module}: {req} but pyproject: {other}"


def test_first_use_packages_are_not_bundled_and_focal_needs_no_matplotlib():
    bundled = (
        {
            canonicalize_name(line.split("==")[0])
            for line in (ROOT.parent / "shared/slicer-python/5.12.3/bundled-packages.txt")
            .read_text()
            .splitlines()
            if line and not line.startswith("#")
        }
        if (ROOT.parent / "shared/slicer-python").is_dir()
        else set()
    )
    focal = {canonicalize_name(r.name) for r in module_requirements("FocalOsteoDefect")}
    assert focal == {"numba", "jinja2", "torch", "monai"}
    assert "matplotlib" not in focal
    for module in MODULES:
        names = {canonicalize_name(r.name) for r in module_requirements(module)}
        assert not names & bundled, f"{module} would install what Slicer bundles"


@pytest.mark.parametrize("module", MODULES)
def test_cmake_installs_the_requirements_file(module, tmp_path):
    resources = module_cmake_lists(module, tmp_path)["RESOURCES"]
    assert "Resources/requirements.txt" in resources


def _slicer_side_files() -> list[Path]:
    files = [ROOT / m / f"{m}.py" for m in MODULES]
    files += sorted((ROOT / "OsteoImagingGui").glob("*.py"))
    files += sorted((ROOT / "osteoimaging" / "mrml").glob("*.py"))
    return files


def test_no_pydeps_and_no_global_matplotlib_backend():
    for path in [*_slicer_side_files(), *(ROOT / "docs").glob("slicer*.md")]:
        text = path.read_text(encoding="utf-8")
        assert "pydeps" not in text, f"{path.name}: slicer.pydeps does not exist"
    for path in _slicer_side_files():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"matplotlib\.use\(", text), f"{path.name} switches the backend"
        assert not re.search(r"^\s*(import|from) matplotlib", text, re.M), path.name

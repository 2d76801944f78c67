"""Project-shape rules that reviewers would otherwise check by hand."""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "osteoimaging"
FORBIDDEN_ANYWHERE = {"qt", "ctk", "slicer.util", "PythonQt"}
FORBIDDEN_OUTSIDE_MRML = {"slicer", "vtk", "qt", "ctk"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _py_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_logic_layer_has_no_gui_imports():
    bad = []
    for path in _py_files():
        in_mrml = "mrml" in path.relative_to(PACKAGE).parts
        forbidden = FORBIDDEN_ANYWHERE if in_mrml else FORBIDDEN_OUTSIDE_MRML
        for name in _imports(path):
            if name.split(".")[0] in forbidden or name in forbidden:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "\n".join(bad)


def test_one_logger_per_package():
    bad = []
    for path in _py_files():
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"logging\.getLogger\(([^)]*)\)", text):
            if path.name != "log.py":
                bad.append(f"{path.relative_to(ROOT)}: getLogger({match.group(1)})")
    assert not bad, "use osteoimaging.log.logger:\n" + "\n".join(bad)


def test_no_print_of_patient_fields():
    """No code reads DICOM patient name/ID/birth date tags."""
    bad = []
    for path in _py_files():
        text = path.read_text(encoding="utf-8")
        for tag in (
            "0010|0010",
            "0010|0020",
            "0010|0030",
            "PatientName",
            "PatientID",
            "PatientBirthDate",
        ):
            if tag in text:
                bad.append(f"{path.relative_to(ROOT)} mentions {tag}")
    assert not bad, "\n".join(bad)


def test_ruff_clean():
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        pytest.skip("ruff is not installed (it is in the [test] extra)")
    out = subprocess.run(
        [ruff, "check", "--no-cache", str(ROOT)],
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
    )
    assert out.returncode == 0, out.stdout + out.stderr


def test_readme_test_command_is_what_ci_runs():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```(?:bash|sh)\n(.*?)```", readme, flags=re.S)
    assert len(blocks) >= 2, "README must start with two command blocks"
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    command = blocks[1].strip()
    assert command in ci, f".ci/run must run the README's test command verbatim:\n{command}"

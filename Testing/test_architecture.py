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
STATION = ROOT / "osteostation"
FORBIDDEN_ANYWHERE = {"qt", "ctk", "slicer.util", "PythonQt"}
#: The web front end's stack: only the station (osteostation) imports it.
TRAME = {"trame", "trame_slicer", "trame_rca", "trame_server", "trame_client", "trame_vuetify"}
FORBIDDEN_OUTSIDE_MRML = {"slicer", "vtk", "vtkmodules", "qt", "ctk"} | TRAME


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


def _module_level_imports(path: Path) -> set[str]:
    """Imports executed when the module is imported (not those inside functions)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def test_logic_layer_has_no_gui_imports():
    bad = []
    for path in _py_files():
        in_mrml = "mrml" in path.relative_to(PACKAGE).parts
        forbidden = FORBIDDEN_ANYWHERE | TRAME if in_mrml else FORBIDDEN_OUTSIDE_MRML
        for name in _imports(path):
            if name.split(".")[0] in forbidden or name in forbidden:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert not bad, "\n".join(bad)


def test_station_is_a_front_end_without_qt():
    """osteostation may import slicer (slicer-core) and trame, never Qt; osteoimaging
    imports it only inside a function (``osteo station`` on a core install)."""
    bad = []
    for path in sorted(STATION.rglob("*.py")):
        for name in _imports(path):
            if name.split(".")[0] in FORBIDDEN_ANYWHERE or name in FORBIDDEN_ANYWHERE:
                bad.append(f"{path.relative_to(ROOT)} imports {name}")
    for path in _py_files():
        for name in _module_level_imports(path):
            if name.split(".")[0] == "osteostation":
                bad.append(f"{path.relative_to(ROOT)} imports {name} at module level")
    assert not bad, "\n".join(bad)


def test_one_logger_per_package():
    bad = []
    for path in _py_files():
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"logging\.getLogger\(([^)]*)\)", text):
            if path.name != "log.py":
                bad.append(f"{path.relative_to(ROOT)}: getLogger({match.group(1)})")
    assert not bad, "use osteoimaging.log.logger:\n" + "\n".join(bad)


PATIENT_FIELDS = (
    "0010|0010",
    "0010|0020",
    "0010|0030",
    "PatientName",
    "PatientID",
    "PatientBirthDate",
)
# Only the DICOM writers handle the patient module (to copy it or de-identify it).
PATIENT_MODULE_PACKAGE = PACKAGE / "dicom"


def _reporting_calls(tree: ast.AST):
    """Calls that log, print, warn or build an exception message."""
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        owner = func.value if isinstance(func, ast.Attribute) else None
        if (
            (isinstance(owner, ast.Name) and owner.id in ("logger", "logging", "warnings"))
            or name in ("print", "warn")
            or name.endswith(("Error", "Exception"))
        ):
            yield node


def test_no_print_of_patient_fields():
    """No code reads DICOM patient name/ID/birth date tags, except osteoimaging/dicom/
    (which copies or de-identifies the patient module) — and that never logs, prints or
    puts them in an error message."""
    bad = []
    for path in _py_files():
        text = path.read_text(encoding="utf-8")
        if path.is_relative_to(PATIENT_MODULE_PACKAGE):
            tree = ast.parse(text, filename=str(path))
            for call in _reporting_calls(tree):
                source = ast.unparse(call)
                bad += [
                    f"{path.relative_to(ROOT)}:{call.lineno} reports {tag}"
                    for tag in PATIENT_FIELDS
                    if tag in source
                ]
            continue
        for tag in PATIENT_FIELDS:
            if tag in text:
                bad.append(f"{path.relative_to(ROOT)} mentions {tag}")
    assert not bad, "\n".join(bad)


def test_patient_field_rule_sees_a_logged_name(tmp_path):
    """The rule above catches a patient field in a log call, an f-string or an error."""
    for snippet in (
        "logger.info('%s', ds.PatientName)",
        "raise InputError(f'{ds.PatientID} bad')",
        "print(ds.PatientBirthDate)",
    ):
        calls = list(_reporting_calls(ast.parse(snippet)))
        assert calls and any(tag in ast.unparse(calls[0]) for tag in PATIENT_FIELDS), snippet
    assert not list(_reporting_calls(ast.parse("ds.PatientName = pseudonym.patient_name")))


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

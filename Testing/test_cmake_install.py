"""The extension's CMake install lists contain every file the Slicer modules need.

Runs the real CMake logic in script mode (``cmake -P``, the cmake from pip): the GLOB
that installs the ``osteoimaging`` package, and each module's own CMakeLists.txt with
Slicer's macros replaced by recorders of their arguments.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MODULES = ("FocalOsteoDefect", "RadiomicsMRI")
PACKAGES = ("osteoimaging", "OsteoImagingGui")


def _run_cmake(*args: str) -> None:
    out = subprocess.run([_cmake(), *args], capture_output=True, text=True)
    assert out.returncode == 0, f"cmake {' '.join(args)} failed:\n{out.stdout}{out.stderr}"


def _cmake() -> str:
    found = shutil.which("cmake", path=str(Path(sys.executable).parent)) or shutil.which("cmake")
    if found is None:
        pytest.skip("cmake not installed (pip install cmake)")
    return found


def package_install_list(source_dir: Path, tmp_path: Path) -> set[str]:
    out = tmp_path / "install_list.txt"
    _run_cmake(
        f"-DOSTEOIMAGING_SOURCE_DIR={source_dir}",
        f"-DOSTEOIMAGING_LIST_FILE={out}",
        "-P",
        str(ROOT / "CMake" / "OsteoImagingLogicFiles.cmake"),
    )
    return {line for line in out.read_text(encoding="utf-8").splitlines() if line}


def module_cmake_lists(module: str, tmp_path: Path) -> dict[str, list[str]]:
    """SCRIPTS and RESOURCES a module's CMakeLists.txt passes to slicerMacroBuildScriptedModule."""
    out = tmp_path / f"{module}.txt"
    script = tmp_path / f"{module}.cmake"
    script.write_text(
        f"""
macro(slicerMacroBuildScriptedModule)
  cmake_parse_arguments(ARG "WITH_GENERIC_TESTS" "NAME" "SCRIPTS;RESOURCES" ${{ARGN}})
  file(WRITE "{out.as_posix()}" "NAME=${{ARG_NAME}}\\nSCRIPTS=${{ARG_SCRIPTS}}\\n")
  file(APPEND "{out.as_posix()}" "RESOURCES=${{ARG_RESOURCES}}\\n")
  file(APPEND "{out.as_posix()}" "GENERIC=${{ARG_WITH_GENERIC_TESTS}}\\n")
endmacro()
macro(slicer_add_python_unittest)
  file(APPEND "{out.as_posix()}" "UNITTEST=${{ARGN}}\\n")
endmacro()
set(BUILD_TESTING ON)
include("{(ROOT / module / "CMakeLists.txt").as_posix()}")
""",
        encoding="utf-8",
    )
    _run_cmake("-P", str(script))
    entries = dict(line.split("=", 1) for line in out.read_text(encoding="utf-8").splitlines())
    return {key: [v for v in value.split(";") if v] for key, value in entries.items()}


def package_files(source_dir: Path) -> set[str]:
    """Every file of the installed packages (code and data), caches excluded."""
    files = set()
    for package in PACKAGES:
        for path in (source_dir / package).rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.add(path.relative_to(source_dir).as_posix())
    return files


def test_every_package_file_is_installed(tmp_path):
    installed = package_install_list(ROOT, tmp_path)
    missing = package_files(ROOT) - installed
    assert not missing, f"not in the CMake install list: {sorted(missing)}"
    assert "osteoimaging/mrml/volumes.py" in installed
    assert all((ROOT / f).is_file() for f in installed)


def test_validation_studies_are_not_installed(tmp_path):
    """The validation studies stay in the checkout (issue 13): nothing of studies/ (nor the
    former osteoimaging/experiments and osteoimaging/microarchitecture) reaches Slicer; the
    ``osteo validate`` command itself is installed and says where the studies are."""
    installed = package_install_list(ROOT, tmp_path)
    moved = ("studies/", "osteoimaging/experiments/", "osteoimaging/microarchitecture/")
    assert not [f for f in installed if f.startswith(moved)]
    assert "osteoimaging/cli/validate.py" in installed
    assert (ROOT / "studies" / "run.py").is_file()  # the studies exist next to the package


def test_a_new_file_is_picked_up(tmp_path):
    """The list is a GLOB, not a hand-kept list: a new module and data file appear in it."""
    tree = tmp_path / "tree"
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    (tree / "osteoimaging" / "newpart").mkdir()
    (tree / "osteoimaging" / "newpart" / "thing.py").write_text("X = 1\n", encoding="utf-8")
    (tree / "osteoimaging" / "newpart" / "preset.yaml").write_text("a: 1\n", encoding="utf-8")
    installed = package_install_list(tree, tmp_path)
    assert {"osteoimaging/newpart/thing.py", "osteoimaging/newpart/preset.yaml"} <= installed
    assert package_files(tree) <= installed


def test_an_unlisted_data_type_is_caught(tmp_path):
    """A package file whose type the install patterns do not cover fails the check."""
    tree = tmp_path / "tree"
    for package in PACKAGES:
        shutil.copytree(
            ROOT / package, tree / package, ignore=shutil.ignore_patterns("__pycache__")
        )
    (tree / "osteoimaging" / "weights.npz").write_bytes(b"\0")
    assert package_files(tree) - package_install_list(tree, tmp_path) == {
        "osteoimaging/weights.npz"
    }


@pytest.mark.parametrize("module", MODULES)
def test_module_cmake_lists_its_files(module, tmp_path):
    lists = module_cmake_lists(module, tmp_path)
    assert lists["NAME"] == [module]
    assert lists["GENERIC"] == ["TRUE"]
    assert lists["UNITTEST"] == ["SCRIPT", f"{module}.py"]
    module_dir = ROOT / module
    needed = {f"{module}.py"} | {
        p.relative_to(module_dir).as_posix()
        for p in (module_dir / "Resources").rglob("*")
        if p.is_file()
    }
    listed = set(lists["SCRIPTS"]) | set(lists["RESOURCES"])
    assert needed == listed, (
        f"needed but not listed: {needed - listed}; listed, absent: {listed - needed}"
    )
    assert f"Resources/UI/{module}.ui" in listed and f"Resources/Icons/{module}.png" in listed


STUB_SLICER_CONFIG = """
# Stand-in for Slicer's SlicerConfig.cmake: records what the extension hands to its macros.
set(Slicer_FOUND TRUE)
set(Slicer_USE_FILE "${CMAKE_CURRENT_LIST_DIR}/UseSlicer.cmake")
set(Slicer_EXTENSION_GENERATE_CONFIG "${CMAKE_CURRENT_LIST_DIR}/Empty.cmake")
set(Slicer_EXTENSION_CPACK "${CMAKE_CURRENT_LIST_DIR}/Empty.cmake")
"""
STUB_USE_SLICER = """
set(Slicer_QTSCRIPTEDMODULES_LIB_DIR "lib/Slicer-5.11/qt-scripted-modules")
set(Slicer_INSTALL_QTSCRIPTEDMODULES_LIB_DIR "lib/Slicer-5.11/qt-scripted-modules")
set(_record "${CMAKE_BINARY_DIR}/slicer_macros.txt")
file(WRITE "${_record}" "")
function(ctkMacroCompilePythonScript)
  cmake_parse_arguments(A "NO_INSTALL_SUBDIR" "TARGET_NAME;DESTINATION_DIR;INSTALL_DIR"
    "SCRIPTS;RESOURCES" ${ARGN})
  file(APPEND "${_record}"
    "compile|${CMAKE_CURRENT_SOURCE_DIR}|${A_SCRIPTS}|${A_RESOURCES}|${A_INSTALL_DIR}\\n")
endfunction()
function(slicerMacroBuildScriptedModule)
  cmake_parse_arguments(A "WITH_GENERIC_TESTS" "NAME" "SCRIPTS;RESOURCES" ${ARGN})
  file(APPEND "${_record}"
    "module|${CMAKE_CURRENT_SOURCE_DIR}|${A_NAME}|${A_WITH_GENERIC_TESTS}\\n")
endfunction()
function(slicer_add_python_unittest)
  file(APPEND "${_record}" "unittest|${ARGN}\\n")
endfunction()
"""


def test_top_level_cmake_configures_and_installs_the_package(tmp_path):
    """Configure the real top-level CMakeLists.txt against a stand-in Slicer: the package
    files reach ctkMacroCompilePythonScript with the scripted-modules install folder, and
    both modules are built with generic tests and their unit test."""
    if shutil.which("c++") is None and shutil.which("g++") is None:
        pytest.skip("no C++ compiler: project() cannot configure")
    stub = tmp_path / "stub"
    stub.mkdir()
    (stub / "SlicerConfig.cmake").write_text(STUB_SLICER_CONFIG, encoding="utf-8")
    (stub / "UseSlicer.cmake").write_text(STUB_USE_SLICER, encoding="utf-8")
    (stub / "Empty.cmake").write_text("", encoding="utf-8")
    build = tmp_path / "build"
    _run_cmake("-S", str(ROOT), "-B", str(build), f"-DSlicer_DIR={stub}", "-DBUILD_TESTING=ON")
    records = [
        line.split("|")
        for line in (build / "slicer_macros.txt").read_text(encoding="utf-8").splitlines()
    ]
    [compile_record] = [r for r in records if r[0] == "compile"]
    _, source, scripts, resources, install_dir = compile_record
    assert Path(source) == ROOT
    assert install_dir == "lib/Slicer-5.11/qt-scripted-modules"
    listed = set(scripts.split(";")) | set(filter(None, resources.split(";")))
    assert listed == package_files(ROOT)
    modules = {(Path(r[1]).name, r[2], r[3]) for r in records if r[0] == "module"}
    assert modules == {(m, m, "TRUE") for m in MODULES}
    unittests = {r[1] for r in records if r[0] == "unittest"}
    assert unittests == {f"SCRIPT;{m}.py" for m in MODULES}

"""The modules' Logic and self-test classes, run headless on a real MRML scene.

Slicer's Qt-side Python is replaced by the minimal stand-ins of ``slicer_stubs`` (test
harness only); MRML, the module logics and the computations are real.
"""

from __future__ import annotations

import pytest
from mrml_harness import module_of_this_tree
from slicer_stubs import load_module_file


def _run_self_test(module, name: str) -> None:
    case = getattr(module, f"{name}Test")()
    case.setUp()
    for test in [t for t in dir(case) if t.startswith("test_")]:
        getattr(case, test)()


@pytest.mark.slow
def test_focal_module_self_test(slicer_app, monkeypatch):
    """FocalOsteoDefectTest: the phantom, two levels through the module's Logic."""
    module_of_this_tree("osteoimaging.focal")
    module_of_this_tree("osteoimaging.subregions")
    module = load_module_file(monkeypatch, slicer_app, "FocalOsteoDefect")
    _run_self_test(module, "FocalOsteoDefect")


def test_focal_module_logic_choices(slicer_app, monkeypatch):
    """Calibration and parameters the Logic builds from the parameter node."""
    module = load_module_file(monkeypatch, slicer_app, "FocalOsteoDefect")
    logic = module.FocalOsteoDefectLogic()
    p = logic.getParameterNode()
    assert p.level == "L1" and p.calibration is module.CalibrationSource.NONE
    assert logic.calibration(p).is_identity
    p.calibration = module.CalibrationSource.MANUAL
    p.calibrationSlope, p.calibrationIntercept = 0.8, -5.0
    calibration = logic.calibration(p)
    assert (calibration.slope, calibration.intercept, calibration.source) == (0.8, -5.0, "manual")
    assert [m.value for m in module.MapKind] == [
        "focal_bmc_loss",
        "focal_bmd_loss",
        "intercept_width",
        "coverage",
        "bmd",
    ]
    assert module.MapKind.FOCAL_BMD_LOSS.label() == "Focal BMD loss"
    module_of_this_tree("osteoimaging.focal")
    p.spacingMm, p.aggregation, p.mode = 0.4, "line", "3d"
    params = logic.focalParameters(p)
    assert (params.spacing_mm, params.aggregation, params.mode) == (0.4, "line", "3d")
    assert logic.resultsTable(None) is None


def test_radiomics_module_self_test(slicer_app, monkeypatch):
    """RadiomicsMRITest: extraction of a synthetic L1–L4 spine through the module's Logic."""
    module_of_this_tree("osteoimaging.radiomics")
    pytest.importorskip("radiomics", reason="pyradiomics not installed")
    module = load_module_file(monkeypatch, slicer_app, "RadiomicsMRI")
    _run_self_test(module, "RadiomicsMRI")
    logic = module.RadiomicsMRILogic()
    p = logic.getParameterNode()
    assert logic.model(p).name == "published-reference-study"
    scores = logic.applyModel(p)
    assert scores.GetNumberOfRows() == 5  # L1–L4 and the patient

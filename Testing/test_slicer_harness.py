"""The Slicer modules' real code on Slicer's real Python layer (5.10.0 and 5.12.3), headless.

``Testing/slicer_harness`` runs ``../shared/slicer-python/<version>/slicer`` (util,
ScriptedLoadableModule, parameterNodeWrapper, i18n, packaging) on slicer-core's MRML with
strict stand-ins for the Qt/CTK/qMRML widgets. The first tests prove the stand-ins strict;
the rest run each module's setup from its .ui, the parameter-node binding through the real
``connectGui``, the user flows, ``cleanup()`` and the modules' own self-tests.
"""

from __future__ import annotations

import csv
import unittest
from pathlib import Path

import numpy as np
import pytest
from slicer_harness import (
    VERSIONS,
    NotStoodIn,
    SignatureError,
    SlicerSession,
    flows,
    missing_reason,
)

pytestmark = pytest.mark.skipif(missing_reason() is not None, reason=str(missing_reason()))


@pytest.fixture
def session(request, tmp_path):
    """A started Slicer of the parametrized version with both modules loaded."""
    options = getattr(request, "param", {})
    version = options.get("version", VERSIONS[-1])
    s = SlicerSession(version, workdir=str(tmp_path), **options.get("session", {}))
    try:
        yield flows.start(s)
    finally:
        s.close()


def _versions(**session):
    return pytest.mark.parametrize(
        "session",
        [{"version": v, "session": session} for v in VERSIONS],
        indirect=True,
        ids=VERSIONS,
    )


# -- the stand-ins are strict -----------------------------------------------------------------


def test_unknown_attributes_and_methods_raise(session):
    import ctk
    import qt

    button = qt.QPushButton("Apply")
    with pytest.raises(NotStoodIn):
        button.enable = False  # a typo of 'enabled': Qt has no such property
    with pytest.raises(NotStoodIn):
        button.setFlat(True)  # exists in Qt, not stood in: never faked
    with pytest.raises(NotStoodIn):
        _ = qt.QMessageBox.Help
    with pytest.raises(NotStoodIn):
        ctk.ctkPathLineEdit().currentFile  # noqa: B018
    with pytest.raises(NotStoodIn):
        session.slicer.qMRMLNodeComboBox().setCurrentNodeIndex(0)


def test_path_line_edit_filters_are_ctk_flags(session):
    import ctk

    edit = ctk.ctkPathLineEdit()
    edit.filters = "ctkPathLineEdit::Dirs|ctkPathLineEdit::Readable"  # as a .ui <set> names them
    assert edit.filters == 0x011
    for wrong in ("ctkPathLineEdit::Dir", "QDir::Dirs"):
        with pytest.raises(NotStoodIn):
            edit.filters = wrong
    with pytest.raises(SignatureError):
        edit.filters = True


def test_signals_carry_their_types(session):
    import qt

    button = qt.QPushButton()
    with pytest.raises(SignatureError):
        button.connect("clicked(int)", lambda: None)
    with pytest.raises(SignatureError):
        button.connect("triggered()", lambda: None)
    got = []
    button.connect("clicked(bool)", got.append)
    button.connect("clicked()", lambda *a: got.append(a))
    button.click()
    assert got == [False, ()]
    button.enabled = False
    assert button.click() is False and len(got) == 2  # a disabled button ignores clicks
    combo = session.slicer.qMRMLNodeComboBox()
    with pytest.raises(SignatureError):
        combo._emit("currentNodeChanged(vtkMRMLNode*)", "not a node")
    with pytest.raises(SignatureError):
        combo.connect("currentNodeChanged(vtkMRMLScalarVolumeNode*)", lambda n: None)


def test_node_combo_boxes_honour_types_none_and_add(session):
    scene = session.scene
    combo = session.slicer.qMRMLNodeComboBox()
    combo.nodeTypes = ["vtkMRMLScalarVolumeNode"]
    combo.showChildNodeTypes = False
    combo.noneEnabled = False
    combo.addEnabled = False
    label = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "labels")
    combo.setMRMLScene(scene)
    assert combo.currentNode() is None  # a label map is not a plain scalar volume here
    ct = scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "CT")
    assert combo.currentNode() is ct, "with noneEnabled off the first node is selected"
    with pytest.raises(SignatureError):
        combo.setCurrentNode(label)
    with pytest.raises(SignatureError):
        combo.userAddNode()
    seeds = session.slicer.qMRMLNodeComboBox()
    seeds.nodeTypes = ["vtkMRMLMarkupsFiducialNode"]
    seeds.noneEnabled = True
    seeds.setMRMLScene(scene)
    assert seeds.currentNode() is None
    added = seeds.userAddNode()
    assert seeds.currentNode() is added and added.IsA("vtkMRMLMarkupsFiducialNode")
    scene.RemoveNode(added)
    assert seeds.currentNode() is None
    combo.release()
    seeds.release()


_UI = """<?xml version="1.0" encoding="UTF-8"?>
<ui version="4.0"><class>T</class>
 <widget class="qMRMLWidget" name="T"><layout class="QVBoxLayout" name="l"><item>
  <widget class="{cls}" name="w"><property name="{prop}"><bool>true</bool></property></widget>
 </item></layout></widget>
 <connections><connection><sender>T</sender><signal>mrmlSceneChanged(vtkMRMLScene*)</signal>
  <receiver>w</receiver><slot>{slot}</slot></connection></connections>
</ui>"""


@pytest.mark.parametrize(
    ("cls", "prop", "slot", "error"),
    [
        ("qMRMLNodeComboBox", "noneEnabled", "setMRMLScene(vtkMRMLScene*)", None),
        ("qMRMLNodeComboBox", "noneEnable", "setMRMLScene(vtkMRMLScene*)", NotStoodIn),
        ("qMRMLNodeComboBox", "noneEnabled", "setMRMLScene(vtkMRMLNode*)", SignatureError),
        ("qMRMLNodeComboBoxes", "noneEnabled", "setMRMLScene(vtkMRMLScene*)", NotStoodIn),
    ],
)
def test_load_ui_reads_the_xml_strictly(session, tmp_path, cls, prop, slot, error):
    path = tmp_path / "T.ui"
    path.write_text(_UI.format(cls=cls, prop=prop, slot=slot))
    if error is None:
        top = session.slicer.util.loadUI(str(path))
        top.setMRMLScene(session.scene)
        assert top.findChild(object, "w").noneEnabled is True
        assert top.findChild(object, "w").mrmlScene() is session.scene
    else:
        with pytest.raises(error):
            session.slicer.util.loadUI(str(path))


# -- setup, binding, flows and self-tests, for both Slicer versions ----------------------------


@_versions()
def test_setup_binds_the_ui_to_the_parameter_node(session):
    widget = session.open_module("FocalOsteoDefect")
    ui = widget.ui
    _check_binding(widget, ui)
    radiomics = session.open_module("RadiomicsMRI")
    assert radiomics.ui.modelFilePathLineEdit.currentPath == ""
    assert not radiomics.ui.extractButton.enabled
    flows.check_cleanup(session)
    assert not session.slot_errors()


def _check_binding(widget, ui):
    p = widget._parameterNode
    bound = {
        w.property("SlicerParameterName")
        for w in vars(ui).values()
        if w.property("SlicerParameterName")
    }
    assert bound == set(type(p).allParameters), "every field has its widget and vice versa"
    assert ui.levelComboBox.currentText == "L1" and ui.opacitySlider.value == 0.6
    assert ui.profilePathLineEdit.currentPath == "", "an unset path shows an empty field"
    ui.levelComboBox.setCurrentText("L3")  # widget → parameter node
    assert p.level == "L3"
    p.erosionMm = 4.5  # parameter node → widget
    assert ui.erosionSpinBox.value == 4.5
    p.calibrationProfileFile = Path("/data/profile.json")
    assert ui.profilePathLineEdit.currentPath == "/data/profile.json"
    assert not ui.manualCalibrationWidget.isVisible()
    flows.choose(ui.calibrationComboBox, "Manual slope / intercept")
    assert ui.manualCalibrationWidget.isVisible()
    try:
        flows.set_value(ui.spacingSpinBox, 0.5)
    except flows.UserActionError as error:
        assert "not visible" in str(error)  # inside the collapsed Advanced section
    else:
        raise AssertionError("a widget in a collapsed section could be used")


@pytest.mark.slow
@_versions()
def test_focal_flow(session, tmp_path):
    """CT → click a seed → Apply → segment, maps, legend, table → report, table, overlay."""
    result = flows.focal_flow(session, tmp_path / "out", sample=False)
    (row,) = result.rows  # the one row schema of every front end
    assert row["level"] == "L1" and row["focal_bmc_loss_mm"] > 0 and row["qc"] in ("ok", "flagged")
    report = result.files["report"].read_text(encoding="utf-8")
    assert 'id="level-L1"' in report and report.count("data:image/png;base64,") >= 3
    assert result.files["overlay"].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with open(result.files["table"], newline="", encoding="utf-8") as f:
        assert next(csv.reader(f))[:4] == ["level", "source", "qc", "qc_flags"]
    assert result.answered == [], "nothing to install: no dialog"
    assert session.used_core_modules() <= set(session.module_dependencies("FocalOsteoDefect"))
    flows.check_cleanup(session)


@pytest.mark.slow
@_versions()
def test_radiomics_flow(session, tmp_path):
    pytest.importorskip("radiomics", reason="pyradiomics not installed")
    result = flows.radiomics_flow(session, tmp_path / "out")
    assert result["chart"].GetYAxisRange() == (0.0, 1.0)
    assert session.used_core_modules() <= set(session.module_dependencies("RadiomicsMRI"))
    flows.check_cleanup(session)


@pytest.mark.slow
@_versions()
def test_module_self_tests(session):
    """Each module's ScriptedLoadableModuleTest, run as Slicer's Reload and Test does."""
    pytest.importorskip("radiomics", reason="pyradiomics not installed")
    session.slicer.modules.FocalOsteoDefectInstance.runTest(msec=0)
    session.slicer.modules.RadiomicsMRIInstance.runTest(msec=0)
    assert not session.slot_errors()


@pytest.mark.slow
@pytest.mark.parametrize(
    "session",
    [{"version": v, "session": {"hide_packages": {"numba": "numba"}}} for v in VERSIONS],
    indirect=True,
    ids=VERSIONS,
)
def test_declining_numba_still_measures(session, tmp_path):
    result = flows.focal_flow(session, tmp_path / "out", numba_answer="Cancel", sample=False)
    ((title, text, button),) = result.answered
    assert "Install Python Packages" in title and "numba" in text and button == 0x400000
    assert any("numba is not installed" in m for m in result.status)
    assert [r["level"] for r in result.rows] == ["L1"]


@pytest.mark.parametrize(
    "session",
    [{"version": v, "session": {"hide_packages": {"Jinja2": "jinja2"}}} for v in VERSIONS],
    indirect=True,
    ids=VERSIONS,
)
def test_declining_jinja2_writes_no_report(session, tmp_path):
    widget = session.open_module("FocalOsteoDefect")
    session.app.answer("Install Python Packages", "Cancel")
    flows.click(widget.ui.saveReportButton)  # no file dialog follows
    assert any("Jinja2" in m for m in session.app.status_messages())
    assert not session.app.unused_answers() and not session.slot_errors()


@pytest.mark.parametrize(
    "session",
    [
        {
            "version": v,
            "session": {"testing": True, "hide_packages": {"pyradiomics-bhklab": "radiomics"}},
        }
        for v in VERSIONS
    ],
    indirect=True,
    ids=VERSIONS,
)
def test_self_test_never_installs(session):
    """In testing mode (ctest) nothing is installed and the radiomics self-test says why it
    skips; the install helper refuses without showing a dialog."""
    from OsteoImagingGui import ensure_requirements, module_requirements

    with pytest.raises(unittest.SkipTest, match="SlicerRadiomics"):
        session.slicer.modules.RadiomicsMRIInstance.runTest(msec=0)
    reqs = module_requirements(flows.radiomics_module_path(), "pyradiomics-bhklab")
    assert ensure_requirements(reqs, "test") is False
    assert session.app.record.dialogs == []


@pytest.mark.parametrize(
    "session", [{"session": {"source_checkout": True}}], indirect=True, ids=["source-checkout"]
)
def test_modules_run_from_a_source_checkout(session):
    """--additional-module-paths <repo>/FocalOsteoDefect <repo>/RadiomicsMRI with nothing
    installed: the modules find osteoimaging and OsteoImagingGui in the checkout."""
    import osteoimaging

    assert Path(osteoimaging.__file__).resolve().parents[1] == flows.ROOT
    widget = session.open_module("FocalOsteoDefect")
    assert widget.ui.applyButton is not None and not session.slot_errors()


def test_demo_vertebra_is_registered_as_sample_data(session):
    from osteoimaging.mrml.sample_data import DEMO_FILE_NAME

    sources = session.slicer.modules.sampleDataSources["OsteoImaging"]
    (source,) = sources
    assert source.sampleName == "OsteoImagingDemoVertebra"
    assert source.fileNames == [DEMO_FILE_NAME] and source.uris[0].startswith("file://")
    assert source.customDownloader is session.modules["FocalOsteoDefect"].loadDemoVertebra


@_versions()
def test_cancel_in_the_progress_dialog_stops_the_measurement(session):
    """The user presses Cancel: nothing is stored, the status bar says so, Apply is back."""
    flows.add_small_vertebra(session)
    seg = session.scene.GetFirstNodeByName("OsteoImagingDemoVertebra segments")
    widget = session.open_module("FocalOsteoDefect")
    flows.select_node(widget.ui.segmentationSelector, seg)
    session.app.cancel_progress_when(lambda dialog: True)
    flows.click(widget.ui.applyButton)
    assert session.app.progress_dialogs[-1].wasCanceled
    assert widget.ui.resultsTableView.mrmlTableNode() is None
    assert any("cancelled" in m for m in session.app.status_messages())
    assert widget.ui.applyButton.enabled and not session.slot_errors()


@pytest.mark.slow
@pytest.mark.shared_data
def test_export_to_dicom(session, tmp_path, shared_data):
    """A CT loaded with the DICOM module, T12 measured from a segment, Export to DICOM: the
    SEG decodes to the segment on the source grid and the SR holds the table's values."""
    pytest.importorskip("highdicom")
    from osteoimaging.dicom import read_dicom_source, read_measurement_report, read_segmentation
    from osteoimaging.imageio import read_image
    from osteoimaging.mrml.segmentations import mask_to_segment, new_segmentation_node
    from osteoimaging.mrml.tables import table_rows
    from osteoimaging.validation import read_mask

    series = shared_data("ct/totalseg-dicom/series")
    ct = read_image(series)
    ct_node = session.add_dicom_series(ct, series)
    t12 = read_mask(shared_data("ct/totalseg-dicom/example_seg_dicom.nii.gz"), ct, label=32,
                    resample=True)  # fmt: skip
    seg = new_segmentation_node(session.scene, "TotalSegmentator", ct_node)
    mask_to_segment(t12, seg, "T12")
    widget = session.open_module("FocalOsteoDefect")
    ui, p = widget.ui, widget._parameterNode
    flows.select_node(ui.inputVolumeSelector, ct_node)
    flows.select_node(ui.segmentationSelector, seg)
    p.level, p.angleStepDeg = "T12", 30.0
    flows.click(ui.applyButton)
    assert not session.slot_errors(), session.slot_errors()[0][2]
    [row] = table_rows(ui.resultsTableView.mrmlTableNode())
    out = tmp_path / "dicom"
    out.mkdir()
    session.app.answer_file(str(out))
    flows.click(ui.exportDicomButton)
    assert not session.slot_errors(), session.slot_errors()[0][2]
    assert {"seg.dcm", "sr.dcm", "pm_T12_focal_bmc_loss.dcm"} <= {f.name for f in out.iterdir()}
    source = read_dicom_source(series)
    body = read_segmentation(out / "seg.dcm", source)["T12 vertebral body"]
    assert np.array_equal(body.array, t12.array)
    (group,) = read_measurement_report(out / "sr.dcm").values()
    assert group["measurements"]["focal_bmc_loss"][0] == pytest.approx(row["focal_bmc_loss_mm"])
    assert any("Wrote" in m for m in session.app.status_messages())


@pytest.mark.parametrize(
    "session",
    [{"version": "5.10.0", "session": {"hide_packages": {"highdicom": "highdicom"}}}],
    indirect=True,
    ids=["5.10.0-without-highdicom"],
)
def test_export_to_dicom_without_highdicom_says_why(session):
    """Slicer 5.10 bundles no highdicom (and installing it would replace Slicer's pydicom):
    the button explains instead of asking for a folder."""
    widget = session.open_module("FocalOsteoDefect")
    flows.click(widget.ui.exportDicomButton)
    assert not session.slot_errors()
    assert session.app.record.file_dialogs == []
    assert any("DICOM export is not available" in m for m in session.app.status_messages())


# -- Opportunistic screening (chest CT) ---------------------------------------------------------


@_versions()
def test_screening_section_applies_a_saved_model(session, tmp_path):
    """Model folder, segments, muscle and height through the widgets → Apply model: the
    table holds screen_ct_node's values for the same inputs, the Grad-CAM map is shown over
    the CT with its legend, and nothing else in the views changes."""
    pytest.importorskip("torch")
    pytest.importorskip("monai")
    from osteoimaging.mrml.maps import legend_node
    from osteoimaging.mrml.screening import screen_ct_node
    from osteoimaging.mrml.tables import table_rows
    from osteoimaging.screening.baselines import l1_rule

    case = flows.screening_case(session, tmp_path / "model")
    widget = session.open_module("FocalOsteoDefect")
    ui, p = widget.ui, widget._parameterNode
    assert ui.inputVolumeSelector.currentNode() is case.ct_node
    assert not ui.screeningApplyButton.isVisible(), "the section starts collapsed"
    flows.expand(ui.screeningCollapsibleButton)  # torch and MONAI installed: no dialog
    assert not ui.screeningInstallButton.isVisible() and ui.screeningInputsWidget.isEnabled()
    assert ui.screeningModelPathLineEdit.filters & 0x001, "a folder, not a file"
    assert not ui.screeningApplyButton.enabled and "folder of your model" in (
        ui.screeningStatusLabel.text
    )
    flows.type_text(ui.screeningModelPathLineEdit, str(case.model_dir))
    assert p.screeningModelFolder == case.model_dir
    assert "No segmentation" in ui.screeningStatusLabel.text and not ui.screeningApplyButton.enabled
    flows.select_node(ui.segmentationSelector, case.segmentation)
    flows.type_text(ui.screeningMuscleSegmentLineEdit, "skeletal muscle")
    flows.set_value(ui.screeningHeightSpinBox, round(case.truth["height_m"], 2))
    height = p.screeningHeightM
    assert height == pytest.approx(case.truth["height_m"], abs=0.005)
    status = ui.screeningStatusLabel.text
    assert "small at T12" in status and "segment 'T12' of 'chest segments'" in status
    assert ui.screeningApplyButton.enabled
    before = flows.view_state(session)

    session.app.cancel_progress_when(lambda dialog: True)  # Cancel before the model runs
    flows.click(ui.screeningApplyButton)
    session.app._cancel_rules.clear()
    assert any("cancelled" in m for m in session.app.status_messages())
    assert session.scene.GetFirstNodeByName("Grad-CAM T12") is None
    assert ui.screeningTableView.mrmlTableNode() is None and flows.view_state(session) == before

    second_clicks = []
    session.app.during_events(
        lambda: second_clicks.append(ui.screeningApplyButton.click()) if not second_clicks else None
    )
    flows.click(ui.screeningApplyButton)
    session.app._event_hooks.clear()
    assert not session.slot_errors(), session.slot_errors()[0][2]
    assert second_clicks == [False], "Apply model could be clicked while it ran"
    assert ui.screeningApplyButton.enabled, "Apply model is available again"

    map_node = session.scene.GetFirstNodeByName("Grad-CAM T12")
    assert map_node is not None and map_node.GetAttribute("OsteoImaging.map") == "gradcam"
    assert legend_node(map_node).GetVisibility()
    after = flows.view_state(session)
    assert after["layout"] == before["layout"]
    for name in session.app.layout_manager.sliceViewNames():
        assert after[name]["foreground"] == map_node.GetID()
        assert after[name]["background"] == case.ct_node.GetID()
        for key in ("label", "slice_to_ras", "field_of_view", "orientation"):
            assert after[name][key] == before[name][key], f"{name} view's {key} changed"

    table = ui.screeningTableView.mrmlTableNode()
    assert table is not None and table.GetName().startswith("OsteoImaging screening")
    rows = {r["key"]: r for r in table_rows(table)}
    assert list(next(iter(rows.values()))) == ["key", "measure", "value", "unit", "reading"]
    expected, _ = screen_ct_node(
        case.ct_node, case.masks, case.model_dir, muscle=case.muscle, height_m=height, show=False
    )
    for key in ("cnn_probability", "l1_hu", "level_hu", "muscle_area_cm2", "height_m",
                "smi_cm2_m2", "cam_mass_body", "cam_mass_muscle"):  # fmt: skip
        assert rows[key]["value"] == pytest.approx(expected[key], rel=1e-9), key
    assert np.isfinite(rows["smi_cm2_m2"]["value"]) and np.isfinite(rows["l1_hu"]["value"])
    assert rows["cnn_positive"]["value"] == float(expected["cnn_probability"] >= 0.5)
    assert "no cut-off" in rows["cnn_probability"]["reading"]
    for t in (110, 135):
        assert rows[f"below_{t}_hu"]["value"] == l1_rule(expected["l1_hu"], t)
    assert rows["muscle_area_cm2"]["reading"] == "segment skeletal muscle"
    assert session.app.record.dialogs == [] and not session.app.unused_answers()
    del p  # the parameter node wrapper: check_cleanup wants none held
    flows.check_cleanup(session)


@pytest.mark.parametrize(
    "session",
    [
        {"version": v, "session": {"hide_packages": {"torch": "torch", "monai": "monai"}}}
        for v in VERSIONS
    ],
    indirect=True,
    ids=VERSIONS,
)
def test_declining_torch_disables_the_screening_section(session):
    """Opening the section the first time offers torch and MONAI with the download note;
    declined, the section stays disabled and says why, and is not offered again on
    reopening (the install button asks again)."""
    widget = session.open_module("FocalOsteoDefect")
    ui = widget.ui
    session.app.answer("Install Python Packages", "Cancel")
    flows.expand(ui.screeningCollapsibleButton)
    ((title, text, button),) = session.app.record.answered
    assert "Install Python Packages" in title and button == 0x400000
    for words in ("torch", "monai", "CPU build is enough", "Windows", "macOS", "Linux",
                  "download.pytorch.org/whl/cpu"):  # fmt: skip
        assert words in text, words
    assert not ui.screeningInputsWidget.isEnabled() and not ui.screeningApplyButton.isEnabled()
    assert "not installed" in ui.screeningStatusLabel.text
    assert ui.screeningInstallButton.isVisible() and ui.screeningInstallButton.isEnabled()
    assert any("not installed" in m for m in session.app.status_messages())
    with pytest.raises(flows.UserActionError, match="disabled"):
        flows.type_text(ui.screeningModelPathLineEdit, "/models/mine")
    flows.click(ui.screeningCollapsibleButton)  # collapse, reopen: not asked again
    flows.expand(ui.screeningCollapsibleButton)
    assert len(session.app.record.dialogs) == 1
    session.app.answer("Install Python Packages", "Cancel")
    flows.click(ui.screeningInstallButton)  # the user asks again
    assert len(session.app.record.dialogs) == 2 and not ui.screeningInputsWidget.isEnabled()
    assert not session.slot_errors() and not session.app.unused_answers()

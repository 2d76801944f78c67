"""What a user does in the OsteoImaging modules, step by step, on a :class:`SlicerSession`.

Every step goes through the widgets as a user would (a hidden or disabled widget cannot be
used: :class:`UserActionError`), and checks what the user would see. Used by the pytest
suite for both Slicer versions and by ``.ci/bundled-only`` (``python -m slicer_harness``).
"""

from __future__ import annotations

import csv
import gc
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .ctkwidgets import qMRMLNodeComboBox
from .qobject import SignatureError
from .session import ROOT, SlicerSession


class UserActionError(AssertionError):
    """Something a user could not do (the widget is hidden or disabled)."""


def _usable(widget) -> None:
    if not widget.isVisible():
        raise UserActionError(f"{widget!r} is not visible")
    if not widget.isEnabled():
        raise UserActionError(f"{widget!r} is disabled")


def click(widget) -> None:
    _usable(widget)
    widget.click()


def set_value(widget, value) -> None:
    _usable(widget)
    widget.value = value


def type_text(widget, text: str) -> None:
    """Type into a line edit or a path line edit."""
    _usable(widget)
    if hasattr(type(widget), "_set_currentPath"):
        widget.currentPath = text
    else:
        widget.text = text
        widget._emit("textEdited(QString)", text)
        widget._emit("editingFinished()")


def choose(combo, text: str) -> None:
    """Pick an item of a combo box by its text (emits ``activated`` as Qt does)."""
    _usable(combo)
    index = combo.findText(text)
    if index < 0:
        raise UserActionError(f"{combo!r} has no item {text!r}")
    combo.currentIndex = index
    combo._emit("activated(int)", index)


def select_node(combo: qMRMLNodeComboBox, node) -> None:
    try:
        combo.userSelect(node)
    except SignatureError as error:
        raise UserActionError(str(error)) from error


def expand(collapsible) -> None:
    if collapsible.collapsed:
        click(collapsible)


def click_slice_view(session: SlicerSession, ras) -> None:
    """A left click at RAS in a slice view: places a point if place mode is on (what the
    markups displayable manager does), else does nothing to the scene."""
    app_logic = session.core.app_logic
    interaction, selection = app_logic.GetInteractionNode(), app_logic.GetSelectionNode()
    if interaction.GetCurrentInteractionMode() != interaction.Place:
        raise UserActionError("no place mode: clicking the view does not add a point")
    node = session.scene.GetNodeByID(selection.GetActivePlaceNodeID())
    if node is None or node.GetClassName() != selection.GetActivePlaceNodeClassName():
        raise UserActionError("place mode has no active point list")
    node.AddControlPoint(*[float(x) for x in ras])
    if not interaction.GetPlaceModePersistence():
        interaction.SetCurrentInteractionMode(interaction.ViewTransform)


def check_cleanup(session: SlicerSession, names=("FocalOsteoDefect", "RadiomicsMRI")) -> None:
    """Leave and unload the modules; nothing of their widgets may still observe anything:
    no VTK observation of the widget (the scene's close events, the parameter node), no
    observer on the parameter nodes once the caller holds no wrapper of them, no GUI
    connector still connected to a widget signal.

    Slicer 5.10.0's ``disconnectGui`` leaves its own GUI-update observer on the parameter
    node (5.12 removes it: ``_guiVtkObserverTags`` in parameterNodeWrapper/wrapper.py); a
    module cannot remove it, so on 5.10.0 the parameter-node check is not made.
    """
    import vtk
    from slicer.parameterNodeWrapper import GuiConnector

    problems = []
    parameter_nodes = []
    for name in [n for n in names if n in session.panels]:
        widget = getattr(session.slicer.modules, f"{name}Widget")
        parameter_nodes.append((name, widget.logic.getParameterNode().parameterNode))
        session.leave_module(name)
        session.unload_module(name)
        if widget.Observations:
            problems.append(f"{name} widget observations left: {widget.Observations}")
        for w in session.panels[name].findChildren(object):
            for signature, slot in w.connections():
                if isinstance(getattr(slot, "__self__", None), GuiConnector):
                    problems.append(f"{w!r} {signature} still drives {name}'s parameter node")
    gc.collect()
    for name, node in parameter_nodes:
        if session.version != "5.10.0" and node.HasObserver(vtk.vtkCommand.ModifiedEvent):
            problems.append(f"{name}'s parameter node is still observed")
    if problems:
        raise AssertionError("cleanup() left: " + "; ".join(problems))


@dataclass
class FocalFlowResult:
    version: str
    seconds: dict[str, float] = field(default_factory=dict)
    rows: list = field(default_factory=list)
    files: dict[str, Path] = field(default_factory=dict)
    status: list[str] = field(default_factory=list)
    answered: list = field(default_factory=list)


def demo_seed_ras(session: SlicerSession, segmentation_name: str) -> np.ndarray:
    """The centre of the sample's body segment, where a user would click (RAS)."""
    from osteoimaging.mrml.segmentations import find_segment, segment_to_mask

    seg = session.slicer.util.getNode(segmentation_name)
    ct = session.slicer.util.getNode("OsteoImagingDemoVertebra")
    mask = segment_to_mask(seg, find_segment(seg, "L1"), ct)
    centre_ijk = np.argwhere(mask.array).mean(axis=0)[::-1]  # (k, j, i) → (i, j, k)
    lps = mask.index_to_physical(np.round(centre_ijk))
    return np.array([-lps[0], -lps[1], lps[2]])


def add_small_vertebra(session: SlicerSession) -> None:
    """A smaller phantom than the demo's (the module self-test's), named like the sample."""
    from osteoimaging.mrml.segmentations import mask_to_segment, new_segmentation_node
    from osteoimaging.mrml.volumes import volume_to_node
    from osteoimaging.phantoms import small_case, vertebra_ct

    ct, mask, _ = vertebra_ct(small_case())
    node = volume_to_node(ct, session.scene, "OsteoImagingDemoVertebra")
    seg = new_segmentation_node(session.scene, "OsteoImagingDemoVertebra segments", node)
    mask_to_segment(mask, seg, "L1")


def focal_flow(
    session: SlicerSession,
    out: Path,
    numba_answer: str | None = None,
    jinja_answer: str | None = None,
    coarse: bool = True,
    sample: bool = True,
) -> FocalFlowResult:
    """Sample data → seed click → Apply → maps, table, legend → report, table, overlay.

    ``numba_answer``/``jinja_answer``: how the user answers the install dialog for numba
    (Apply) and Jinja2 (Save report) — None when no dialog is expected (installed).
    ``sample``: load the demo vertebra through Sample Data (else a smaller phantom).
    """
    from osteoimaging.mrml.maps import legend_node
    from osteoimaging.mrml.tables import table_rows
    from osteoimaging.mrml.views import composite_nodes

    from .sampledata import click_sample

    out.mkdir(parents=True, exist_ok=True)
    result = FocalFlowResult(session.version)
    clock = time.perf_counter()
    if sample:
        click_sample("OsteoImagingDemoVertebra")
    else:
        add_small_vertebra(session)
    result.seconds["sample data"] = time.perf_counter() - clock
    widget = session.open_module("FocalOsteoDefect")
    ui, p = widget.ui, widget._parameterNode
    ct = session.slicer.util.getNode("OsteoImagingDemoVertebra")
    assert ui.inputVolumeSelector.currentNode() is ct, "the CT is preselected"
    assert not ui.applyButton.enabled, "Apply needs a seed or a segmentation"
    assert not ui.manualCalibrationWidget.isVisible()

    click(ui.placeSeedButton)
    click_slice_view(session, demo_seed_ras(session, "OsteoImagingDemoVertebra segments"))
    assert p.seedPoints.GetNumberOfControlPoints() == 1
    choose(ui.calibrationComboBox, "Manual slope / intercept")
    set_value(ui.slopeSpinBox, 0.8)  # the phantom's own HU → BMD relation
    set_value(ui.interceptSpinBox, -5.0)
    if coarse:
        expand(ui.advancedCollapsibleButton)
        set_value(ui.spacingSpinBox, 0.5)
        set_value(ui.angleStepSpinBox, 30.0)
    assert (p.calibrationSlope, p.calibrationIntercept, p.spacingMm) == (
        0.8,
        -5.0,
        0.5 if coarse else 0.3,
    )

    second_clicks = []
    session.app.during_events(
        lambda: second_clicks.append(ui.applyButton.click()) if not second_clicks else None
    )
    if numba_answer is not None:
        session.app.answer("Install Python Packages", numba_answer)
    clock = time.perf_counter()
    click(ui.applyButton)
    result.seconds["apply"] = time.perf_counter() - clock
    assert second_clicks == [False], f"Apply could be clicked while it was running: {second_clicks}"
    session.app._event_hooks.clear()
    errors = session.slot_errors()
    assert not errors, errors[0][2]

    segmentation = session.scene.GetFirstNodeByName("OsteoImaging vertebrae")
    assert segmentation is not None and segmentation.GetSegmentation().GetSegmentIdBySegmentName(
        "L1"
    ), "the grown body is segment L1"
    table = ui.resultsTableView.mrmlTableNode()
    assert table is not None, "the results table is shown"
    result.rows = table_rows(table)
    assert [r["level"] for r in result.rows] == ["L1"]
    shown = widget.logic.mapNode(ct, "L1", "focal_bmc_loss")
    for composite in composite_nodes(session.scene):
        assert composite.GetForegroundVolumeID() == shown.GetID()
        assert composite.GetBackgroundVolumeID() == ct.GetID()
    assert legend_node(shown).GetVisibility()
    assert not legend_node(widget.logic.mapNode(ct, "L1", "bmd")).GetVisibility()
    assert ui.applyButton.enabled, "Apply is available again"

    overlay = out / "focal_overlay.png"
    session.app.layout_manager.sliceWidget("Red").sliceView().grab().save(str(overlay))
    result.files["overlay"] = overlay
    if jinja_answer is not None:
        session.app.answer("Install Python Packages", jinja_answer)
    report = out / "focal_report.html"
    session.app.answer_file(str(report))
    clock = time.perf_counter()
    click(ui.saveReportButton)
    result.seconds["report"] = time.perf_counter() - clock
    result.files["report"] = report
    csv_path = out / "focal_results.csv"
    session.app.answer_file(str(csv_path))
    click(ui.exportTableButton)
    result.files["table"] = csv_path
    errors = session.slot_errors()
    assert not errors, errors[0][2]
    assert not session.app.unused_answers(), session.app.unused_answers()
    assert session.app.override_cursor_depth == 0, "a wait cursor was left on"
    result.status = session.app.status_messages()
    result.answered = list(session.app.record.answered)
    return result


def radiomics_phantom(session: SlicerSession):
    """Synthetic T1/T2 with four vertebral bodies (the module self-test's), in the scene."""
    from osteoimaging.mrml.segmentations import mask_to_segment, new_segmentation_node
    from osteoimaging.mrml.volumes import volume_to_node
    from osteoimaging.volume import Volume

    rng = np.random.default_rng(0)
    shape = (64, 48, 48)
    t1 = Volume(rng.normal(300, 30, shape).astype(np.float32), (0.8, 0.8, 1.0))
    t2 = t1.with_array(rng.normal(200, 20, shape).astype(np.float32))
    t1_node = volume_to_node(t1, session.scene, "T1")
    t2_node = volume_to_node(t2, session.scene, "T2")
    seg = new_segmentation_node(session.scene, "Spine", t1_node)
    for n, level in enumerate(("L1", "L2", "L3", "L4")):
        mask = t1.with_array(np.zeros(shape, bool))
        mask.array[2 + 15 * n : 12 + 15 * n, 14:34, 14:34] = True
        mask_to_segment(mask, seg, level)
    return t1_node, t2_node, seg


def radiomics_flow(session: SlicerSession, out: Path) -> dict:
    """Volumes and segmentation → Extract → Apply model → cohort CSV → Show ROC."""
    out.mkdir(parents=True, exist_ok=True)
    t1, t2, seg = radiomics_phantom(session)
    widget = session.open_module("RadiomicsMRI")
    ui, p = widget.ui, widget._parameterNode
    select_node(ui.t1VolumeSelector, t1)
    select_node(ui.t2VolumeSelector, t2)
    select_node(ui.segmentationSelector, seg)
    assert not ui.applyModelButton.enabled
    click(ui.extractButton)
    features = ui.featuresTableView.mrmlTableNode()
    assert features is not None and features.GetNumberOfRows() == 5
    # The published radscore needs the study's unpublished training z-scoring and refuses
    # raw features; a model saved from the user's own cohort applies.
    model = out / "cohort_model.json"
    cohort_model(features, model)
    expand(ui.modelCollapsibleButton) if hasattr(ui, "modelCollapsibleButton") else None
    choose(ui.modelSourceComboBox, "Saved model file")
    type_text(ui.modelFilePathLineEdit, str(model))
    click(ui.applyModelButton)
    scores = ui.scoresTableView.mrmlTableNode()
    assert scores is not None and scores.GetNumberOfRows() == 5
    cohort = out / "cohort_scores.csv"
    rng = np.random.default_rng(1)
    with open(cohort, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["radscore", "abnormal"])
        for i in range(40):
            writer.writerow([f"{rng.normal(i % 2, 1.0):.4f}", i % 2])
    expand(ui.evaluationCollapsibleButton) if hasattr(ui, "evaluationCollapsibleButton") else None
    type_text(ui.cohortScoresPathLineEdit, str(cohort))
    assert p.cohortScoresFile == cohort
    click(ui.rocButton)
    errors = session.slot_errors()
    assert not errors, errors[0][2]
    chart = session.scene.GetFirstNodeByName("Radscore ROC")
    views = session.slicer.util.getNodesByClass("vtkMRMLPlotViewNode")
    assert views and views[0].GetPlotChartNodeID() == chart.GetID(), "the ROC is in a plot view"
    assert not chart.GetXAxisRangeAuto() and tuple(chart.GetXAxisRange()) == (0.0, 1.0)
    return {"features": features, "scores": scores, "chart": chart}


def cohort_model(features_node, path: Path) -> Path:
    """A saved radscore model (the published model's features and coefficients) whose
    training means and SDs are a cohort that holds these features (test data only)."""
    from osteoimaging.mrml.radiomics_workflow import table_to_frame
    from osteoimaging.radiomics import published_model, save_model

    model = published_model()
    frame = table_to_frame(features_node)
    model.means = [float(frame[f].mean()) for f in model.features]
    model.sds = [
        max(float(frame[f].std()), 1e-6 + abs(float(frame[f].mean()))) for f in model.features
    ]
    model.name, model.warning = "test cohort model", ""
    return save_model(model, path)


def focal_module_path() -> Path:
    return ROOT / "FocalOsteoDefect" / "FocalOsteoDefect.py"


def radiomics_module_path() -> Path:
    return ROOT / "RadiomicsMRI" / "RadiomicsMRI.py"


def start(session: SlicerSession) -> SlicerSession:
    """Load both modules (as the extension's module paths do) and finish start-up."""
    session.load_module(focal_module_path())
    session.load_module(radiomics_module_path())
    session.start()
    return session


@dataclass
class ScreeningCase:
    """A small saved screening model and a synthetic chest CT with its segments."""

    model_dir: Path
    ct_node: object
    segmentation: object
    masks: dict
    muscle: object
    truth: dict


def screening_case(session: SlicerSession, folder: Path) -> ScreeningCase:
    """A CI-sized saved model (as Testing/test_screening_mrml.py builds it: small DenseNet,
    64² input of 3 mm pixels, untrained) and synthetic chest CT 0 at 2 mm with segments
    ``T12``, ``L1`` and ``skeletal muscle`` (the label map's bodies and muscle)."""
    from osteoimaging.mrml.segmentations import mask_to_segment, new_segmentation_node
    from osteoimaging.mrml.volumes import volume_to_node
    from osteoimaging.screening.model import ModelConfig, build_model, save_model
    from osteoimaging.screening.prep import PrepParams
    from osteoimaging.screening.synth import MUSCLE_LABEL, CohortSpec, synth_case

    config = ModelConfig(architecture="small", threads=1)
    prep = PrepParams(size_px=64, pixel_mm=3.0)
    model_dir = save_model(folder, build_model(config, prep.channels), config, prep, {})
    ct, labels, truth = synth_case(CohortSpec(scene_mm=2.0, inplane_mm=(1.8, 2.0)), 0)
    ct_node = volume_to_node(ct, session.scene, "chest CT")
    seg = new_segmentation_node(session.scene, "chest segments", ct_node)
    masks = {"T12": ct.with_array(labels.array == 32), "L1": ct.with_array(labels.array == 31)}
    muscle = ct.with_array(labels.array == MUSCLE_LABEL)
    for name, mask in [*masks.items(), ("skeletal muscle", muscle)]:
        mask_to_segment(mask, seg, name)
    return ScreeningCase(model_dir, ct_node, seg, masks, muscle, truth)


def view_state(session: SlicerSession) -> dict:
    """What the slice views show and where (layers, opacity, slice geometry, layout)."""
    import vtk

    state = {"layout": session.app.layout_manager.layout}
    for name in session.app.layout_manager.sliceViewNames():
        logic = session.app.layout_manager.sliceWidget(name).sliceLogic()
        composite, node = logic.GetSliceCompositeNode(), logic.GetSliceNode()
        matrix = vtk.vtkMatrix4x4()
        matrix.DeepCopy(node.GetSliceToRAS())
        state[name] = {
            "background": composite.GetBackgroundVolumeID(),
            "foreground": composite.GetForegroundVolumeID(),
            "label": composite.GetLabelVolumeID(),
            "foreground_opacity": composite.GetForegroundOpacity(),
            "slice_to_ras": [matrix.GetElement(r, c) for r in range(4) for c in range(4)],
            "field_of_view": tuple(node.GetFieldOfView()),
            "orientation": node.GetOrientation(),
        }
    return state

"""FocalOsteoDefect: focal osteoporosis defect maps of a vertebral body on routine CT.

A thin Slicer front end: the widget binds its .ui to a parameter node, owns the progress
dialog and error display; the Logic hands MRML nodes to :mod:`osteoimaging.mrml`, which
converts them and calls the headless logic layer (Li C et al., JOR Spine 2022;5:e1195).
"""

import enum
import importlib.util
import logging
import sys
import time
from pathlib import Path
from typing import Annotated

# Started from a source checkout (--additional-module-paths <repo>/FocalOsteoDefect), the
# packages osteoimaging and OsteoImagingGui are one folder up; an installed extension has
# them beside this file (on sys.path already).
if importlib.util.find_spec("OsteoImagingGui") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import slicer
from slicer import (
    vtkMRMLMarkupsFiducialNode,
    vtkMRMLScalarVolumeNode,
    vtkMRMLSegmentationNode,
)
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import Choice, WithinRange, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
)

from osteoimaging.calibration.linear import LinearCalibration
from osteoimaging.errors import InputError
from osteoimaging.mrml import focal_workflow as workflow
from osteoimaging.mrml.maps import MAP_KEYS, legend_node, style_for
from osteoimaging.mrml.views import composite_nodes
from OsteoImagingGui import (
    ParameterNodeWidget,
    ensure_requirements,
    folder_name,
    module_requirements,
    save_file_name,
    warn,
)

SAMPLE_NAME = "OsteoImagingDemoVertebra"


class FocalOsteoDefect(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("Focal Osteoporosis Defect")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Quantification")]
        self.parent.dependencies = ["Markups", "Segmentations"]
        self.parent.contributors = ["OsteoImaging developers (OsteoImaging project)"]
        self.parent.helpText = _(
            "Maps focal bone loss in a vertebral body on routine CT: choose the CT, click the "
            "vertebral body (or pick a segment), the level and calibration, then Apply. "
            "Measure L1, L2, … one after another; the table collects one row per level."
        )
        self.parent.acknowledgementText = _(
            "Method after Li C et al., Focal osteoporosis defects, JOR Spine 2022;5(1):e1195."
        )
        slicer.app.connect("startupCompleted()", registerSampleData)


def registerSampleData():
    """The demo vertebra of ``osteo demo`` in the Sample Data module (generated, not downloaded)."""
    import SampleData

    from osteoimaging.mrml.sample_data import DEMO_FILE_NAME, demo_cache_uri

    SampleData.SampleDataLogic.registerCustomSampleDataSource(
        category="OsteoImaging",
        sampleName=SAMPLE_NAME,
        uris=demo_cache_uri(slicer.mrmlScene),
        fileNames=DEMO_FILE_NAME,
        nodeNames=SAMPLE_NAME,
        thumbnailFileName=str(Path(__file__).parent / "Resources/Icons/FocalOsteoDefect.png"),
        customDownloader=loadDemoVertebra,
    )


def loadDemoVertebra(source=None):
    """Generate the demo vertebra (seeded, about 10 s) and add it to the scene."""
    from osteoimaging.mrml.sample_data import add_demo_vertebra

    with slicer.util.WaitCursor():
        return add_demo_vertebra(slicer.mrmlScene, SAMPLE_NAME)


class CalibrationSource(enum.Enum):
    NONE = "none"
    PROFILE = "profile"
    MANUAL = "manual"
    PHANTOM = "phantom"

    def label(self):
        return {
            "none": _("None (values in HU)"),
            "profile": _("Calibration profile (file)"),
            "manual": _("Manual slope / intercept"),
            "phantom": _("Phantom in this scan"),
        }[self.value]


MapKind = enum.Enum("MapKind", {key.upper(): key for key in MAP_KEYS})
MapKind.label = lambda self: style_for(self.value).label


@parameterNodeWrapper
class FocalOsteoDefectParameterNode:
    inputVolume: vtkMRMLScalarVolumeNode
    seedPoints: vtkMRMLMarkupsFiducialNode
    segmentation: vtkMRMLSegmentationNode
    segmentName: str = ""
    level: Annotated[str, Choice(list(workflow.LEVELS))] = "L1"
    calibration: CalibrationSource = CalibrationSource.NONE
    calibrationProfileFile: Path | None
    calibrationSlope: Annotated[float, WithinRange(0.001, 10.0)] = 1.0
    calibrationIntercept: Annotated[float, WithinRange(-1000.0, 1000.0)] = 0.0
    phantomInserts: vtkMRMLMarkupsFiducialNode
    spacingMm: Annotated[float, WithinRange(0.1, 2.0)] = 0.3
    sigmaMm: Annotated[float, WithinRange(0.0, 3.0)] = 0.3
    erosionMm: Annotated[float, WithinRange(0.0, 20.0)] = 6.0
    angleStepDeg: Annotated[float, WithinRange(1.0, 90.0)] = 12.0
    aggregation: Annotated[str, Choice(["local", "line"])] = "local"
    mode: Annotated[str, Choice(["2d", "3d"])] = "2d"
    alignment: bool = True
    displayedMap: MapKind = MapKind.FOCAL_BMC_LOSS
    overlayOpacity: Annotated[float, WithinRange(0.0, 1.0)] = 0.6


class FocalOsteoDefectWidget(ParameterNodeWidget):
    uiName = "FocalOsteoDefect"

    @property
    def logicClass(self):
        return FocalOsteoDefectLogic

    def connectButtons(self):
        self.ui.placeSeedButton.connect("clicked(bool)", self.onPlaceSeed)
        self.ui.applyButton.connect("clicked(bool)", self.onApply)
        self.ui.recomputeButton.connect("clicked(bool)", self.onRecompute)
        self.ui.saveReportButton.connect("clicked(bool)", self.onSaveReport)
        self.ui.exportTableButton.connect("clicked(bool)", self.onExportTable)
        self.ui.exportDicomButton.connect("clicked(bool)", self.onExportDicom)
        self.ui.saveSceneButton.connect("clicked(bool)", self.onSaveScene)
        # The user picks a map or moves the opacity: only then are the views touched.
        self.ui.mapComboBox.connect("activated(int)", self.onShowMap)
        self.ui.opacitySlider.connect("valueChanged(double)", self.onOpacity)

    def initializeParameterNode(self):
        super().initializeParameterNode()
        if not self._parameterNode.inputVolume:
            first = slicer.mrmlScene.GetFirstNodeByClass("vtkMRMLScalarVolumeNode")
            if first:
                self._parameterNode.inputVolume = first

    def onParameters(self, caller=None, event=None):
        """Enable what can run; list the CT's results. Never touches the views."""
        p = self._parameterNode
        idle = not self._running
        self.ui.applyButton.enabled = idle and bool(
            p.inputVolume and (p.seedPoints or p.segmentation)
        )
        self.ui.recomputeButton.enabled = (
            idle
            and bool(p.inputVolume)
            and (bool(p.segmentation) or self.logic.hasSegment(p.inputVolume, p.level))
        )
        self.ui.manualCalibrationWidget.visible = p.calibration == CalibrationSource.MANUAL
        self.ui.profilePathLineEdit.enabled = p.calibration == CalibrationSource.PROFILE
        self.ui.phantomInsertsSelector.enabled = p.calibration == CalibrationSource.PHANTOM
        self.ui.resultsTableView.setMRMLTableNode(self.logic.resultsTable(p.inputVolume))

    def onPlaceSeed(self):
        p = self._parameterNode
        if not p.seedPoints:
            p.seedPoints = slicer.mrmlScene.AddNewNodeByClass(
                "vtkMRMLMarkupsFiducialNode", _("Seed")
            )
        p.seedPoints.RemoveAllControlPoints()
        markupsLogic = slicer.modules.markups.logic()
        markupsLogic.SetActiveList(p.seedPoints)
        markupsLogic.StartPlaceMode(False)

    def _measure(self, recompute):
        p = self._parameterNode
        if not ensure_requirements(
            module_requirements(__file__, "numba"), _("The focal defect measurement")
        ):
            warn(_("numba is not installed: measuring without it, which is slower."))
        title = _("Measuring {level}").format(level=p.level)
        buttons = (self.ui.applyButton, self.ui.recomputeButton)
        work = lambda progress: self.logic.process(p, progress, recompute)  # noqa: E731
        run = self.runWork(title, work, buttons)
        if run is not None:
            self.logic.showMap(p.inputVolume, p.level, p.displayedMap.value, p.overlayOpacity)

    def onApply(self):
        self._measure(recompute=False)

    def onRecompute(self):
        self._measure(recompute=True)

    def onShowMap(self, index=None):
        p = self._parameterNode
        if p is not None:
            self.logic.showMap(p.inputVolume, p.level, p.displayedMap.value, p.overlayOpacity)

    def onOpacity(self, value):
        p = self._parameterNode
        if p is not None:
            self.logic.setOpacity(p.inputVolume, p.level, p.displayedMap.value, value)

    def _saveAs(self, caption, name, fileFilter, save):
        path = save_file_name(caption, name, fileFilter)
        if path:
            with slicer.util.tryWithErrorDisplay(
                _("{caption} failed.").format(caption=caption), waitCursor=True
            ):
                save(path)

    def onSaveReport(self):
        if not ensure_requirements(module_requirements(__file__, "Jinja2"), _("The report")):
            warn(_("The HTML report needs the Jinja2 package; it was not installed."))
            return

        def save(path):
            self.logic.saveReport(path, self._parameterNode)

        self._saveAs(_("Save report"), "focal_report.html", _("HTML (*.html)"), save)

    def onExportTable(self):
        self._saveAs(
            _("Export table"),
            "focal_results.csv",
            _("CSV (*.csv);;TSV (*.tsv)"),
            lambda path: self.logic.exportTable(path, self._parameterNode),
        )

    def onExportDicom(self):
        """SEG, Parametric Maps and SR of the measured levels beside the CT's study. Needs
        highdicom (bundled from Slicer 5.12; not installed on 5.10, where it would replace
        Slicer's pydicom)."""
        from osteoimaging.mrml.dicom_export import dicom_export_available

        available, reason = dicom_export_available()
        if not available:
            warn(_("DICOM export is not available in this Slicer: {reason}").format(reason=reason))
            return
        folder = folder_name(_("Export to DICOM: choose a folder"))
        if not folder:
            return
        with slicer.util.tryWithErrorDisplay(_("Export to DICOM failed."), waitCursor=True):
            written = self.logic.exportDicom(folder, self._parameterNode)
            slicer.util.showStatusMessage(
                _("Wrote {n} DICOM objects to {folder}").format(n=len(written), folder=folder),
                5000,
            )

    def onSaveScene(self):
        self._saveAs(
            _("Save scene bundle"),
            "focal_case.mrb",
            _("Scene bundle (*.mrb)"),
            self.logic.saveScene,
        )


class FocalOsteoDefectLogic(ScriptedLoadableModuleLogic):
    """Thin over :mod:`osteoimaging.mrml.focal_workflow`; usable without the widget."""

    def getParameterNode(self):
        return FocalOsteoDefectParameterNode(super().getParameterNode())

    def calibration(self, p):
        if p.calibration == CalibrationSource.MANUAL:
            return LinearCalibration.manual(p.calibrationSlope, p.calibrationIntercept)
        if p.calibration == CalibrationSource.PHANTOM:
            return workflow.phantom_calibration(p.inputVolume, p.phantomInserts)
        if p.calibration == CalibrationSource.PROFILE:
            if p.calibrationProfileFile is None:
                raise InputError(_("choose a calibration profile file"))
            return workflow.profile_calibration(p.calibrationProfileFile)
        return LinearCalibration.identity()

    def focalParameters(self, p):
        from osteoimaging.focal import FocalParameters

        return FocalParameters(
            spacing_mm=p.spacingMm,
            sigma_mm=p.sigmaMm,
            erosion_mm=p.erosionMm,
            angle_step_deg=p.angleStepDeg,
            aggregation=p.aggregation,
            mode=p.mode,
        )

    def process(self, p, progress=None, recompute=False):
        """Measure ``p.level``.

        Apply: from the chosen segmentation's segment, else grown from the seed point.
        Recompute: from the (possibly edited) segment again - the chosen segmentation's,
        else the level's segment of the OsteoImaging segmentation.
        """
        segmentation, seed = p.segmentation, p.seedPoints
        if recompute and not segmentation and p.inputVolume:
            segmentation = workflow.vertebrae_segmentation(p.inputVolume, create=False)
        segment = (p.segmentName or p.level) if segmentation else None
        start = time.perf_counter()
        run = workflow.run_focal(
            p.inputVolume,
            p.level,
            segmentation_node=segmentation,
            segment=segment,
            seed_node=None if segmentation else seed,
            calibration=self.calibration(p),
            params=self.focalParameters(p),
            progress=progress,
            align=p.alignment,
        )
        numba = importlib.util.find_spec("numba") is not None
        logging.info(
            "Focal defect %s measured in %.1f s%s",
            p.level,
            time.perf_counter() - start,
            "" if numba else " (without numba)",
        )
        return run

    def hasSegment(self, ctNode, level):
        node = workflow.vertebrae_segmentation(ctNode, create=False) if ctNode else None
        return bool(node) and node.GetSegmentation().GetSegmentIdBySegmentName(level) != ""

    def resultsTable(self, ctNode):
        return workflow.results_table(ctNode, create=False) if ctNode else None

    def mapNode(self, ctNode, level, key):
        return workflow.find_map_node(slicer.mrmlScene, level, key, ctNode) if ctNode else None

    def showMap(self, ctNode, level, key, opacity):
        """The level's map ``key`` over the CT in every slice view, with its legend; other
        OsteoImaging map legends of this scene are hidden, nothing else is touched
        (:func:`osteoimaging.mrml.views.show_map`)."""
        from osteoimaging.mrml.views import show_map

        mapNode = self.mapNode(ctNode, level, key)
        if mapNode is None:
            return None
        show_map(slicer.mrmlScene, ctNode, mapNode, opacity)
        return mapNode

    def setOpacity(self, ctNode, level, key, opacity):
        """The map's opacity in the views that show it (no other view is touched)."""
        mapNode = self.mapNode(ctNode, level, key)
        for composite in composite_nodes(slicer.mrmlScene):
            if mapNode is not None and composite.GetForegroundVolumeID() == mapNode.GetID():
                composite.SetForegroundOpacity(float(opacity))

    def saveReport(self, path, p):
        """The study report of the levels measured on this CT (the page ``osteo focal``
        writes: summary with quality flags, overlays, sub-region grids, method)."""
        from osteoimaging.mrml.report import save_report

        save_report(p.inputVolume, path)

    def exportTable(self, path, p):
        from osteoimaging.mrml.tables import save_table

        table = self.resultsTable(p.inputVolume)
        if table is None:
            raise InputError(_("measure a vertebra of this CT first"))
        save_table(table, path)

    def dicomFiles(self, ctNode):
        """The files of the CT's DICOM series, from Slicer's DICOM database."""
        uids = (ctNode.GetAttribute("DICOM.instanceUIDs") or "").split() if ctNode else []
        if not uids:
            raise InputError(
                _("load the CT with the DICOM module: the DICOM objects are filed with its study")
            )
        return [slicer.dicomDatabase.fileForInstance(uid) for uid in uids]

    def exportDicom(self, folder, p, deidentify=False):
        """Write the measured levels' DICOM SEG, Parametric Maps and SR into ``folder``."""
        from osteoimaging.mrml.dicom_export import export_case_dicom

        return export_case_dicom(
            p.inputVolume, self.dicomFiles(p.inputVolume), folder, deidentify=deidentify
        )

    def saveScene(self, path):
        from osteoimaging.mrml.bundles import save_bundle

        save_bundle(slicer.mrmlScene, path)


class FocalOsteoDefectTest(ScriptedLoadableModuleTest):
    """Runs the logic on a synthetic vertebra inside real Slicer (see docs/slicer.md).

    Uses only what Slicer bundles: without numba the star-line step runs uncompiled.
    """

    def setUp(self):
        slicer.mrmlScene.Clear(0)

    def runTest(self):
        self.setUp()
        self.test_phantom_two_levels()

    def test_phantom_two_levels(self):
        import numpy as np

        from osteoimaging.mrml.segmentations import mask_to_segment, new_segmentation_node
        from osteoimaging.mrml.tables import table_rows
        from osteoimaging.mrml.volumes import volume_to_node
        from osteoimaging.phantoms import small_case, vertebra_ct

        self.delayDisplay("Synthetic vertebra with a focal defect")
        spec = small_case()
        ct, mask, _truth = vertebra_ct(spec)
        ctNode = volume_to_node(ct, slicer.mrmlScene, "Phantom CT")
        segmentation = new_segmentation_node(slicer.mrmlScene, "Phantom segments", ctNode)
        mask_to_segment(mask, segmentation, "L1")
        mask_to_segment(mask, segmentation, "L2")

        logic = FocalOsteoDefectLogic()
        p = logic.getParameterNode()
        p.inputVolume = ctNode
        p.segmentation = segmentation
        p.calibration = CalibrationSource.MANUAL
        p.calibrationSlope = spec.calibration_slope
        p.calibrationIntercept = spec.calibration_intercept
        p.alignment = False
        p.spacingMm, p.angleStepDeg = 0.5, 30.0  # coarse: a quick test
        for level in ("L1", "L2"):
            p.level = level
            run = logic.process(p)
            self.assertEqual(set(run.map_nodes), set(MAP_KEYS))
        rows = table_rows(logic.resultsTable(ctNode))
        self.assertEqual([r["level"] for r in rows], ["L1", "L2"])
        self.assertGreater(rows[0]["focal_bmc_loss_mm"], 0.0)
        self.assertAlmostEqual(rows[0]["focal_bmc_loss_mm"], rows[1]["focal_bmc_loss_mm"])
        loss = slicer.util.arrayFromVolume(run.map_nodes["focal_bmd_loss"])
        self.assertTrue(np.isfinite(loss).any())
        shown = logic.showMap(ctNode, "L2", "focal_bmd_loss", 0.5)
        self.assertIs(shown, run.map_nodes["focal_bmd_loss"])
        for composite in composite_nodes(slicer.mrmlScene):
            self.assertEqual(composite.GetForegroundVolumeID(), shown.GetID())
        self.assertTrue(legend_node(shown).GetVisibility())
        self.assertFalse(legend_node(run.map_nodes["bmd"]).GetVisibility())
        self.delayDisplay("Test passed")

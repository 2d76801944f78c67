"""FocalOsteoDefect: focal osteoporosis defect maps of a vertebral body on routine CT.

A thin Slicer front end: the widget binds its .ui to a parameter node, owns the progress
dialog and error display; the Logic hands MRML nodes to :mod:`osteoimaging.mrml`, which
converts them and calls the headless logic layer (Li C et al., JOR Spine 2022;5:e1195).

Its section "Opportunistic screening (chest CT)" applies the user's own screening CNN with
the L1-attenuation rule and the skeletal muscle index through
:func:`osteoimaging.mrml.screening.screen_ct_node` (docs/screening.md); torch and MONAI are
installed the first time the section is opened, after the user agrees.
"""

import enum
import importlib.util
import logging
import math
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
    is_satisfied,
    module_requirements,
    save_file_name,
    warn,
)

SAMPLE_NAME = "OsteoImagingDemoVertebra"
#: The screening section's packages (Resources/requirements.txt; the ``screen`` extra).
SCREENING_PACKAGES = ("torch", "monai")
#: Attribute naming the CT of a screening results table (one table per CT).
SCREENING_TABLE_ATTRIBUTE = "OsteoImaging.screeningCt"


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
    # Opportunistic screening (chest CT): the bodies come from ``segmentation`` (else the
    # OsteoImaging segmentation of the CT), segments named by level.
    screeningModelFolder: Path | None
    screeningMuscleSegment: str = ""
    screeningHeightM: Annotated[float, WithinRange(0.0, 2.5)] = 0.0


def screening_install_note() -> str:
    """What the user should know before agreeing to install torch (the install dialog)."""
    return _(
        "PyTorch (torch) is a large download, and a CPU build is enough: the model runs on "
        "one CT in seconds without a GPU. What 'pip install torch' gives depends on the "
        "platform:\n"
        "- Windows: a CPU-only build (a few hundred MB).\n"
        "- macOS (Apple silicon): a CPU build that can also use the Apple GPU (under 100 MB). "
        "Intel Macs get at most torch 2.2.\n"
        "- Linux (x86-64): a build with NVIDIA CUDA libraries, several GB (about 5 GB "
        "installed). For the CPU build (about 200 MB) instead, press Cancel, run\n"
        "    slicer.util.pip_install('torch --index-url https://download.pytorch.org/whl/cpu')\n"
        "in the Python console, then open this section again.\n"
        "No model is downloaded: the model is your own folder."
    )


class FocalOsteoDefectWidget(ParameterNodeWidget):
    uiName = "FocalOsteoDefect"

    def __init__(self, parent=None):
        super().__init__(parent)
        self._screeningInstalled = None  # torch and MONAI installed (None: not checked yet)
        self._screeningProblem = ""  # why they are not (declined, failed, testing mode)

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
        self.ui.screeningCollapsibleButton.connect(
            "contentsCollapsed(bool)", self.onScreeningCollapsed
        )
        self.ui.screeningInstallButton.connect("clicked(bool)", self.onInstallScreening)
        self.ui.screeningApplyButton.connect("clicked(bool)", self.onApplyModel)

    def enter(self):
        self._screeningInstalled = None  # torch may have been installed meanwhile
        super().enter()

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
        self._showScreening(p, idle)

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

    # -- Opportunistic screening (chest CT) -------------------------------------------------

    def _screeningReady(self) -> bool:
        if self._screeningInstalled is None:
            requirements = module_requirements(__file__, *SCREENING_PACKAGES)
            self._screeningInstalled = all(is_satisfied(r) for r in requirements)
        return self._screeningInstalled

    def _showScreening(self, p, idle):
        """The section's state: disabled (with the reason) until torch and MONAI are
        installed; then what the model, the bodies and the muscle will be."""
        ready = self._screeningReady()
        self.ui.screeningInputsWidget.enabled = ready
        self.ui.screeningInstallButton.visible = not ready
        if ready:
            status, runnable = self.logic.screeningStatus(p)
        else:
            status, runnable = (
                self._screeningProblem
                or _(
                    "Needs PyTorch (torch) and MONAI, which are not installed yet: they are "
                    "offered when you open this section (a CPU build of torch is enough)."
                ),
                False,
            )
        self.ui.screeningStatusLabel.text = status
        self.ui.screeningApplyButton.enabled = idle and ready and runnable
        self.ui.screeningTableView.setMRMLTableNode(self.logic.screeningTable(p.inputVolume))

    def onScreeningCollapsed(self, collapsed):
        """First use: opening the section offers torch and MONAI (once per session unless
        the user asks again with the install button)."""
        if collapsed or self._screeningProblem:
            return
        self._screeningInstalled = None
        if not self._screeningReady():
            self._ensureScreeningPackages()

    def onInstallScreening(self):
        self._ensureScreeningPackages()

    def _ensureScreeningPackages(self) -> bool:
        """Ask, then install torch and MONAI (the module's first-use path); declined or
        failed, the section stays disabled and says why."""
        requirements = module_requirements(__file__, *SCREENING_PACKAGES)
        try:
            installed = ensure_requirements(
                requirements, _("Opportunistic screening"), note=screening_install_note()
            )
        except Exception as error:  # pip failed: say so in the section, keep Slicer usable
            logging.exception("Installing torch and MONAI failed")
            installed = False
            problem = _(
                "Installing PyTorch and MONAI failed ({error}); see the Python console. The "
                "screening section stays disabled."
            ).format(error=error)
        else:
            if slicer.app.testingEnabled():
                problem = _("PyTorch and MONAI are not installed (testing mode installs nothing).")
            else:
                problem = _(
                    "PyTorch (torch) and MONAI were not installed, so the screening section is "
                    "disabled. Press the button below to install them (a CPU build is enough)."
                )
        self._screeningInstalled = installed
        self._screeningProblem = "" if installed else problem
        if not installed:
            warn(problem)
        if self._parameterNode:
            self.onParameters()
        return installed

    def onApplyModel(self):
        p = self._parameterNode
        self._screeningInstalled = None
        if not self._screeningReady() and not self._ensureScreeningPackages():
            return
        work = lambda progress: self.logic.screen(p, progress)  # noqa: E731
        self.runWork(_("Applying the screening model"), work, (self.ui.screeningApplyButton,))


class FocalOsteoDefectLogic(ScriptedLoadableModuleLogic):
    """Thin over :mod:`osteoimaging.mrml.focal_workflow`; usable without the widget."""

    def __init__(self):
        super().__init__()
        self._models = {}  # model.json path → (modification time, description)

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

    # -- Opportunistic screening (chest CT) -------------------------------------------------

    def screeningModel(self, folder) -> dict:
        """What the saved model says about itself, without torch
        (:func:`osteoimaging.screening.model.read_model_info`), cached per file version."""
        from osteoimaging.screening import model as saved

        path = Path(folder) / saved.CONFIG_FILE
        try:
            stamp = path.stat().st_mtime_ns
        except OSError as exc:
            raise InputError(
                _("no {file} in the model folder").format(file=saved.CONFIG_FILE), folder
            ) from exc
        cached = self._models.get(str(path))
        if cached is None or cached[0] != stamp:
            cached = (stamp, saved.read_model_info(folder))
            self._models[str(path)] = cached
        return cached[1]

    def screeningSegmentation(self, p):
        """The chosen segmentation, else the OsteoImaging segmentation of the CT."""
        if p.segmentation:
            return p.segmentation
        return (
            workflow.vertebrae_segmentation(p.inputVolume, create=False) if p.inputVolume else None
        )

    def _muscleNames(self, p) -> list:
        return [n.strip() for n in p.screeningMuscleSegment.split(",") if n.strip()]

    @staticmethod
    def _segmentId(segmentation, name):
        from osteoimaging.mrml.segmentations import find_segment

        try:
            return find_segment(segmentation, name)
        except InputError:
            return None

    def screeningStatus(self, p) -> tuple:
        """(text for the section, whether Apply model can run)."""
        from osteoimaging.screening.pipeline import ScreenParams

        lines, runnable, level = [], bool(p.inputVolume), "T12"
        if p.screeningModelFolder is None:
            lines.append(_("Choose the folder of your model ('osteo screen train' output)."))
            runnable = False
        else:
            try:
                info = self.screeningModel(p.screeningModelFolder)
            except InputError as error:
                lines.append(_("Not a screening model: {error}").format(error=error))
                runnable = False
            else:
                level = info["level"]
                lines.append(
                    _("Model: {architecture} at {level}; cut-off {cutoff:.2f} ({source}).").format(
                        architecture=info["architecture"],
                        level=level,
                        cutoff=info["cutoff"],
                        source=info["cutoff_source"],
                    )
                )
        rule = ScreenParams().rule_level
        segmentation = self.screeningSegmentation(p)
        if segmentation is None:
            text = _(
                "No segmentation: choose one in Inputs, or grow {level} (and {rule}) by Apply."
            )
            lines.append(text.format(level=level, rule=rule))
            return "\n".join(lines), False
        name = segmentation.GetName()
        if self._segmentId(segmentation, level) is None:
            lines.append(_("No segment '{level}' in '{name}'.").format(level=level, name=name))
            runnable = False
        else:
            lines.append(_("Body: segment '{level}' of '{name}'.").format(level=level, name=name))
        if level != rule:
            if self._segmentId(segmentation, rule) is None:
                lines.append(
                    _("No segment '{rule}': the L1 rule is not computed.").format(rule=rule)
                )
            else:
                lines.append(_("Attenuation rule: segment '{rule}'.").format(rule=rule))
        missing = [m for m in self._muscleNames(p) if self._segmentId(segmentation, m) is None]
        if missing:
            lines.append(
                _("No muscle segment {names} in '{name}'.").format(
                    names=", ".join(missing), name=name
                )
            )
            runnable = False
        elif not self._muscleNames(p):
            lines.append(_("Muscle: threshold-and-region method (posterior muscles)."))
        if not p.screeningHeightM:
            lines.append(_("No height: no skeletal muscle index."))
        return "\n".join(lines), runnable

    def screeningInputs(self, p, level):
        """(body masks by level, muscle mask or None, muscle source) on the CT grid."""
        from osteoimaging.mrml.segmentations import find_segment, segment_to_mask
        from osteoimaging.screening.pipeline import ScreenParams

        ct, segmentation = p.inputVolume, self.screeningSegmentation(p)
        if not ct:
            raise InputError(_("choose the CT"))
        if segmentation is None:
            raise InputError(
                _("choose a segmentation with a segment named {level}").format(level=level)
            )
        masks = {level: segment_to_mask(segmentation, find_segment(segmentation, level), ct)}
        rule = ScreenParams().rule_level
        rule_id = self._segmentId(segmentation, rule)
        if rule not in masks and rule_id is not None:
            masks[rule] = segment_to_mask(segmentation, rule_id, ct)
        muscle, names = None, self._muscleNames(p)
        for name in names:
            part = segment_to_mask(segmentation, find_segment(segmentation, name), ct)
            muscle = part if muscle is None else muscle.with_array(muscle.array | part.array)
        source = (
            _("segment {names}").format(names=", ".join(names))
            if names
            else _("threshold-and-region (posterior muscles)")
        )
        return masks, muscle, source

    def screen(self, p, progress=None):
        """Apply the model at its level, the L1 rule and the SMI to ``p.inputVolume``
        (:func:`osteoimaging.mrml.screening.screen_ct_node`); the Grad-CAM map is shown over
        the CT with its legend, the results go into the CT's screening table. Returns
        ``(values, map node, table node)``."""
        from osteoimaging.mrml.screening import screen_ct_node
        from osteoimaging.mrml.tables import rows_table
        from osteoimaging.progress import report

        if p.screeningModelFolder is None:
            raise InputError(_("choose the model folder"))
        start = time.perf_counter()
        info = self.screeningModel(p.screeningModelFolder)
        report(progress, 0.05, _("body and muscle segments"))
        masks, muscle, source = self.screeningInputs(p, info["level"])
        report(progress, 0.2, _("CNN, Grad-CAM and baselines"))
        height = p.screeningHeightM or None
        values, mapNode = screen_ct_node(
            p.inputVolume, masks, p.screeningModelFolder, muscle=muscle, height_m=height
        )
        if progress is not None:  # the map is shown already: finish, whatever Cancel says
            progress(0.95, _("results table"))
        table = self.screeningTable(p.inputVolume, create=True)
        rows_table(slicer.mrmlScene, table.GetName(), self.screeningRows(values, info, source))
        logging.info(
            "Screening model applied at %s in %.1f s", info["level"], time.perf_counter() - start
        )
        return values, mapNode, table

    def screeningTable(self, ctNode, create=False):
        """The CT's screening results table (one per CT, never named after the CT)."""
        if not ctNode:
            return None
        scene = slicer.mrmlScene
        nodes = scene.GetNodesByClass("vtkMRMLTableNode")
        for i in range(nodes.GetNumberOfItems()):
            node = nodes.GetItemAsObject(i)
            if node.GetAttribute(SCREENING_TABLE_ATTRIBUTE) == ctNode.GetID():
                return node
        if not create:
            return None
        node = scene.AddNewNodeByClass(
            "vtkMRMLTableNode", scene.GenerateUniqueName("OsteoImaging screening")
        )
        node.SetAttribute(SCREENING_TABLE_ATTRIBUTE, ctNode.GetID())
        return node

    @staticmethod
    def screeningRows(values, info, muscleSource):
        """The table's rows (measure, value, unit, reading, key) from ``screen_ct_node``'s
        values; calls by the model's cut-off and Pickhardt's 110/135 HU (Pickhardt PJ et al.,
        Ann Intern Med 2013;158:588-595: < 110 HU > 90 % specific, 135 HU balanced)."""
        from osteoimaging.screening.baselines import l1_rule
        from osteoimaging.screening.pipeline import ScreenParams

        names = {"level": info["level"], "rule": ScreenParams().rule_level}
        finite = {k: math.isfinite(float(values[k])) for k in ("l1_hu", "height_m", "smi_cm2_m2")}
        positive = values["cnn_probability"] >= info["cutoff"]
        below = {t: int(l1_rule(values["l1_hu"], t)) for t in (110, 135)}
        if not finite["l1_hu"]:
            l1_reading = _("no {rule} segment: rule not computed").format(**names)
        elif below[110]:
            l1_reading = _("below 110 HU: osteoporosis likely")
        elif below[135]:
            l1_reading = _("110-135 HU: indeterminate")
        else:
            l1_reading = _("135 HU or more: osteoporosis unlikely")
        cutoff = _("cut-off {cutoff:.2f} ({source})").format(
            cutoff=info["cutoff"], source=info["cutoff_source"]
        )
        rows = [  # key, measure, value, unit, reading
            ("cnn_probability", _("CNN probability of osteoporosis ({level})").format(**names),
             values["cnn_probability"], "", cutoff),
            ("cnn_positive", _("CNN call"), float(positive), "",
             _("osteoporosis suspected") if positive else _("osteoporosis not suspected")),
            ("l1_hu", _("{rule} trabecular attenuation").format(**names), values["l1_hu"], "HU",
             l1_reading),
        ]  # fmt: skip
        if finite["l1_hu"]:
            for t in (110, 135):
                measure = _("{rule} below {t} HU").format(t=t, **names)
                rows.append(
                    (f"below_{t}_hu", measure, below[t], "", _("yes") if below[t] else _("no"))
                )
        if names["level"] != names["rule"]:
            measure = _("{level} trabecular attenuation").format(**names)
            rows.append(("level_hu", measure, values["level_hu"], "HU", ""))
        rows += [
            ("muscle_area_cm2", _("Muscle area ({level} slice)").format(**names),
             values["muscle_area_cm2"], "cm²", muscleSource),
            ("height_m", _("Height"), values["height_m"], "m",
             _("entered") if finite["height_m"] else _("not entered")),
            ("smi_cm2_m2", _("Skeletal muscle index"), values["smi_cm2_m2"], "cm²/m²",
             "" if finite["smi_cm2_m2"] else _("needs the height")),
        ]  # fmt: skip
        for key, measure in (
            ("body", _("Grad-CAM mass in the vertebral body")),
            ("muscle", _("Grad-CAM mass in muscle")),
        ):
            ratio = values.get(f"cam_enrichment_{key}", math.nan)
            core = values.get(f"cam_core_{key}", math.nan)
            reading = _("{ratio:.1f} × its area share").format(ratio=ratio)
            reading = reading if math.isfinite(ratio) else ""
            if math.isfinite(core):
                reading += _("; {core:.0%} of the map's half-maximum core").format(core=core)
            rows.append((f"cam_mass_{key}", measure, values[f"cam_mass_{key}"], "", reading))
        keys = ("key", "measure", "value", "unit", "reading")
        return [{**dict(zip(keys, row, strict=True)), "value": float(row[2])} for row in rows]


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

"""RadiomicsMRI: lumbar-spine MRI radiomics screening for abnormal bone mass.

A thin Slicer front end over :mod:`osteoimaging.mrml.radiomics_workflow` and the
radiomics logic layer: T1WI and T2WI volumes and an L1–L4 segmentation → features
table; a model (the reference-study preset or a saved model) → radscore and call;
an ROC curve of a cohort's scores in a plot view. pyradiomics comes from the SlicerRadiomics
extension (a dependency of this extension, built for every platform); pandas and PyYAML
(and pyradiomics, when SlicerRadiomics is absent) are installed on first use after the
user agrees.
"""

import enum
import importlib.util
import sys
import unittest
from pathlib import Path
from typing import Annotated

# Started from a source checkout (--additional-module-paths <repo>/RadiomicsMRI), the
# packages osteoimaging and OsteoImagingGui are one folder up; an installed extension has
# them beside this file (on sys.path already).
if importlib.util.find_spec("OsteoImagingGui") is None:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import slicer
from slicer import vtkMRMLScalarVolumeNode, vtkMRMLSegmentationNode
from slicer.i18n import tr as _
from slicer.i18n import translate
from slicer.parameterNodeWrapper import Choice, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
)

from osteoimaging.errors import InputError
from osteoimaging.mrml import radiomics_workflow as workflow
from OsteoImagingGui import ParameterNodeWidget, ensure_requirements, module_requirements, warn

PRESETS = ["reference-9", "full", "parameter file"]
PYRADIOMICS = "pyradiomics-bhklab"  # the pip fallback when SlicerRadiomics is not installed


def radiomicsRequirements():
    """What the radiomics steps need from ``Resources/requirements.txt``; pyradiomics only
    when no ``radiomics`` package is importable (SlicerRadiomics provides one)."""
    requirements = module_requirements(__file__, "pandas", "PyYAML", PYRADIOMICS)
    if importlib.util.find_spec("radiomics") is not None:
        requirements = [r for r in requirements if r.name != PYRADIOMICS]
    return requirements


class RadiomicsMRI(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = _("Radiomics MRI")
        self.parent.categories = [translate("qSlicerAbstractCoreModule", "Quantification")]
        self.parent.dependencies = ["Segmentations", "Plots"]
        self.parent.contributors = ["OsteoImaging developers (OsteoImaging project)"]
        self.parent.helpText = _(
            "Radiomics features of L1–L4 on lumbar T1- and T2-weighted MRI, and a radiomics "
            "score for abnormal bone mass. Select the volumes and the L1–L4 segmentation, "
            "Extract, then Apply model."
        )
        self.parent.acknowledgementText = _(
            "Features by PyRadiomics (van Griethuysen et al., Cancer Research 2017)."
        )


class ModelSource(enum.Enum):
    REFERENCE = "reference"
    FILE = "file"

    def label(self):
        return {"reference": _("Reference-study model"), "file": _("Saved model file")}[self.value]


@parameterNodeWrapper
class RadiomicsMRIParameterNode:
    t1Volume: vtkMRMLScalarVolumeNode
    t2Volume: vtkMRMLScalarVolumeNode
    segmentation: vtkMRMLSegmentationNode
    secondRaterSegmentation: vtkMRMLSegmentationNode
    preset: Annotated[str, Choice(PRESETS)] = "reference-9"
    parameterFile: Path | None
    modelSource: ModelSource = ModelSource.REFERENCE
    modelFile: Path | None
    cohortScoresFile: Path | None


class RadiomicsMRIWidget(ParameterNodeWidget):
    uiName = "RadiomicsMRI"

    @property
    def logicClass(self):
        return RadiomicsMRILogic

    def connectButtons(self):
        self.ui.extractButton.connect("clicked(bool)", self.onExtract)
        self.ui.applyModelButton.connect("clicked(bool)", self.onApplyModel)
        self.ui.iccButton.connect("clicked(bool)", self.onIcc)
        self.ui.rocButton.connect("clicked(bool)", self.onRoc)

    def onParameters(self, caller=None, event=None):
        p = self._parameterNode
        idle = not self._running
        features = self.logic.featuresTable()
        self.ui.extractButton.enabled = idle and bool(p.t1Volume and p.t2Volume and p.segmentation)
        self.ui.parameterFilePathLineEdit.enabled = p.preset == "parameter file"
        self.ui.modelFilePathLineEdit.enabled = p.modelSource == ModelSource.FILE
        self.ui.applyModelButton.enabled = idle and features is not None
        self.ui.featuresTableView.setMRMLTableNode(features)
        self.ui.iccButton.enabled = idle and bool(p.secondRaterSegmentation) and bool(features)
        self.ui.iccTableView.setMRMLTableNode(self.logic.iccTable())
        self.ui.scoresTableView.setMRMLTableNode(self.logic.scoresTable())

    def _withPackages(self, title, work):
        if importlib.util.find_spec("radiomics") is None:
            warn(
                _(
                    "pyradiomics is not available. The SlicerRadiomics extension provides it "
                    "ready-built; otherwise it is built from source, which needs a C compiler "
                    "(on Windows and macOS install SlicerRadiomics instead)."
                )
            )
        if not ensure_requirements(radiomicsRequirements(), _("MRI radiomics")):
            warn(_("{title}: the required Python packages are not installed.").format(title=title))
            return None
        buttons = (self.ui.extractButton, self.ui.applyModelButton, self.ui.iccButton)
        return self.runWork(title, work, buttons)

    def onExtract(self):
        self._withPackages(
            _("Extracting features"),
            lambda progress: self.logic.extract(self._parameterNode, progress),
        )

    def onApplyModel(self):
        self._withPackages(
            _("Applying the model"), lambda progress: self.logic.applyModel(self._parameterNode)
        )

    def onIcc(self):
        self._withPackages(_("Rater ICC"), lambda progress: self.logic.raterIcc())

    def onRoc(self):
        with slicer.util.tryWithErrorDisplay(_("ROC curve failed.")):
            chart = self.logic.rocChart(self._parameterNode.cohortScoresFile)
            slicer.modules.plots.logic().ShowChartInLayout(chart)


class RadiomicsMRILogic(ScriptedLoadableModuleLogic):
    """Thin over :mod:`osteoimaging.mrml.radiomics_workflow`; usable without the widget."""

    def getParameterNode(self):
        return RadiomicsMRIParameterNode(super().getParameterNode())

    def featuresTable(self):
        return slicer.mrmlScene.GetFirstNodeByName(workflow.FEATURES_TABLE)

    def scoresTable(self):
        return slicer.mrmlScene.GetFirstNodeByName(workflow.SCORES_TABLE)

    def iccTable(self):
        return slicer.mrmlScene.GetFirstNodeByName(workflow.ICC_TABLE)

    def raterIcc(self):
        if self.featuresTable() is None:
            raise InputError(_("extract the features with a second rater's segmentation first"))
        return workflow.run_icc(self.featuresTable())

    def preset(self, p):
        if p.preset == "parameter file":
            if p.parameterFile is None or not p.parameterFile.is_file():
                raise InputError(_("choose a PyRadiomics parameter file"), p.parameterFile)
            return str(p.parameterFile)
        return p.preset

    def model(self, p):
        from osteoimaging.radiomics import load_model, published_model

        if p.modelSource == ModelSource.FILE:
            if p.modelFile is None:
                raise InputError(_("choose a saved model file"))
            return load_model(p.modelFile)
        return published_model()

    def extract(self, p, progress=None):
        return workflow.run_extraction(
            p.t1Volume,
            p.t2Volume,
            p.segmentation,
            self.preset(p),
            second_rater_node=p.secondRaterSegmentation,
            progress=progress,
        )

    def applyModel(self, p):
        if self.featuresTable() is None:
            raise InputError(_("extract the features first"))
        return workflow.run_model(self.featuresTable(), self.model(p))

    def rocChart(self, path):
        """ROC of a cohort's scores: a CSV with columns ``radscore`` and ``abnormal`` (0/1)."""
        import csv

        from osteoimaging.mrml.plots import roc_chart
        from osteoimaging.stats.roc import auc_delong, roc_curve

        if path is None or not Path(path).is_file():
            raise InputError(_("choose a CSV of cohort scores (columns radscore, abnormal)"), path)
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        if not rows or not {"radscore", "abnormal"} <= set(rows[0]):
            raise InputError(_("the CSV needs columns radscore and abnormal"), path)
        try:
            score = [float(r["radscore"]) for r in rows]
            abnormal = [int(float(r["abnormal"])) for r in rows]
        except ValueError as error:
            raise InputError(_("radscore and abnormal must be numbers"), path) from error
        fpr, tpr, _thresholds = roc_curve(abnormal, score)
        return roc_chart(
            slicer.mrmlScene, fpr, tpr, auc_delong(abnormal, score)["auc"], name="Radscore ROC"
        )


class RadiomicsMRITest(ScriptedLoadableModuleTest):
    """Extraction through the logic on a synthetic L1–L4 MRI inside real Slicer.

    Never installs anything: without pyradiomics (SlicerRadiomics), pandas and PyYAML the
    test is skipped and says why.
    """

    def setUp(self):
        slicer.mrmlScene.Clear(0)

    def runTest(self):
        self.setUp()
        self.test_extraction_on_synthetic_spine()

    def test_extraction_on_synthetic_spine(self):
        needed = ("radiomics", "pandas", "yaml")
        missing = [m for m in needed if importlib.util.find_spec(m) is None]
        if missing:
            raise unittest.SkipTest(
                f"needs {', '.join(missing)}, which Slicer does not bundle (pyradiomics comes with "
                "the SlicerRadiomics extension; the module installs the rest on first use)"
            )
        import numpy as np

        from osteoimaging.mrml.segmentations import mask_to_segment, new_segmentation_node
        from osteoimaging.mrml.tables import table_rows
        from osteoimaging.mrml.volumes import volume_to_node
        from osteoimaging.volume import Volume

        self.delayDisplay("Synthetic T1/T2 with four vertebral bodies")
        rng = np.random.default_rng(0)
        shape = (64, 48, 48)
        t1 = Volume(rng.normal(300, 30, shape).astype(np.float32), (0.8, 0.8, 1.0))
        t2 = t1.with_array(rng.normal(200, 20, shape).astype(np.float32))
        t1Node = volume_to_node(t1, slicer.mrmlScene, "T1")
        t2Node = volume_to_node(t2, slicer.mrmlScene, "T2")
        segmentation = new_segmentation_node(slicer.mrmlScene, "Spine", t1Node)
        for n, level in enumerate(workflow.LEVELS):
            mask = t1.with_array(np.zeros(shape, bool))
            mask.array[2 + 15 * n : 12 + 15 * n, 14:34, 14:34] = True
            mask_to_segment(mask, segmentation, level)

        logic = RadiomicsMRILogic()
        p = logic.getParameterNode()
        p.t1Volume, p.t2Volume, p.segmentation = t1Node, t2Node, segmentation
        table = logic.extract(p)
        rows = table_rows(table)
        self.assertEqual([r["level"] for r in rows], [*workflow.LEVELS, "patient"])
        self.assertGreater(len(rows[0]), 10)
        # The published radscore refuses features not z-scored with the study's training
        # statistics (unpublished); a model saved from one's own cohort applies.
        with self.assertRaises(InputError):
            logic.applyModel(p)
        import tempfile

        from osteoimaging.mrml.radiomics_workflow import table_to_frame
        from osteoimaging.radiomics import published_model, save_model

        model = published_model()
        frame = table_to_frame(table)
        model.means = [float(frame[f].mean()) for f in model.features]
        model.sds = [float(frame[f].std()) or 1.0 for f in model.features]
        with tempfile.TemporaryDirectory() as folder:
            p.modelSource = ModelSource.FILE
            p.modelFile = save_model(model, Path(folder) / "cohort_model.json")
            scores = logic.applyModel(p)
        self.assertEqual(scores.GetNumberOfRows(), 5)  # L1–L4 and the patient
        self.delayDisplay("Test passed")

"""RadiomicsMRI: lumbar-spine MRI radiomics screening for abnormal bone mass.

A thin Slicer front end over :mod:`osteoimaging.mrml.radiomics_workflow` and the
radiomics logic layer: T1WI and T2WI volumes and an L1–L4 segmentation → features
table; a model (the reference-study preset or a saved model) → radscore and call;
an ROC curve of a cohort's scores in a plot view. pyradiomics and scikit-learn are
installed on first use, after the user agrees.
"""

import enum
from pathlib import Path
from typing import Annotated

import slicer
from slicer import vtkMRMLScalarVolumeNode, vtkMRMLSegmentationNode
from slicer.parameterNodeWrapper import Choice, parameterNodeWrapper
from slicer.ScriptedLoadableModule import (
    ScriptedLoadableModule,
    ScriptedLoadableModuleLogic,
    ScriptedLoadableModuleTest,
)

from osteoimaging.errors import InputError
from osteoimaging.mrml import radiomics_workflow as workflow
from OsteoImagingGui import ParameterNodeWidget

REQUIREMENTS = {
    "radiomics": "pyradiomics-bhklab==3.1.4",
    "sklearn": "scikit-learn>=1.4",
    "pandas": "pandas>=2.0",
    "yaml": "PyYAML>=6.0",
}
PRESETS = ["reference-9", "full", "parameter file"]


class RadiomicsMRI(ScriptedLoadableModule):
    def __init__(self, parent):
        ScriptedLoadableModule.__init__(self, parent)
        self.parent.title = "Radiomics MRI"
        self.parent.categories = ["Quantification"]
        self.parent.dependencies = ["Segmentations"]
        self.parent.contributors = ["OsteoImaging developers"]
        self.parent.helpText = (
            "Radiomics features of L1–L4 on lumbar T1- and T2-weighted MRI, and a radiomics "
            "score for abnormal bone mass. Select the volumes and the L1–L4 segmentation, "
            "Extract, then Apply model."
        )
        self.parent.acknowledgementText = "Features by PyRadiomics (van Griethuysen et al., 2017)."


class ModelSource(enum.Enum):
    REFERENCE = "reference"
    FILE = "file"

    def label(self):
        return {"reference": "Reference-study model", "file": "Saved model file"}[self.value]


@parameterNodeWrapper
class RadiomicsMRIParameterNode:
    t1Volume: vtkMRMLScalarVolumeNode
    t2Volume: vtkMRMLScalarVolumeNode
    segmentation: vtkMRMLSegmentationNode
    secondRaterSegmentation: vtkMRMLSegmentationNode
    preset: Annotated[str, Choice(PRESETS)] = "reference-9"
    parameterFile: Path
    modelSource: ModelSource = ModelSource.REFERENCE
    modelFile: Path
    cohortScoresFile: Path


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
        self.ui.extractButton.enabled = bool(p.t1Volume and p.t2Volume and p.segmentation)
        self.ui.parameterFilePathLineEdit.enabled = p.preset == "parameter file"
        self.ui.modelFilePathLineEdit.enabled = p.modelSource == ModelSource.FILE
        self.ui.applyModelButton.enabled = self.logic.featuresTable() is not None
        self.ui.featuresTableView.setMRMLTableNode(self.logic.featuresTable())
        self.ui.iccButton.enabled = bool(p.secondRaterSegmentation) and bool(
            self.logic.featuresTable()
        )
        self.ui.iccTableView.setMRMLTableNode(self.logic.iccTable())
        self.ui.scoresTableView.setMRMLTableNode(self.logic.scoresTable())

    def _withPackages(self, title, work):
        self.runWithPackages(title, REQUIREMENTS, "MRI radiomics", work)

    def onExtract(self):
        self._withPackages(
            "Extracting features",
            lambda progress: self.logic.extract(self._parameterNode, progress),
        )

    def onApplyModel(self):
        self._withPackages(
            "Applying the model", lambda progress: self.logic.applyModel(self._parameterNode)
        )

    def onIcc(self):
        self._withPackages("Rater ICC", lambda progress: self.logic.raterIcc())

    def onRoc(self):
        def work(progress):
            chart = self.logic.rocChart(self._parameterNode.cohortScoresFile)
            slicer.modules.plots.logic().ShowChartInLayout(chart)

        self._withPackages("ROC curve", work)


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
            raise InputError("extract the features with a second rater's segmentation first")
        return workflow.run_icc(self.featuresTable())

    def preset(self, p):
        if p.preset == "parameter file":
            if not p.parameterFile or not Path(p.parameterFile).is_file():
                raise InputError("choose a PyRadiomics parameter file", p.parameterFile)
            return str(p.parameterFile)
        return p.preset

    def model(self, p):
        from osteoimaging.radiomics import load_model, published_model

        if p.modelSource == ModelSource.FILE:
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
            raise InputError("extract the features first")
        return workflow.run_model(self.featuresTable(), self.model(p))

    def rocChart(self, path):
        """ROC of a cohort's scores: a CSV with columns ``radscore`` and ``abnormal`` (0/1)."""
        import pandas as pd
        from sklearn.metrics import roc_auc_score, roc_curve

        from osteoimaging.mrml.plots import roc_chart

        if not path or not Path(path).is_file():
            raise InputError("choose a CSV of cohort scores (columns radscore, abnormal)", path)
        frame = pd.read_csv(path)
        if not {"radscore", "abnormal"} <= set(frame.columns):
            raise InputError("the CSV needs columns radscore and abnormal", path)
        fpr, tpr, _ = roc_curve(frame["abnormal"], frame["radscore"])
        auc = roc_auc_score(frame["abnormal"], frame["radscore"])
        return roc_chart(slicer.mrmlScene, fpr, tpr, auc, name="Radscore ROC")


class RadiomicsMRITest(ScriptedLoadableModuleTest):
    """Extraction through the logic on a synthetic L1–L4 MRI inside real Slicer."""

    def setUp(self):
        from OsteoImagingGui import missing_packages

        slicer.mrmlScene.Clear(0)
        missing = missing_packages(REQUIREMENTS)
        if missing:  # a test may install what the module would ask the user for
            slicer.util.pip_install(missing)

    def runTest(self):
        self.setUp()
        self.test_extraction_on_synthetic_spine()

    def test_extraction_on_synthetic_spine(self):
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
        self.delayDisplay("Test passed")

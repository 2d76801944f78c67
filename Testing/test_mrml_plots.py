"""ROC curve → plot chart node with its series and table (real MRML)."""

from __future__ import annotations

import numpy as np
import pytest
from vtk.util import numpy_support


def _column(series, name):
    table = series.GetTableNode().GetTable()
    return numpy_support.vtk_to_numpy(table.GetColumnByName(name))


def test_roc_chart_and_rerun(slicer_app):
    from osteoimaging.mrml.plots import roc_chart

    chart = roc_chart(slicer_app.scene, [0.0, 0.25, 1.0], [0.0, 0.75, 1.0], auc=0.75)
    assert chart.GetTitle() == "ROC (AUC = 0.750)"
    assert not chart.GetXAxisRangeAuto() and not chart.GetYAxisRangeAuto()
    assert tuple(chart.GetXAxisRange()) == tuple(chart.GetYAxisRange()) == (0.0, 1.0)
    assert chart.GetNumberOfPlotSeriesNodes() == 2
    curve, chance = (chart.GetNthPlotSeriesNode(i) for i in range(2))
    np.testing.assert_array_equal(_column(curve, "fpr"), [0.0, 0.25, 1.0])
    np.testing.assert_array_equal(_column(curve, "tpr"), [0.0, 0.75, 1.0])
    np.testing.assert_array_equal(_column(chance, "tpr"), [0.0, 1.0])
    assert curve.GetXColumnName() == "fpr" and curve.GetYColumnName() == "tpr"

    again = roc_chart(slicer_app.scene, [0.0, 0.5, 0.5, 1.0], [0.0, 0.5, 0.9, 1.0], auc=0.7)
    assert again.GetID() == chart.GetID()
    assert again.GetNumberOfPlotSeriesNodes() == 2
    np.testing.assert_array_equal(_column(again.GetNthPlotSeriesNode(0), "tpr"), [0, 0.5, 0.9, 1])
    assert slicer_app.scene.GetNodesByClass("vtkMRMLPlotSeriesNode").GetNumberOfItems() == 2


def test_roc_chart_rejects_bad_curves(slicer_app):
    from osteoimaging.mrml.plots import roc_chart

    with pytest.raises(ValueError, match="same length"):
        roc_chart(slicer_app.scene, [0.0, 1.0], [0.0, 0.5, 1.0], auc=0.5)

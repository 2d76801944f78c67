"""Curves → plot chart nodes (e.g. an ROC curve), shown in Slicer's plot views."""

from __future__ import annotations

import numpy as np
import slicer
import vtk
from vtk.util import numpy_support


def _named(scene, cls: str, name: str):
    """The first node of class ``cls`` named ``name``, created if there is none."""
    nodes = scene.GetNodesByClassByName(cls, name)
    if nodes.GetNumberOfItems():
        return nodes.GetItemAsObject(0)
    return scene.AddNewNodeByClass(cls, name)


def _table(scene, name: str, columns: dict[str, np.ndarray]):
    node = _named(scene, "vtkMRMLTableNode", name)
    table = vtk.vtkTable()
    for column, values in columns.items():
        array = numpy_support.numpy_to_vtk(np.asarray(values, dtype=float), deep=True)
        array.SetName(column)
        table.AddColumn(array)
    node.SetAndObserveTable(table)
    return node


def roc_chart(scene, fpr, tpr, auc: float, name: str = "ROC"):
    """A chart node with the ROC curve (and the chance diagonal) from its points.

    The curve's table node holds columns ``fpr`` and ``tpr``; the chart title carries
    the AUC. Re-running replaces the data of the same-named nodes.
    """
    fpr, tpr = np.asarray(fpr, dtype=float), np.asarray(tpr, dtype=float)
    if fpr.shape != tpr.shape or fpr.ndim != 1 or fpr.size < 2:
        raise ValueError("fpr and tpr must be 1-D arrays of the same length ≥ 2")
    table = _table(scene, f"{name} curve", {"fpr": fpr, "tpr": tpr})
    chance = _table(scene, f"{name} chance", {"fpr": [0.0, 1.0], "tpr": [0.0, 1.0]})
    series = []
    for label, source, colour in (
        ("curve", table, (0.8, 0.1, 0.1)),
        ("chance", chance, (0.5, 0.5, 0.5)),
    ):
        series_name = f"{name} {label}"  # the tables share these names; classes differ
        node = _named(scene, "vtkMRMLPlotSeriesNode", series_name)
        node.SetAndObserveTableNodeID(source.GetID())
        node.SetXColumnName("fpr")
        node.SetYColumnName("tpr")
        node.SetPlotType(slicer.vtkMRMLPlotSeriesNode.PlotTypeScatter)
        node.SetMarkerStyle(slicer.vtkMRMLPlotSeriesNode.MarkerStyleNone)
        node.SetColor(*colour)
        series.append(node)
    chart = _named(scene, "vtkMRMLPlotChartNode", name)
    chart.RemoveAllPlotSeriesNodeIDs()
    for node in series:
        chart.AddAndObservePlotSeriesNodeID(node.GetID())
    chart.SetTitle(f"{name} (AUC = {auc:.3f})")
    chart.SetXAxisTitle("1 − specificity")
    chart.SetYAxisTitle("sensitivity")
    # Fixed 0–1 axes: Slicer ignores a range while the axis is still automatic.
    chart.SetXAxisRangeAuto(False)
    chart.SetYAxisRangeAuto(False)
    chart.SetXAxisRange(0.0, 1.0)
    chart.SetYAxisRange(0.0, 1.0)
    return chart

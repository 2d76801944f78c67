"""Markups control points → seeds: RAS (Slicer world) and LPS (the logic layer's frame)."""

from __future__ import annotations

import numpy as np

from osteoimaging.errors import InputError
from osteoimaging.geometry import ras_to_lps
from osteoimaging.volume import Volume


def seed_ras(markups_node, index: int = 0) -> np.ndarray:
    """World RAS position of control point ``index`` (parent transforms applied)."""
    if markups_node is None or markups_node.GetNumberOfControlPoints() <= index:
        name = markups_node.GetName() if markups_node is not None else None
        raise InputError("place a point in the vertebral body first", name)
    point = [0.0, 0.0, 0.0]
    markups_node.GetNthControlPointPositionWorld(index, point)
    return np.asarray(point, dtype=float)


def seed_lps(markups_node, index: int = 0) -> np.ndarray:
    """The seed in the LPS frame of :class:`~osteoimaging.volume.Volume`."""
    return ras_to_lps(seed_ras(markups_node, index))


def control_points_lps(markups_node) -> tuple[np.ndarray, list[str]]:
    """All control points as LPS (n, 3) and their labels; InputError when there are none."""
    count = markups_node.GetNumberOfControlPoints() if markups_node is not None else 0
    if count == 0:
        name = markups_node.GetName() if markups_node is not None else None
        raise InputError("no points placed", name)
    points = np.array([seed_lps(markups_node, i) for i in range(count)])
    return points, [markups_node.GetNthControlPointLabel(i) for i in range(count)]


def seed_index(volume: Volume, ras: np.ndarray) -> tuple[int, int, int]:
    """The (k, j, i) array index of the voxel containing RAS point ``ras``.

    Raises InputError when the point lies outside the volume.
    """
    ijk = np.rint(volume.physical_to_index(ras_to_lps(ras))).astype(int)
    if np.any(ijk < 0) or np.any(ijk >= np.asarray(volume.size)):
        raise InputError("the seed point is outside the CT volume")
    return int(ijk[2]), int(ijk[1]), int(ijk[0])


def add_seed(scene, ras, name: str = "Seed"):
    """A fiducial markups node with one control point at ``ras`` (tests, scripted use)."""
    node = scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", name)
    node.AddControlPointWorld(*[float(x) for x in ras])
    return node

"""Scalar and label-map volume nodes ↔ :class:`~osteoimaging.volume.Volume`, geometry exact.

A node's voxel (i, j, k) sits at ``IJKToRAS @ (i, j, k, 1)``; a Volume's at
``origin + direction @ (spacing * (i, j, k))`` in LPS. :mod:`.geometry` converts between
the two. A node under a linear transform is read in world coordinates (the transform
is composed into the grid); a non-linear transform is refused.
"""

from __future__ import annotations

import numpy as np
import slicer
import vtk
from vtk.util import numpy_support

from osteoimaging.errors import InputError
from osteoimaging.mrml.geometry import geometry_from_ijk_to_ras, ijk_to_ras, numpy_matrix
from osteoimaging.volume import Volume


def _image_data(array: np.ndarray) -> vtk.vtkImageData:
    array = np.ascontiguousarray(array.astype(np.uint8) if array.dtype == bool else array)
    image = vtk.vtkImageData()
    image.SetDimensions(*array.shape[::-1])
    scalars = numpy_support.numpy_to_vtk(array.ravel(), deep=True)
    scalars.SetName("ImageScalars")
    image.GetPointData().SetScalars(scalars)
    return image


def set_node_geometry(node, volume: Volume) -> None:
    """Give ``node`` the grid of ``volume`` (spacing, RAS origin, RAS axis directions)."""
    matrix = ijk_to_ras(volume)
    node.SetSpacing(*volume.spacing)
    node.SetOrigin(*matrix[:3, 3])
    directions = matrix[:3, :3] / np.asarray(volume.spacing)
    direction_matrix = vtk.vtkMatrix4x4()
    for r in range(3):
        for c in range(3):
            direction_matrix.SetElement(r, c, float(directions[r, c]))
    node.SetIJKToRASDirectionMatrix(direction_matrix)


def update_volume_node(node, volume: Volume) -> None:
    """Replace ``node``'s voxels and geometry by ``volume``'s (array copied)."""
    set_node_geometry(node, volume)
    node.SetAndObserveImageData(_image_data(volume.array))


def volume_to_node(
    volume: Volume,
    scene,
    name: str,
    node=None,
    labelmap: bool = False,
    display: bool = True,
    auto_window: bool = True,
):
    """Add ``volume`` to ``scene`` as a scalar (or label-map) volume node, or update ``node``.

    ``auto_window=False`` creates a new node's display node before its voxels arrive, with
    automatic window/level and threshold off: for maps whose style sets a fixed window, this
    skips the histogram over every voxel (≈ 80 ms per map of an L2 analysis grid)."""
    if node is None:
        cls = slicer.vtkMRMLLabelMapVolumeNode if labelmap else slicer.vtkMRMLScalarVolumeNode
        node = scene.AddNewNodeByClass(cls.__name__, name)
    if display and not auto_window and node.GetDisplayNode() is None and not labelmap:
        node.CreateDefaultDisplayNodes()
        node.GetDisplayNode().SetAutoWindowLevel(False)
        node.GetDisplayNode().SetAutoThreshold(False)
    update_volume_node(node, volume)
    if display and node.GetDisplayNode() is None:
        node.CreateDefaultDisplayNodes()
    return node


def node_ijk_to_world(node) -> np.ndarray:
    """The 4×4 IJK→world-RAS matrix of a volume node, including a linear parent transform."""
    ijk_to_ras_matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(ijk_to_ras_matrix)
    matrix = numpy_matrix(ijk_to_ras_matrix)
    transform = node.GetParentTransformNode()
    if transform is not None:
        if not transform.IsTransformToWorldLinear():
            raise InputError(
                "volume is under a non-linear transform; harden it first", node.GetName()
            )
        to_world = vtk.vtkMatrix4x4()
        transform.GetMatrixTransformToWorld(to_world)
        matrix = numpy_matrix(to_world) @ matrix
    return matrix


def node_to_volume(node, dtype=None) -> Volume:
    """A :class:`Volume` (array copied) with the node's world geometry.

    Raises InputError when the node has no image data, is not 3D-shaped, or is under a
    non-rigid transform.
    """
    name = node.GetName() if node is not None else None
    image = node.GetImageData() if node is not None else None
    if image is None or image.GetPointData().GetScalars() is None:
        raise InputError("volume node has no image data", name)
    if image.GetNumberOfScalarComponents() != 1:
        raise InputError("expected a single-component scalar volume", name)
    dims = image.GetDimensions()
    array = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())
    array = array.reshape(dims[::-1]).copy()
    if dtype is not None:
        array = array.astype(dtype, copy=False)
    try:
        geometry = geometry_from_ijk_to_ras(node_ijk_to_world(node))
    except ValueError as error:
        raise InputError(str(error), name) from error
    return Volume(array=array, **geometry, metadata={"name": name})

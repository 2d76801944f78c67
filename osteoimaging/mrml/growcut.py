"""Slicer's own Fast GrowCut as a GrowCut backend for the segmentation.

``vtk_growcut`` runs ``slicer.vtkImageGrowCutSegment`` — the VTK class of Slicer's
Segmentations logic, present in every Slicer and in the ``slicer-core`` wheel — so a click
in the Slicer application needs no pip install. Pass it as ``growcut=`` to
:func:`osteoimaging.segmentation.segment_vertebral_body`; it gives the same labels as the
default numba kernel (:mod:`osteoimaging.segmentation.fastgrowcut`), voxel for voxel.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import slicer
import vtk
from vtk.util import numpy_support


def _image_data(array: np.ndarray, spacing: Sequence[float]) -> vtk.vtkImageData:
    image = vtk.vtkImageData()
    image.SetDimensions(*array.shape[::-1])
    image.SetSpacing(*(float(s) for s in spacing))
    image.GetPointData().SetScalars(numpy_support.numpy_to_vtk(array.ravel(), deep=True))
    return image


def vtk_growcut(
    image: np.ndarray, seeds: np.ndarray, spacing: Sequence[float] = (1.0, 1.0, 1.0)
) -> np.ndarray:
    """Fast GrowCut labels with ``vtkImageGrowCutSegment``.

    ``image`` (cast to float32) and ``seeds`` (0 free, 1…255 labels, uint8) are ``[z, y, x]``
    arrays, ``spacing`` is (x, y, z) mm; returns uint8 labels of the same shape.
    """
    image = np.ascontiguousarray(image, dtype=np.float32)
    seeds = np.ascontiguousarray(seeds, dtype=np.uint8)
    if image.ndim != 3 or seeds.shape != image.shape or min(image.shape) < 3:
        raise ValueError(
            f"GrowCut needs a 3D image (≥ 3 voxels per axis) and seeds of the same shape, "
            f"got {image.shape} and {seeds.shape}"
        )
    growcut = slicer.vtkImageGrowCutSegment()
    growcut.SetInputData(0, _image_data(image, spacing))
    growcut.SetInputData(1, _image_data(seeds, spacing))
    growcut.Update()
    scalars = growcut.GetOutput().GetPointData().GetScalars()
    if scalars is None:
        raise RuntimeError("vtkImageGrowCutSegment produced no output")
    return numpy_support.vtk_to_numpy(scalars).reshape(image.shape).astype(np.uint8, copy=True)

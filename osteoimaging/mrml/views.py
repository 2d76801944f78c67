"""Show a map over the CT in the slice views, and render a slice view headlessly.

The slice composite node of each view holds its background, foreground and label
layers; a map becomes the foreground over the CT background with a chosen opacity,
as the Slicer "Data Probe"/slice controller does when a user picks layers.
"""

from __future__ import annotations

import numpy as np
import vtk
from vtk.util import numpy_support

from osteoimaging.mrml.maps import legend_node


def composite_nodes(scene) -> list:
    """All slice composite nodes of the scene (one per slice view)."""
    nodes = scene.GetNodesByClass("vtkMRMLSliceCompositeNode")
    return [nodes.GetItemAsObject(i) for i in range(nodes.GetNumberOfItems())]


def show_map(scene, ct_node, map_node, opacity: float = 0.6, legend: bool = True) -> None:
    """Put ``ct_node`` as background and ``map_node`` as foreground in every slice view.

    ``map_node`` None clears the foreground. The shown map's colour legend is made
    visible and the legends of the other OsteoImaging maps hidden (they would overlap);
    legends of other nodes are left as the user set them.
    """
    for composite in composite_nodes(scene):
        composite.SetBackgroundVolumeID(ct_node.GetID() if ct_node is not None else None)
        composite.SetForegroundVolumeID(map_node.GetID() if map_node is not None else None)
        composite.SetForegroundOpacity(float(opacity))
    maps = scene.GetNodesByClass("vtkMRMLScalarVolumeNode")
    for i in range(maps.GetNumberOfItems()):
        other = maps.GetItemAsObject(i)
        if other is not map_node and other.GetAttribute("OsteoImaging.map"):
            node = legend_node(other)
            if node is not None:
                node.SetVisibility(False)
    if map_node is not None and legend:
        node = legend_node(map_node)
        if node is not None:
            node.SetVisibility(True)


def render_slice(
    slice_logic,
    ras_center: tuple[float, float, float],
    field_of_view_mm: float,
    pixels: int = 256,
) -> np.ndarray:
    """The (pixels, pixels, 4) uint8 RGBA image of a slice view centred on ``ras_center``.

    Runs the slice logic's layer pipelines and blend (what the slice view draws, without
    the annotations the displayable managers add); row 0 is the top of the view.
    """
    slice_node = slice_logic.GetSliceNode()
    slice_node.SetDimensions(pixels, pixels, 1)
    slice_node.SetFieldOfView(field_of_view_mm, field_of_view_mm, 1.0)
    slice_node.JumpSliceByCentering(*ras_center)
    slice_node.SetSliceOffset(_offset_along_normal(slice_node, ras_center))
    slice_logic.UpdatePipeline()
    slice_logic.GetImageDataConnection().GetProducer().Update()
    image = slice_logic.GetImageDataConnection().GetProducer().GetOutputDataObject(0)
    dims = image.GetDimensions()
    scalars = numpy_support.vtk_to_numpy(image.GetPointData().GetScalars())
    rgba = scalars.reshape(dims[1], dims[0], -1)[::-1].copy()
    return rgba


def _offset_along_normal(slice_node, ras) -> float:
    matrix = slice_node.GetSliceToRAS()
    normal = np.array([matrix.GetElement(r, 2) for r in range(3)])
    return float(normal @ np.asarray(ras, dtype=float))


def write_png(rgba: np.ndarray, path: str) -> None:
    """Write an RGB(A) uint8 image (row 0 at the top) as PNG."""
    height, width, components = rgba.shape
    image = vtk.vtkImageData()
    image.SetDimensions(width, height, 1)
    scalars = numpy_support.numpy_to_vtk(
        np.ascontiguousarray(rgba[::-1]).reshape(-1, components), deep=True
    )
    image.GetPointData().SetScalars(scalars)
    writer = vtk.vtkPNGWriter()
    writer.SetFileName(str(path))
    writer.SetInputData(image)
    writer.Write()


def pixel_to_ras(slice_node, row: int, column: int) -> np.ndarray:
    """RAS point at the centre of pixel (row, column) of :func:`render_slice`'s image."""
    height = slice_node.GetDimensions()[1]
    xy = (float(column), float(height - 1 - row), 0.0, 1.0)
    return np.array(slice_node.GetXYToRAS().MultiplyPoint(xy)[:3])

"""Segmentation node + segment ID ↔ boolean mask on a reference (CT) grid; label maps ↔ masks.

Export goes through ``vtkSlicerSegmentationsModuleLogic.ExportSegmentsToLabelmapNode``
with the reference volume's geometry (``EXTENT_REFERENCE_GEOMETRY``), so the mask has
exactly the CT's grid whatever grid the segment was drawn on (Slicer resamples a
labelmap drawn on another grid by nearest neighbour, as Segment Editor does).
"""

from __future__ import annotations

import numpy as np
import slicer

from osteoimaging.errors import InputError
from osteoimaging.mrml.volumes import node_to_volume, volume_to_node
from osteoimaging.volume import Volume


def new_segmentation_node(scene, name: str, reference_node=None):
    """An empty segmentation node whose labelmap geometry is ``reference_node``'s grid."""
    node = scene.AddNewNodeByClass("vtkMRMLSegmentationNode", name)
    node.CreateDefaultDisplayNodes()
    if reference_node is not None:
        node.SetReferenceImageGeometryParameterFromVolumeNode(reference_node)
    return node


def segment_ids(segmentation_node) -> list[str]:
    """The segment IDs of a segmentation node, in order."""
    segmentation = segmentation_node.GetSegmentation()
    return [segmentation.GetNthSegmentID(i) for i in range(segmentation.GetNumberOfSegments())]


def find_segment(segmentation_node, name_or_id: str) -> str:
    """The ID of the segment with this ID or (case-insensitive) name; InputError if none."""
    segmentation = segmentation_node.GetSegmentation()
    if segmentation.GetSegment(name_or_id) is not None:
        return name_or_id
    for segment_id in segment_ids(segmentation_node):
        if segmentation.GetSegment(segment_id).GetName().lower() == name_or_id.lower():
            return segment_id
    raise InputError(f"no segment named {name_or_id!r}", segmentation_node.GetName())


def segment_to_mask(segmentation_node, segment_id: str, reference_node) -> Volume:
    """The segment as a boolean mask on ``reference_node``'s grid (InputError if empty)."""
    scene = reference_node.GetScene()
    labelmap = scene.AddNewNodeByClass("vtkMRMLLabelMapVolumeNode", "__osteo_export")
    try:
        ok = slicer.vtkSlicerSegmentationsModuleLogic.ExportSegmentsToLabelmapNode(
            segmentation_node,
            [segment_id],
            labelmap,
            reference_node,
            slicer.vtkSegmentation.EXTENT_REFERENCE_GEOMETRY,
        )
        if not ok:
            raise InputError(
                f"could not export segment {segment_id!r}", segmentation_node.GetName()
            )
        mask = node_to_volume(labelmap)
    finally:
        scene.RemoveNode(labelmap)
    mask = mask.with_array(mask.array > 0)
    if not mask.array.any():
        raise InputError(f"segment {segment_id!r} is empty", segmentation_node.GetName())
    return mask


def mask_to_segment(
    mask: Volume,
    segmentation_node,
    name: str,
    color: tuple[float, float, float] = (0.9, 0.7, 0.3),
    segment_id: str | None = None,
) -> str:
    """Store ``mask`` (on any grid) as a segment; replace ``segment_id``'s voxels if given.

    Returns the segment ID. The mask's geometry is kept exactly (the segment's labelmap
    is imported with its own grid); Slicer shows and exports it on the reference grid.
    """
    scene = segmentation_node.GetScene()
    labelmap = volume_to_node(
        mask.with_array(mask.array.astype(np.uint8)),
        scene,
        "__osteo_import",
        labelmap=True,
        display=False,
    )
    try:
        if segment_id is not None:
            ok = slicer.vtkSlicerSegmentationsModuleLogic.SetBinaryLabelmapToSegment(
                _oriented_image(labelmap),
                segmentation_node,
                segment_id,
                slicer.vtkSlicerSegmentationsModuleLogic.MODE_REPLACE,
            )
        else:
            before = set(segment_ids(segmentation_node))
            ok = slicer.vtkSlicerSegmentationsModuleLogic.ImportLabelmapToSegmentationNode(
                labelmap, segmentation_node
            )
            new = [s for s in segment_ids(segmentation_node) if s not in before]
            segment_id = new[0] if ok and new else None
    finally:
        scene.RemoveNode(labelmap)
    if not ok or segment_id is None:
        raise InputError("could not import the mask (is it empty?)", segmentation_node.GetName())
    segment = segmentation_node.GetSegmentation().GetSegment(segment_id)
    segment.SetName(name)
    segment.SetColor(*color)
    return segment_id


def _oriented_image(labelmap_node):
    """A vtkOrientedImageData copy of a label-map node (voxels and IJK→RAS)."""
    import vtk

    image = slicer.vtkOrientedImageData()
    image.ShallowCopy(labelmap_node.GetImageData())
    matrix = vtk.vtkMatrix4x4()
    labelmap_node.GetIJKToRASMatrix(matrix)
    image.SetImageToWorldMatrix(matrix)
    return image


def labelmap_to_mask(labelmap_node, label: int | None = None) -> Volume:
    """A boolean mask of a label-map node: ``label`` voxels, or all non-zero voxels."""
    volume = node_to_volume(labelmap_node)
    return volume.with_array(volume.array > 0 if label is None else volume.array == label)


def mask_to_labelmap(mask: Volume, scene, name: str, label: int = 1, node=None):
    """A label-map volume node with ``label`` inside ``mask`` and 0 elsewhere."""
    array = np.where(mask.array.astype(bool), np.uint8(label), np.uint8(0))
    return volume_to_node(mask.with_array(array), scene, name, node=node, labelmap=True)

"""The bridge on real data: Slicer's own NIfTI reader and segmentation import agree with ours.

Data: TotalSegmentator test files (Apache-2.0), ../shared/data/ct/totalseg-example — a real
abdominal CT (3 mm, RAS-stored NIfTI) and its vertebra labels (20 = L1).
"""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.shared_data


def _slicer_read(scene, path, cls="vtkMRMLScalarVolumeNode"):
    import slicer

    node = scene.AddNewNodeByClass(cls)
    storage = slicer.vtkMRMLVolumeArchetypeStorageNode()
    storage.SetFileName(str(path))
    assert storage.ReadData(node), path
    return node


def test_slicer_reader_and_ours_agree_on_a_real_ct(slicer_app, shared_data):
    from osteoimaging.imageio import read_image
    from osteoimaging.mrml.volumes import node_to_volume, volume_to_node

    path = shared_data("ct/totalseg-example/example_ct.nii.gz")
    ours = read_image(path)
    slicers = node_to_volume(_slicer_read(slicer_app.scene, path))
    np.testing.assert_array_equal(slicers.array, ours.array)
    assert slicers.same_geometry(ours, tol=1e-5)
    # …and our node of the same image has Slicer's IJK→RAS to the last digit.
    import vtk

    a, b = vtk.vtkMatrix4x4(), vtk.vtkMatrix4x4()
    volume_to_node(ours, slicer_app.scene, "ours").GetIJKToRASMatrix(a)
    _slicer_read(slicer_app.scene, path).GetIJKToRASMatrix(b)
    for r in range(4):
        for c in range(4):
            assert a.GetElement(r, c) == pytest.approx(b.GetElement(r, c), abs=1e-4)


def test_l1_segment_from_slicers_label_import_equals_our_mask(slicer_app, shared_data):
    import slicer

    from osteoimaging.imageio import read_image
    from osteoimaging.mrml.segmentations import find_segment, segment_to_mask
    from osteoimaging.validation import mask_from_label

    ct_path = shared_data("ct/totalseg-example/example_ct.nii.gz")
    labels_path = shared_data("ct/totalseg-example/totalseg_vertebrae_pp_refined.nii.gz")
    ct_node = _slicer_read(slicer_app.scene, ct_path)
    labels_node = _slicer_read(slicer_app.scene, labels_path, "vtkMRMLLabelMapVolumeNode")
    seg = slicer_app.scene.AddNewNodeByClass("vtkMRMLSegmentationNode", "TotalSegmentator")
    assert slicer.vtkSlicerSegmentationsModuleLogic.ImportLabelmapToSegmentationNode(
        labels_node, seg
    )
    # Without a colour table Slicer names the imported segments Label_<value>.
    mask = segment_to_mask(seg, find_segment(seg, "Label_20"), ct_node)
    expected = mask_from_label(read_image(labels_path), 20)
    assert mask.same_geometry(expected, tol=1e-5)
    np.testing.assert_array_equal(mask.array, expected.array)
    assert expected.array.sum() > 1000

"""Volume node ↔ Volume with exact geometry, against Slicer's own matrices and file reader."""

from __future__ import annotations

import numpy as np
import pytest
import SimpleITK as sitk
from mrml_harness import oblique_direction

from osteoimaging.errors import InputError
from osteoimaging.imageio import write_image
from osteoimaging.volume import Volume


def _oblique(dtype=np.float32, shape=(6, 7, 8)) -> Volume:
    rng = np.random.default_rng(3)
    array = (rng.normal(size=shape) * 300).astype(dtype)
    return Volume(array, (0.4, 0.55, 1.3), (12.5, -40.0, 7.25), oblique_direction())


@pytest.mark.parametrize("dtype", [np.float32, np.int16, np.uint8])
def test_round_trip_oblique_is_exact(slicer_app, dtype):
    from osteoimaging.mrml.volumes import node_to_volume, volume_to_node

    volume = _oblique(dtype)
    node = volume_to_node(volume, slicer_app.scene, "ct", labelmap=dtype == np.uint8)
    back = node_to_volume(node)
    assert back.array.dtype == volume.array.dtype
    np.testing.assert_array_equal(back.array, volume.array)
    np.testing.assert_allclose(back.spacing, volume.spacing, atol=1e-12)
    np.testing.assert_allclose(back.origin, volume.origin, atol=1e-12)
    np.testing.assert_allclose(back.direction, volume.direction, atol=1e-12)


def test_ijk_to_ras_is_itk_point_with_lps_flip(slicer_app):
    """Slicer's IJK→RAS of the node = SimpleITK's physical point with x, y negated."""
    import vtk

    from osteoimaging.mrml.volumes import volume_to_node

    volume = _oblique()
    node = volume_to_node(volume, slicer_app.scene, "ct")
    matrix = vtk.vtkMatrix4x4()
    node.GetIJKToRASMatrix(matrix)
    image = volume.to_sitk()
    for ijk in [(0, 0, 0), (7, 6, 5), (3, 1, 4)]:
        ras = np.array(matrix.MultiplyPoint((*ijk, 1))[:3])
        lps = np.array(image.TransformIndexToPhysicalPoint(ijk))
        np.testing.assert_allclose(ras, lps * [-1, -1, 1], atol=1e-9)


def test_node_matches_slicers_own_nrrd_reader(slicer_app, tmp_path):
    """A NRRD written by our I/O and read by Slicer's storage node = our conversion."""
    import slicer

    from osteoimaging.mrml.volumes import node_to_volume, volume_to_node

    volume = _oblique(np.int16)
    path = tmp_path / "ct.nrrd"
    write_image(volume, path)
    read_node = slicer_app.scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "read")
    storage = slicer.vtkMRMLVolumeArchetypeStorageNode()
    storage.SetFileName(str(path))
    assert storage.ReadData(read_node)
    ours = volume_to_node(volume, slicer_app.scene, "ours")
    a, b = node_to_volume(read_node), node_to_volume(ours)
    np.testing.assert_array_equal(a.array, b.array)
    assert a.same_geometry(b, tol=1e-6)


def test_linear_parent_transform_is_applied(slicer_app):
    import vtk

    from osteoimaging.mrml.volumes import node_to_volume, volume_to_node

    volume = _oblique()
    node = volume_to_node(volume, slicer_app.scene, "ct")
    transform = slicer_app.scene.AddNewNodeByClass("vtkMRMLLinearTransformNode", "shift")
    matrix = vtk.vtkMatrix4x4()
    matrix.SetElement(0, 3, 10.0)  # +10 mm towards patient right (RAS x)
    transform.SetMatrixTransformToParent(matrix)
    node.SetAndObserveTransformNodeID(transform.GetID())
    moved = node_to_volume(node)
    np.testing.assert_allclose(np.subtract(moved.origin, volume.origin), [-10.0, 0, 0], atol=1e-9)
    np.testing.assert_allclose(moved.direction, volume.direction, atol=1e-12)


def test_node_without_image_is_input_error(slicer_app):
    from osteoimaging.mrml.volumes import node_to_volume

    node = slicer_app.scene.AddNewNodeByClass("vtkMRMLScalarVolumeNode", "empty")
    with pytest.raises(InputError, match="empty: volume node has no image data"):
        node_to_volume(node)


def test_sitk_reference_geometry_matches(slicer_app):
    """Geometry read back equals what SimpleITK reports for the same image."""
    from osteoimaging.mrml.volumes import node_to_volume, volume_to_node

    volume = _oblique()
    back = node_to_volume(volume_to_node(volume, slicer_app.scene, "ct"))
    image = back.to_sitk()
    reference = volume.to_sitk()
    assert image.GetSize() == reference.GetSize()
    np.testing.assert_allclose(image.GetDirection(), reference.GetDirection(), atol=1e-12)
    assert (
        sitk.GetArrayViewFromImage(image).tobytes()
        == sitk.GetArrayViewFromImage(reference).tobytes()
    )

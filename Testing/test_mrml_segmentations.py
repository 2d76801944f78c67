"""Segmentation node + segment ↔ mask on the CT grid, label maps, markups seeds (real MRML)."""

from __future__ import annotations

import numpy as np
import pytest
from mrml_harness import oblique_direction

from osteoimaging.errors import InputError
from osteoimaging.volume import Volume


def _ct_and_mask():
    rng = np.random.default_rng(5)
    ct = Volume(
        rng.normal(size=(12, 16, 14)).astype(np.float32),
        (0.5, 0.6, 1.1),
        (-3.0, 8.0, 20.0),
        oblique_direction((5.0, 30.0, -15.0)),
    )
    mask = ct.with_array(rng.random(ct.shape) > 0.6)
    mask.array[0] = False  # a mask not touching every face keeps extent handling honest
    return ct, mask


def _scene_with_segment(app, name: str):
    """(ct, mask, CT node, segmentation node on the CT grid, ID of the mask's segment)."""
    from osteoimaging.mrml.segmentations import mask_to_segment, new_segmentation_node
    from osteoimaging.mrml.volumes import volume_to_node

    ct, mask = _ct_and_mask()
    ct_node = volume_to_node(ct, app.scene, "ct")
    seg = new_segmentation_node(app.scene, "vertebrae", ct_node)
    return ct, mask, ct_node, seg, mask_to_segment(mask, seg, name)


def test_mask_segment_round_trip_is_exact_on_oblique_ct(slicer_app):
    from osteoimaging.mrml.segmentations import find_segment, segment_to_mask

    ct, mask, ct_node, seg, segment_id = _scene_with_segment(slicer_app, "L2")
    assert find_segment(seg, "l2") == segment_id
    back = segment_to_mask(seg, segment_id, ct_node)
    assert back.same_geometry(ct, tol=1e-9)
    assert back.array.dtype == bool
    np.testing.assert_array_equal(back.array, mask.array)


def test_replacing_a_segment_keeps_its_id(slicer_app):
    from osteoimaging.mrml.segmentations import mask_to_segment, segment_ids, segment_to_mask

    ct, _, ct_node, seg, segment_id = _scene_with_segment(slicer_app, "L1")
    box = ct.with_array(np.zeros(ct.shape, dtype=bool))
    box.array[3:7, 4:9, 2:6] = True
    assert mask_to_segment(box, seg, "L1", segment_id=segment_id) == segment_id
    assert segment_ids(seg) == [segment_id]
    np.testing.assert_array_equal(segment_to_mask(seg, segment_id, ct_node).array, box.array)


def test_segment_errors_name_the_segmentation(slicer_app):
    from osteoimaging.mrml.segmentations import find_segment, new_segmentation_node

    seg = new_segmentation_node(slicer_app.scene, "vertebrae")
    with pytest.raises(InputError, match="vertebrae: no segment named 'L3'"):
        find_segment(seg, "L3")


def test_labelmap_mask_round_trip(slicer_app):
    from osteoimaging.mrml.segmentations import labelmap_to_mask, mask_to_labelmap

    _, mask = _ct_and_mask()
    node = mask_to_labelmap(mask, slicer_app.scene, "labels", label=4)
    assert node.IsA("vtkMRMLLabelMapVolumeNode")
    np.testing.assert_array_equal(labelmap_to_mask(node, label=4).array, mask.array)
    assert not labelmap_to_mask(node, label=1).array.any()


def test_markups_seed_in_ras_and_voxel(slicer_app):
    from osteoimaging.mrml.markups import add_seed, seed_index, seed_lps, seed_ras

    ct, _ = _ct_and_mask()
    ijk = np.array([5, 9, 4])
    lps = ct.index_to_physical(ijk)
    ras = lps * [-1, -1, 1]
    node = add_seed(slicer_app.scene, ras)
    np.testing.assert_allclose(seed_ras(node), ras, atol=1e-9)
    np.testing.assert_allclose(seed_lps(node), lps, atol=1e-9)
    assert seed_index(ct, seed_ras(node)) == (4, 9, 5)
    with pytest.raises(InputError, match="outside"):
        seed_index(ct, ras + 1000.0)
    empty = slicer_app.scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "none")
    with pytest.raises(InputError, match="place a point"):
        seed_ras(empty)


def test_phantom_insert_points_and_labels(slicer_app):
    from osteoimaging.mrml.markups import control_points_lps

    node = slicer_app.scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "inserts")
    for ras, label in (((1.0, 2.0, 3.0), "0"), ((-4.0, 5.0, -6.0), "150")):
        index = node.AddControlPointWorld(*ras)
        node.SetNthControlPointLabel(index, label)
    points, labels = control_points_lps(node)
    np.testing.assert_allclose(points, [[-1.0, -2.0, 3.0], [4.0, -5.0, -6.0]])
    assert labels == ["0", "150"]
    with pytest.raises(InputError, match="empty: no points placed"):
        control_points_lps(
            slicer_app.scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "empty")
        )

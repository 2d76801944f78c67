"""Scene bundle (.mrb) round trip with CT, segmentation, styled map and results table."""

from __future__ import annotations

import numpy as np
import pytest
from mrml_harness import linear_field, oblique_direction

from osteoimaging.errors import InputError
from osteoimaging.volume import Volume


def test_mrb_round_trip(slicer_app, tmp_path):
    from osteoimaging.mrml.app import headless_slicer
    from osteoimaging.mrml.bundles import load_bundle, save_bundle
    from osteoimaging.mrml.maps import legend_node, map_to_node
    from osteoimaging.mrml.segmentations import (
        mask_to_segment,
        new_segmentation_node,
        segment_ids,
        segment_to_mask,
    )
    from osteoimaging.mrml.tables import new_results_table, set_result_row, table_rows
    from osteoimaging.mrml.volumes import node_to_volume, volume_to_node

    grid = Volume(np.zeros((8, 10, 12), np.int16), (0.4, 0.4, 0.7), (5, -5, 2), oblique_direction())
    ct = grid.with_array(linear_field(grid).array.astype(np.int16))
    mask = ct.with_array(np.zeros(ct.shape, bool))
    mask.array[2:6, 3:8, 4:9] = True
    loss = linear_field(Volume(np.zeros((9, 9, 9), np.float32), (0.3,) * 3, (4, -6, 3)))
    loss.array[:, :, :2] = np.nan

    scene = slicer_app.scene
    ct_node = volume_to_node(ct, scene, "CT")
    seg = new_segmentation_node(scene, "vertebrae", ct_node)
    mask_to_segment(mask, seg, "L3")
    map_node = map_to_node(loss, scene, "focal_bmd_loss", name="L3 Focal BMD loss")
    table = new_results_table(scene, "results")
    set_result_row(table, "L3", "body", {"focal_bmd_loss": 42.5, "calibration": "phantom"})
    path = save_bundle(scene, tmp_path / "case.mrb")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cache", "case.mrb"]

    other = headless_slicer(cache_dir=str(tmp_path / "cache2"))
    load_bundle(other.scene, path)
    ct_back = node_to_volume(other.scene.GetFirstNodeByName("CT"))
    np.testing.assert_array_equal(ct_back.array, ct.array)
    assert ct_back.same_geometry(ct, tol=1e-6)
    seg_back = other.scene.GetFirstNodeByName("vertebrae")
    [segment_id] = segment_ids(seg_back)
    assert seg_back.GetSegmentation().GetSegment(segment_id).GetName() == "L3"
    mask_back = segment_to_mask(seg_back, segment_id, other.scene.GetFirstNodeByName("CT"))
    np.testing.assert_array_equal(mask_back.array, mask.array)
    map_back = other.scene.GetFirstNodeByName("L3 Focal BMD loss")
    np.testing.assert_array_equal(node_to_volume(map_back).array, loss.array)  # NaN kept
    display = map_back.GetDisplayNode()
    assert display.GetColorNode().GetName() == "OsteoImaging inferno"
    assert display.GetWindow() == pytest.approx(map_node.GetDisplayNode().GetWindow())
    assert display.GetApplyThreshold()
    assert map_back.GetAttribute("OsteoImaging.map") == "focal_bmd_loss"
    assert map_back.GetVoxelValueUnits().GetCodeValue() == "{ratio}"
    assert legend_node(map_back).GetTitleText() == "Focal BMD loss (fraction)"
    [row] = table_rows(other.scene.GetFirstNodeByName("results"))
    assert row["focal_bmd_loss"] == 42.5 and row["calibration"] == "phantom"


def test_bad_bundles(slicer_app, tmp_path):
    """Clear errors; the working directory is kept (Slicer's reader would leave it deleted)."""
    import os

    from osteoimaging.mrml.bundles import load_bundle, save_bundle

    cwd = os.getcwd()
    with pytest.raises(InputError, match=r"case\.zip: scene bundle must end in \.mrb"):
        save_bundle(slicer_app.scene, tmp_path / "case.zip")
    with pytest.raises(InputError, match="scene bundle not found"):
        load_bundle(slicer_app.scene, tmp_path / "missing.mrb")
    broken = tmp_path / "broken.mrb"
    broken.write_bytes(b"not a zip")
    with pytest.raises(InputError, match=r"broken\.mrb: could not load the scene"):
        load_bundle(slicer_app.scene, broken)
    assert os.getcwd() == cwd

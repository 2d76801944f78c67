"""The FocalOsteoDefect module's workflow on a real MRML scene.

GrowCut and the measurement are passed in as plain functions here (they are the logic
layer's, tested in their own files); this tests what the bridge does with them: seeds,
segments, map nodes, table rows, re-measuring, cancelling.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from mrml_harness import linear_field, module_of_this_tree, oblique_direction

from osteoimaging.errors import CancelledError, InputError
from osteoimaging.volume import Volume


def _ct():
    grid = Volume(
        np.zeros((16, 20, 24), np.float32), (0.5, 0.5, 0.8), (0, 0, 0), oblique_direction()
    )
    return linear_field(grid)


def _box(ct, lo, hi):
    mask = ct.with_array(np.zeros(ct.shape, bool))
    mask.array[tuple(slice(a, b) for a, b in zip(lo, hi, strict=True))] = True
    return mask


def _measure(ct, mask, calibration, params, progress=None, align=False):
    """A stand-in measurement with known outputs: BMD map = CT inside the mask."""
    if progress is not None and progress(0.5, "half") is False:
        raise CancelledError("cancelled by the user")
    bmd = np.where(mask.array, ct.array, np.nan).astype(np.float32)
    return SimpleNamespace(
        values={"roi_voxels": int(mask.array.sum()), "calibration": {"source": "manual"}},
        maps={"bmd": ct.with_array(bmd)},
        roi=mask,
    )


def test_seed_then_segment_then_recompute(slicer_app):
    from osteoimaging.mrml.focal_workflow import run_focal, vertebrae_segmentation
    from osteoimaging.mrml.markups import add_seed
    from osteoimaging.mrml.segmentations import (
        mask_to_segment,
        new_segmentation_node,
        segment_to_mask,
    )
    from osteoimaging.mrml.tables import table_rows
    from osteoimaging.mrml.volumes import node_to_volume, volume_to_node

    scene = slicer_app.scene
    ct = _ct()
    ct_node = volume_to_node(ct, scene, "CT")
    seed_ijk = np.array([12, 10, 8])
    seed_lps = ct.index_to_physical(seed_ijk)
    grown = _box(ct, (4, 6, 8), (12, 14, 16))
    seen = {}

    def grow(volume, seed, progress=None):
        seen["seed"] = seed
        return grown

    # L1 from a seed: the grown body becomes an editable segment named L1.
    run = run_focal(
        ct_node,
        "L1",
        seed_node=add_seed(scene, seed_lps * [-1, -1, 1]),
        grow=grow,
        measure_fn=_measure,
        regions=False,
    )
    np.testing.assert_allclose(seen["seed"], seed_lps, atol=1e-9)
    vertebrae = vertebrae_segmentation(ct_node, create=False)
    assert vertebrae.GetName() == "OsteoImaging vertebrae"
    np.testing.assert_array_equal(
        segment_to_mask(vertebrae, run.segment_id, ct_node).array, grown.array
    )
    bmd_node = run.map_nodes["bmd"]
    assert bmd_node.GetName() == "L1 BMD"
    back = node_to_volume(bmd_node)
    np.testing.assert_array_equal(back.array, np.where(grown.array, ct.array, np.nan))
    assert back.same_geometry(ct, tol=1e-9)

    # L2 from the user's own segmentation.
    user = new_segmentation_node(scene, "user", ct_node)
    l2 = _box(ct, (2, 2, 2), (6, 9, 11))
    mask_to_segment(l2, user, "L2")
    run_focal(
        ct_node, "L2", segmentation_node=user, segment="L2", measure_fn=_measure, regions=False
    )
    rows = table_rows(run.table_node)
    assert [(r["level"], r["roi_voxels"], r["calibration"]) for r in rows] == [
        ("L1", grown.array.sum(), "manual"),
        ("L2", l2.array.sum(), "manual"),
    ]

    # Edit L1's segment (as in Segment Editor), then Recompute: same row, same map node.
    edited = _box(ct, (5, 6, 8), (12, 14, 16))
    mask_to_segment(edited, vertebrae, "L1", segment_id=run.segment_id)
    again = run_focal(
        ct_node, "L1", segmentation_node=vertebrae, segment="L1", measure_fn=_measure, regions=False
    )
    assert again.map_nodes["bmd"].GetID() == bmd_node.GetID()
    rows = table_rows(run.table_node)
    assert [(r["level"], r["roi_voxels"]) for r in rows] == [
        ("L1", edited.array.sum()),
        ("L2", l2.array.sum()),
    ]
    assert scene.GetNodesByClass("vtkMRMLTableNode").GetNumberOfItems() == 1


def test_two_cts_keep_their_own_maps_segments_and_tables(slicer_app):
    """L1 of one CT does not replace L1 of another (two patients, or scan and rescan)."""
    from osteoimaging.mrml.focal_workflow import (
        find_map_node,
        results_table,
        run_focal,
        vertebrae_segmentation,
    )
    from osteoimaging.mrml.markups import add_seed
    from osteoimaging.mrml.tables import table_rows
    from osteoimaging.mrml.volumes import volume_to_node

    ct = _ct()
    boxes = [_box(ct, (4, 6, 8), (12, 14, 16)), _box(ct, (2, 2, 2), (6, 9, 11))]
    nodes = [volume_to_node(ct, slicer_app.scene, name) for name in ("CT a", "CT b")]
    seed = add_seed(slicer_app.scene, (0.0, 0.0, 0.0))
    for node, box in zip(nodes, boxes, strict=True):
        run_focal(
            node,
            "L1",
            seed_node=seed,
            grow=lambda volume, point, progress=None, box=box: box,
            measure_fn=_measure,
            regions=False,
        )
    tables = [results_table(n, create=False) for n in nodes]
    segmentations = [vertebrae_segmentation(n, create=False) for n in nodes]
    maps = [find_map_node(slicer_app.scene, "L1", "bmd", n) for n in nodes]
    assert len({t.GetID() for t in tables}) == len({s.GetID() for s in segmentations}) == 2
    assert len({m.GetID() for m in maps}) == 2
    names = [t.GetName() for t in tables]
    assert names == ["OsteoImaging focal results", "OsteoImaging focal results_1"]
    for table, box in zip(tables, boxes, strict=True):
        [row] = table_rows(table)
        assert row["roi_voxels"] == box.array.sum()


def test_progress_and_cancel(slicer_app):
    from osteoimaging.mrml.focal_workflow import run_focal
    from osteoimaging.mrml.segmentations import mask_to_segment, new_segmentation_node
    from osteoimaging.mrml.volumes import volume_to_node

    ct = _ct()
    ct_node = volume_to_node(ct, slicer_app.scene, "CT")
    seg = new_segmentation_node(slicer_app.scene, "user", ct_node)
    mask_to_segment(_box(ct, (2, 2, 2), (6, 9, 11)), seg, "L3")
    fractions = []
    run_focal(
        ct_node,
        "L3",
        seg,
        "L3",
        measure_fn=_measure,
        regions=False,
        progress=lambda f, m: fractions.append(f),
    )
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions) and 0.2 < fractions[1] < 0.95
    with pytest.raises(CancelledError):
        run_focal(ct_node, "L4", seg, "L3", measure_fn=_measure, progress=lambda f, m: f < 0.3)
    nodes = slicer_app.scene.GetNodesByClass("vtkMRMLScalarVolumeNode")
    names = {nodes.GetItemAsObject(i).GetName() for i in range(nodes.GetNumberOfItems())}
    assert "L4 BMD" not in names


def test_bad_inputs(slicer_app):
    from osteoimaging.mrml.focal_workflow import run_focal
    from osteoimaging.mrml.volumes import volume_to_node

    ct_node = volume_to_node(_ct(), slicer_app.scene, "CT")
    with pytest.raises(InputError, match="vertebra level must be one of"):
        run_focal(ct_node, "S1", measure_fn=_measure, regions=False)
    with pytest.raises(InputError, match="click the vertebral body"):
        run_focal(ct_node, "L1", measure_fn=_measure, regions=False)
    with pytest.raises(InputError, match="select the CT volume"):
        run_focal(None, "L1", measure_fn=_measure, regions=False)


@pytest.mark.slow
def test_real_measurement_on_a_phantom(slicer_app):
    """End to end with the logic layer: GrowCut from a click, focal maps, sub-region rows."""
    focal = module_of_this_tree("osteoimaging.focal")
    segmentation = module_of_this_tree("osteoimaging.segmentation")
    module_of_this_tree("osteoimaging.subregions")
    from osteoimaging.calibration.linear import LinearCalibration
    from osteoimaging.mrml.focal_workflow import run_focal, vertebrae_segmentation
    from osteoimaging.mrml.markups import add_seed
    from osteoimaging.mrml.segmentations import segment_to_mask
    from osteoimaging.mrml.tables import table_rows
    from osteoimaging.mrml.volumes import node_to_volume, volume_to_node
    from osteoimaging.phantoms import FocalDefect, VertebraSpec, vertebra_ct

    # A full-size body with posterior elements: GrowCut must not leak into the pedicles.
    spec = VertebraSpec(hires_mm=0.2, defects=[FocalDefect((6.0, -3.0, 2.0), (5.0, 4.0, 4.0))])
    ct, mask, truth = vertebra_ct(spec)
    calibration = LinearCalibration.manual(
        truth["calibration"]["slope"], truth["calibration"]["intercept"]
    )
    params = focal.FocalParameters(spacing_mm=0.5, angle_step_deg=30.0, sample_step_mm=0.5)
    ct_node = volume_to_node(ct, slicer_app.scene, "CT")
    seed = add_seed(slicer_app.scene, np.array([-8.0, 4.0, 0.0]) * [-1, -1, 1])  # in the body
    run = run_focal(ct_node, "L2", seed_node=seed, calibration=calibration, params=params)

    segment_mask = segment_to_mask(vertebrae_segmentation(ct_node), run.segment_id, ct_node)
    assert segmentation.dice(segment_mask.array, mask.array) > 0.9
    # The table and maps are exactly what the logic layer gives for that segment.
    grown = focal.measure_focal(ct, segment_mask, calibration, params)
    rows = table_rows(run.table_node)
    body = next(r for r in rows if r["region"] == "body")
    assert body["focal_bmc_loss_mm"] == pytest.approx(grown.values["focal_bmc_loss_mm"])
    assert body["calibration"] == "manual"
    assert len(rows) == 1 + 9  # the body and its nine sub-regions
    for key, volume in grown.maps.items():
        back = node_to_volume(run.map_nodes[key])
        assert back.same_geometry(volume, tol=1e-6)
        np.testing.assert_array_equal(back.array, volume.array.astype(np.float32))

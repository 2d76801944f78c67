"""The FocalOsteoDefect module's workflow on a real MRML scene, with the real pipeline.

The bridge gathers inputs from nodes and stores the case pipeline's outputs in nodes:
seeds, segments, map nodes, the results row, re-measuring, cancelling. A small phantom
and coarse parameters keep it quick; the row is compared with the pipeline's own.
"""

from __future__ import annotations

import numpy as np
import pytest
from focal_cases import vertebra_scan

from osteoimaging.calibration.linear import LinearCalibration
from osteoimaging.case import BodySource, CaseRequest, measure_case
from osteoimaging.errors import CancelledError, InputError
from osteoimaging.focal import FocalParameters
from osteoimaging.geometry import lps_to_ras

FAST = FocalParameters(angle_step_deg=30.0)
CAL = LinearCalibration.manual(0.8, -5.0)


@pytest.fixture(scope="module")
def scan():
    return vertebra_scan()


def _centre_ras(mask) -> tuple[float, float, float]:
    centre = np.argwhere(mask.array).mean(axis=0)[::-1]
    return tuple(lps_to_ras(mask.index_to_physical(centre)))


def _same_row(a: dict, b: dict) -> None:
    assert list(a) == list(b)
    for key in a:
        if isinstance(a[key], float) and np.isnan(a[key]):
            assert np.isnan(b[key]), key
        else:
            assert a[key] == b[key], key


def test_seed_then_segment_then_recompute(slicer_app, scan):
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
    ct, mask = scan
    ct_node = volume_to_node(ct, scene, "CT")
    seed = _centre_ras(mask)

    # T11 from a seed: the grown body becomes an editable segment named T11; the row is
    # the case pipeline's row for the same click.
    run = run_focal(ct_node, "T11", seed_node=add_seed(scene, seed), calibration=CAL, params=FAST)
    expected = measure_case(
        CaseRequest(ct, [BodySource("T11", seed_ras=seed)], calibration=CAL, params=FAST)
    ).levels[0]
    _same_row(run.row, expected.row)
    vertebrae = vertebrae_segmentation(ct_node, create=False)
    assert vertebrae.GetName() == "OsteoImaging vertebrae"
    grown = segment_to_mask(vertebrae, run.segment_id, ct_node)
    np.testing.assert_array_equal(grown.array, expected.body.array)
    bmd_node = run.map_nodes["bmd"]
    assert bmd_node.GetName() == "T11 BMD" and set(run.map_nodes) == set(expected.focal.maps)
    back = node_to_volume(bmd_node)
    assert back.same_geometry(expected.focal.maps["bmd"], tol=1e-6)
    np.testing.assert_array_equal(back.array, expected.focal.maps["bmd"].array)
    [row] = table_rows(run.table_node)
    assert row["level"] == "T11" and row["qc"] == expected.row["qc"]
    assert row["focal_bmc_loss_mm"] == expected.row["focal_bmc_loss_mm"]

    # T12 from the user's own segmentation (the phantom's mask).
    user = new_segmentation_node(scene, "user", ct_node)
    mask_to_segment(mask, user, "T12")
    run_focal(ct_node, "T12", segmentation_node=user, segment="T12", params=FAST)
    rows = table_rows(run.table_node)
    assert [r["level"] for r in rows] == ["T11", "T12"]
    assert rows[1]["source"] == "segment 'T12'" and rows[1]["calibration"] == "none"

    # Edit T11's segment (as in Segment Editor), then Recompute: same row, same map node.
    edited = grown.with_array(grown.array.copy())
    bottom = int(np.argwhere(edited.array)[:, 0].min())
    edited.array[: bottom + 4] = False  # the lowest slices trimmed in Segment Editor
    mask_to_segment(edited, vertebrae, "T11", segment_id=run.segment_id)
    again = run_focal(
        ct_node, "T11", segmentation_node=vertebrae, segment="T11", calibration=CAL, params=FAST
    )
    assert again.map_nodes["bmd"].GetID() == bmd_node.GetID()
    rows = table_rows(run.table_node)
    assert [r["level"] for r in rows] == ["T11", "T12"]
    assert rows[0]["roi_voxels"] == again.row["roi_voxels"] < expected.row["roi_voxels"]
    assert rows[0]["source"] == "segment 'T11'"
    assert scene.GetNodesByClass("vtkMRMLTableNode").GetNumberOfItems() == 1


def test_two_cts_keep_their_own_maps_segments_and_tables(slicer_app, scan):
    """T11 of one CT does not replace T11 of another (two patients, or scan and rescan)."""
    from osteoimaging.mrml.focal_workflow import (
        find_map_node,
        results_table,
        run_focal,
        vertebrae_segmentation,
    )
    from osteoimaging.mrml.markups import add_seed
    from osteoimaging.mrml.tables import table_rows
    from osteoimaging.mrml.volumes import volume_to_node

    ct, mask = scan
    other = ct.with_array(ct.array + np.int16(50))  # a denser twin
    nodes = [volume_to_node(v, slicer_app.scene, n) for v, n in ((ct, "CT a"), (other, "CT b"))]
    seed = add_seed(slicer_app.scene, _centre_ras(mask))
    for node in nodes:
        run_focal(node, "T11", seed_node=seed, params=FAST)
    tables = [results_table(n, create=False) for n in nodes]
    segmentations = [vertebrae_segmentation(n, create=False) for n in nodes]
    maps = [find_map_node(slicer_app.scene, "T11", "bmd", n) for n in nodes]
    assert len({t.GetID() for t in tables}) == len({s.GetID() for s in segmentations}) == 2
    assert len({m.GetID() for m in maps}) == 2
    names = [t.GetName() for t in tables]
    assert names == ["OsteoImaging focal results", "OsteoImaging focal results_1"]
    (a,), (b,) = (table_rows(t) for t in tables)
    assert b["trabecular_bmd"] == pytest.approx(a["trabecular_bmd"] + 50, abs=1.0)


def test_progress_cancel_and_bad_inputs(slicer_app, scan):
    from osteoimaging.mrml.focal_workflow import run_focal
    from osteoimaging.mrml.segmentations import mask_to_segment, new_segmentation_node
    from osteoimaging.mrml.volumes import volume_to_node

    ct, mask = scan
    ct_node = volume_to_node(ct, slicer_app.scene, "CT")
    seg = new_segmentation_node(slicer_app.scene, "user", ct_node)
    mask_to_segment(mask, seg, "L3")
    fractions = []
    run_focal(ct_node, "L3", seg, "L3", params=FAST, progress=lambda f, m: fractions.append(f))
    assert fractions[0] == 0.0 and fractions[-1] == 1.0
    assert fractions == sorted(fractions) and len(fractions) > 10
    with pytest.raises(CancelledError):
        run_focal(ct_node, "L4", seg, "L3", params=FAST, progress=lambda f, m: f < 0.3)
    nodes = slicer_app.scene.GetNodesByClass("vtkMRMLScalarVolumeNode")
    names = {nodes.GetItemAsObject(i).GetName() for i in range(nodes.GetNumberOfItems())}
    assert "L4 BMD" not in names
    with pytest.raises(InputError, match="vertebra level must be one of"):
        run_focal(ct_node, "S1")
    with pytest.raises(InputError, match="click the vertebral body"):
        run_focal(ct_node, "L1")
    with pytest.raises(InputError, match="select the CT volume"):
        run_focal(None, "L1")


def test_study_report_of_the_measured_levels(slicer_app, scan, tmp_path):
    """Save report writes the same study page as the CLI, for every level measured."""
    from osteoimaging.mrml.focal_workflow import run_focal
    from osteoimaging.mrml.report import save_report
    from osteoimaging.mrml.segmentations import mask_to_segment, new_segmentation_node
    from osteoimaging.mrml.volumes import volume_to_node

    ct, mask = scan
    ct_node = volume_to_node(ct, slicer_app.scene, "CT")
    with pytest.raises(InputError, match="measure a vertebra"):
        save_report(ct_node, tmp_path / "r.html")
    seg = new_segmentation_node(slicer_app.scene, "user", ct_node)
    for level in ("T12", "T11"):
        mask_to_segment(mask, seg, level)
        run_focal(ct_node, level, seg, level, params=FAST)
    html = save_report(ct_node, tmp_path / "r.html").read_text()
    assert html.index('id="level-T11"') < html.index('id="level-T12"')  # level order
    assert html.count("data:image/png;base64,") == 2 * 3 + 4  # + bar charts across levels


def test_phantom_calibration_in_the_scan_and_its_quality_gate(slicer_app):
    """Insert points named by density: the fit of their mean HU, refused when poor."""
    from osteoimaging.mrml.focal_workflow import phantom_calibration
    from osteoimaging.mrml.volumes import volume_to_node
    from osteoimaging.volume import Volume

    densities = [0.0, 100.0, 200.0, 400.0]
    hu = np.full((40, 40, 120), -100.0, np.float32)
    centres = []
    for n, rho in enumerate(densities):
        hu[10:30, 12:28, 8 + 28 * n : 24 + 28 * n] = (rho + 5.0) / 0.8  # BMD = 0.8 HU − 5
        centres.append((16.0 + 28 * n, 20.0, 20.0))  # LPS mm at 1 mm voxels
    ct_node = volume_to_node(Volume(hu), slicer_app.scene, "phantom CT")

    def inserts(names):
        node = slicer_app.scene.AddNewNodeByClass("vtkMRMLMarkupsFiducialNode", "inserts")
        for (x, y, z), name in zip(centres, names, strict=True):
            node.AddControlPointWorld(-x, -y, z, name)
        return node

    calibration = phantom_calibration(ct_node, inserts([f"{d:g}" for d in densities]))
    assert calibration.source == "phantom"
    assert calibration.slope == pytest.approx(0.8) and calibration.intercept == pytest.approx(-5.0)
    assert calibration.details["qa"]["status"] == "ok"
    with pytest.raises(InputError, match="poor phantom fit refused"):
        phantom_calibration(ct_node, inserts(["0", "100", "300", "400"]))  # a wrong density
    with pytest.raises(InputError, match="name each insert point by its density"):
        phantom_calibration(ct_node, inserts(["water", "100", "200", "400"]))

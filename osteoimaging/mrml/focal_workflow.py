"""What the FocalOsteoDefect module's Logic does, on MRML nodes, testable headless.

Steps: CT node → :class:`Volume`; the vertebral-body mask from a segment (or grown by
GrowCut from a seed point and stored as an editable segment named after the level);
the focal-defect measurement of the logic layer; its maps as styled overlay nodes
named ``"<level> <map label>"``; one table row per level (and per sub-region).
Measuring a level again updates its nodes and rows, so a radiologist can edit the
segment in Segment Editor and "Recompute".

The measurement and GrowCut functions are imported when called, so this module loads
without the optional dependencies they need.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from osteoimaging.errors import InputError
from osteoimaging.log import logger
from osteoimaging.mrml import maps as map_nodes
from osteoimaging.mrml.markups import control_points_lps, seed_lps
from osteoimaging.mrml.segmentations import (
    find_segment,
    mask_to_segment,
    new_segmentation_node,
    segment_to_mask,
)
from osteoimaging.mrml.tables import new_results_table, set_result_row
from osteoimaging.mrml.volumes import node_to_volume
from osteoimaging.progress import ProgressCallback, report, sub_progress
from osteoimaging.volume import Volume

LEVELS = ("T11", "T12", "L1", "L2", "L3", "L4", "L5")
INSERT_RADIUS_MM = 3.0
SEGMENTATION_NAME = "OsteoImaging vertebrae"
TABLE_NAME = "OsteoImaging focal results"
# Table columns (in this order) taken from FocalResult.values when present.
TABLE_VALUES = (
    "focal_bmc_loss_mm",
    "focal_bmd_loss",
    "intercept_width_mm",
    "trabecular_bmd_mg_cm3",
    "void_coverage",
    "roi_volume_ml",
    "roi_voxels",
)


@dataclass
class FocalRun:
    """The nodes one measurement produced or updated."""

    level: str
    segment_id: str | None
    map_nodes: dict[str, Any] = field(default_factory=dict)
    table_node: Any = None
    values: dict[str, Any] = field(default_factory=dict)


def grow_body_from_seed(ct: Volume, seed: np.ndarray, progress: ProgressCallback | None = None):
    """The vertebral-body mask grown by GrowCut from an LPS seed point (one click)."""
    from osteoimaging.segmentation import segment_vertebral_body

    return segment_vertebral_body(ct, seed, progress=progress).mask


def alignment_direction(ct: Volume, mask: Volume) -> np.ndarray | None:
    """The vertebral body's own axes (3×3 LPS columns, end-plate fit) for the analysis grid."""
    from osteoimaging.alignment import align_body

    return align_body(mask, "endplates").direction


def measure(ct: Volume, mask: Volume, calibration, params, progress=None, align: bool = False):
    """The focal-defect measurement of the logic layer (issue 3), optionally body-aligned."""
    from osteoimaging.focal import measure_focal

    direction = alignment_direction(ct, mask) if align else None
    return measure_focal(
        ct,
        mask,
        calibration=calibration,
        params=params,
        grid_direction=direction,
        progress=progress,
    )


def phantom_calibration(ct_node, inserts_node, radius_mm: float = INSERT_RADIUS_MM):
    """Linear calibration from phantom inserts marked in this scan.

    Each control point of ``inserts_node`` sits at the centre of one insert and is named
    by the insert's nominal density in mg/cm³; the mean HU in a cylinder of
    ``radius_mm`` around it is fitted by the logic layer's linear phantom fit.
    """
    from osteoimaging.calibration.fit import fit_linear
    from osteoimaging.calibration.inserts import measure_insert_centres

    points, labels = control_points_lps(inserts_node)
    try:
        densities = [float(label) for label in labels]
    except ValueError as error:
        raise InputError(
            "name each insert point by its density in mg/cm³ (e.g. 100)", inserts_node.GetName()
        ) from error
    measured = measure_insert_centres(node_to_volume(ct_node), points, radius_mm)
    fit = fit_linear(densities, [m.mean_hu for m in measured])
    return fit.calibration("phantom", inserts=len(densities), radius_mm=radius_mm)


def profile_calibration(path):
    """The calibration of a saved calibration profile (JSON written by ``osteo calibrate``)."""
    from osteoimaging.calibration.profile import load_profile

    return load_profile(path).calibration()


def _find_node(scene, cls: str, **attributes: str):
    """The first node of class ``cls`` whose ``OsteoImaging.<name>`` attributes match."""
    nodes = scene.GetNodesByClass(cls)
    for i in range(nodes.GetNumberOfItems()):
        node = nodes.GetItemAsObject(i)
        if all(node.GetAttribute(f"OsteoImaging.{k}") == v for k, v in attributes.items()):
            return node
    return None


def vertebrae_segmentation(ct_node, create: bool = True):
    """The segmentation holding the bodies grown on ``ct_node`` (one per CT, on its grid)."""
    scene = ct_node.GetScene()
    node = _find_node(scene, "vtkMRMLSegmentationNode", ct=ct_node.GetID())
    if node is None and create:
        node = new_segmentation_node(scene, scene.GenerateUniqueName(SEGMENTATION_NAME), ct_node)
        node.SetAttribute("OsteoImaging.ct", ct_node.GetID())
    return node


def body_mask(
    ct_node,
    level: str,
    segmentation_node=None,
    segment: str | None = None,
    seed_node=None,
    grow: Callable = grow_body_from_seed,
    progress: ProgressCallback | None = None,
    ct: Volume | None = None,
) -> tuple[Volume, Any, str]:
    """(mask on the CT grid, segmentation node, segment ID) for one level.

    ``ct`` is ``ct_node`` as a Volume when the caller has it already.
    With a segmentation and segment: that segment. With a seed point: the body grown
    from it, stored as (or replacing) the segment named ``level`` of the OsteoImaging
    segmentation, so it can be edited and measured again.
    """
    if segmentation_node is not None and segment:
        segment_id = find_segment(segmentation_node, segment)
        return (
            segment_to_mask(segmentation_node, segment_id, ct_node),
            segmentation_node,
            segment_id,
        )
    if seed_node is None:
        raise InputError("choose a segmentation and segment, or click the vertebral body")
    ct = ct if ct is not None else node_to_volume(ct_node)
    mask = grow(ct, seed_lps(seed_node), progress=progress)
    segmentation_node = vertebrae_segmentation(ct_node)
    try:
        existing = find_segment(segmentation_node, level)
    except InputError:
        existing = None
    segment_id = mask_to_segment(mask, segmentation_node, level, segment_id=existing)
    return segment_to_mask(segmentation_node, segment_id, ct_node), segmentation_node, segment_id


def find_map_node(scene, level: str, key: str, ct_node):
    """The map node of ``ct_node``'s ``level`` and map ``key`` from an earlier run, or None."""
    return _find_node(scene, "vtkMRMLScalarVolumeNode", map=key, level=level, ct=ct_node.GetID())


def results_table(ct_node, create: bool = True):
    """The focal results table of ``ct_node`` (one per CT; created on first use).

    Named ``OsteoImaging focal results`` (made unique), never after the CT, whose name
    may come from DICOM.
    """
    scene = ct_node.GetScene()
    node = _find_node(scene, "vtkMRMLTableNode", ct=ct_node.GetID())
    if node is None and create:
        node = new_results_table(scene, scene.GenerateUniqueName(TABLE_NAME))
        node.SetAttribute("OsteoImaging.ct", ct_node.GetID())
    return node


def _row(values: dict[str, Any]) -> dict[str, Any]:
    row = {k: values[k] for k in TABLE_VALUES if k in values}
    calibration = values.get("calibration")
    if isinstance(calibration, dict):
        row["calibration"] = calibration.get("source", "")
    elif calibration is not None:
        row["calibration"] = getattr(calibration, "source", str(calibration))
    return row


# Sub-region table columns from map means (the body row's names for the same quantities).
REGION_COLUMNS = {
    "focal_bmc_loss": "focal_bmc_loss_mm",
    "focal_bmd_loss": "focal_bmd_loss",
    "intercept_width": "intercept_width_mm",
    "bmd": "trabecular_bmd_mg_cm3",
    "bmd_n": "roi_voxels",
}


def subregion_rows(result) -> dict[str, dict[str, Any]]:
    """Table rows of the nine cranio-caudal × antero-posterior sub-regions of the ROI."""
    from osteoimaging.subregions import subregion_means

    means = subregion_means(result.maps, result.roi)
    return {
        region: {column: values[key] for key, column in REGION_COLUMNS.items() if key in values}
        for region, values in means.items()
        if region != "roi"
    }


def store_result(
    scene, ct_node, level: str, result, segment_id: str | None = None, regions: bool = True
) -> FocalRun:
    """Put a FocalResult into the scene: styled map nodes, table rows; returns the nodes.

    ``regions`` adds one row per sub-region (:func:`subregion_rows`).
    """
    run = FocalRun(level=level, segment_id=segment_id, values=dict(result.values))
    for key, volume in result.maps.items():
        node = find_map_node(scene, level, key, ct_node)
        name = f"{level} {map_nodes.style_for(key).label}"
        node = map_nodes.map_to_node(volume, scene, key, name=name, node=node)
        node.SetAttribute("OsteoImaging.level", level)
        node.SetAttribute("OsteoImaging.ct", ct_node.GetID())
        run.map_nodes[key] = node
    table = results_table(ct_node)
    set_result_row(table, level, "body", _row(run.values))
    for region, row in (subregion_rows(result) if regions else {}).items():
        set_result_row(table, level, region, row)
    run.table_node = table
    return run


def run_focal(
    ct_node,
    level: str,
    segmentation_node=None,
    segment: str | None = None,
    seed_node=None,
    calibration=None,
    params=None,
    progress: ProgressCallback | None = None,
    align: bool = False,
    regions: bool = True,
    grow: Callable = grow_body_from_seed,
    measure_fn: Callable = measure,
) -> FocalRun:
    """Measure one vertebra: mask (segment or seed), measurement, maps and table row."""
    if ct_node is None:
        raise InputError("select the CT volume")
    if level not in LEVELS:
        raise InputError(f"vertebra level must be one of {', '.join(LEVELS)}, got {level!r}")
    scene = ct_node.GetScene()
    report(progress, 0.0, "vertebral body")
    ct = node_to_volume(ct_node)
    mask, _, segment_id = body_mask(
        ct_node,
        level,
        segmentation_node,
        segment,
        seed_node,
        grow,
        sub_progress(progress, 0, 0.2),
        ct=ct,
    )
    logger.info("focal defect %s: %d mask voxels", level, int(mask.array.sum()))
    result = measure_fn(
        ct, mask, calibration, params, sub_progress(progress, 0.2, 0.95), align=align
    )
    run = store_result(scene, ct_node, level, result, segment_id, regions)
    report(progress, 1.0, "done")
    return run

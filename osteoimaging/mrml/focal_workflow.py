"""What the FocalOsteoDefect module's Logic does, on MRML nodes, testable headless.

The bridge only gathers inputs from nodes and stores outputs in nodes; the measurement
is the one case pipeline (:func:`osteoimaging.case.measure_case`), as in the CLI, the
batch and the browser station:

* inputs: the CT node → :class:`~osteoimaging.volume.Volume`; the body from a segment,
  or from a seed point (GrowCut with Slicer's own ``vtkImageGrowCutSegment`` when
  slicer-core has it, so a click needs no extra package);
* outputs: the grown body as an editable segment named after the level; the maps as
  styled overlay nodes named ``"<level> <map label>"``; the level's results row (the
  one row schema, :mod:`osteoimaging.case.rows`) in the CT's results table.

Measuring a level again updates its nodes and row, so a radiologist can edit the
segment in Segment Editor and "Recompute". Each level's last result is kept in memory
(:func:`measured_cases`) for the study report.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from osteoimaging.errors import InputError
from osteoimaging.log import logger
from osteoimaging.maps import map_info
from osteoimaging.mrml import maps as map_nodes
from osteoimaging.mrml.markups import control_points_lps, seed_ras
from osteoimaging.mrml.segmentations import (
    find_segment,
    mask_to_segment,
    new_segmentation_node,
    segment_to_mask,
)
from osteoimaging.mrml.tables import upsert_row
from osteoimaging.mrml.volumes import node_to_volume
from osteoimaging.progress import ProgressCallback, report, sub_progress
from osteoimaging.segmentation.labels import ANALYSIS_LEVELS

LEVELS = ANALYSIS_LEVELS
INSERT_RADIUS_MM = 3.0
SEGMENTATION_NAME = "OsteoImaging vertebrae"
TABLE_NAME = "OsteoImaging focal results"
#: The last CaseResult of each (CT key, level), for the study report (:func:`ct_key`).
_RESULTS: dict[tuple[str, str], Any] = {}


@dataclass
class FocalRun:
    """The nodes one measurement produced or updated, and its results row."""

    level: str
    segment_id: str | None
    map_nodes: dict[str, Any] = field(default_factory=dict)
    table_node: Any = None
    row: dict[str, Any] = field(default_factory=dict)
    result: Any = None

    @property
    def flags(self) -> list:
        return [] if self.result is None else list(self.result.flags)


def slicer_growcut() -> Callable | None:
    """Slicer's own GrowCut kernel (``vtkImageGrowCutSegment``) when this Slicer has it."""
    try:
        from osteoimaging.mrml.growcut import vtk_growcut
    except ImportError:  # pragma: no cover - depends on the slicer-core build
        return None
    return vtk_growcut


def phantom_calibration(ct_node, inserts_node, radius_mm: float = INSERT_RADIUS_MM):
    """Linear calibration from phantom inserts marked in this scan.

    Each control point of ``inserts_node`` sits at the centre of one insert and is named
    by the insert's nominal density in mg/cm³; the mean HU in a cylinder of
    ``radius_mm`` around it is fitted by the logic layer's linear phantom fit and passes
    its quality gate (:func:`osteoimaging.calibration.qa.fit_quality`): a poor fit is
    refused, a doubtful one logged.
    """
    from osteoimaging.calibration.fit import fit_linear
    from osteoimaging.calibration.inserts import measure_insert_centres
    from osteoimaging.calibration.qa import OK, POOR, fit_quality

    points, labels = control_points_lps(inserts_node)
    try:
        densities = [float(label) for label in labels]
    except ValueError as error:
        raise InputError(
            "name each insert point by its density in mg/cm³ (e.g. 100)", inserts_node.GetName()
        ) from error
    measured = measure_insert_centres(node_to_volume(ct_node), points, radius_mm)
    fit = fit_linear(densities, [m.mean_hu for m in measured])
    quality = fit_quality(fit, densities)
    if quality.status == POOR:
        raise InputError(
            f"poor phantom fit refused ({'; '.join(quality.reasons)}): check the insert "
            "points, their densities and that each sits inside its insert",
            inserts_node.GetName(),
        )
    if quality.status != OK:
        logger.warning("phantom fit: %s", "; ".join(quality.reasons))
    return fit.calibration(
        "phantom", inserts=len(densities), radius_mm=radius_mm, qa=quality.to_dict()
    )


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
        node = scene.AddNewNodeByClass("vtkMRMLTableNode", scene.GenerateUniqueName(TABLE_NAME))
        node.SetAttribute("OsteoImaging.ct", ct_node.GetID())
    return node


def ct_key(ct_node) -> str:
    """A key unique to this CT node (a random token kept in a node attribute): node IDs
    are reused after the scene is closed, so they cannot key remembered results."""
    key = ct_node.GetAttribute("OsteoImaging.key")
    if not key:
        key = uuid.uuid4().hex
        ct_node.SetAttribute("OsteoImaging.key", key)
    return key


def measured_cases(ct_node) -> list:
    """The CaseResults (one level each) measured on ``ct_node`` in this session, in level
    order."""
    key = ct_key(ct_node)
    found = [(level, r) for (k, level), r in _RESULTS.items() if k == key]
    order = {name: i for i, name in enumerate(LEVELS)}
    return [r for _, r in sorted(found, key=lambda item: order.get(item[0], len(order)))]


def body_source(ct_node, level, segmentation_node=None, segment=None, seed_node=None):
    """The :class:`~osteoimaging.case.BodySource` of a segment or a seed point."""
    from osteoimaging.case import BodySource

    if segmentation_node is not None and segment:
        segment_id = find_segment(segmentation_node, segment)
        mask = segment_to_mask(segmentation_node, segment_id, ct_node)
        name = segmentation_node.GetSegmentation().GetSegment(segment_id).GetName()
        return BodySource(level, mask=mask, description=f"segment '{name}'")
    if seed_node is None:
        raise InputError("choose a segmentation and segment, or click the vertebral body")
    return BodySource(level, seed_ras=tuple(seed_ras(seed_node)))


def store_result(scene, ct_node, case, seeded: bool) -> FocalRun:
    """Put a one-level CaseResult into the scene: body segment (if grown), styled maps,
    table row."""
    (level_result,) = case.levels
    level = level_result.name
    segment_id = None
    if seeded:
        segmentation_node = vertebrae_segmentation(ct_node)
        try:
            existing = find_segment(segmentation_node, level)
        except InputError:
            existing = None
        segment_id = mask_to_segment(
            level_result.body, segmentation_node, level, segment_id=existing
        )
    run = FocalRun(level, segment_id, row=dict(level_result.row), result=level_result)
    for key, volume in level_result.focal.maps.items():
        node = find_map_node(scene, level, key, ct_node)
        name = f"{level} {map_info(key).label}"
        node = map_nodes.map_to_node(volume, scene, key, name=name, node=node)
        node.SetAttribute("OsteoImaging.level", level)
        node.SetAttribute("OsteoImaging.ct", ct_node.GetID())
        run.map_nodes[key] = node
    run.table_node = results_table(ct_node)
    upsert_row(run.table_node, run.row, key="level")
    _RESULTS[ct_key(ct_node), level] = case
    return run


def focal_request(
    ct_node,
    level: str,
    segmentation_node=None,
    segment: str | None = None,
    seed_node=None,
    calibration=None,
    params=None,
    align: bool | str = "endplates",
    left_right: bool = False,
    input_units: str = "HU",
    material: str | None = None,
    growcut: Callable | None = None,
):
    """The :class:`~osteoimaging.case.CaseRequest` of one level from the scene's nodes.

    Reads the nodes only; :func:`osteoimaging.case.measure_case` can then run without the
    scene (e.g. on a worker thread while the views render) and :func:`store_result` puts
    the result back. ``align`` True/False is ``"endplates"``/``"none"``; ``growcut``
    defaults to Slicer's own kernel (:func:`slicer_growcut`).
    """
    from osteoimaging.case import CaseRequest
    from osteoimaging.focal.parameters import FocalParameters

    if ct_node is None:
        raise InputError("select the CT volume")
    if level not in LEVELS:
        raise InputError(f"vertebra level must be one of {', '.join(LEVELS)}, got {level!r}")
    if isinstance(align, bool):
        align = "endplates" if align else "none"
    source = body_source(ct_node, level, segmentation_node, segment, seed_node)
    return CaseRequest(
        ct=node_to_volume(ct_node),
        bodies=[source],
        calibration=calibration,
        input_units=input_units,
        material=material,
        align=align,
        params=params or FocalParameters(),
        left_right=left_right,
        growcut=growcut if growcut is not None else slicer_growcut(),
    )


def run_focal(
    ct_node,
    level: str,
    segmentation_node=None,
    segment: str | None = None,
    seed_node=None,
    calibration=None,
    params=None,
    progress: ProgressCallback | None = None,
    align: bool | str = "endplates",
    left_right: bool = False,
    input_units: str = "HU",
    material: str | None = None,
    growcut: Callable | None = None,
) -> FocalRun:
    """Measure one vertebra with the case pipeline and store its segment, maps and row:
    :func:`focal_request`, :func:`osteoimaging.case.measure_case`, :func:`store_result`."""
    from osteoimaging.case import measure_case

    report(progress, 0.0, "reading the CT")
    request = focal_request(
        ct_node,
        level,
        segmentation_node,
        segment,
        seed_node,
        calibration,
        params,
        align,
        left_right,
        input_units,
        material,
        growcut,
    )
    case = measure_case(request, sub_progress(progress, 0.02, 0.95))
    seeded = request.bodies[0].seed_ras is not None
    run = store_result(ct_node.GetScene(), ct_node, case, seeded)
    logger.info("focal defect %s: %s", level, run.row["qc"])
    report(progress, 1.0, "done")
    return run

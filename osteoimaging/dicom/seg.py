"""DICOM Segmentation of a case: per level, the vertebral body and the trabecular ROI.

Segments are numbered by level order: level n (0-based) has the body as segment 2n + 1
and the ROI as 2n + 2. Both are BINARY segments on the source CT frames (the masks must
be on the source Volume's grid). Coding (see :mod:`osteoimaging.dicom.codes`):

* body: category Anatomical Structure (SCT 91723000), type Vertebral body (SCT 3572006),
  anatomic region = the level's vertebra (CID 7603, e.g. SCT 23215003 "T12 vertebra");
* ROI (eroded body): category Tissue (SCT 85756007), type Bone (SCT 3138006, CID 7166),
  same anatomic region, algorithm family Morphological Operations (DCM 123104).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import highdicom as hd
import numpy as np
from pydicom.sr.codedict import codes as pcodes

from osteoimaging._version import __version__
from osteoimaging.dicom import codes, identity
from osteoimaging.dicom.level import LevelOutputs
from osteoimaging.dicom.source import DicomSource
from osteoimaging.errors import InputError
from osteoimaging.volume import Volume

KINDS = {"body": "vertebral body", "roi": "trabecular ROI"}
_COLOURS = {"body": (241, 214, 145), "roi": (230, 110, 40)}
_GEOMETRY_TOL = 1e-6


@dataclass(frozen=True)
class SegmentInfo:
    """A segment of the case SEG: number, level, kind (body/roi), label, tracking UID."""

    number: int
    level: str
    kind: str
    label: str
    tracking_uid: str


def roi_on_ct_grid(roi: Volume, ct: Volume) -> Volume:
    """The ROI (e.g. on the 0.3 mm analysis grid) as a boolean mask on ``ct``'s grid.

    Nearest neighbour: a CT voxel is in the ROI when its centre falls in an ROI voxel
    (:func:`osteoimaging.focal.resample.resample_mask`). Thin parts of the ROI narrower
    than a CT voxel can vanish; the SR's ROI volume stays the analysis-grid value.
    """
    from osteoimaging.focal.resample import resample_mask  # imports the focal package

    return resample_mask(roi.with_array(np.asarray(roi.array) != 0), ct, "nearest")


def segment_infos(levels: Sequence[LevelOutputs]) -> list[SegmentInfo]:
    """The segments of ``levels`` in SEG order, with new tracking UIDs."""
    names = [lv.level for lv in levels]
    if len(set(names)) != len(names):
        raise InputError(f"a level appears twice: {', '.join(names)}")
    out = []
    for n, lv in enumerate(levels):
        for m, kind in enumerate(KINDS):
            out.append(
                SegmentInfo(2 * n + m + 1, lv.level, kind, f"{lv.level} {KINDS[kind]}", hd.UID())
            )
    return out


def _mask_array(mask: Volume, ct: Volume, what: str) -> np.ndarray:
    if not isinstance(mask, Volume):
        raise InputError(f"{what} must be a Volume")
    if not mask.same_geometry(ct, tol=_GEOMETRY_TOL):
        raise InputError(
            f"{what} is not on the source CT grid ({mask.describe()} vs {ct.describe()}); "
            "resample it with osteoimaging.dicom.roi_on_ct_grid"
        )
    array = np.asarray(mask.array) != 0
    if not array.any():
        raise InputError(f"{what} is empty")
    return array


def _description(info: SegmentInfo, lv: LevelOutputs) -> hd.seg.SegmentDescription:
    region = [codes.vertebra_code(info.level)]
    if info.kind == "body":
        category, prop = codes.ANATOMICAL_STRUCTURE, codes.VERTEBRAL_BODY
        algorithm_type = lv.body_algorithm
        family, name, params = pcodes.DCM.NeighborhoodAnalysis, lv.body_algorithm_name, None
    else:
        category, prop = codes.TISSUE, codes.BONE_TISSUE
        algorithm_type = "AUTOMATIC"
        family, name = pcodes.DCM.MorphologicalOperations, "OsteoImaging ROI erosion"
        erosion = lv.parameters.get("erosion_mm")
        params = {"erosion_mm": str(erosion)} if erosion is not None else None
    algorithm = None
    if algorithm_type != "MANUAL":
        algorithm = hd.AlgorithmIdentificationSequence(
            name=name,
            family=family,
            version=__version__,
            source=identity.MANUFACTURER,
            parameters=params,
        )
    return hd.seg.SegmentDescription(
        segment_number=info.number,
        segment_label=info.label,
        segmented_property_category=category,
        segmented_property_type=prop,
        algorithm_type=algorithm_type,
        algorithm_identification=algorithm,
        tracking_uid=info.tracking_uid,
        tracking_id=info.label,
        anatomic_regions=region,
        display_color=hd.color.CIELabColor.from_rgb(*_COLOURS[info.kind]),
    )


def build_segmentation(
    source: DicomSource,
    levels: Sequence[LevelOutputs],
    infos: Sequence[SegmentInfo],
    *,
    series_number: int = 901,
    series_description: str = "OsteoImaging vertebral bodies and ROIs",
) -> hd.seg.Segmentation:
    """The case's DICOM Segmentation (see the module docstring)."""
    by_level = {lv.level: lv for lv in levels}
    planes, descriptions = [], []
    for info in infos:
        lv = by_level[info.level]
        mask = lv.body if info.kind == "body" else lv.roi
        planes.append(_mask_array(mask, source.volume, f"{info.label} mask"))
        descriptions.append(_description(info, lv))
    pixels = np.stack(planes, axis=-1).astype(np.uint8)
    return hd.seg.Segmentation(
        source_images=source.datasets,
        pixel_array=pixels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY,
        segment_descriptions=descriptions,
        **identity.new_instance(series_number),
        **identity.enhanced_equipment(),
        content_label="VERTEBRAE",
        content_description="Vertebral bodies and trabecular ROIs",
        series_description=series_description,
        coding_schemes=codes.coding_schemes(),
    )


def read_segmentation(path: str | Path, source: DicomSource) -> dict[str, Volume]:
    """The segments of a SEG written here as boolean masks on the source grid, by label
    (e.g. ``"T12 vertebral body"``), decoded frame by frame against the source instances.
    """
    seg = hd.seg.segread(str(path))
    if str(seg.FrameOfReferenceUID) != source.frame_of_reference_uid:
        raise InputError("the SEG is not in the source's frame of reference", path)
    numbers = [int(item.SegmentNumber) for item in seg.SegmentSequence]
    pixels = seg.get_pixels_by_source_instance(
        source_sop_instance_uids=source.sop_instance_uids, segment_numbers=numbers
    )
    out = {}
    for index, item in enumerate(seg.SegmentSequence):
        out[str(item.SegmentLabel)] = source.volume.with_array(pixels[..., index] > 0)
    return out

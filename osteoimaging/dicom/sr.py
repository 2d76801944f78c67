"""TID 1500 Measurement Report (Comprehensive 3D SR) of a case.

One Volumetric ROI measurement group (TID 1411) per level, referencing the level's
trabecular ROI segment of the case SEG, with tracking identifier "<level> vertebral body"
and the ROI segment's Tracking UID; finding = Vertebral body (SCT 3572006), finding site
= the level's vertebra (CID 7603). Measurements (TID 300) carry their UCUM unit, the
derivation Mean (SCT 373098007) for ROI means and the method code
``99OSTEO FOCALDEF``. A NaN value is not written as a number: it becomes the qualitative
evaluation "<quantity> = Not a number" (DCM 114000). Quality flags are qualitative evaluations
``99OSTEO QFLAG`` = one code per flag (or ``NOFLAG``). The algorithm identification
(TID 4019) names OsteoImaging and its version, with the calibration, the method citation
and the parameters as algorithm parameters.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path

import highdicom as hd
from highdicom.sr import CodedConcept
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes as pcodes
from pydicom.uid import generate_uid

from osteoimaging._version import __version__
from osteoimaging.dicom import codes, identity
from osteoimaging.dicom.level import LevelOutputs
from osteoimaging.dicom.seg import SegmentInfo
from osteoimaging.dicom.source import DicomSource
from osteoimaging.errors import InputError
from osteoimaging.focal.pipeline import METHOD_REFERENCE

METHOD_CITATION = METHOD_REFERENCE
NOT_A_NUMBER = CodedConcept("114000", "DCM", "Not a number")
# A stable UID naming the OsteoImaging software as observer device.
DEVICE_UID = generate_uid(prefix=None, entropy_srcs=["OsteoImaging software"])
_FOCAL = {"focal_bmc_loss", "focal_bmd_loss", "intercept_width", "void_coverage"}


def _measurement(name: str, value: float, unit: str) -> hd.sr.Measurement:
    q = codes.quantity(name, unit)
    return hd.sr.Measurement(
        name=q.concept,
        value=float(value),
        unit=codes.ucum(unit),
        derivation=codes.MEAN if q.is_mean else None,
        method=codes.METHOD if name in _FOCAL else None,
    )


def _evaluations(lv: LevelOutputs) -> list[hd.sr.QualitativeEvaluation]:
    """Quality flags, and "<quantity>: Not a number" for each NaN measurement."""
    values = [codes.flag_code(flag) for flag in lv.flags] or [codes.NO_FLAG]
    out = [hd.sr.QualitativeEvaluation(codes.QUALITY_FLAG, value) for value in values]
    for name, (value, unit) in lv.measurements.items():
        if not math.isfinite(float(value)):
            concept = codes.quantity(name, unit).concept
            out.append(hd.sr.QualitativeEvaluation(concept, NOT_A_NUMBER))
    return out


def _algorithm(lv: LevelOutputs) -> hd.sr.AlgorithmIdentification:
    parameters = [
        f"calibration: {lv.calibration}",
        f"method: {METHOD_CITATION}",
        "parameters: " + json.dumps(lv.parameters, sort_keys=True, default=str),
    ]
    return hd.sr.AlgorithmIdentification(identity.MANUFACTURER, __version__, parameters)


def _group(lv: LevelOutputs, seg: Dataset, roi: SegmentInfo):
    return hd.sr.VolumetricROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(
            identifier=f"{lv.level} vertebral body", uid=roi.tracking_uid
        ),
        referenced_segment=hd.sr.ReferencedSegment.from_segmentation(seg, roi.number),
        finding_type=codes.VERTEBRAL_BODY,
        finding_category=codes.ANATOMICAL_STRUCTURE,
        finding_sites=[hd.sr.FindingSite(codes.vertebra_code(lv.level))],
        algorithm_id=_algorithm(lv),
        measurements=[
            _measurement(name, value, unit)
            for name, (value, unit) in lv.measurements.items()
            if math.isfinite(float(value))
        ],
        qualitative_evaluations=_evaluations(lv),
    )


def build_measurement_report(
    source: DicomSource,
    seg: Dataset,
    levels: Sequence[LevelOutputs],
    infos: Sequence[SegmentInfo],
    *,
    series_number: int = 903,
    series_description: str = "OsteoImaging measurements",
) -> hd.sr.Comprehensive3DSR:
    """The case's TID 1500 report (module docstring); ``seg`` is the case SEG."""
    rois = {info.level: info for info in infos if info.kind == "roi"}
    groups = [_group(lv, seg, rois[lv.level]) for lv in levels]
    observer = hd.sr.ObserverContext(
        observer_type=pcodes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=DEVICE_UID,
            name=identity.MANUFACTURER,
            manufacturer_name="OsteoImaging developers",
            model_name=f"OsteoImaging {__version__}",
        ),
    )
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=pcodes.LN.CTUnspecifiedBodyRegion,
        imaging_measurements=groups,
        title=pcodes.DCM.ImagingMeasurementReport,
    )
    return hd.sr.Comprehensive3DSR(
        evidence=[*source.datasets, seg],
        content=report,
        **identity.new_instance(series_number),
        series_description=series_description,
        is_complete=True,
        coding_schemes=codes.coding_schemes(),
    )


def _key(concept) -> str:
    return codes.name_of(concept) or str(concept.meaning)


def read_measurement_report(path: str | Path) -> dict[str, dict]:
    """Per tracking identifier ("T12 vertebral body"): ``measurements`` (our name, e.g.
    ``focal_bmc_loss``, or the concept meaning → (value or NaN, UCUM unit or None)),
    ``segment`` (SEG SOP Instance UID, segment number), ``tracking_uid`` and ``flags``
    (quality flag texts). Read with highdicom's TID 1500 parser."""
    sr = hd.sr.srread(str(path))
    report = sr.content  # srread parses TID 1500 content into a MeasurementReport
    if not isinstance(report, hd.sr.MeasurementReport):
        raise InputError("not a TID 1500 measurement report", path)
    out: dict[str, dict] = {}
    for group in report.get_volumetric_roi_measurement_groups():
        ref = group.referenced_segment
        measurements = {
            _key(m.name): (float(m.value), str(m.unit.value)) for m in group.get_measurements()
        }
        flags = []
        for evaluation in group.get_qualitative_evaluations():
            if evaluation.value == NOT_A_NUMBER:
                measurements[_key(evaluation.name)] = (math.nan, None)
            elif evaluation.name == codes.QUALITY_FLAG and evaluation.value != codes.NO_FLAG:
                flags.append(str(evaluation.value.meaning))
        out[group.tracking_identifier] = {
            "tracking_uid": str(group.tracking_uid),
            "segment": (
                str(ref.referenced_sop_instance_uid),
                int(ref.referenced_segment_numbers[0]),
            ),
            "measurements": measurements,
            "flags": flags,
        }
    if not out:
        raise InputError("no volumetric measurement groups in the report", path)
    return out
